//! Where the lake lives: a local directory today, `gs://bucket/prefix` through the same
//! `object_store` seam later. Everything below the lake root goes through [`Lake`].
//!
//! Failure modes: a lake path that cannot be created, or a URL scheme we do not serve, is a
//! [`LakeError`] naming the location.

use std::path::PathBuf;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};

use super::LakeError;

/// Writes `bytes` as the object at `path` in one request: readers see it whole or not at all.
pub async fn put(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    bytes: Vec<u8>,
) -> Result<(), LakeError> {
    store
        .put(path, PutPayload::from(bytes))
        .await
        .map(|_| ())
        .map_err(|source| LakeError::Store {
            location: path.to_string(),
            source,
        })
}

/// An opened lake: its store, and the prefix of the lake inside it.
#[derive(Clone, Debug)]
pub struct Lake {
    pub store: Arc<dyn ObjectStore>,
    pub root: Path,
    /// The directory on disk for a local lake (used to sweep leftovers of killed runs).
    pub local_dir: Option<PathBuf>,
    /// How the user named the lake, for messages.
    pub display: String,
}

impl Lake {
    /// Opens (and for a local path, creates) the lake at `location`.
    pub fn open(location: &str) -> Result<Lake, LakeError> {
        if let Some((scheme, _)) = location.split_once("://") {
            return Err(LakeError::Unsupported {
                location: location.to_owned(),
                scheme: scheme.to_owned(),
            });
        }
        let dir = PathBuf::from(location);
        std::fs::create_dir_all(&dir).map_err(|source| LakeError::Io {
            location: location.to_owned(),
            source,
        })?;
        let abs = dir.canonicalize().map_err(|source| LakeError::Io {
            location: location.to_owned(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(&abs).map_err(|source| LakeError::Store {
            location: location.to_owned(),
            source,
        })?;
        Ok(Lake {
            store: Arc::new(store),
            root: Path::default(),
            local_dir: Some(abs),
            display: location.to_owned(),
        })
    }

    /// Every object below `parts` (recursively).
    pub async fn list(&self, parts: &[&str]) -> Result<Vec<ObjectMeta>, LakeError> {
        let prefix = self.path(parts);
        self.store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|source| LakeError::Store {
                location: prefix.to_string(),
                source,
            })
    }

    /// A path below the lake root, e.g. `lake.path(&["logs", "dt=2025-09-12"])`.
    pub fn path(&self, parts: &[&str]) -> Path {
        parts
            .iter()
            .fold(self.root.clone(), |p, part| p.join(*part))
    }
}
