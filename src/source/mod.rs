//! Where bytes come from: files, directories walked recursively (a synced sink folder),
//! globs, and stdin (`-`). Gzip is recognized by its magic bytes, not by the file name.
//!
//! Failure modes: a path that does not exist, a glob that matches nothing, or a URL scheme we
//! do not read yet is a [`SourceError`] naming the argument, before any work starts.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

/// Errors naming the source argument that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {arg}: no such file or directory")]
    NotFound { arg: String },
    #[error("source {arg}: the pattern matches no file")]
    NoMatch { arg: String },
    #[error("source {arg}: {detail}")]
    BadPattern { arg: String, detail: String },
    #[error("source {arg}: '{scheme}://' sources are not supported yet")]
    Unsupported { arg: String, scheme: String },
    #[error("source {arg}: {source}")]
    Io {
        arg: String,
        #[source]
        source: io::Error,
    },
}

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File { path: PathBuf, size: u64 },
    Stdin,
}

impl Input {
    /// How rows and quarantine records name this input.
    pub fn name(&self) -> String {
        match self {
            Input::File { path, .. } => path.display().to_string(),
            Input::Stdin => "-".to_owned(),
        }
    }

    pub fn size(&self) -> Option<u64> {
        match self {
            Input::File { size, .. } => Some(*size),
            Input::Stdin => None,
        }
    }
}

/// Expands the command line's sources into inputs, in a stable order.
pub fn expand(args: &[String]) -> Result<Vec<Input>, SourceError> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            if !out.contains(&Input::Stdin) {
                out.push(Input::Stdin);
            }
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
            walk(path, &mut out).map_err(|source| SourceError::Io {
                arg: arg.clone(),
                source,
            })?;
        } else if path.is_file() {
            push_file(path.to_path_buf(), &mut out).map_err(|source| SourceError::Io {
                arg: arg.clone(),
                source,
            })?;
        } else if arg.contains(['*', '?', '[']) {
            let paths = glob::glob(arg).map_err(|e| SourceError::BadPattern {
                arg: arg.clone(),
                detail: e.to_string(),
            })?;
            let before = out.len();
            let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
            matched.sort();
            for p in matched {
                if p.is_dir() {
                    walk(&p, &mut out)
                } else {
                    push_file(p, &mut out)
                }
                .map_err(|source| SourceError::Io {
                    arg: arg.clone(),
                    source,
                })?;
            }
            if out.len() == before {
                return Err(SourceError::NoMatch { arg: arg.clone() });
            }
        } else {
            return Err(SourceError::NotFound { arg: arg.clone() });
        }
    }
    Ok(out)
}

fn push_file(path: PathBuf, out: &mut Vec<Input>) -> io::Result<()> {
    let size = std::fs::metadata(&path)?.len();
    let input = Input::File { path, size };
    if !out.contains(&input) {
        out.push(input);
    }
    Ok(())
}

/// All regular files below `dir`, sorted, skipping hidden names (`.DS_Store`, `.gsutil`).
fn walk(dir: &Path, out: &mut Vec<Input>) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let p = e.path();
        if e.file_type()?.is_dir() {
            walk(&p, out)?;
        } else if p.is_file() {
            push_file(p, out)?;
        }
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
