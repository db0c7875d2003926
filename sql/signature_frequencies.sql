-- signature_frequencies: how often each signature occurs, and since when.
-- params: (none; restrict the range with --since/--until)
-- columns: signature_id, template, count, share (of all rows in range), rate_per_hour
--   (count over the hours the range spans), first_seen, last_seen, services, revisions
--   (distinct, comma-separated), max_severity, per_day (JSON: day -> count)
WITH base AS (
  SELECT signature_id, template, timestamp, dt, service, revision, severity_number
  FROM logs
),
span AS (
  SELECT greatest(
           (CAST(max(timestamp) AS BIGINT) - CAST(min(timestamp) AS BIGINT)) / 3600e9,
           1.0) AS hours,
         count(*) AS total
  FROM base
),
per_day AS (
  SELECT signature_id, dt, count(*) AS n FROM base GROUP BY signature_id, dt
),
days AS (
  SELECT signature_id,
         '{' || string_agg('"' || dt || '":' || CAST(n AS VARCHAR), ',' ORDER BY dt) || '}' AS per_day
  FROM per_day GROUP BY signature_id
)
SELECT b.signature_id,
       b.template,
       count(*) AS count,
       CAST(count(*) AS DOUBLE) / max(span.total) AS share,
       CAST(count(*) AS DOUBLE) / max(span.hours) AS rate_per_hour,
       min(b.timestamp) AS first_seen,
       max(b.timestamp) AS last_seen,
       string_agg(DISTINCT b.service, ',') AS services,
       string_agg(DISTINCT b.revision, ',') AS revisions,
       CASE max(b.severity_number)
         WHEN 0 THEN 'DEFAULT' WHEN 100 THEN 'DEBUG' WHEN 200 THEN 'INFO'
         WHEN 300 THEN 'NOTICE' WHEN 400 THEN 'WARNING' WHEN 500 THEN 'ERROR'
         WHEN 600 THEN 'CRITICAL' WHEN 700 THEN 'ALERT' ELSE 'EMERGENCY' END AS max_severity,
       max(d.per_day) AS per_day
FROM base b CROSS JOIN span JOIN days d ON d.signature_id = b.signature_id
GROUP BY b.signature_id, b.template
ORDER BY count DESC, b.signature_id
