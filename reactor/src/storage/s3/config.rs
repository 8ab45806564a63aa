//! Where the bucket is and who we are to it: `--storage s3://BUCKET[/PREFIX]`,
//! `--s3-endpoint`, `--s3-region`, `--s3-path-style`, and the keys, read
//! from the standard `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` variables
//! or from `--s3-credentials FILE` (never from the command line, where
//! `ps` would show them).

use std::fmt;
use std::path::{Path, PathBuf};

use rusty_s3::{Bucket, Credentials, UrlStyle};

use super::keys::Prefix;

/// The region when none is given: what AWS calls its first, and what
/// SeaweedFS and MinIO accept whatever they are configured with.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The longest bucket name S3 allows (and the shortest is 3).
const MAX_BUCKET: usize = 63;

/// `s3://BUCKET[/PREFIX]`, as `--storage` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    /// Every key the daemon reads or writes starts with it.
    pub prefix: Prefix,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix.as_str())
    }
}

impl Location {
    /// Parses `s3://BUCKET[/PREFIX]`; the bucket's name as S3 allows it
    /// (3 to 63 of `a-z`, `0-9`, `.`, `-`), the prefix a folder path.
    pub fn parse(text: &str) -> Result<Location, String> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{text:?}: expected s3://BUCKET[/PREFIX]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=MAX_BUCKET).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return Err(format!(
                "{bucket:?}: a bucket name is 3 to 63 of a-z, 0-9, '.' and '-'"
            ));
        }
        let prefix = Prefix::folder(prefix).ok_or_else(|| {
            format!("{prefix:?}: a prefix is folder names joined by '/', none of them . or ..")
        })?;
        Ok(Location {
            bucket: bucket.to_owned(),
            prefix,
        })
    }
}

/// The access key pair, kept out of `Debug` output and log lines.
#[derive(Clone)]
pub struct Keys {
    pub id: String,
    pub secret: String,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keys {{ id: {:?}, secret: <hidden> }}", self.id)
    }
}

impl Keys {
    /// From `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, both set and
    /// not empty; `None` otherwise.
    pub fn from_env() -> Option<Keys> {
        let id = std::env::var("AWS_ACCESS_KEY_ID").ok()?;
        let secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok()?;
        (!id.is_empty() && !secret.is_empty()).then_some(Keys { id, secret })
    }

    /// From a credentials file in the AWS shared format: the
    /// `aws_access_key_id` and `aws_secret_access_key` of its `[default]`
    /// section (or of the lines before any section). Read bounded.
    pub fn from_file(path: &Path) -> Result<Keys, String> {
        let text = crate::small_file::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Keys::parse(&text).ok_or_else(|| {
            format!(
                "{}: no aws_access_key_id and aws_secret_access_key in [default]",
                path.display()
            )
        })
    }

    fn parse(text: &str) -> Option<Keys> {
        let (mut id, mut secret, mut section) = (None, None, "default");
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.trim();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().to_owned();
            match (section, key.trim()) {
                ("default", "aws_access_key_id") => id = Some(value),
                ("default", "aws_secret_access_key") => secret = Some(value),
                _ => {}
            }
        }
        let (id, secret) = (id?, secret?);
        (!id.is_empty() && !secret.is_empty()).then_some(Keys { id, secret })
    }
}

/// Everything the back-end needs to reach its bucket.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub location: Location,
    /// `http://host:port` or `https://host:port`, no path.
    pub endpoint: String,
    pub region: String,
    /// `http://endpoint/bucket/key` rather than `http://bucket.endpoint/key`:
    /// what SeaweedFS, MinIO and an endpoint given by address need.
    pub path_style: bool,
    pub keys: Keys,
    /// `--s3-ca FILE`: the CA certificates an `https://` endpoint's must
    /// chain to, instead of the system's.
    pub ca: Option<PathBuf>,
}

impl S3Config {
    /// The bucket as rusty-s3 signs for it, and the keys as it takes them.
    pub fn signer(&self) -> Result<(Bucket, Credentials), String> {
        let endpoint = self
            .endpoint
            .parse()
            .map_err(|e| format!("--s3-endpoint {:?}: {e}", self.endpoint))?;
        let style = if self.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(
            endpoint,
            style,
            self.location.bucket.clone(),
            self.region.clone(),
        )
        .map_err(|e| format!("--s3-endpoint {:?}: {e}", self.endpoint))?;
        let credentials = Credentials::new(self.keys.id.clone(), self.keys.secret.clone());
        Ok((bucket, credentials))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_with_and_without_a_prefix() {
        let plain = Location::parse("s3://photos").unwrap();
        assert_eq!(plain.bucket, "photos");
        assert_eq!(plain.prefix.as_str(), "");
        let deep = Location::parse("s3://photos/cams/front/").unwrap();
        assert_eq!(deep.prefix.as_str(), "cams/front/");
        for bad in [
            "photos",
            "s3://Ph",
            "s3://UPPER",
            "s3://a_b_c",
            "s3://photos/../x",
            "s3://photos//x",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_files_read_the_default_section() {
        let text = "[other]\naws_access_key_id = no\n[default]\n\
                    aws_access_key_id = AKID\naws_secret_access_key=s/e=cret\n";
        let keys = Keys::parse(text).unwrap();
        assert_eq!(
            (keys.id.as_str(), keys.secret.as_str()),
            ("AKID", "s/e=cret")
        );
        assert!(Keys::parse("[other]\naws_access_key_id=a\naws_secret_access_key=b").is_none());
        assert!(Keys::parse("aws_access_key_id=a\naws_secret_access_key=").is_none());
        assert!(!format!("{keys:?}").contains("s/e=cret"));
    }

    /// url's IDNA back-end is pinned to the one without Unicode tables
    /// (idna_adapter 1.0.0, 135 KB off the binary): endpoints by ASCII
    /// name or address parse, a non-ASCII name is refused, saying so.
    #[test]
    fn endpoints_are_ascii_names_or_addresses() {
        let config = |endpoint: &str| S3Config {
            location: Location::parse("s3://photos").unwrap(),
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            path_style: true,
            keys: Keys {
                id: "a".into(),
                secret: "b".into(),
            },
            ca: None,
        };
        for good in [
            "http://127.0.0.1:8333",
            "http://[::1]:8333",
            "https://s3.eu-west-1.amazonaws.com",
            "https://xn--bcher-kva.example",
            "http://minio.local:9000/",
        ] {
            assert!(config(good).signer().is_ok(), "{good}");
        }
        let refused = config("https://bücher.example").signer().unwrap_err();
        assert!(
            refused.starts_with("--s3-endpoint \"https://bücher.example\": "),
            "{refused}"
        );
    }
}
