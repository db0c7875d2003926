//! Session tables on a cluster: a named query's `CREATE TABLE t AS SELECT ...` steps,
//! written as Parquet under the lake's `_scratch/<session>/` and read back as a listing
//! table by the executors.
//!
//! Alone, a session table is a `MemTable` in the process's memory. On a cluster the
//! executors must read it too, and a plan that carries the rows with it is hundreds of
//! megabytes on a 12 M-row lake (the gRPC stream breaks). So the step's `SELECT` runs on
//! the cluster, the client gathers its rows (this is the part that is not distributed) and
//! writes them once to the lake's store, where every executor reads them like the lake's
//! own files. [`Scratch::clear`] deletes them when the session's tables are dropped; what a
//! killed client leaves behind, `gardener compact` deletes after a day (`lake::compact`).
//!
//! Failure modes: a lake the client may not write to fails the step with the store's error
//! naming the object; a table name used twice without `OR REPLACE` is refused as DataFusion
//! refuses it.

use std::sync::Mutex;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::logical_expr::CreateMemoryTable;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use object_store::path::Path;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::EngineError;
use crate::lake::{Lake, LakeError};

/// One session's folder of tables.
pub struct Scratch {
    lake: Lake,
    dir: Path,
    written: Mutex<Vec<Path>>,
}

impl Scratch {
    /// A folder of its own for this session, below [`crate::lake::SCRATCH`].
    pub fn new(lake: &Lake) -> Scratch {
        Scratch {
            lake: lake.clone(),
            dir: lake.path(&[crate::lake::SCRATCH, &crate::lake::ledger::new_run_id()]),
            written: Mutex::new(Vec::new()),
        }
    }

    /// Writes `batches` (the rows of `create`'s query) and registers them in `ctx` as
    /// `create`'s table.
    pub async fn create(
        &self,
        ctx: &SessionContext,
        create: &CreateMemoryTable,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> Result<(), EngineError> {
        let name = create.name.clone();
        if ctx.table_exist(name.clone())? && !create.or_replace {
            if create.if_not_exists {
                return Ok(());
            }
            return Err(EngineError::Usage(format!("table '{name}' already exists")));
        }
        let n = self.lock()?.len();
        let path = self
            .dir
            .clone()
            .join(format!("{n}-{}.parquet", name.table()));
        let bytes = encode(&path, &schema, &batches)?;
        self.lock()?.push(path.clone());
        self.lake.put(&path, bytes).await?;
        let options = ParquetReadOptions::default().schema(&schema);
        ctx.register_parquet(name, self.lake.table_url(&path), options)
            .await?;
        Ok(())
    }

    /// Deletes the tables written so far.
    pub async fn clear(&self) -> Result<(), EngineError> {
        let written = std::mem::take(&mut *self.lock()?);
        for path in written {
            self.lake.delete(&path).await?;
        }
        // A local store leaves the emptied folder behind.
        if let Some(local) = &self.lake.local_dir {
            let _ = std::fs::remove_dir(local.join(self.lake.relative(&self.dir)));
        }
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<Path>>, EngineError> {
        self.written
            .lock()
            .map_err(|_| EngineError::Usage("a scratch table writer panicked".into()))
    }
}

/// One Parquet file of `batches`; zstd at its cheapest level, as the file lives only
/// for the session.
fn encode(path: &Path, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, LakeError> {
    let pq = |source| LakeError::Parquet {
        path: path.to_string(),
        source,
    };
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema.clone(), Some(props)).map_err(pq)?;
    for batch in batches {
        w.write(batch).map_err(pq)?;
    }
    w.close().map_err(pq)?;
    Ok(buf)
}
