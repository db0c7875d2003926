-- signature_windows: rows per window for each problem signature (the report's sparklines).
-- params: window = 1 hour
-- columns: signature_id, window_start (UTC, aligned to the epoch), n; windows without rows
--   are absent
-- Problem rows: severity >= WARNING or HTTP status >= 500.
-- Rows are counted per shape first (an integer key, so the lake's rows skip the join to
-- `shapes`); the few groups then get their signature, several shapes to one.
SELECT s.signature_id, g.window_start, sum(g.n) AS n
FROM (
  SELECT shape_id,
         date_bin(INTERVAL '${window}', timestamp, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start,
         count(*) AS n
  FROM logs
  WHERE severity_number >= 400 OR http_request_status >= 500
  GROUP BY 1, 2
) g LEFT JOIN shapes s ON s.shape_id = g.shape_id
GROUP BY 1, 2
ORDER BY 1, 2
