//! `gardener cluster scheduler` and `gardener cluster executor`: Ballista's scheduler and
//! executor processes with this project's functions, object stores and tables
//! ([`super`]), so one binary is all a cluster needs.
//!
//! Shutdown: SIGTERM or Ctrl-C stops the scheduler at once (clients see their running
//! queries fail); an executor tells the scheduler it is leaving, stops taking tasks and
//! ends when its running tasks have (Ballista's executor shutdown). An executor the
//! scheduler stops (it does so to one whose heartbeats it missed for `--executor-timeout`,
//! alive as it may be: a VM paused for 41 s did that to every executor of a test cluster)
//! registers again (under a new id when the scheduler still holds the old one). Ballista's
//! executor exits instead, and a cluster whose executors all had ran nothing until someone
//! restarted them.
//!
//! A lost executor fails the queries that were running; their stages are never rerun.
//! Ballista 55 recovers from a lost executor by rerunning the stages whose output it held,
//! and measured here that gave a wrong answer (rows counted 2.7 times: a join with an
//! executor killed mid-query, `tests/it/cluster.rs`); with the adaptive planner the query
//! hung instead. So the scheduler cancels every running job when an executor is removed
//! (missed heartbeats for `--executor-timeout`, or a clean stop), a failed shuffle fetch
//! fails its stage at once (`stage_max_failures = 1`), and the client runs a cancelled
//! query again from the start on the executors that are left (`session::collect_on`). A job
//! that waits `--executor-wait` while no executor is registered is cancelled too
//! (Ballista 55 keeps it queued for ever), so its client fails and says why. Both
//! cancellations run in the scheduler process that `log_gardener_planning::cluster` starts
//! (`crates/planning`: Ballista's processes compile there, at opt-level 1); this module
//! builds their configuration.
//!
//! Known limit (Ballista 55): an executor killed while idle is noticed when the scheduler
//! next launches a task on it. Ballista then rolls back the stage and drops the tasks it
//! had started on the other executors without giving back their task slots
//! (`TaskManager::executor_lost` returns them to cancel, and their late status finds no
//! job to refund from: `sum_vcores_for_statuses`). The same happens to a task of a job
//! cancelled here that another executor is still running (seen on a loaded machine: the
//! task outlived the cancellation by 20 s). Each leaked slot is lost until that executor
//! restarts; an executor with a single slot then takes no more tasks, and the rerun
//! waits. Executors started with several cores lose capacity, not the queries.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ballista_core::error::BallistaError;
use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::ExecutorProcessConfig;
use ballista_scheduler::config::SchedulerConfig;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;
use futures::future::BoxFuture;

use super::codec::Codec;
use super::{LakeStores, with_functions};
use crate::common::signals::Signals;

/// Errors of the cluster roles, each naming the address or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("{what} {value:?}: {detail}")]
    Address {
        what: &'static str,
        value: String,
        detail: String,
    },
    #[error("cluster {role}: {source}")]
    Ballista {
        role: &'static str,
        #[source]
        source: BallistaError,
    },
    #[error("cluster {role}: {source}")]
    DataFusion {
        role: &'static str,
        #[source]
        source: datafusion::error::DataFusionError,
    },
}

/// `HOST:PORT` split, the port checked.
pub fn host_port(what: &'static str, value: &str) -> Result<(String, u16), RoleError> {
    let bad = |detail: &str| RoleError::Address {
        what,
        value: value.to_owned(),
        detail: detail.to_owned(),
    };
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| bad("expected HOST:PORT"))?;
    let port = port
        .parse::<u16>()
        .map_err(|_| bad("the port is not a number from 0 to 65535"))?;
    Ok((host.trim_start_matches("df://").to_owned(), port))
}

