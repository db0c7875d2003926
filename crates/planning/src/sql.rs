//! DataFusion's SQL planner, entered here. Its entry points are async functions, and the
//! crate that awaits one compiles its body and everything generic under it: the SQL
//! planner (`SqlToRel`), sqlparser's visitors, each wrapped for stack growth. Awaited in the
//! library, that was a third of its LLVM IR (2.1 M lines before, 1.4 M after), optimized at
//! its level; here DataFusion's own instances are reused.

use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::execution::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement;
use futures::future::BoxFuture;

/// [`SessionState::statement_to_plan`].
pub fn statement_to_plan(
    state: SessionState,
    statement: Statement,
) -> BoxFuture<'static, Result<LogicalPlan>> {
    Box::pin(async move { state.statement_to_plan(statement).await })
}

/// [`SessionContext::sql`].
pub fn sql<'a>(ctx: &'a SessionContext, sql: &'a str) -> BoxFuture<'a, Result<DataFrame>> {
    Box::pin(ctx.sql(sql))
}
