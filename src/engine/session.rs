//! The session itself: opening a lake's tables (local or on a cluster), running statements
//! read-only unless allowed, rerunning a query a cluster cancelled, and dropping what a
//! script created.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::transform_schema_to_view;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, ResetVariable, SetVariable, Statement};
use datafusion::prelude::{ParquetReadOptions, SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::parser::DFParserBuilder;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use futures::future::BoxFuture;
// SQL is planned through this crate (opt-level 1), not by calling DataFusion here: see its doc.
use log_gardener_planning::sql as planning;

use url::Url;

#[cfg(feature = "cluster")]
use super::cluster;
use super::{EngineError, TimeRange, keys, scratch, stats, table};
use crate::lake::Lake;
use crate::lake::schema::{SCHEMA_VERSION, WITH_REQUEST_ID, WITH_TRACE_KEY, logs_schema};

/// Memory DataFusion may use before it spills to disk (sorts, joins, aggregations).
pub const MEMORY_LIMIT: usize = 1 << 30;

/// A session with the lake's tables registered.
pub struct Engine {
    pub ctx: SessionContext,
    /// The range `logs` is restricted to, resolved to absolute times.
    pub range: TimeRange,
    /// The Ballista cluster queries run on.
    cluster: Option<Cluster>,
}

/// A cluster session: the scheduler's address, for messages, and where its session tables
/// are written (see [`scratch`]).
struct Cluster {
    url: String,
    scratch: scratch::Scratch,
}

/// Where a session's queries run.
#[derive(Debug, Clone, Default)]
pub struct Execution {
    /// A Ballista cluster's scheduler, `df://HOST:PORT`; none runs them in this process.
    pub cluster: Option<String>,
    /// Tasks each step is split into; none takes this machine's cores. On a cluster that
    /// leaves executors idle when they have more cores in total (Ballista 55's scheduler
    /// does not tell a client how many), so the user gives it.
    pub partitions: Option<usize>,
}

/// Times a query runs again after a cluster cancelled it (for a lost executor, or none).
const CLUSTER_RETRIES: usize = 2;

impl Engine {
    /// Opens `lake`, restricting `logs` to `range` (relative times resolved against `now`,
    /// or the newest entry in the lake) and, when given, to one `service`; the session's
    /// queries run as `execution` says. Boxed: see the crate doc.
    pub fn open<'a>(
        lake: &'a Lake,
        range: &'a crate::range::RangeSpec,
        service: Option<&'a str>,
        execution: &'a Execution,
    ) -> BoxFuture<'a, Result<Engine, EngineError>> {
        Box::pin(Self::open_unboxed(lake, range, service, execution))
    }

    async fn open_unboxed(
        lake: &Lake,
        range: &crate::range::RangeSpec,
        service: Option<&str>,
        execution: &Execution,
    ) -> Result<Engine, EngineError> {
        let cluster = execution.cluster.as_deref();
        // The newest signatures tables, and the log at the version they describe: rows and
        // signatures always match, and commits made since wait for their tables.
        let Some(tables) = crate::lake::signatures::latest(lake).await? else {
            return Err(EngineError::EmptyLake {
                lake: lake.display.clone(),
            });
        };
        let snapshot = crate::lake::log::snapshot(lake, tables.version).await?;
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(MEMORY_LIMIT, 1.0)
            .build_arc()?;
        if let Some(url) = &lake.remote {
            let bucket = Url::parse(&format!("gs://{}", url.bucket))
                .map_err(|e| EngineError::Usage(format!("lake {}: {e}", lake.display)))?;
            runtime.register_object_store(&bucket, lake.store.clone());
        }
        let mut config = SessionConfig::new();
        if let Some(n) = execution.partitions {
            config = config.with_target_partitions(n);
        }
        let config = config
            .with_information_schema(true)
            .set_bool("datafusion.execution.parquet.pushdown_filters", true);
        let mut ctx = session(config, runtime, cluster).await?;
        register_functions(&mut ctx)?;

        for table in ["shapes", "signatures"] {
            let path = tables.table(lake, table);
            ctx.register_parquet(table, lake.table_url(&path), ParquetReadOptions::default())
                .await?;
        }
        let shapes = ctx.table_provider("shapes").await?;
        ctx.add_optimizer_rule(Arc::new(super::unused_join::DropUnusedShapesJoin::new(
            shapes,
        )));
        let newest = newest_entry(&ctx, cluster).await?;
        let resolved = range.resolve(newest)?;
        // Strings as `Utf8View`: the Parquet reader then hands out views into the decoded
        // pages instead of copying every string into one buffer (reading the lake's
        // `json_payload` and `message` of 12 M rows: 2.98 s as `Utf8` from DELTA_BYTE_ARRAY
        // pages, 1.56 s as views from the PLAIN pages `lake::writer` now writes); `shapes`
        // and `signatures` are read as views by DataFusion's default, so joins need no casts.
        let schema = Arc::new(transform_schema_to_view(&logs_schema()));
        let files = table::LakeFiles::new(lake, &snapshot, schema, &resolved)?;
        ctx.register_table("logs_files", Arc::new(files))?;
        // `logs_files` holds the range's rows already (see `table`); `--service` filters here.
        let filter = service.map_or_else(String::new, |service| {
            format!(" WHERE l.service = '{}'", service.replace('\'', "''"))
        });
        // The oldest schema version in range, and how many files an older gardener wrote
        // (in an older schema: queries derive the columns they lack; or layout: queries for
        // problems read all their rows).
        let (oldest, older) = (snapshot.files.values())
            .filter(|f| f.in_range(&resolved))
            .fold((SCHEMA_VERSION, 0), |(oldest, older), f| {
                (
                    oldest.min(f.schema_version),
                    older + usize::from(f.needs_rewrite()),
                )
            });
        if older > 0 {
            eprintln!(
                "warning: {older} files in range were written by an older gardener, in an \
                 older schema or layout; queries read them more slowly until `gardener \
                 compact --lake {}` rewrites them",
                lake.display
            );
        }
        planning::sql(
            &ctx,
            &format!(
                "CREATE VIEW logs AS SELECT {}, s.signature_id, s.template \
             FROM logs_files l LEFT JOIN shapes s ON l.shape_id = s.shape_id{filter}",
                logs_columns(oldest)
            ),
        )
        .await?;
        planning::sql(
            &ctx,
            &format!(
                "CREATE VIEW query_range AS SELECT {} AS since, {} AS until",
                TimeRange::sql_bound(resolved.since),
                TimeRange::sql_bound(resolved.until)
            ),
        )
        .await?;
        Ok(Engine {
            ctx,
            range: resolved,
            cluster: cluster.map(|url| Cluster {
                url: url.to_owned(),
                scratch: scratch::Scratch::new(lake),
            }),
        })
    }

    /// Runs SQL and collects the last statement's result (at least one batch, for the
    /// schema). Statements before the last may create tables and views in the session
    /// (`CREATE TABLE t AS SELECT ...`), which is how a named query computes a step once and
    /// reads it many times (DataFusion recomputes a CTE at each reference), and set the
    /// session's options for the steps after them (`SET datafusion.x = y`, `RESET`). On a cluster a
    /// failed query drops every session table (and deletes their files). Boxed: see the
    /// crate doc.
    pub fn query<'a>(
        &'a self,
        sql: &'a str,
        allow_write: bool,
    ) -> BoxFuture<'a, Result<Vec<RecordBatch>, EngineError>> {
        Box::pin(async move {
            let result = self.statements(sql, allow_write).await;
            if result.is_err() && self.cluster.is_some() {
                // The query's own error is the one to show.
                let _ = self.drop_session_tables().await;
            }
            result
        })
    }

    async fn statements(
        &self,
        sql: &str,
        allow_write: bool,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        let options = SQLOptions::new()
            .with_allow_ddl(allow_write)
            .with_allow_dml(allow_write)
            .with_allow_statements(allow_write);
        let mut statements = DFParserBuilder::new(sql)
            .with_dialect(&GenericDialect {})
            .build()?
            .parse_statements()?;
        let Some(last) = statements.pop_back() else {
            return Err(EngineError::Usage("no SQL statement given".into()));
        };
        for statement in statements {
            let plan = planning::statement_to_plan(self.ctx.state(), statement).await?;
            let in_session = matches!(
                &plan,
                LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(_) | DdlStatement::CreateView(_))
                    | LogicalPlan::Statement(
                        Statement::SetVariable(_) | Statement::ResetVariable(_)
                    )
            );
            if !in_session {
                verify(&options, &plan)?;
            }
            self.run(plan).await?;
        }
        let plan = planning::statement_to_plan(self.ctx.state(), last).await?;
        verify(&options, &plan)?;
        let schema = Arc::new(plan.schema().as_arrow().clone());
        let mut batches = self.run(plan).await?;
        // An empty result still has columns: CSV prints its header, tables their names.
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(schema));
        }
        Ok(batches)
    }

    /// Runs one statement; on a cluster, a session table goes to the scratch folder.
    async fn run(&self, plan: LogicalPlan) -> Result<Vec<RecordBatch>, EngineError> {
        // DataFusion's message for a bad value does not name the option ("invalid digit
        // found in string").
        if let LogicalPlan::Statement(
            Statement::SetVariable(SetVariable { variable, .. })
            | Statement::ResetVariable(ResetVariable { variable }),
        ) = &plan
        {
            let variable = variable.clone();
            return (self.collect(|| Ok(plan.clone())).await).map_err(|e| EngineError::Setting {
                variable,
                detail: e.to_string(),
            });
        }
        match (&self.cluster, plan) {
            (
                Some(Cluster { scratch, .. }),
                LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(create)),
            ) => {
                if scratch.exists(&self.ctx, &create)? {
                    return Ok(Vec::new());
                }
                // Each attempt writes a folder of its own: a cancelled one's files stay unread.
                let mut folder = String::new();
                self.collect(|| {
                    let (plan, url) = scratch.copy(&create)?;
                    folder = url;
                    Ok(plan)
                })
                .await?;
                scratch.register(&self.ctx, &create, &folder).await?;
                Ok(Vec::new())
            }
            (cluster, plan) => {
                let created = match (cluster, &plan) {
                    (None, LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(c))) => {
                        Some(c.name.clone())
                    }
                    _ => None,
                };
                let out = self.collect(|| Ok(plan.clone())).await?;
                if let Some(name) = created {
                    self.compact_views(&name).await?;
                }
                Ok(out)
            }
        }
    }

    /// Copies the strings of session table `name` out of the Parquet pages they view: a
    /// view keeps its whole decoded page alive, so a table of a few narrow columns of 2.5 M
    /// rows held most of the pages it was read from (without this the report's peak rose
    /// from 0.9 to 1.5 GB with views; with it, 0.8 GB).
    async fn compact_views(&self, name: &TableReference) -> Result<(), EngineError> {
        let Some(table) = self.ctx.table_provider(name.clone()).await.ok() else {
            return Ok(());
        };
        let Some(mem) = table.downcast_ref::<MemTable>() else {
            return Ok(());
        };
        for partition in &mem.batches {
            let mut batches = partition.write().await;
            for batch in batches.iter_mut() {
                let columns = batch
                    .columns()
                    .iter()
                    .map(|c| match c.as_string_view_opt() {
                        Some(views) => Arc::new(views.gc()) as ArrayRef,
                        None => c.clone(),
                    })
                    .collect();
                *batch = RecordBatch::try_new(batch.schema(), columns)
                    .map_err(datafusion::error::DataFusionError::from)?;
            }
        }
        Ok(())
    }
}

