-- signature_windows: rows per window for each problem signature (the report's sparklines).
-- params: window = 1 hour
-- columns: signature_id, window_start (UTC, aligned to the epoch), n; windows without rows
--   are absent
-- Problem rows: severity >= WARNING or HTTP status >= 500.
SELECT signature_id,
       date_bin(INTERVAL '${window}', timestamp, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start,
       count(*) AS n
FROM logs
WHERE severity_number >= 400 OR http_request_status >= 500
GROUP BY 1, 2
ORDER BY 1, 2
