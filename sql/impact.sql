-- impact: what each problem signature touches: endpoints, status codes, user agents, services, revisions.
-- params: (none)
-- columns: signature_id, dimension (endpoint | status | user_agent | service | revision),
--   value, n (problem rows); most frequent first within each dimension
-- Problem rows: severity >= WARNING or HTTP status >= 500. A row without HTTP fields (an app
-- log) takes them from the request log of its trace, so an app error is charged to the
-- endpoint it broke. Endpoints are METHOD and path, query string dropped, ids (numbers,
-- UUIDs, long hex) written {id}.
CREATE TABLE problem_rows AS
SELECT signature_id, trace, service, revision,
       http_request_method, http_request_url, http_request_status, http_request_user_agent
FROM logs
WHERE severity_number >= 400 OR http_request_status >= 500;

CREATE TABLE traced_requests AS
SELECT trace,
       min(http_request_method) AS method,
       min(http_request_url) AS url,
       max(http_request_status) AS status,
       min(http_request_user_agent) AS user_agent
FROM logs
WHERE http_request_method IS NOT NULL
  AND trace IN (SELECT trace FROM problem_rows WHERE http_request_method IS NULL)
GROUP BY trace;

WITH charged AS (
  SELECT p.signature_id, p.service, p.revision,
         coalesce(p.http_request_method, t.method) AS method,
         coalesce(p.http_request_url, t.url) AS url,
         coalesce(p.http_request_status, t.status) AS status,
         coalesce(p.http_request_user_agent, t.user_agent) AS user_agent
  FROM problem_rows p
  LEFT JOIN traced_requests t ON p.http_request_method IS NULL AND t.trace = p.trace
),
endpoints AS (
  SELECT signature_id,
         method || ' ' || regexp_replace(
           split_part(regexp_replace(url, '^[a-zA-Z]+://[^/]*', ''), '?', 1),
           '/([0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[0-9a-fA-F]{16,})(/|$)', '/{id}$2', 'g') AS value
  FROM charged WHERE url IS NOT NULL
)
SELECT signature_id, 'endpoint' AS dimension, value, count(*) AS n FROM endpoints GROUP BY 1, 2, 3
UNION ALL
SELECT signature_id, 'status', CAST(status AS VARCHAR), count(*) FROM charged WHERE status IS NOT NULL GROUP BY 1, 2, 3
UNION ALL
SELECT signature_id, 'user_agent', user_agent, count(*) FROM charged WHERE user_agent IS NOT NULL GROUP BY 1, 2, 3
UNION ALL
SELECT signature_id, 'service', service, count(*) FROM charged WHERE service IS NOT NULL GROUP BY 1, 2, 3
UNION ALL
SELECT signature_id, 'revision', revision, count(*) FROM charged WHERE revision IS NOT NULL GROUP BY 1, 2, 3
ORDER BY signature_id, dimension, n DESC, value
