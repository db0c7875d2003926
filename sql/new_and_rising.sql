-- new_and_rising: signatures first seen in the range, and signatures that rose after a revision change.
-- params: grace = 1 day; min_count = 10; min_ratio = 2; min_significance = 3
-- columns: status (new | rising), signature_id, template, service, count (rows in the
--   range), first_seen (in the whole lake), revision_before, revision_after, changed_at
--   (the new revision's first row), rate_before, rate_after (rows per hour the revision
--   was live in the range), significance (-log10 p of at least this many rows after the
--   change if the rate had not moved; binomial over both revisions' rows)
-- new: first seen at or after the start of the range (--since), and not within `grace` of
-- the lake's oldest row, where everything would look new. rising: per service, each
-- revision against the one before it (ordered by first row); count after >= min_count,
-- rate after >= min_ratio * rate before, significance >= min_significance.
-- Rows are counted per shape first (an integer key, so the lake's rows skip the join to
-- `shapes`); the few groups then get their signature, several shapes to one. `n` stays a
-- BIGINT where other engines sum to a wider type (DuckDB's HUGEINT), for binom_significance.
CREATE TABLE sig_revisions AS
SELECT s.signature_id, g.service, g.revision,
       CAST(sum(g.n) AS BIGINT) AS n, min(g.first_ts) AS first_ts, max(g.last_ts) AS last_ts
FROM (
  SELECT shape_id, service, revision,
         count(*) AS n, min(timestamp) AS first_ts, max(timestamp) AS last_ts
  FROM logs
  GROUP BY 1, 2, 3
) g LEFT JOIN shapes s ON s.shape_id = g.shape_id
GROUP BY 1, 2, 3;

WITH lake_start AS (SELECT min(first_seen) AS t FROM signatures),
bounds AS (
  SELECT greatest(coalesce(r.since, l.t), l.t + INTERVAL '${grace}') AS since
  FROM query_range r CROSS JOIN lake_start l
),
in_range AS (
  SELECT signature_id, min(service) AS service, sum(n) AS n FROM sig_revisions GROUP BY signature_id
),
new AS (
  SELECT 'new' AS status, s.signature_id, s.template, i.service, i.n AS count, s.first_seen,
         CAST(NULL AS VARCHAR) AS revision_before, CAST(NULL AS VARCHAR) AS revision_after,
         CAST(NULL AS TIMESTAMP) AS changed_at,
         CAST(NULL AS DOUBLE) AS rate_before, CAST(NULL AS DOUBLE) AS rate_after,
         CAST(NULL AS DOUBLE) AS significance
  FROM signatures s
  JOIN in_range i ON i.signature_id = s.signature_id
  CROSS JOIN bounds b
  WHERE s.first_seen >= b.since
),
revisions AS (
  SELECT service, revision, min(first_ts) AS started, max(last_ts) AS ended
  FROM sig_revisions WHERE revision IS NOT NULL GROUP BY service, revision
),
changes AS (
  SELECT service, revision AS revision_after, started AS changed_at,
         lag(revision) OVER (PARTITION BY service ORDER BY started, revision) AS revision_before,
         greatest(CAST(CAST(ended AS BIGINT) - CAST(started AS BIGINT) AS DOUBLE) / 3600e9, 1.0) AS hours_after
  FROM revisions
),
spans AS (
  SELECT c.*, greatest(CAST(CAST(p.ended AS BIGINT) - CAST(p.started AS BIGINT) AS DOUBLE) / 3600e9, 1.0) AS hours_before
  FROM changes c JOIN revisions p ON p.service = c.service AND p.revision = c.revision_before
),
per_revision AS (SELECT signature_id, service, revision, n FROM sig_revisions),
rising AS (
  SELECT 'rising' AS status, a.signature_id, s.template, c.service, i.n AS count, s.first_seen,
         c.revision_before, c.revision_after, c.changed_at,
         coalesce(b.n, 0) / c.hours_before AS rate_before,
         a.n / c.hours_after AS rate_after,
         binom_significance(a.n, a.n + coalesce(b.n, 0), c.hours_after / (c.hours_after + c.hours_before)) AS significance
  FROM spans c
  JOIN per_revision a ON a.service = c.service AND a.revision = c.revision_after
  LEFT JOIN per_revision b ON b.service = c.service AND b.revision = c.revision_before
       AND b.signature_id = a.signature_id
  JOIN signatures s ON s.signature_id = a.signature_id
  JOIN in_range i ON i.signature_id = a.signature_id
)
SELECT * FROM new
UNION ALL
SELECT * FROM rising
WHERE count >= ${min_count} AND rate_after >= ${min_ratio} * rate_before
  AND significance >= ${min_significance}
ORDER BY status, significance DESC NULLS LAST, first_seen, signature_id
