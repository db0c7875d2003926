//! Where the lake lives: a local directory or `gs://bucket/prefix`, both behind one
//! `object_store` seam. Everything below the lake root goes through [`Lake`].
//!
//! Publishing never relies on rename or copy (GCS has no rename; emulators get copy wrong):
//! each file is written under its final name in one upload, a single PUT or, above
//! [`PART_SIZE`], a multipart upload, which GCS makes visible only once complete; its size is
//! then checked with a HEAD. A local lake writes a staging file and renames it.
//!
//! Failure modes: a lake path that cannot be created, an unreachable or forbidden bucket, or
//! a URL scheme we do not serve is a [`LakeError`] naming the location; an upload that fails
//! or comes out with the wrong size is an error, never a visible partial file.

use std::path::PathBuf;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::LakeError;
use crate::common::gcs::{self, GcsUrl};

/// Files larger than this go up as a multipart upload in parts of this size.
pub const PART_SIZE: usize = 8 << 20;

/// An opened lake: its store, and the prefix of the lake inside it.
#[derive(Clone, Debug)]
pub struct Lake {
    pub store: Arc<dyn ObjectStore>,
    pub root: Path,
    /// The directory on disk for a local lake (used to sweep leftovers of killed runs).
    pub local_dir: Option<PathBuf>,
    /// The bucket of a lake in GCS.
    pub remote: Option<GcsUrl>,
    /// How the user named the lake, for messages.
    pub display: String,
}

impl Lake {
    /// Opens (and for a local path, creates) the lake at `location`. A bucket is checked
    /// with one listing, so a missing bucket or a permission error shows up here.
    pub async fn open(location: &str) -> Result<Lake, LakeError> {
        if let Some(url) = GcsUrl::parse(location) {
            let url = url.map_err(|e| LakeError::Remote(e.to_string()))?;
            let store = url
                .connect()
                .map_err(|e| LakeError::Remote(e.to_string()))?;
            let lake = Lake {
                store,
                root: url.prefix.clone(),
                local_dir: None,
                remote: Some(url),
                display: location.trim_end_matches('/').to_owned(),
            };
            lake.store
                .list_with_delimiter(Some(&lake.root))
                .await
                .map_err(|e| lake.error(&lake.root, e))?;
            return Ok(lake);
        }
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
            remote: None,
            display: location.to_owned(),
        })
    }

    /// Opens a lake to read it: a local lake must exist already (nothing is created).
    pub async fn open_existing(location: &str) -> Result<Lake, LakeError> {
        if !location.contains("://") && !std::path::Path::new(location).is_dir() {
            return Err(LakeError::Missing {
                location: location.to_owned(),
            });
        }
        Lake::open(location).await
    }

    /// A store error at `path`, explained for a bucket (missing, forbidden, unreachable).
    pub fn error(&self, path: &Path, source: object_store::Error) -> LakeError {
        match &self.remote {
            Some(url) => LakeError::Remote(gcs::explain(&url.object_url(path), &source)),
            None => LakeError::Store {
                location: path.to_string(),
                source,
            },
        }
    }

    /// The URL DataFusion reads the object `path` of the lake from.
    pub fn table_url(&self, path: &Path) -> String {
        match (&self.remote, &self.local_dir) {
            (Some(url), _) => url.object_url(path),
            (None, Some(local)) => local.join(self.relative(path)).display().to_string(),
            (None, None) => path.to_string(),
        }
    }

    /// The URL of the store any process opens the lake's objects with: the bucket, or the
    /// machine's file system (unlike [`Lake::store`], which is rooted at a local lake).
    pub fn public_store_url(&self) -> String {
        match &self.remote {
            Some(url) => format!("gs://{}", url.bucket),
            None => "file:///".to_owned(),
        }
    }

    /// `path`'s path in the store of [`Lake::public_store_url`].
    pub fn public_path(&self, path: &Path) -> Result<Path, LakeError> {
        let Some(local) = self.local_dir.as_ref().filter(|_| self.remote.is_none()) else {
            return Ok(path.clone());
        };
        let file = local.join(self.relative(path));
        Path::from_absolute_path(&file).map_err(|source| LakeError::Store {
            location: file.display().to_string(),
            source: source.into(),
        })
    }

    /// Whether an object exists at `parts`.
    pub async fn exists(&self, parts: &[&str]) -> Result<bool, LakeError> {
        let path = self.path(parts);
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(&path, e)),
        }
    }

    /// Publishes `bytes` as the object at `path`: readers see it whole or not at all.
    pub async fn put(&self, path: &Path, bytes: Vec<u8>) -> Result<(), LakeError> {
        let size = bytes.len() as u64;
        if self.remote.is_some() && bytes.len() > PART_SIZE {
            let upload = self
                .store
                .put_multipart(path)
                .await
                .map_err(|e| self.error(path, e))?;
            let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            parts.put(bytes.into());
            parts.finish().await.map_err(|e| self.error(path, e))?;
        } else {
            self.store
                .put(path, PutPayload::from(bytes))
                .await
                .map_err(|e| self.error(path, e))?;
        }
        if self.remote.is_some() {
            let meta = self
                .store
                .head(path)
                .await
                .map_err(|e| self.error(path, e))?;
            if meta.size != size {
                return Err(LakeError::Verify {
                    location: path.to_string(),
                    expected: size,
                    found: meta.size,
                });
            }
        }
        Ok(())
    }

    /// Deletes the object at `path`: false when it was gone already.
    pub async fn delete(&self, path: &Path) -> Result<bool, LakeError> {
        match self.store.delete(path).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(path, e)),
        }
    }

    /// Every object below `parts` (recursively).
    pub async fn list(&self, parts: &[&str]) -> Result<Vec<ObjectMeta>, LakeError> {
        let prefix = self.path(parts);
        self.store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| self.error(&prefix, e))
    }

    /// The object at `rel` (`/`-separated, below the lake root), as the log names files.
    pub fn child(&self, rel: &str) -> Path {
        rel.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.root.clone(), |p, part| p.join(part))
    }

    /// `path` below the lake root, `/`-separated: the inverse of [`Lake::child`].
    pub fn relative(&self, path: &Path) -> String {
        match path.prefix_match(&self.root) {
            Some(parts) => parts
                .map(|p| p.as_ref().to_owned())
                .collect::<Vec<_>>()
                .join("/"),
            None => path.to_string(),
        }
    }

    /// A path below the lake root, e.g. `lake.path(&["logs", "dt=2025-09-12"])`.
    pub fn path(&self, parts: &[&str]) -> Path {
        parts
            .iter()
            .fold(self.root.clone(), |p, part| p.join(*part))
    }
}
