//! Session tables on a cluster: a named query's `CREATE TABLE t AS SELECT ...` steps,
//! written as Parquet by the cluster under the lake's `_scratch/<session>/` and read back
//! by the executors as a listing table.
//!
//! Alone, a session table is a `MemTable` in the process's memory. On a cluster the
//! executors must read it too: a plan that carried the rows with it was hundreds of
//! megabytes on a 12 M-row lake (the gRPC stream broke), and gathering them in the client
//! to write them would make the client the funnel of every step. So the step runs as
//! `COPY (SELECT ...) TO '<folder>'` on the cluster and the table is that folder. The
//! `SELECT` runs distributed; DataFusion's file sink takes one input partition, so one task
//! writes the files. [`Scratch::clear`] deletes the folders when the session's
//! tables are dropped; what a killed client leaves behind, `gardener compact` deletes after
//! a day (`lake::compact`).
//!
//! Failure modes: a lake the executors may not write to fails the step with the store's
//! error; a table name used twice is refused without `OR REPLACE` and replaced with it, as
//! DataFusion does.
//! A step the cluster cancels and the client reruns writes to a new folder, so a cancelled
//! attempt's files are never read.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::datasource::file_format::format_as_file_type;
use datafusion::datasource::file_format::parquet::ParquetFormatFactory;
use datafusion::logical_expr::{CreateMemoryTable, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use super::EngineError;
use crate::lake::Lake;

/// One session's folder of tables.
pub struct Scratch {
    lake: Lake,
    session: String,
    folders: AtomicUsize,
}

impl Scratch {
    /// A folder of its own for this session, below [`crate::lake::SCRATCH`].
    pub fn new(lake: &Lake) -> Scratch {
        Scratch {
            lake: lake.clone(),
            session: crate::lake::ledger::new_run_id(),
            folders: AtomicUsize::new(0),
        }
    }

    /// Whether `create` has nothing to do: its table exists and `IF NOT EXISTS` says keep
    /// it. An existing table without `OR REPLACE` is an error.
    pub fn exists(
        &self,
        ctx: &SessionContext,
        create: &CreateMemoryTable,
    ) -> Result<bool, EngineError> {
        if !ctx.table_exist(create.name.clone())? || create.or_replace {
            return Ok(false);
        }
        if create.if_not_exists {
            return Ok(true);
        }
        Err(EngineError::Usage(format!(
            "table '{}' already exists",
            create.name
        )))
    }

    /// The plan that writes `create`'s rows into a new folder, and that folder's URL.
    pub fn copy(&self, create: &CreateMemoryTable) -> Result<(LogicalPlan, String), EngineError> {
        let n = self.folders.fetch_add(1, Ordering::Relaxed);
        let name = format!("{n}-{}", create.name.table());
        let folder = self
            .lake
            .path(&[crate::lake::SCRATCH, &self.session, &name]);
        let url = format!("{}/", self.lake.table_url(&folder));
        let parquet = format_as_file_type(Arc::new(ParquetFormatFactory::new()));
        let plan = LogicalPlanBuilder::copy_to(
            create.input.as_ref().clone(),
            url.clone(),
            parquet,
            HashMap::new(),
            Vec::new(),
        )?
        .build()?;
        Ok((plan, url))
    }

    /// Registers the files at `url` (written by [`Scratch::copy`]'s plan) as `create`'s
    /// table.
    pub async fn register(
        &self,
        ctx: &SessionContext,
        create: &CreateMemoryTable,
        url: &str,
    ) -> Result<(), EngineError> {
        let schema = create.input.schema().as_arrow().clone();
        let options = ParquetReadOptions::default().schema(&schema);
        if create.or_replace {
            ctx.deregister_table(create.name.clone())?;
        }
        ctx.register_parquet(create.name.clone(), url, options)
            .await?;
        Ok(())
    }

    /// Deletes every table this session wrote.
    pub async fn clear(&self) -> Result<(), EngineError> {
        for meta in self
            .lake
            .list(&[crate::lake::SCRATCH, &self.session])
            .await?
        {
            self.lake.delete(&meta.location).await?;
        }
        // A local store leaves the emptied folders behind.
        if let Some(local) = &self.lake.local_dir {
            let _ = std::fs::remove_dir_all(local.join(crate::lake::SCRATCH).join(&self.session));
        }
        Ok(())
    }
}
