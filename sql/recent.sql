-- recent: the latest occurrences of each problem signature, newest first, with their fields.
-- params: per_signature = 5
-- columns: signature_id, timestamp, severity, message, service, revision, log_name,
--   insert_id, trace, http_request_method, http_request_url, http_request_status,
--   http_request_latency_ms, http_request_user_agent, text_payload, json_payload, labels
-- Problem rows: severity >= WARNING or HTTP status >= 500.
SELECT signature_id, timestamp, severity, message, service, revision, log_name, insert_id,
       trace, http_request_method, http_request_url, http_request_status,
       http_request_latency_ms, http_request_user_agent, text_payload, json_payload, labels
FROM (
  SELECT *, row_number() OVER (PARTITION BY signature_id ORDER BY timestamp DESC, insert_id) AS k
  FROM logs
  WHERE severity_number >= 400 OR http_request_status >= 500
) latest
WHERE k <= ${per_signature}
ORDER BY signature_id, timestamp DESC
