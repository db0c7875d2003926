-- severity_windows: how severities move over the range, in fixed UTC windows.
-- params: window = 1 hour   (any interval: 5 minutes, 15 minutes, 1 day)
-- columns: window_start (UTC, aligned to the epoch), service, severity, n; ordered by
--   window, service, then severity from DEFAULT up to EMERGENCY
SELECT date_bin(INTERVAL '${window}', timestamp, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start,
       service,
       severity,
       count(*) AS n
FROM logs
GROUP BY 1, 2, 3
ORDER BY window_start, service, min(severity_number)
