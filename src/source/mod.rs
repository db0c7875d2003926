//! Where bytes come from: files, directories walked recursively (a synced sink folder),
//! globs, stdin (`-`), and objects below `gs://bucket/prefix` ([`crate::common::gcs`]). Gzip is recognized
//! by its magic bytes, not by the file name. With a time range, folders and files of a sink's
//! date layout that miss it are skipped unread ([`sink`]).
//!
//! Failure modes: a path that does not exist, a glob or prefix that matches nothing, an
//! unreachable or forbidden bucket, or a URL scheme we do not read is a [`SourceError`]
//! naming the argument, before any work starts.

pub mod sink;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::common::gcs;
use crate::range::TimeRange;

/// Errors naming the source argument that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {arg}: no such file or directory")]
    NotFound { arg: String },
    #[error("source {arg}: the pattern matches no file")]
    NoMatch { arg: String },
    #[error("source {arg}: {detail}")]
    BadPattern { arg: String, detail: String },
    #[error("source {arg}: '{scheme}://' sources are not supported; use a path, '-' or gs://")]
    Unsupported { arg: String, scheme: String },
    #[error("source {0}")]
    Remote(String),
    #[error("source {0}")]
    Gcs(#[from] gcs::GcsError),
    #[error("source {arg}: {source}")]
    Io {
        arg: String,
        #[source]
        source: io::Error,
    },
}

/// A bucket objects are read from.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    pub store: Arc<dyn ObjectStore>,
}

impl PartialEq for Bucket {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Bucket {}

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File {
        path: PathBuf,
        size: u64,
    },
    Object {
        bucket: Bucket,
        path: ObjectPath,
        size: u64,
    },
    Stdin,
}

impl Input {
    /// How rows and quarantine records name this input.
    pub fn name(&self) -> String {
        match self {
            Input::File { path, .. } => path.display().to_string(),
            Input::Object { bucket, path, .. } => format!("gs://{}/{path}", bucket.name),
            Input::Stdin => "-".to_owned(),
        }
    }

    pub fn size(&self) -> Option<u64> {
        match self {
            Input::File { size, .. } | Input::Object { size, .. } => Some(*size),
            Input::Stdin => None,
        }
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Input::Object { .. })
    }
}

/// The inputs of a run, and how many files or objects the time range ruled out unread.
#[derive(Debug, Default)]
pub struct Expanded {
    pub inputs: Vec<Input>,
    pub skipped: usize,
}

impl Expanded {
    fn push(&mut self, input: Input) {
        if !self.inputs.contains(&input) {
            self.inputs.push(input);
        }
    }
}

/// Expands the command line's sources into inputs, in a stable order. Files and objects of a
/// sink's date layout that miss `range` are left out (counted in `skipped`).
pub async fn expand(args: &[String], range: &TimeRange) -> Result<Expanded, SourceError> {
    let mut out = Expanded::default();
    for arg in args {
        if arg == "-" {
            out.push(Input::Stdin);
            continue;
        }
        if let Some(url) = gcs::GcsUrl::parse(arg) {
            list_bucket(arg, &url?, range, &mut out).await?;
            continue;
        }
        if let Some((scheme, _)) = arg.split_once("://") {
            return Err(SourceError::Unsupported {
                arg: arg.clone(),
                scheme: scheme.to_owned(),
            });
        }
        let path = Path::new(arg);
        if path.is_dir() {
            walk(path, range, &mut out).map_err(|source| SourceError::Io {
                arg: arg.clone(),
                source,
            })?;
        } else if path.is_file() {
            push_file(path.to_path_buf(), range, &mut out).map_err(|source| SourceError::Io {
                arg: arg.clone(),
                source,
            })?;
        } else if arg.contains(['*', '?', '[']) {
            let paths = glob::glob(arg).map_err(|e| SourceError::BadPattern {
                arg: arg.clone(),
                detail: e.to_string(),
            })?;
            let before = out.inputs.len() + out.skipped;
            let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
            matched.sort();
            for p in matched {
                if p.is_dir() {
                    walk(&p, range, &mut out)
                } else {
                    push_file(p, range, &mut out)
                }
                .map_err(|source| SourceError::Io {
                    arg: arg.clone(),
                    source,
                })?;
            }
            if out.inputs.len() + out.skipped == before {
                return Err(SourceError::NoMatch { arg: arg.clone() });
            }
        } else {
            return Err(SourceError::NotFound { arg: arg.clone() });
        }
    }
    Ok(out)
}

fn components(path: &Path) -> Vec<String> {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect()
}

fn push_file(path: PathBuf, range: &TimeRange, out: &mut Expanded) -> io::Result<()> {
    let parts = components(&path);
    if !sink::file_may_match(&parts.iter().map(String::as_str).collect::<Vec<_>>(), range) {
        out.skipped += 1;
        return Ok(());
    }
    let size = std::fs::metadata(&path)?.len();
    out.push(Input::File { path, size });
    Ok(())
}

/// All regular files below `dir`, sorted, skipping hidden names (`.DS_Store`, `.gsutil`) and
/// sink date folders outside `range`.
fn walk(dir: &Path, range: &TimeRange, out: &mut Expanded) -> io::Result<()> {
    let parts = components(dir);
    if !sink::folder_may_match(&parts.iter().map(String::as_str).collect::<Vec<_>>(), range) {
        out.skipped += 1;
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let p = e.path();
        if e.file_type()?.is_dir() {
            walk(&p, range, out)?;
        } else if p.is_file() {
            push_file(p, range, out)?;
        }
    }
    Ok(())
}

