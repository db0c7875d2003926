-- impact: what each problem signature touches: endpoints, status codes, user agents, services, revisions.
-- params: (none)
-- columns: signature_id, dimension (endpoint | status | user_agent | service | revision),
--   value, n (problem rows), request_rows (those of the n that are requests themselves,
--   with their own HTTP fields: two signatures' request rows are different requests, while
--   an app row stands for the request of its trace, which another signature may hold);
--   most frequent first within each dimension
-- Problem rows: severity >= WARNING or HTTP status >= 500. A row without HTTP fields (an app
-- log) takes them from the request log of its trace, so an app error is charged to the
-- endpoint it broke. Endpoints are METHOD and path, query string dropped, ids (numbers,
-- UUIDs, long hex) written {id}.
-- Steps computed once into session tables; rows are counted per distinct combination before
-- anything else, so memory follows the combinations, not the rows: the problem rows in one
-- scan, per shape (an integer key: the rows skip the join to `shapes`; the combinations get
-- their signature at the end), request rows by their HTTP fields, app rows by their trace
-- (its integer key, `trace_key`: the trace strings are never read); the request of each of
-- those traces; then the request rows (their own HTTP fields) and the app rows (their
-- trace's) together.
CREATE TABLE problem_rows AS
SELECT shape_id, service, revision, http_request_method AS method,
       http_request_url AS url, http_request_status AS status,
       http_request_user_agent AS user_agent,
       CASE WHEN http_request_method IS NULL THEN trace_key END AS trace,
       count(*) AS n
FROM logs
WHERE severity_number >= 400 OR http_request_status >= 500
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

-- DataFusion's dynamic join filter (the build side's keys pushed into the scan) is off for
-- this step: few of the 5.6 M request rows' traces are among the app errors', and with it
-- each row's key was probed twice, in the scan and in the join (1.81 -> 1.71 s on the
-- 12 M-row lake); `recent` lives on that filter, so it is reset after.
SET datafusion.optimizer.enable_join_dynamic_filter_pushdown = false;

CREATE TABLE traced_requests AS
SELECT a.trace,
       min(r.http_request_method) AS method,
       min(r.http_request_url) AS url,
       max(r.http_request_status) AS status,
       min(r.http_request_user_agent) AS user_agent
FROM logs r
JOIN (SELECT DISTINCT trace FROM problem_rows WHERE method IS NULL AND trace IS NOT NULL) a
  ON a.trace = r.trace_key
WHERE r.http_request_method IS NOT NULL
GROUP BY a.trace;

RESET datafusion.optimizer.enable_join_dynamic_filter_pushdown;

CREATE TABLE charged AS
SELECT s.signature_id, service, revision,
       CASE WHEN url IS NOT NULL THEN
         method || ' ' || regexp_replace(
           split_part(regexp_replace(url, '^[a-zA-Z]+://[^/]*', ''), '?', 1),
           '/([0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[0-9a-fA-F]{16,})(/|$)', '/{id}$2', 'g')
       END AS endpoint,
       status, user_agent, sum(n) AS n, sum(request_rows) AS request_rows
FROM (
  SELECT shape_id, service, revision, method, url, status, user_agent, n, n AS request_rows
  FROM problem_rows WHERE method IS NOT NULL
  UNION ALL
  SELECT p.shape_id, p.service, p.revision, t.method, t.url, t.status, t.user_agent, p.n, 0
  FROM problem_rows p LEFT JOIN traced_requests t ON t.trace = p.trace
  WHERE p.method IS NULL
) rows LEFT JOIN shapes s ON s.shape_id = rows.shape_id
GROUP BY 1, 2, 3, 4, 5, 6;

SELECT signature_id, 'endpoint' AS dimension, endpoint AS value, sum(n) AS n,
       sum(request_rows) AS request_rows
FROM charged WHERE endpoint IS NOT NULL GROUP BY 1, 2, 3
UNION ALL
SELECT signature_id, 'status', CAST(status AS VARCHAR), sum(n), sum(request_rows)
FROM charged WHERE status IS NOT NULL GROUP BY 1, 2, 3
UNION ALL
SELECT signature_id, 'user_agent', user_agent, sum(n), sum(request_rows)
FROM charged WHERE user_agent IS NOT NULL GROUP BY 1, 2, 3
UNION ALL
SELECT signature_id, 'service', service, sum(n), sum(request_rows)
FROM charged WHERE service IS NOT NULL GROUP BY 1, 2, 3
UNION ALL
SELECT signature_id, 'revision', revision, sum(n), sum(request_rows)
FROM charged WHERE revision IS NOT NULL GROUP BY 1, 2, 3
ORDER BY signature_id, dimension, n DESC, value