/// The JSON functions, the significance functions ([`stats`]) and `id_hash` ([`keys`]).
pub(crate) fn register_functions(ctx: &mut SessionContext) -> datafusion::error::Result<()> {
    datafusion_functions_json::register_all(ctx)?;
    stats::register(ctx);
    ctx.register_udf(keys::udf());
    Ok(())
}

/// A local session, or with `cluster` one whose plans run on that Ballista cluster.
async fn session(
    config: SessionConfig,
    runtime: Arc<datafusion::execution::runtime_env::RuntimeEnv>,
    cluster: Option<&str>,
) -> Result<SessionContext, EngineError> {
    let Some(url) = cluster else {
        return Ok(SessionContext::new_with_config_rt(config, runtime));
    };
    #[cfg(feature = "cluster")]
    {
        use ballista::prelude::{SessionConfigExt, SessionContextExt};
        // Ballista 55's adaptive planner re-plans stages as they finish, and that fails the
        // sanity check on `UNION ALL ... ORDER BY` (new_and_rising) and leaves the job
        // hanging; the static planner runs every named query.
        // Ballista prefers sort-merge joins (they spill), which shuffle and sort both sides:
        // the whole lake for `logs`' join to the small `shapes` table (the report on 12 M
        // rows: 74 s, 970 MB of shuffle). Hash joins broadcast the small sides, as planned
        // locally (30 s, 419 MB); see docs/BENCHMARKS.md.
        let config = config
            .upgrade_for_ballista()
            .set_bool("datafusion.optimizer.prefer_hash_join", true)
            .with_ballista_adaptive_query_planner(false)
            .with_ballista_grpc_client_max_message_size(cluster::roles::MAX_MESSAGE)
            .with_ballista_logical_extension_codec(Arc::new(cluster::codec::Codec::default()));
        let state = datafusion::execution::SessionStateBuilder::new()
            .with_default_features()
            .with_config(config)
            .with_runtime_env(runtime)
            .build();
        Ok(SessionContext::remote_with_state(url, state).await?)
    }
    #[cfg(not(feature = "cluster"))]
    Err(EngineError::Usage(format!(
        "--cluster {url}: this gardener was built without the `cluster` feature"
    )))
}

