//! The scheduler's rule that keeps broadcast joins correct on a cluster.
//!
//! DataFusion's join selection builds a small side once (`CollectLeft`) and probes it from
//! every partition of the other side; a join that also emits rows on behalf of the build
//! side (its unmatched rows for `LEFT`/`FULL`, the rows of a `LEFT SEMI`/`ANTI`/`MARK`
//! join) does so when the last probe partition in the process is done. Ballista runs each
//! probe partition as a task with its own copy of the build side, so those rows were lost
//! or split across tasks: `co_occurrence` with `baskets` as a session table gave 280 of
//! its 499 rows on a cluster, and a `count(*)` over it two partial counts
//! (`tests/it/cluster.rs`). Ballista's own join selection knows this, but only its adaptive
//! planner uses it, which is off ([`super`]'s session setup says why).
//!
//! So right after join selection, such a join is planned partitioned instead: both sides
//! are hashed on the join keys (the distribution pass that follows adds the shuffles), and
//! each task owns its keys' build rows. Joins whose output follows the probe rows (inner,
//! `RIGHT`, and what join selection swapped into them, as `logs`' join to `shapes`) keep
//! their broadcast.

use std::sync::Arc;

use datafusion::common::JoinType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};

/// DataFusion's physical optimizer rules with [`DistributedJoins`] right after join
/// selection.
pub fn physical_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = PhysicalOptimizer::new().rules;
    let at = rules
        .iter()
        .position(|r| r.name() == "join_selection")
        .map_or(0, |i| i + 1);
    rules.insert(at, Arc::new(DistributedJoins));
    rules
}

/// Plans partitioned the broadcast joins whose output depends on the build side.
#[derive(Debug)]
pub struct DistributedJoins;

/// Whether every output row of a `CollectLeft` join follows from one probe row.
fn broadcast_safe(join_type: JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Inner
            | JoinType::Right
            | JoinType::RightSemi
            | JoinType::RightAnti
            | JoinType::RightMark
    )
}

impl PhysicalOptimizerRule for DistributedJoins {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(join) = node.downcast_ref::<HashJoinExec>() else {
                return Ok(Transformed::no(node));
            };
            if *join.partition_mode() != PartitionMode::CollectLeft
                || broadcast_safe(*join.join_type())
            {
                return Ok(Transformed::no(node));
            }
            let partitioned = join
                .builder()
                .with_partition_mode(PartitionMode::Partitioned)
                .build()?;
            Ok(Transformed::yes(
                Arc::new(partitioned) as Arc<dyn ExecutionPlan>
            ))
        })
        .data()
    }

    fn name(&self) -> &str {
        "distributed_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}
