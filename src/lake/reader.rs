//! Reading Parquet files of the lake through `object_store` (ranges only, never whole files),
//! as parquet's `AsyncFileReader` wants it.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryFutureExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, MetadataSuffixFetch};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

fn to_parquet_err(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

/// One Parquet object in a store.
#[derive(Clone, Debug)]
pub struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
}

impl ObjectReader {
    pub fn new(store: Arc<dyn ObjectStore>, path: Path) -> Self {
        ObjectReader { store, path }
    }
}

impl AsyncFileReader for ObjectReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes>> {
        self.store
            .get_range(&self.path, range)
            .map_err(to_parquet_err)
            .boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(to_parquet_err)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, Result<Arc<ParquetMetaData>>> {
        async move {
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_via_suffix_and_finish(self)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

impl MetadataSuffixFetch for &mut ObjectReader {
    fn fetch_suffix(&mut self, suffix: usize) -> BoxFuture<'_, Result<Bytes>> {
        let options = GetOptions {
            range: Some(GetRange::Suffix(suffix as u64)),
            ..Default::default()
        };
        async move {
            self.store
                .get_opts(&self.path, options)
                .await
                .map_err(to_parquet_err)?
                .bytes()
                .await
                .map_err(to_parquet_err)
        }
        .boxed()
    }
}

/// Rows of one Parquet file and its oldest and newest `timestamp` (from the footer's
/// statistics; the whole range when a file has none).
pub async fn row_count_and_range(
    lake: &super::Lake,
    meta: &object_store::ObjectMeta,
) -> std::result::Result<(u64, i64, i64), super::LakeError> {
    use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
    use parquet::file::statistics::Statistics;
    let reader = ObjectReader::new(lake.store.clone(), meta.location.clone());
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|source| super::LakeError::Parquet {
            path: meta.location.to_string(),
            source,
        })?;
    let md = builder.metadata();
    let rows = md.file_metadata().num_rows().max(0) as u64;
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for rg in md.row_groups() {
        match rg.columns().first().and_then(|c| c.statistics()) {
            Some(Statistics::Int64(s)) => {
                lo = lo.min(s.min_opt().copied().unwrap_or(i64::MIN));
                hi = hi.max(s.max_opt().copied().unwrap_or(i64::MAX));
            }
            _ => return Ok((rows, i64::MIN, i64::MAX)),
        }
    }
    Ok((rows, lo, hi))
}

/// Reads `columns` (all when `None`) of the Parquet objects `files`, batch by batch, in
/// order; `each` reads a batch through typed accessors, and its error stops the scan.
pub async fn scan_files(
    lake: &super::Lake,
    files: &[Path],
    columns: Option<&[&str]>,
    mut each: impl FnMut(super::columns::Columns<'_>) -> std::result::Result<(), super::LakeError>,
) -> std::result::Result<(), super::LakeError> {
    use futures::TryStreamExt;
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;

    for file in files {
        let pq = |source| super::LakeError::Parquet {
            path: file.to_string(),
            source,
        };
        let reader = ObjectReader::new(lake.store.clone(), file.clone());
        let mut builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(pq)?;
        if let Some(columns) = columns {
            let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
            builder = builder.with_projection(mask);
        }
        let mut stream = builder.build().map_err(pq)?;
        while let Some(batch) = stream.try_next().await.map_err(pq)? {
            each(super::columns::Columns::new(file.as_ref(), &batch))?;
        }
    }
    Ok(())
}
