//! `--storage s3://BUCKET[/PREFIX]`: the bucket's options gathered into
//! one [`S3Config`], and the bucket checked before serving, so that a
//! wrong endpoint, name or key stops start-up with a message that says
//! which.

use std::time::Duration;

use crate::auth::users::Users;
use crate::startup::options::Options;
use crate::storage::s3::{Keys, S3Config, Store};

/// How long start-up waits for the bucket's answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// A users file's quotas need the served folder: the daemon counts them
/// with walks and `stat`s that a bucket has no cheap twin of (`crate::quota`).
pub fn refuse_quotas(options: &Options, users: Option<&Users>) -> Result<(), String> {
    let with_quota = users.and_then(|u| u.quota_homes().next()).is_some();
    if options.storage.is_some() && with_quota {
        let file = options.users.as_deref().map(|p| p.display().to_string());
        let file = file.unwrap_or_default();
        return Err(format!(
            "{file}: quotas need local storage: a users file with quota= cannot be used with --storage s3://..."
        ));
    }
    Ok(())
}

/// The bucket to serve, if `--storage` names one.
pub fn s3_config(options: &Options) -> Result<Option<S3Config>, String> {
    let Some(location) = &options.storage else {
        return Ok(None);
    };
    let endpoint = (options.s3_endpoint.clone())
        .ok_or("--storage s3://... needs --s3-endpoint URL (the S3 server)")?;
    let keys = match &options.s3_credentials {
        Some(path) => Keys::from_file(path)?,
        None => Keys::from_env().ok_or(
            "--storage s3://... needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or --s3-credentials FILE",
        )?,
    };
    Ok(Some(S3Config {
        location: location.clone(),
        endpoint,
        region: options.s3_region.clone(),
        path_style: options.s3_path_style,
        keys,
        ca: options.s3_ca.clone(),
    }))
}

/// Opens the bucket and asks for it once (HEAD): it must answer `200`.
pub fn open(config: &S3Config) -> Result<Store, String> {
    let store = Store::open(config)?;
    let bucket = &config.location.bucket;
    let cannot =
        |why: String| format!("cannot serve bucket {bucket} at {}: {why}", config.endpoint);
    let request = store.check_bucket().map_err(|e| cannot(e.to_string()))?;
    let exchange = request
        .exchange(b"", 0)
        .map_err(|e| cannot(e.to_string()))?;
    let (head, _) = store
        .endpoint()
        .exchange_now(exchange, CHECK_TIMEOUT)
        .map_err(cannot)?;
    match head.status {
        200 => Ok(store),
        404 => Err(cannot("no such bucket (404)".into())),
        403 => Err(cannot(
            "access denied: check the keys and --s3-region (403)".into(),
        )),
        status => Err(cannot(format!("it answered {status}"))),
    }
}
