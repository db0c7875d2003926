//! Ballista's scheduler and executor processes as log-gardener runs them. `gardener
//! cluster` (the library's `engine::cluster::roles`) builds their configuration: functions,
//! object stores, codec, addresses.
//!
//! Ballista's scheduler is generic over the plan types
//! (`SchedulerServer<LogicalPlanNode, PhysicalPlanNode>`), and the crate that names them
//! compiles it, with the gRPC and HTTP code it brings: in the library that was a third of
//! its LLVM IR. Here it is 63 K lines, the instances Ballista's crates compiled reused.
//!
//! The scheduler's policy (the library's `engine::cluster::roles` explains why): every
//! running job is cancelled when an executor is removed, and a job that waits
//! `executor_wait` while no executor is registered is cancelled, so its client fails and
//! says why.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ballista_core::JobId;
use ballista_core::error::BallistaError;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_executor::executor_server::TERMINATING;
use ballista_scheduler::cluster::{BallistaCluster, ClusterStateEvent};
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use futures::StreamExt;
use futures::future::BoxFuture;

type Scheduler = SchedulerServer<LogicalPlanNode, PhysicalPlanNode>;

/// Serves a scheduler made from `config` on `listener` until `stop` ends (then at once:
/// running queries fail).
pub fn scheduler(
    config: Arc<SchedulerConfig>,
    listener: tokio::net::TcpListener,
    executor_wait: Duration,
    stop: BoxFuture<'static, ()>,
) -> BoxFuture<'static, Result<(), BallistaError>> {
    Box::pin(async move {
        config.validate()?;
        let cluster = BallistaCluster::new_from_config(&config).await?;
        let scheduler: Scheduler = create_scheduler(cluster, config).await?;
        let guards = [
            tokio::spawn(cancel_jobs_on_executor_loss(scheduler.clone())),
            tokio::spawn(cancel_jobs_without_executors(
                scheduler.clone(),
                executor_wait,
            )),
        ];
        let result = tokio::select! {
            r = start_grpc_service_with_listener(listener, scheduler) => r,
            () = stop => Ok(()),
        };
        for guard in guards {
            guard.abort();
        }
        result
    })
}

/// Runs an executor made from `config` until it stops: on a signal (Ballista's executor
/// listens for SIGTERM and Ctrl-C itself, and drains) or when the scheduler stops it. May
/// be called again in the same process after it returned.
pub fn executor(config: ExecutorProcessConfig) -> BoxFuture<'static, Result<(), BallistaError>> {
    // Ballista's executor fences itself with a process-wide flag when it stops; one started
    // again in the same process must not start fenced.
    TERMINATING.store(false, Ordering::Release);
    Box::pin(start_executor_process(Arc::new(config)))
}

/// Cancels each job that waited `wait` while no executor was registered. Ballista keeps such
/// a job queued for ever and its client waits in silence; that happens when none was
/// started yet, or when all were dropped: an executor that sends no heartbeat for
/// `--executor-timeout` is told to stop, and a VM paused for longer (seen on this project's
/// test machine) leaves every executor silent that long, alive as they are.
async fn cancel_jobs_without_executors(scheduler: Scheduler, wait: Duration) {
    let mut waiting: HashMap<JobId, Instant> = HashMap::new();
    // Listing the executors reads the scheduler's memory: cheap enough every second.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let none = match scheduler.state.executor_manager.get_executors_state().await {
            Ok(executors) => executors.is_empty(),
            Err(e) => {
                tracing::warn!("cannot list the executors: {e}");
                continue;
            }
        };
        if !none {
            waiting.clear();
            continue;
        }
        let jobs = running_jobs(&scheduler);
        waiting.retain(|job, _| jobs.contains(job));
        for job in jobs {
            let since = *waiting.entry(job.clone()).or_insert_with(Instant::now);
            if since.elapsed() < wait {
                continue;
            }
            tracing::warn!(
                "job {job} waited {} s with no executor registered: cancelling it (start \
                 `gardener cluster executor --scheduler HOST:PORT`, or raise \
                 --executor-wait)",
                wait.as_secs()
            );
            waiting.remove(&job);
            cancel(&scheduler, job).await;
        }
    }
}

/// Cancels every running job when an executor is removed (see the module doc for why).
async fn cancel_jobs_on_executor_loss(scheduler: Scheduler) {
    let mut events = match scheduler.cluster_state_events().await {
        Ok(events) => events,
        Err(e) => {
            tracing::error!("cannot watch executors, a lost one would not fail its queries: {e}");
            return;
        }
    };
    while let Some(event) = events.next().await {
        let ClusterStateEvent::RemovedExecutor { executor_id } = event else {
            continue;
        };
        let jobs = running_jobs(&scheduler);
        for job in jobs {
            tracing::warn!(
                "executor {executor_id} was lost while job {job} ran: cancelling the job \
                 (rerunning its stages can double rows in Ballista 55)"
            );
            cancel(&scheduler, job).await;
        }
    }
}

fn running_jobs(scheduler: &Scheduler) -> Vec<JobId> {
    scheduler
        .state
        .task_manager
        .get_running_job_cache()
        .keys()
        .cloned()
        .collect()
}

async fn cancel(scheduler: &Scheduler, job: JobId) {
    if let Err(e) = scheduler.cancel_job(job.clone()).await {
        tracing::error!("cancelling job {job}: {e}");
    }
}