impl Engine {
    /// Runs the plan `plan` makes (see [`collect_on`]).
    async fn collect(
        &self,
        plan: impl FnMut() -> Result<LogicalPlan, EngineError>,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        let cluster = self.cluster.as_ref().map(|c| c.url.as_str());
        collect_on(&self.ctx, cluster, plan).await
    }
}

/// Runs the plan `plan` makes on `ctx`. On a cluster, a query the scheduler cancelled
/// because an executor was lost, or because none was registered for a while (see
/// `cluster::roles`), runs again from the start on the executors left, with a new plan, at
/// most [`CLUSTER_RETRIES`] times, saying so on stderr.
async fn collect_on(
    ctx: &SessionContext,
    cluster: Option<&str>,
    mut plan: impl FnMut() -> Result<LogicalPlan, EngineError>,
) -> Result<Vec<RecordBatch>, EngineError> {
    let mut attempt = 0;
    loop {
        let result = match ctx.execute_logical_plan(plan()?).await {
            Ok(df) => df.collect().await,
            Err(e) => Err(e),
        };
        match (result, cluster) {
            (Err(e), Some(cluster)) if e.find_root().message().contains("failed: Cancelled") => {
                if attempt == CLUSTER_RETRIES {
                    return Err(EngineError::ClusterCancelled {
                        cluster: cluster.to_owned(),
                        attempts: attempt + 1,
                    });
                }
                attempt += 1;
                eprintln!(
                    "warning: {cluster} cancelled the query (an executor was lost, or none is \
                     registered: the scheduler's log says which); running it again ({attempt} \
                     of {CLUSTER_RETRIES})"
                );
            }
            (result, cluster) => {
                return result.map_err(|e| unreachable(cluster, e.into()));
            }
        }
    }
}

