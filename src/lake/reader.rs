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

/// Reads `columns` of every Parquet file below `parts` of the lake, batch by batch.
pub async fn scan_columns(
    lake: &super::Lake,
    parts: &[&str],
    columns: &[&str],
    mut each: impl FnMut(&arrow::array::RecordBatch),
) -> std::result::Result<(), super::LakeError> {
    use futures::TryStreamExt;
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;

    for meta in lake.list(parts).await? {
        if !meta.location.as_ref().ends_with(".parquet") {
            continue;
        }
        let path = meta.location.to_string();
        let pq = |source| super::LakeError::Parquet {
            path: path.clone(),
            source,
        };
        let reader = ObjectReader::new(lake.store.clone(), meta.location.clone());
        let builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(pq)?;
        let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
        let mut stream = builder.with_projection(mask).build().map_err(pq)?;
        while let Some(batch) = stream.try_next().await.map_err(pq)? {
            each(&batch);
        }
    }
    Ok(())
}
