//! The bucket as the tests' own client sees it: the daemon's S3 back-end,
//! opened on a `weed mini`'s gateway (`s3.rs`, `s3_ftp.rs`). A file of
//! `tests/tests/shared/`, which cargo does not take for a test target.

use pocketftpd::storage::s3::{Keys, Location, S3Config, Store};
use pocketftpd_tests::{Weed, WEED_KEY};

/// The store at `location` (`s3://BUCKET[/PREFIX]`), signing with the
/// gateway's key and `secret` (a wrong one, for the refusal tests).
pub fn open(weed: &Weed, secret: &str, location: &str) -> Store {
    let config = S3Config {
        location: Location::parse(location).unwrap(),
        endpoint: weed.s3_endpoint.clone(),
        region: "us-east-1".into(),
        path_style: true,
        keys: Keys {
            id: WEED_KEY.into(),
            secret: secret.into(),
        },
        ca: None,
    };
    Store::open(&config).unwrap()
}