/// The objects below a `gs://` prefix (or the one object it names). With a range, the listing
/// walks the folders level by level and never lists a sink date folder that misses it.
async fn list_bucket(
    arg: &str,
    url: &gcs::GcsUrl,
    range: &TimeRange,
    out: &mut Expanded,
) -> Result<(), SourceError> {
    let store = url.connect()?;
    let bucket = Bucket {
        name: url.bucket.clone(),
        store: store.clone(),
    };
    let failed = |e: object_store::Error| SourceError::Remote(gcs::explain(arg, &e));
    let mut objects = Vec::new();
    let mut skipped = 0;
    let visible = |p: &ObjectPath| p.filename().is_some_and(|n| !n.starts_with('.'));
    if range.is_open() {
        let all: Vec<_> = store
            .list(Some(&url.prefix))
            .try_collect()
            .await
            .map_err(failed)?;
        objects.extend(all.into_iter().filter(|m| visible(&m.location)));
    } else {
        let mut folders = vec![url.prefix.clone()];
        while let Some(folder) = folders.pop() {
            let listing = store
                .list_with_delimiter(Some(&folder))
                .await
                .map_err(failed)?;
            for meta in listing.objects {
                let parts: Vec<&str> = meta.location.as_ref().split('/').collect();
                if !visible(&meta.location) {
                    continue;
                } else if sink::file_may_match(&parts, range) {
                    objects.push(meta);
                } else {
                    skipped += 1;
                }
            }
            for prefix in listing.common_prefixes {
                let parts: Vec<&str> = prefix.as_ref().split('/').collect();
                if sink::folder_may_match(&parts, range) {
                    folders.push(prefix);
                } else {
                    skipped += 1;
                }
            }
        }
    }
    if objects.is_empty() && skipped == 0 {
        // Not a folder: perhaps the URL names one object.
        match store.head(&url.prefix).await {
            Ok(meta) => objects.push(meta),
            Err(object_store::Error::NotFound { .. }) => {
                return Err(SourceError::Remote(format!(
                    "{arg}: no objects under this prefix (`gcloud storage ls {arg}` shows what is there)"
                )));
            }
            Err(e) => return Err(failed(e)),
        }
    }
    objects.sort_by(|a, b| a.location.cmp(&b.location));
    out.skipped += skipped;
    for meta in objects {
        out.push(Input::Object {
            bucket: bucket.clone(),
            path: meta.location,
            size: meta.size,
        });
    }
    Ok(())
}

/// Counts bytes as they are read from the underlying source (compressed bytes for gzip).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Bytes `range` of a file or object, as they are stored (a follower reads what was
/// appended since its last poll).
pub async fn read_range(
    input: &Input,
    range: std::ops::Range<u64>,
) -> Result<Vec<u8>, SourceError> {
    match input {
        Input::File { path, .. } => {
            let path = path.clone();
            let name = input.name();
            tokio::task::spawn_blocking(move || {
                use std::io::{Seek, SeekFrom};
                let mut f = File::open(&path)?;
                f.seek(SeekFrom::Start(range.start))?;
                let mut buf = Vec::new();
                f.take(range.end - range.start).read_to_end(&mut buf)?;
                Ok(buf)
            })
            .await
            .map_err(|e| SourceError::Io {
                arg: name.clone(),
                source: io::Error::other(e),
            })?
            .map_err(|source| SourceError::Io { arg: name, source })
        }
        Input::Object { bucket, path, .. } => bucket
            .store
            .get_range(path, range)
            .await
            .map(|b| b.to_vec())
            .map_err(|e| SourceError::Remote(gcs::explain(&input.name(), &e))),
        Input::Stdin => Err(SourceError::Io {
            arg: "-".into(),
            source: io::Error::other("stdin cannot be read by range"),
        }),
    }
}

/// Opens an input for reading, decompressing gzip when its magic bytes say so.
/// Bytes read from the source are added to `count`.
pub fn open(input: &Input, count: Arc<AtomicU64>) -> Result<Box<dyn Read + Send>, SourceError> {
    let raw: Box<dyn Read + Send> = match input {
        Input::File { path, .. } => {
            Box::new(File::open(path).map_err(|source| SourceError::Io {
                arg: input.name(),
                source,
            })?)
        }
        Input::Object { bucket, path, .. } => {
            // Called on a blocking thread of the runtime: the download is driven by the
            // runtime and read here through a synchronous bridge, 256 KiB at a time.
            let handle = tokio::runtime::Handle::current();
            let got = handle
                .block_on(bucket.store.get(path))
                .map_err(|e| SourceError::Remote(gcs::explain(&input.name(), &e)))?;
            let stream = got.into_stream().map_err(io::Error::other);
            Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
                tokio_util::io::StreamReader::new(stream),
                handle,
            ))
        }
        Input::Stdin => Box::new(io::stdin()),
    };
    let mut reader = BufReader::with_capacity(256 << 10, Counting { inner: raw, count });
    let head = reader.fill_buf().map_err(|source| SourceError::Io {
        arg: input.name(),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}
