-- recent: the latest occurrences of each problem signature, newest first, with their fields.
-- params: per_signature = 5
-- columns: signature_id, timestamp, severity, message, service, revision, log_name,
--   insert_id, trace, http_request_method, http_request_url, http_request_status,
--   http_request_latency_ms, http_request_user_agent, text_payload, json_payload, labels
-- Problem rows: severity >= WARNING or HTTP status >= 500.
-- Ranking every problem row with all its columns sorted them all (12 s on 12 M rows), and
-- one frequent signature's rows are one task, on a cluster too. So: count the hours first
-- (two narrow columns); rank only each signature's rows from the newest hour that still
-- leaves per_signature rows on (exact: every row newer than a kept one is kept), by their
-- key alone; then read the wide columns of the rows kept, by (timestamp, log_name,
-- insert_id), service and signature. That is the dedup key except for entries without an
-- insertId (the message stands in for it, and reading every problem row's message was most
-- of the cost): two such entries of a signature in one log at one instant share a key (kept
-- once), both match it, and the final ranking keeps per_signature of them.
CREATE TABLE recent_hours AS
SELECT signature_id, date_trunc('hour', timestamp) AS hour, count(*) AS n
FROM logs
WHERE severity_number >= 400 OR http_request_status >= 500
GROUP BY 1, 2;

CREATE TABLE recent_cut AS
SELECT signature_id,
       coalesce(max(hour) FILTER (WHERE newer >= ${per_signature}), min(hour)) AS since
FROM (
  SELECT signature_id, hour,
         sum(n) OVER (PARTITION BY signature_id ORDER BY hour DESC) AS newer
  FROM recent_hours
) h
GROUP BY 1;

CREATE TABLE recent_keys AS
SELECT DISTINCT signature_id, timestamp, log_name, insert_id, service
FROM (
  SELECT l.signature_id, l.timestamp, l.log_name, l.insert_id, l.service,
         row_number() OVER (PARTITION BY l.signature_id ORDER BY l.timestamp DESC, l.insert_id) AS k
  FROM logs l JOIN recent_cut c ON c.signature_id = l.signature_id AND l.timestamp >= c.since
  WHERE l.severity_number >= 400 OR l.http_request_status >= 500
) ranked
WHERE k <= ${per_signature};

SELECT signature_id, timestamp, severity, message, service, revision, log_name, insert_id,
       trace, http_request_method, http_request_url, http_request_status,
       http_request_latency_ms, http_request_user_agent, text_payload, json_payload, labels
FROM (
  SELECT r.signature_id, l.timestamp, l.severity, l.message, l.service, l.revision, l.log_name,
         l.insert_id, l.trace, l.http_request_method, l.http_request_url, l.http_request_status,
         l.http_request_latency_ms, l.http_request_user_agent, l.text_payload, l.json_payload,
         l.labels,
         row_number() OVER (PARTITION BY r.signature_id
                            ORDER BY l.timestamp DESC, l.insert_id, l.message) AS k
  FROM logs_files l
  JOIN recent_keys r
    ON l.timestamp = r.timestamp
   AND (l.log_name IS NOT DISTINCT FROM r.log_name)
   AND (l.insert_id IS NOT DISTINCT FROM r.insert_id)
   AND (l.service IS NOT DISTINCT FROM r.service)
  JOIN shapes s ON s.shape_id = l.shape_id AND s.signature_id = r.signature_id
  WHERE l.severity_number >= 400 OR l.http_request_status >= 500
) kept
WHERE k <= ${per_signature}
ORDER BY signature_id, timestamp DESC, insert_id