/// `e`, said plainly when it is a cluster's scheduler that cannot be reached.
fn unreachable(cluster: Option<&str>, e: EngineError) -> EngineError {
    match cluster {
        Some(cluster) if e.to_string().contains("ConnectError") => EngineError::Usage(format!(
            "cluster {cluster} is unreachable ({e}): start `gardener cluster scheduler` \
             there, or check --cluster"
        )),
        _ => e,
    }
}

/// The `logs_files` columns of the `logs` view. Files of an older schema version read the
/// columns they lack as NULL: while any is in range (`oldest` is the oldest version there),
/// the view derives them: `request_id` from `json_payload` (slower: the payloads are read),
/// `trace_key` from `trace`.
fn logs_columns(oldest: u32) -> String {
    let mut names: Vec<String> = logs_schema()
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "request_id" if oldest < WITH_REQUEST_ID => {
                "coalesce(l.request_id, json_get_str(l.json_payload, 'request_id')) AS request_id"
                    .to_owned()
            }
            "trace_key" if oldest < WITH_TRACE_KEY => {
                "coalesce(l.trace_key, id_hash(l.trace)) AS trace_key".to_owned()
            }
            name => format!("l.{name}"),
        })
        .collect();
    names.push(format!("l.{}", table::DAY));
    names.join(", ")
}

/// The tables and views every session has; anything else a script created.
const BASE_TABLES: [&str; 5] = ["logs_files", "shapes", "signatures", "logs", "query_range"];

impl Engine {
    /// Drops the session tables and views earlier scripts created, freeing their memory
    /// (the report runs many named queries in one session) and, on a cluster, deleting
    /// their files. Boxed: see the crate doc.
    pub fn drop_session_tables(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        Box::pin(self.drop_session_tables_unboxed())
    }

    async fn drop_session_tables_unboxed(&self) -> Result<(), EngineError> {
        let names = self
            .ctx
            .catalog("datafusion")
            .and_then(|c| c.schema("public"))
            .map(|s| s.table_names())
            .unwrap_or_default();
        for name in names.iter().filter(|n| !BASE_TABLES.contains(&n.as_str())) {
            self.ctx.deregister_table(name.as_str())?;
        }
        // A session table left behind costs only space (`gardener compact` deletes it after
        // a day): it must not fail the query whose answer is already there.
        if let Some(cluster) = &self.cluster
            && let Err(e) = cluster.scratch.clear().await
        {
            eprintln!("warning: the session tables of this query were not deleted: {e}");
        }
        Ok(())
    }
}

fn verify(options: &SQLOptions, plan: &LogicalPlan) -> Result<(), EngineError> {
    options
        .verify_plan(plan)
        .map_err(|e| EngineError::ReadOnly {
            detail: e.message().to_string(),
        })
}

/// The newest `last_seen` in the lake: what relative times count back from.
async fn newest_entry(
    ctx: &SessionContext,
    cluster: Option<&str>,
) -> Result<Option<i64>, EngineError> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::TimestampNanosecondType;
    let plan = planning::sql(ctx, "SELECT max(last_seen) FROM shapes")
        .await
        .map_err(|e| unreachable(cluster, e.into()))?
        .into_unoptimized_plan();
    let batches = collect_on(ctx, cluster, || Ok(plan.clone())).await?;
    Ok(batches.first().and_then(|b| {
        let col = b.column(0).as_primitive_opt::<TimestampNanosecondType>()?;
        (!col.is_empty() && col.is_valid(0)).then(|| col.value(0))
    }))
}
