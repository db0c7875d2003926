//! `logs_files`: the `logs/` files of one lake snapshot as a DataFusion table.
//!
//! The files come from the commit log ([`crate::lake::log`]), never from listing `logs/`:
//! a listing would show files that are staged but not committed, or removed by a
//! compaction, and count their rows twice. Each file's `dt=` day is the partition column
//! `dt`, and its time range (from the log) lets [`LakeFiles::new`] drop the files outside
//! `--since/--until` before DataFusion plans anything. Scans go through DataFusion's own
//! Parquet reader, with its filter pushdown and row-group pruning.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{ScalarValue, project_schema};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;

use crate::lake::Lake;
use crate::lake::log::Snapshot;
use crate::range::TimeRange;

/// The URL the lake's object store is registered under in a session.
pub const STORE_URL: &str = "gardener://lake";

/// One file to scan: its object path in the lake's store, size and day.
#[derive(Debug, Clone)]
struct File {
    path: String,
    size: u64,
    day: String,
}

/// The committed `logs/` files of a snapshot, restricted to a time range.
#[derive(Debug)]
pub struct LakeFiles {
    file_schema: SchemaRef,
    table_schema: SchemaRef,
    files: Vec<File>,
}

impl LakeFiles {
    /// The files of `snap` whose rows may fall in `range`.
    pub fn new(lake: &Lake, snap: &Snapshot, file_schema: SchemaRef, range: &TimeRange) -> Self {
        let files = snap
            .files
            .values()
            .filter(|f| range.overlaps(f.min_ts, f.max_ts.saturating_add(1)))
            .map(|f| File {
                path: lake.child(&f.path).to_string(),
                size: f.bytes,
                day: f.day.clone(),
            })
            .collect();
        let mut fields: Vec<_> = file_schema.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new("dt", DataType::Utf8, false)));
        LakeFiles {
            file_schema,
            table_schema: Arc::new(Schema::new(fields)),
            files,
        }
    }

    /// The files spread over `n` groups of about equal bytes (DataFusion splits big files
    /// further by byte range).
    fn groups(&self, n: usize) -> Vec<FileGroup> {
        let mut files = self.files.clone();
        files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
        let mut groups: Vec<(u64, Vec<PartitionedFile>)> = vec![(0, Vec::new()); n.max(1)];
        for f in files {
            let Some(g) = groups.iter_mut().min_by_key(|g| g.0) else {
                break;
            };
            g.0 += f.size;
            g.1.push(
                PartitionedFile::new(f.path, f.size)
                    .with_partition_values(vec![ScalarValue::Utf8(Some(f.day))]),
            );
        }
        groups
            .into_iter()
            .filter(|g| !g.1.is_empty())
            .map(|g| FileGroup::new(g.1))
            .collect()
    }
}

#[async_trait]
impl TableProvider for LakeFiles {
    fn schema(&self) -> SchemaRef {
        self.table_schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let groups = self.groups(state.config().target_partitions());
        if groups.is_empty() {
            let schema = project_schema(&self.table_schema, projection)?;
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let dt = Arc::new(Field::new("dt", DataType::Utf8, false));
        let source = format.file_source(
            TableSchema::builder(self.file_schema.clone())
                .with_table_partition_cols(vec![dt])
                .build(),
        );
        let config = FileScanConfigBuilder::new(ObjectStoreUrl::parse(STORE_URL)?, source)
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        format.create_physical_plan(state, config).await
    }
}
