-- issues: each signature's problem rows (what the report counts) beside all its rows.
-- params: (none; restrict the range with --since/--until)
-- columns: signature_id, template, count (problem rows), rate_per_hour (problem rows over
--   span_hours, the hours the range's rows span), first_seen, last_seen, max_severity (of the problem
--   rows), per_day (JSON: day -> problem rows), total (all rows), total_first_seen,
--   total_last_seen, total_max_severity, total_per_day (the same over all rows),
--   dominant_severity (the severity most of its rows have), dominant_share, log_id (the
--   log most of its rows come from)
-- Problem rows: severity >= WARNING or HTTP status >= 500. Signatures without problem rows
-- are listed too (count 0), so a rule can promote them; the report then counts all rows.
-- Rows are counted per shape first (an integer key, so the lake's rows skip the join to
-- `shapes`); the few groups then get their signature, several shapes to one.
CREATE TABLE sig_levels AS
SELECT s.signature_id, g.dt, g.severity_number, g.log_id, g.problem, sum(g.n) AS n,
       min(g.first_seen) AS first_seen, max(g.last_seen) AS last_seen
FROM (
  SELECT shape_id, dt, severity_number, log_id,
         severity_number >= 400 OR coalesce(http_request_status, 0) >= 500 AS problem,
         count(*) AS n,
         min(timestamp) AS first_seen,
         max(timestamp) AS last_seen
  FROM logs
  GROUP BY 1, 2, 3, 4, 5
) g LEFT JOIN shapes s ON s.shape_id = g.shape_id
GROUP BY 1, 2, 3, 4, 5;

WITH names AS (
  SELECT number, name
  FROM (VALUES (0, 'DEFAULT'), (100, 'DEBUG'), (200, 'INFO'), (300, 'NOTICE'), (400, 'WARNING'),
               (500, 'ERROR'), (600, 'CRITICAL'), (700, 'ALERT'), (800, 'EMERGENCY')) v(number, name)
),
span AS (
  SELECT greatest(
           (CAST(max(last_seen) AS BIGINT) - CAST(min(first_seen) AS BIGINT)) / 3600e9,
           1.0) AS hours
  FROM sig_levels
),
totals AS (
  SELECT signature_id,
         sum(n) AS total,
         min(first_seen) AS total_first_seen,
         max(last_seen) AS total_last_seen,
         max(severity_number) AS total_severity,
         sum(CASE WHEN problem THEN n ELSE 0 END) AS count,
         min(CASE WHEN problem THEN first_seen END) AS first_seen,
         max(CASE WHEN problem THEN last_seen END) AS last_seen,
         max(CASE WHEN problem THEN severity_number END) AS severity
  FROM sig_levels GROUP BY signature_id
),
levels AS (
  SELECT signature_id, severity_number, n,
         row_number() OVER (PARTITION BY signature_id ORDER BY n DESC, severity_number) AS k
  FROM (SELECT signature_id, severity_number, sum(n) AS n FROM sig_levels GROUP BY 1, 2) l
),
logs_per_sig AS (
  SELECT signature_id, log_id,
         row_number() OVER (PARTITION BY signature_id ORDER BY n DESC, log_id) AS k
  FROM (SELECT signature_id, log_id, sum(n) AS n FROM sig_levels GROUP BY 1, 2) g
),
days AS (
  SELECT signature_id,
         '{' || string_agg('"' || dt || '":' || CAST(n AS VARCHAR), ',' ORDER BY dt) || '}' AS per_day
  FROM (SELECT signature_id, dt, sum(n) AS n FROM sig_levels GROUP BY 1, 2) d
  GROUP BY signature_id
),
problem_days AS (
  SELECT signature_id,
         '{' || string_agg('"' || dt || '":' || CAST(n AS VARCHAR), ',' ORDER BY dt) || '}' AS per_day
  FROM (SELECT signature_id, dt, sum(n) AS n FROM sig_levels WHERE problem GROUP BY 1, 2) d
  GROUP BY signature_id
)
SELECT t.signature_id,
       s.template,
       t.count,
       CAST(t.count AS DOUBLE) / span.hours AS rate_per_hour,
       span.hours AS span_hours,
       t.first_seen,
       t.last_seen,
       ms.name AS max_severity,
       pd.per_day,
       t.total,
       t.total_first_seen,
       t.total_last_seen,
       ts.name AS total_max_severity,
       d.per_day AS total_per_day,
       ds.name AS dominant_severity,
       CAST(l.n AS DOUBLE) / t.total AS dominant_share,
       g.log_id
FROM totals t
CROSS JOIN span
JOIN levels l ON l.signature_id = t.signature_id AND l.k = 1
JOIN logs_per_sig g ON g.signature_id = t.signature_id AND g.k = 1
JOIN days d ON d.signature_id = t.signature_id
LEFT JOIN problem_days pd ON pd.signature_id = t.signature_id
LEFT JOIN signatures s ON s.signature_id = t.signature_id
LEFT JOIN names ms ON ms.number = t.severity
LEFT JOIN names ts ON ts.number = t.total_severity
LEFT JOIN names ds ON ds.number = l.severity_number
ORDER BY t.count DESC, t.signature_id
