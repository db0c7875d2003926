-- bursts: windows where a signature runs far above its own baseline.
-- params: window = 1 hour; min_z = 6; min_count = 10
-- columns: window_start (UTC, aligned to the epoch), signature_id, template, n (rows in
--   the window), baseline (the signature's median count per window over the range, empty
--   windows included), z (robust z-score: (n - baseline) / scale, scale = the larger of
--   1.4826 * MAD, sqrt(baseline) and 1), max_severity
-- A window is a burst when z >= min_z and n >= min_count. Windows are those in which the
-- lake holds any row, so a quiet signature's empty windows count as zeros in its baseline.
-- Rows are counted per shape first (an integer key, so the lake's rows skip the join to
-- `shapes`); the few groups then get their signature, several shapes to one.
CREATE TABLE sig_windows AS
SELECT s.signature_id, g.w, sum(g.n) AS n, max(g.severity_number) AS severity_number
FROM (
  SELECT shape_id,
         date_bin(INTERVAL '${window}', timestamp, TIMESTAMP '1970-01-01T00:00:00Z') AS w,
         count(*) AS n,
         max(severity_number) AS severity_number
  FROM logs
  GROUP BY 1, 2
) g LEFT JOIN shapes s ON s.shape_id = g.shape_id
GROUP BY 1, 2;

WITH counts AS (SELECT * FROM sig_windows),
grid AS (SELECT DISTINCT w FROM sig_windows),
frequent AS (
  SELECT signature_id FROM counts GROUP BY signature_id HAVING sum(n) >= ${min_count}
),
filled AS (
  SELECT f.signature_id, g.w, coalesce(c.n, 0) AS n, c.severity_number
  FROM frequent f CROSS JOIN grid g
  LEFT JOIN counts c ON c.signature_id = f.signature_id AND c.w = g.w
),
medians AS (
  SELECT signature_id, median(CAST(n AS DOUBLE)) AS baseline FROM filled GROUP BY signature_id
),
spread AS (
  SELECT f.signature_id, m.baseline,
         greatest(1.4826 * median(abs(f.n - m.baseline)), sqrt(m.baseline), 1.0) AS scale
  FROM filled f JOIN medians m ON m.signature_id = f.signature_id
  GROUP BY f.signature_id, m.baseline
)
SELECT f.w AS window_start, f.signature_id, s.template, f.n, sp.baseline,
       (f.n - sp.baseline) / sp.scale AS z,
       CASE f.severity_number
         WHEN 0 THEN 'DEFAULT' WHEN 100 THEN 'DEBUG' WHEN 200 THEN 'INFO'
         WHEN 300 THEN 'NOTICE' WHEN 400 THEN 'WARNING' WHEN 500 THEN 'ERROR'
         WHEN 600 THEN 'CRITICAL' WHEN 700 THEN 'ALERT' ELSE 'EMERGENCY' END AS max_severity
FROM filled f
JOIN spread sp ON sp.signature_id = f.signature_id
LEFT JOIN signatures s ON s.signature_id = f.signature_id
WHERE f.n >= ${min_count} AND (f.n - sp.baseline) / sp.scale >= ${min_z}
ORDER BY z DESC, window_start, f.signature_id
