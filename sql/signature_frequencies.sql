-- signature_frequencies: how often each signature occurs, and since when.
-- params: (none; restrict the range with --since/--until)
-- columns: signature_id, template, count, share (of all rows in range), rate_per_hour
--   (count over the hours the range spans), first_seen, last_seen, services, revisions
--   (distinct, comma-separated), max_severity, per_day (JSON: day -> count)
-- Rows are counted per shape first (an integer key, so the lake's rows skip the join to
-- `shapes`); the few groups then get their signature, several shapes to one.
CREATE TABLE sig_days AS
SELECT s.signature_id, g.dt, g.service, g.revision, sum(g.n) AS n,
       min(g.first_seen) AS first_seen, max(g.last_seen) AS last_seen,
       max(g.severity_number) AS severity_number
FROM (
  SELECT shape_id, dt, service, revision,
         count(*) AS n,
         min(timestamp) AS first_seen,
         max(timestamp) AS last_seen,
         max(severity_number) AS severity_number
  FROM logs
  GROUP BY 1, 2, 3, 4
) g LEFT JOIN shapes s ON s.shape_id = g.shape_id
GROUP BY 1, 2, 3, 4;

WITH span AS (
  SELECT greatest(
           (CAST(max(last_seen) AS BIGINT) - CAST(min(first_seen) AS BIGINT)) / 3600e9,
           1.0) AS hours,
         sum(n) AS total
  FROM sig_days
),
per_day AS (
  SELECT signature_id, dt, sum(n) AS n FROM sig_days GROUP BY signature_id, dt
),
days AS (
  SELECT signature_id,
         '{' || string_agg('"' || dt || '":' || CAST(n AS VARCHAR), ',' ORDER BY dt) || '}' AS per_day
  FROM per_day GROUP BY signature_id
),
per_signature AS (
  SELECT signature_id,
         sum(n) AS count,
         min(first_seen) AS first_seen,
         max(last_seen) AS last_seen,
         array_to_string(array_sort(array_agg(DISTINCT service)), ',') AS services,
         array_to_string(array_sort(array_agg(DISTINCT revision)), ',') AS revisions,
         max(severity_number) AS severity_number
  FROM sig_days GROUP BY signature_id
)
SELECT p.signature_id,
       s.template,
       p.count,
       CAST(p.count AS DOUBLE) / span.total AS share,
       CAST(p.count AS DOUBLE) / span.hours AS rate_per_hour,
       p.first_seen,
       p.last_seen,
       p.services,
       p.revisions,
       CASE p.severity_number
         WHEN 0 THEN 'DEFAULT' WHEN 100 THEN 'DEBUG' WHEN 200 THEN 'INFO'
         WHEN 300 THEN 'NOTICE' WHEN 400 THEN 'WARNING' WHEN 500 THEN 'ERROR'
         WHEN 600 THEN 'CRITICAL' WHEN 700 THEN 'ALERT' ELSE 'EMERGENCY' END AS max_severity,
       d.per_day
FROM per_signature p
CROSS JOIN span
JOIN days d ON d.signature_id = p.signature_id
LEFT JOIN signatures s ON s.signature_id = p.signature_id
ORDER BY p.count DESC, p.signature_id
