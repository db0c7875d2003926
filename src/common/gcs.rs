//! Google Cloud Storage locations (`gs://bucket/prefix`), for sources and lakes alike, through
//! object_store's GCS client (which speaks GCS's XML API).
//!
//! Credentials are found the way gcloud users expect, by
//! `GoogleCloudStorageBuilder::from_env`: `GOOGLE_SERVICE_ACCOUNT` (a key file),
//! `GOOGLE_SERVICE_ACCOUNT_KEY` (the key's JSON), `GOOGLE_APPLICATION_CREDENTIALS` or the
//! application default credentials of `gcloud auth application-default login`, and else the
//! metadata server (GCE, Cloud Run, GKE). An emulator is a service-account file with
//! `gcs_base_url` and `"disable_oauth": true`. Other `GOOGLE_*` client settings
//! (`GOOGLE_TIMEOUT`, `GOOGLE_CONNECT_TIMEOUT`, `GOOGLE_PROXY_URL`) are honoured too.
//!
//! Transient failures (5xx, timeouts, dropped connections, also mid-download) are retried by
//! object_store with exponential backoff; `GARDENER_GCS_MAX_RETRIES` (default 10) and
//! `GARDENER_GCS_RETRY_TIMEOUT` (seconds, default 180) bound it.
//!
//! Failure modes: a malformed URL, unusable credentials, a missing bucket, a permission error
//! or an unreachable endpoint is a [`GcsError`] with one sentence saying which and what to do.

use std::sync::Arc;
use std::time::Duration;

use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::path::Path;
use object_store::{ObjectStore, RetryConfig};

/// A parsed `gs://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcsUrl {
    pub bucket: String,
    pub prefix: Path,
}

impl GcsUrl {
    /// Parses `gs://bucket[/prefix]`; `None` when `s` is not a `gs://` URL at all.
    pub fn parse(s: &str) -> Option<Result<GcsUrl, GcsError>> {
        let rest = s.strip_prefix("gs://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // Bucket names: 3-222 characters of lowercase letters, digits, '-', '_' and '.'.
        let valid = (3..=222).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
        if !valid {
            return Some(Err(GcsError::BadUrl {
                url: s.to_owned(),
                detail: format!("{bucket:?} is not a bucket name"),
            }));
        }
        let prefix = Path::parse(prefix.trim_end_matches('/')).map_err(|e| GcsError::BadUrl {
            url: s.to_owned(),
            detail: e.to_string(),
        });
        Some(prefix.map(|prefix| GcsUrl {
            bucket: bucket.to_owned(),
            prefix,
        }))
    }

    /// The URL of an object path in this bucket.
    pub fn object_url(&self, path: &Path) -> String {
        format!("gs://{}/{}", self.bucket, path)
    }

    /// Opens a client for the bucket. No request is sent yet.
    pub fn connect(&self) -> Result<Arc<dyn ObjectStore>, GcsError> {
        let store = GoogleCloudStorageBuilder::from_env()
            .with_bucket_name(&self.bucket)
            .with_retry(retry_config())
            .build()
            .map_err(|e| GcsError::Credentials {
                bucket: self.bucket.clone(),
                detail: e.to_string(),
            })?;
        Ok(Arc::new(store))
    }
}

fn retry_config() -> RetryConfig {
    let env = |name: &str| std::env::var(name).ok()?.trim().parse::<f64>().ok();
    let mut retry = RetryConfig::default();
    if let Some(n) = env("GARDENER_GCS_MAX_RETRIES") {
        retry.max_retries = n.max(0.0) as usize;
    }
    if let Some(secs) = env("GARDENER_GCS_RETRY_TIMEOUT") {
        retry.retry_timeout = Duration::from_secs_f64(secs.max(0.0));
    }
    retry
}

/// Errors about a GCS location, each one sentence for the user.
#[derive(Debug, thiserror::Error)]
pub enum GcsError {
    #[error("{url}: not a gs:// location ({detail}); write gs://BUCKET/PREFIX")]
    BadUrl { url: String, detail: String },
    #[error(
        "gs://{bucket}: cannot set up GCS credentials: {detail}; set GOOGLE_APPLICATION_CREDENTIALS \
         or GOOGLE_SERVICE_ACCOUNT to a key file, or run `gcloud auth application-default login`"
    )]
    Credentials { bucket: String, detail: String },
}

/// One sentence for a store error at `url`: which of the usual causes it is, and what to do.
pub fn explain(url: &str, err: &object_store::Error) -> String {
    use object_store::Error as E;
    let bucket = url
        .strip_prefix("gs://")
        .and_then(|r| r.split('/').next())
        .unwrap_or(url);
    // Listing errors reach us as `Generic` with the HTTP status and GCS's error code only in
    // the text, so the text decides where the variant does not.
    let text = err.to_string();
    let denied = matches!(err, E::PermissionDenied { .. } | E::Unauthenticated { .. })
        || text.contains("403 Forbidden")
        || text.contains("401 Unauthorized");
    if text.contains("NoSuchBucket") {
        format!(
            "{url}: not found: bucket {bucket} does not exist (`gcloud storage buckets list` shows \
             the buckets these credentials can see)"
        )
    } else if matches!(err, E::NotFound { .. }) || text.contains("404 Not Found") {
        format!(
            "{url}: not found (is the prefix right? `gcloud storage ls {url}` shows what is there)"
        )
    } else if denied {
        format!(
            "{url}: permission denied; the credentials in use (GOOGLE_APPLICATION_CREDENTIALS, \
             GOOGLE_SERVICE_ACCOUNT or application default credentials) need \
             storage.objects.list and get (and create, to write a lake) on bucket {bucket}"
        )
    } else if text.contains("error sending request") || text.contains("timed out") {
        format!(
            "{url}: cannot reach GCS (network, proxy, or the gcs_base_url of the credentials), \
             retries included: {err}"
        )
    } else {
        format!("{url}: {err}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix() {
        let u = GcsUrl::parse("gs://logs-bucket/run.googleapis.com/stdout/")
            .expect("a gs url")
            .expect("valid");
        assert_eq!(u.bucket, "logs-bucket");
        assert_eq!(u.prefix.as_ref(), "run.googleapis.com/stdout");
        let root = GcsUrl::parse("gs://b_1").expect("gs").expect("valid");
        assert_eq!(root.prefix.as_ref(), "");
        assert!(GcsUrl::parse("/tmp/x").is_none());
        assert!(GcsUrl::parse("gs://Bad!/x").expect("gs").is_err());
        assert!(GcsUrl::parse("gs:///x").expect("gs").is_err());
    }
}