/// The session every role plans and executes with: Ballista's defaults, this project's
/// functions and object stores.
fn session_state(
    config: SessionConfig,
) -> datafusion::error::Result<datafusion::execution::SessionState> {
    let base = ballista_core::utils::default_session_builder(config)?;
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(LakeStores::default()))
        .build_arc()?;
    with_functions(
        SessionStateBuilder::new_from_existing(base)
            .with_runtime_env(runtime)
            .with_physical_optimizer_rules(super::joins::physical_rules())
            .build(),
    )
}

/// How often an executor says it is alive (`--executor-timeout` must be longer).
const HEARTBEAT: u64 = 5;
/// The largest gRPC message a role takes. Raised from Ballista's 16 MiB default when plans
/// carried session tables (they no longer do, see `engine::scratch`); kept so that a plan
/// naming a big lake's files (`logs_files` lists each, ~150 bytes) is never refused.
pub const MAX_MESSAGE: usize = 1 << 30;

/// How a scheduler is started.
pub struct SchedulerOptions {
    /// `HOST:PORT` to listen on.
    pub bind: String,
    /// A query that waits this long while no executor is registered is cancelled.
    pub executor_wait: Duration,
    /// An executor that sent no heartbeat for this long is removed (and its queries run
    /// again on the others).
    pub executor_timeout: Duration,
}

/// Runs a scheduler until SIGTERM or Ctrl-C. Boxed: see the crate doc.
pub fn scheduler(opts: SchedulerOptions) -> BoxFuture<'static, Result<(), RoleError>> {
    Box::pin(scheduler_unboxed(opts))
}

async fn scheduler_unboxed(opts: SchedulerOptions) -> Result<(), RoleError> {
    let bind = opts.bind.as_str();
    let (host, port) = host_port("--bind", bind)?;
    let config = Arc::new(SchedulerConfig {
        bind_host: host.clone(),
        bind_port: port,
        override_session_builder: Some(Arc::new(session_state)),
        override_logical_codec: Some(Arc::new(Codec::default())),
        stage_max_failures: 1,
        // A retried task would write a session table's part again beside the failed
        // attempt's files (COPY names each attempt's files anew): the table would hold
        // rows twice. A failed task fails the query instead.
        task_max_failures: 1,
        grpc_server_max_decoding_message_size: MAX_MESSAGE as u32,
        grpc_server_max_encoding_message_size: MAX_MESSAGE as u32,
        grpc_client_max_message_size: MAX_MESSAGE as u32,
        executor_timeout_seconds: opts.executor_timeout.as_secs(),
        expire_dead_executor_interval_seconds: HEARTBEAT,
        ..Default::default()
    });
    let addr: SocketAddr =
        format!("{host}:{port}")
            .parse()
            .map_err(|e: std::net::AddrParseError| RoleError::Address {
                what: "--bind",
                value: bind.to_owned(),
                detail: e.to_string(),
            })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| RoleError::Address {
            what: "--bind",
            value: bind.to_owned(),
            detail: e.to_string(),
        })?;
    tracing::info!("scheduler listening on {addr}");
    let stop = Box::pin(async { Signals::new().recv().await });
    log_gardener_planning::cluster::scheduler(config, listener, opts.executor_wait, stop)
        .await
        .map_err(|source| RoleError::Ballista {
            role: "scheduler",
            source,
        })
}

/// How an executor is started.
pub struct ExecutorOptions {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    /// `HOST:PORT` of the executor's Arrow Flight service (its gRPC service is PORT+1).
    pub bind: String,
    /// The host the scheduler and the other executors reach this one at.
    pub external_host: Option<String>,
    /// Tasks run at once (0: every core).
    pub cores: usize,
    /// Where shuffle files go (default: a temporary directory).
    pub work_dir: Option<String>,
}

/// Runs an executor until SIGTERM or Ctrl-C, then drains it; registers it again whenever
/// the scheduler stops it. Boxed: see the crate doc.
pub fn executor(opts: ExecutorOptions) -> BoxFuture<'static, Result<(), RoleError>> {
    Box::pin(executor_unboxed(opts))
}

