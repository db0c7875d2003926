//! Running the engine's SQL on an Apache DataFusion Ballista cluster (`--cluster
//! df://HOST:PORT`), and the scheduler and executor roles of `gardener cluster`.
//!
//! The client plans as it does alone (same tables, views, functions, named queries) and
//! Ballista's query planner sends each plan to the scheduler, which splits it into stages
//! for the executors. What every role needs of this project, and Ballista does not ship:
//! - the functions ([`with_functions`]): the JSON functions and the significance
//!   functions are compiled into this binary and registered in every role, because a
//!   client's functions are not sent to executors;
//! - the object stores ([`LakeStores`]): `file:///` and `gs://BUCKET`, with the same
//!   credential rules as ingest and query (`common::gcs`);
//! - joins that stay correct when each partition is a task of its own ([`joins`]);
//! - the tables: `logs_files` travels as the commit log's file list, never a listing
//!   ([`codec::Codec`]); the session tables a named query creates (`CREATE TABLE t AS
//!   ...`) are written by the executors to the lake's store and read back from there
//!   (`engine::scratch`).
//!
//! Failure modes: an unreachable scheduler fails the first query naming its address; a
//! lost executor makes the scheduler cancel the running queries ([`roles`]) and the client
//! run each again on the executors left (`session::collect_on`, at most twice), never
//! Ballista's stage reruns (a wrong answer in 55); a query no executor can run is cancelled
//! after the scheduler's `--executor-wait`, and after its reruns fails saying why. A local
//! lake must be at the same path on every machine (a shared disk); a `gs://` lake needs the
//! credentials on each.

pub mod codec;
pub mod joins;
pub mod roles;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::SessionContext;
use object_store::ObjectStore;
use url::Url;

use crate::common::gcs::GcsUrl;

/// `state` with this project's functions registered (the JSON functions and
/// [`super::stats`]): what the client plans with and the scheduler and executors resolve.
pub fn with_functions(state: SessionState) -> Result<SessionState> {
    let mut ctx = SessionContext::new_with_state(state);
    super::register_functions(&mut ctx)?;
    Ok(ctx.state())
}

/// The object stores of a scheduler or executor: the local file system, and a GCS client
/// per bucket, made the first time a plan names it.
#[derive(Debug, Default)]
pub struct LakeStores {
    inner: DefaultObjectStoreRegistry,
    buckets: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl ObjectStoreRegistry for LakeStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if url.scheme() != "gs" {
            return self.inner.get_store(url);
        }
        let bucket = url.host_str().unwrap_or_default();
        let mut buckets = self
            .buckets
            .lock()
            .map_err(|_| DataFusionError::Internal("object store registry poisoned".into()))?;
        if let Some(store) = buckets.get(bucket) {
            return Ok(store.clone());
        }
        let gcs = match GcsUrl::parse(&format!("gs://{bucket}")) {
            Some(Ok(gcs)) => gcs,
            Some(Err(e)) => return Err(DataFusionError::External(Box::new(e))),
            None => return self.inner.get_store(url),
        };
        let store = gcs
            .connect()
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        buckets.insert(bucket.to_owned(), store.clone());
        Ok(store)
    }
}
