//! A ListObjectsV2 page as a listing's entries: objects as files, common
//! prefixes as folders, the folder's own marker left out, names decoded
//! (the request asks for `encoding-type=url`, so a key with a control
//! character or a `&` arrives escaped either way; as a form escapes, a
//! space as `+`, which SeaweedFS and AWS both send), and the token of the
//! next page if the store cut this one.

use jiff::Timestamp;
use percent_encoding::percent_decode_str;
use pocketftp_core::{FileKind, Metadata};

use super::keys::Prefix;
use super::request::LIST_PAGE_KEYS;
use super::xml::{ends_with, walk, BadXml, Node};

/// Entries one page may hold: what we asked for, objects and folders
/// together (S3 counts both against `max-keys`); more is a broken reply.
const MAX_PAGE_ENTRIES: usize = LIST_PAGE_KEYS as usize;

/// What LIST shows for a file or a folder of a bucket, which has no
/// permissions of its own to show.
const FILE_MODE: u32 = 0o644;
const FOLDER_MODE: u32 = 0o755;

/// One page of a folder.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub entries: Vec<(String, Metadata)>,
    /// The next page's `continuation-token`; `None` on the last.
    pub next: Option<String>,
}

/// The entry being read from `<Contents>`.
#[derive(Default)]
struct Object {
    key: Option<String>,
    size: u64,
    modified: i64,
}

/// Reads a page of `folder`: what it lists by name.
pub fn parse(xml: &[u8], folder: &Prefix) -> Result<Page, BadXml> {
    let page = raw(xml)?;
    let entries = page.entries.into_iter();
    let named = entries.filter_map(|(key, meta)| Some((folder.name_of(&key)?.to_owned(), meta)));
    Ok(Page {
        entries: named.collect(),
        next: page.next,
    })
}

/// Reads a page as its keys (decoded), markers and all.
pub fn raw(xml: &[u8]) -> Result<Page, BadXml> {
    let mut page = Page::default();
    let (mut object, mut url_encoded, mut truncated) = (Object::default(), false, false);
    let mut folders = Vec::new();
    walk(xml, |node| {
        match node {
            Node::Text(path, text) => {
                if ends_with(path, &["Contents", "Key"]) {
                    object.key = Some(text.to_owned());
                } else if ends_with(path, &["Contents", "Size"]) {
                    object.size = text.trim().parse().map_err(|_| bad("Size", text))?;
                } else if ends_with(path, &["Contents", "LastModified"]) {
                    object.modified = timestamp(text)?;
                } else if ends_with(path, &["CommonPrefixes", "Prefix"]) {
                    folders.push(text.to_owned());
                } else if ends_with(path, &["ListBucketResult", "NextContinuationToken"]) {
                    page.next = Some(text.to_owned());
                } else if ends_with(path, &["ListBucketResult", "IsTruncated"]) {
                    truncated = text.trim() == "true";
                } else if ends_with(path, &["ListBucketResult", "EncodingType"]) {
                    url_encoded = text.trim() == "url";
                }
            }
            Node::End(path) if ends_with(path, &["ListBucketResult", "Contents"]) => {
                let done = std::mem::take(&mut object);
                let key = done.key.ok_or_else(|| bad("Contents", "no Key"))?;
                add(
                    &mut page,
                    key,
                    metadata(FileKind::File, done.size, done.modified),
                )?;
            }
            Node::End(_) => {}
        }
        Ok(())
    })?;
    for prefix in folders {
        add(&mut page, prefix, metadata(FileKind::Dir, 0, 0))?;
    }
    if !truncated {
        page.next = None;
    } else if page.next.is_none() {
        return Err(bad("IsTruncated", "true without a NextContinuationToken"));
    }
    if url_encoded {
        // S3's "url" encoding is a form's: a space is `+`, a `+` is `%2B`.
        for (key, _) in &mut page.entries {
            *key = percent_decode_str(&key.replace('+', " "))
                .decode_utf8()
                .map_err(|_| bad("Key", "not UTF-8 once decoded"))?
                .into_owned();
        }
    }
    Ok(page)
}

fn add(page: &mut Page, key: String, meta: Metadata) -> Result<(), BadXml> {
    if page.entries.len() >= MAX_PAGE_ENTRIES {
        return Err(bad("ListBucketResult", "more entries than asked for"));
    }
    page.entries.push((key, meta));
    Ok(())
}

/// An entry as the core lists it.
pub fn metadata(kind: FileKind, size: u64, modified: i64) -> Metadata {
    let mode = match kind {
        FileKind::Dir => FOLDER_MODE,
        _ => FILE_MODE,
    };
    Metadata {
        kind,
        size,
        modified,
        mode,
        links: 1,
    }
}

/// `2026-12-07T17:36:31.000Z` as seconds since the epoch.
fn timestamp(text: &str) -> Result<i64, BadXml> {
    text.trim()
        .parse::<Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| bad("LastModified", text))
}

fn bad(element: &str, text: &str) -> BadXml {
    BadXml(format!("{element}: {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SeaweedFS's shape: no Owner, an ETag, a marker for the folder.
    const PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>photos</Name>
<Prefix>cams%2F</Prefix><KeyCount>4</KeyCount><MaxKeys>1000</MaxKeys>
<Delimiter>%2F</Delimiter><IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>
<NextContinuationToken>b%2Fnext</NextContinuationToken>
<Contents><Key>cams%2F</Key><LastModified>2026-12-07T17:36:31Z</LastModified><Size>0</Size></Contents>
<Contents><Key>cams%2Fa+%26%20b%2B.jpg</Key><ETag>&quot;x&quot;</ETag>
<LastModified>2026-12-07T17:36:31.000Z</LastModified><Size>123</Size></Contents>
<CommonPrefixes><Prefix>cams%2Fsub%2F</Prefix></CommonPrefixes></ListBucketResult>"#;

    #[test]
    fn pages_list_files_and_folders_by_name() {
        let page = parse(PAGE.as_bytes(), &Prefix::folder("cams").unwrap()).unwrap();
        let names: Vec<_> = page
            .entries
            .iter()
            .map(|(n, m)| (n.as_str(), m.kind))
            .collect();
        assert_eq!(
            names,
            [("a & b+.jpg", FileKind::File), ("sub", FileKind::Dir)]
        );
        assert_eq!(page.entries[0].1.size, 123);
        assert_eq!(page.entries[0].1.modified, 1_796_664_991);
        assert_eq!(page.next.as_deref(), Some("b%2Fnext"));
    }

    #[test]
    fn the_last_page_has_no_token_and_plain_keys_stay_as_they_are() {
        let xml = "<ListBucketResult><IsTruncated>false</IsTruncated>\
                   <Contents><Key>a%b</Key><Size>1</Size></Contents></ListBucketResult>";
        let page = parse(xml.as_bytes(), &Prefix::default()).unwrap();
        assert_eq!(page.entries[0].0, "a%b");
        assert_eq!(page.next, None);
    }

    #[test]
    fn broken_pages_are_errors() {
        let folder = Prefix::default();
        for xml in [
            "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
            "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        ] {
            assert!(parse(xml.as_bytes(), &folder).is_err(), "{xml}");
        }
        let many = "<Contents><Key>k</Key></Contents>".repeat(MAX_PAGE_ENTRIES + 1);
        let xml = format!("<ListBucketResult>{many}</ListBucketResult>");
        assert!(parse(xml.as_bytes(), &folder).is_err());
    }
}