/// The pause before an executor the scheduler stopped registers again.
const REREGISTER_PAUSE: Duration = Duration::from_secs(2);

async fn executor_unboxed(opts: ExecutorOptions) -> Result<(), RoleError> {
    // Ballista's executor stops on a signal and on the scheduler's request alike, and says
    // which to no one: a signal is noted here as well.
    let signalled = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn({
        let signalled = signalled.clone();
        async move {
            Signals::new().recv().await;
            signalled.store(true, Ordering::Release);
        }
    });
    // The same id again when the scheduler lets it (nothing of the old registration is
    // left behind). The stopped executor's last heartbeat, sent on waking before it read
    // the stop request, may have registered it again; the scheduler then refuses the id
    // (AlreadyExists) until that registration expires, and in a loaded test run it still
    // refused it after a minute (why was not found). So a refused id is replaced by a new
    // one; the old registration expires on its own, and a query the scheduler sent to it
    // meanwhile is cancelled and run again (the client reruns cancelled queries).
    let mut id = ExecutorProcessConfig::default().executor_id;
    let result = loop {
        match run_executor(&opts, &id).await {
            Ok(()) => {}
            Err(e) if already_registered(&e) => {
                id = ExecutorProcessConfig::default().executor_id;
            }
            Err(e) => break Err(e),
        }
        // Ballista's executor and its signal handler end on the same signal: give the
        // watcher a moment, which a restart waits anyway.
        tokio::time::sleep(REREGISTER_PAUSE).await;
        if signalled.load(Ordering::Acquire) {
            break Ok(());
        }
        tracing::warn!(
            "the scheduler at {} stopped this executor or still holds its last \
             registration (it stops one whose heartbeats it missed for its \
             --executor-timeout, e.g. after this machine was paused): registering again",
            opts.scheduler
        );
    };
    watcher.abort();
    result
}

/// The scheduler refused the registration: it still holds one under this id.
fn already_registered(e: &RoleError) -> bool {
    matches!(e, RoleError::Ballista { source: BallistaError::GrpcError(status), .. }
        if status.code() == tonic::Code::AlreadyExists)
}

/// One executor's life as executor `id`: registration to stop.
async fn run_executor(opts: &ExecutorOptions, id: &str) -> Result<(), RoleError> {
    let (scheduler_host, scheduler_port) = host_port("--scheduler", &opts.scheduler)?;
    let (bind_host, port) = host_port("--bind", &opts.bind)?;
    let grpc_port = port.checked_add(1).ok_or_else(|| RoleError::Address {
        what: "--bind",
        value: opts.bind.clone(),
        detail: "the gRPC service needs PORT+1".into(),
    })?;
    let state = session_state(SessionConfig::new_with_ballista()).map_err(|source| {
        RoleError::DataFusion {
            role: "executor",
            source,
        }
    })?;
    let stores = Arc::new(LakeStores::default());
    let work_dir = opts.work_dir.clone();
    let config = ExecutorProcessConfig {
        executor_id: id.to_owned(),
        bind_host,
        external_host: opts.external_host.clone(),
        port,
        grpc_port,
        scheduler_host,
        scheduler_port,
        vcores: opts.cores,
        executor_heartbeat_interval_seconds: HEARTBEAT,
        grpc_max_decoding_message_size: MAX_MESSAGE as u32,
        grpc_max_encoding_message_size: MAX_MESSAGE as u32,
        work_dir: opts.work_dir.clone(),
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        override_runtime_producer: Some(Arc::new(move |_| {
            let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(stores.clone());
            if let Some(dir) = &work_dir {
                runtime = runtime.with_temp_file_path(dir);
            }
            runtime.build_arc()
        })),
        override_logical_codec: Some(Arc::new(Codec::default())),
        ..Default::default()
    };
    log_gardener_planning::cluster::executor(config)
        .await
        .map_err(|source| RoleError::Ballista {
            role: "executor",
            source,
        })
}
