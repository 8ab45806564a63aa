//! The XML the back-end reads (a listing page, an upload id, an error's
//! code), with quick-xml: one pass over a reply held whole (the HTTP
//! client bounds it), each wanted element's text collected with its
//! entities resolved. Elements are matched by their local name, so a
//! namespace, or one a store leaves out, changes nothing; an element we
//! do not know (ETag, Owner, StorageClass: some stores omit them) is
//! skipped, never required.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;

/// The longest text kept of one element: a key is at most 1024 bytes, three
/// times that escaped; a continuation token is opaque but short.
const MAX_TEXT: usize = 4096;

/// Malformed XML, or a text longer than [`MAX_TEXT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadXml(pub String);

/// What [`walk`] shows its visitor: each with the path of element names
/// down to it (`["ListBucketResult", "Contents", "Key"]`).
pub enum Node<'a> {
    /// An element that holds text, and the text.
    Text(&'a [Vec<u8>], &'a str),
    /// An element that closes (after its `Text`, if it had one).
    End(&'a [Vec<u8>]),
}

/// Shows `visit` every element that holds text and every element's end.
pub fn walk(xml: &[u8], mut visit: impl FnMut(Node) -> Result<(), BadXml>) -> Result<(), BadXml> {
    let mut reader = Reader::from_reader(xml);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut text = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| BadXml(format!("at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(e) => {
                path.push(e.local_name().as_ref().to_vec());
                text.clear();
            }
            Event::Text(t) => push(&mut text, &t.decode().map_err(bad)?)?,
            Event::CData(t) => push(&mut text, &t.decode().map_err(bad)?)?,
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(bad)? {
                    Some(c) => c.to_string(),
                    None => resolve_predefined_entity(&r.decode().map_err(bad)?)
                        .ok_or_else(|| BadXml("an unknown entity".into()))?
                        .to_owned(),
                };
                push(&mut text, &resolved)?;
            }
            Event::End(_) => {
                if !text.is_empty() {
                    visit(Node::Text(&path, &text))?;
                    text.clear();
                }
                visit(Node::End(&path))?;
                path.pop();
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

fn push(text: &mut String, more: &str) -> Result<(), BadXml> {
    if text.len().saturating_add(more.len()) > MAX_TEXT {
        return Err(BadXml(format!("a text longer than {MAX_TEXT} bytes")));
    }
    text.push_str(more);
    Ok(())
}

fn bad(e: impl std::fmt::Display) -> BadXml {
    BadXml(e.to_string())
}

/// Whether `path` ends with these element names.
pub fn ends_with(path: &[Vec<u8>], names: &[&str]) -> bool {
    path.len() >= names.len()
        && path[path.len() - names.len()..]
            .iter()
            .zip(names)
            .all(|(a, b)| a == b.as_bytes())
}

/// The text of the first element named `name`, wherever it is.
pub fn first(xml: &[u8], name: &str) -> Result<Option<String>, BadXml> {
    let mut found = None;
    walk(xml, |node| {
        match node {
            Node::Text(path, text) if found.is_none() && ends_with(path, &[name]) => {
                found = Some(text.to_owned());
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_come_whole_with_their_entities() {
        let xml = br#"<?xml version="1.0"?><R xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
            <ETag>&quot;abc&quot;</ETag><Key>a&amp;b&#x41;<![CDATA[<c>]]></Key></R>"#;
        assert_eq!(first(xml, "Key").unwrap().as_deref(), Some("a&bA<c>"));
        assert_eq!(first(xml, "ETag").unwrap().as_deref(), Some("\"abc\""));
        assert_eq!(first(xml, "None").unwrap(), None);
    }

    #[test]
    fn malformed_or_huge_texts_are_errors() {
        assert!(first(b"<R><Key>a</R>", "Key").is_err());
        assert!(first(b"<R><Key>&bogus;</Key></R>", "Key").is_err());
        let long = format!("<R><Key>{}</Key></R>", "x".repeat(MAX_TEXT + 1));
        assert!(first(long.as_bytes(), "Key").is_err());
    }
}
