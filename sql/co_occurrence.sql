-- co_occurrence: which problem signatures travel together, and how strongly.
-- params: lag_ms = 2000; window = 5 minutes; min_support = 3; min_lift = 2; min_confidence = 0.5; min_significance = 6
-- columns: signature_a, signature_b (a comes first: median_lag_ms >= 0), template_a,
--   template_b, n_a, n_b (problem rows), support_id (traces or request ids holding both),
--   support_lag (events with the other within +-lag_ms; NULL where either is too frequent
--   for this level to show anything, see below), support_window (windows holding
--   both), level (the evidence reported: same_id, lag or window; the first linked one in
--   that order, else the most significant), confidence_ab (share of a's ids, events or
--   windows that have b), confidence_ba, lift (observed over expected under independence),
--   significance (-log10 p: hypergeometric for ids and windows, binomial against the
--   Poisson chance of a partner within the lag), median_lag_ms (b after a), linked
--   (support >= min_support, lift >= min_lift, a confidence >= min_confidence and
--   significance >= min_significance at that level)
-- Problem rows: severity >= WARNING or HTTP status >= 500. Events of one signature at the
-- same nanosecond count once. The id population is every trace in the range plus the
-- request ids of problem rows without a trace; ids are keyed by `id_hash` (64 bits: two ids
-- share a key with a chance of ~3e-8 per million ids; a trace's is the lake's `trace_key`).
-- Steps used more than once are computed once into session tables (DataFusion would
-- recompute a CTE at each reference).
CREATE TABLE problems AS
SELECT signature_id AS sig,
       timestamp AS ts,
       CAST(timestamp AS BIGINT) AS ns,
       coalesce(trace_key, id_hash(request_id)) AS rid,
       trace_key IS NULL AS untraced
FROM logs
WHERE severity_number >= 400 OR http_request_status >= 500;

CREATE TABLE totals AS
SELECT greatest(CAST(max(timestamp) AS BIGINT) - CAST(min(timestamp) AS BIGINT), 1) AS span_ns,
       CAST(approx_distinct(trace_key) AS BIGINT)
         + (SELECT count(DISTINCT rid) FROM problems WHERE untraced) AS ids,
       count(DISTINCT date_bin(INTERVAL '${window}', timestamp, TIMESTAMP '1970-01-01T00:00:00Z')) AS windows
FROM logs;

-- Level 2, within +-lag_ms, per direction. Each event looks into its own and both
-- neighbouring lag-wide buckets; the nearest partner's lag is kept as 2*|lag| + (lag < 0),
-- so a plain min finds it and keeps its sign.
-- A signature so frequent that a random instant has one within the lag with a chance over
-- 1 / min_lift can never show lift there: it is left out of this level (support_lag NULL),
-- which also keeps the join small.
CREATE TABLE events AS SELECT DISTINCT sig, ns FROM problems;

CREATE TABLE lag_sigs AS
SELECT e.sig, count(*) AS n
FROM events e CROSS JOIN totals t
GROUP BY e.sig, t.span_ns
HAVING 1 - exp(-CAST(count(*) AS DOUBLE) * (2.0 * ${lag_ms} * 1000000) / t.span_ns) <= 1.0 / ${min_lift};

CREATE TABLE lag_scored AS
WITH ev_n AS (SELECT sig, n FROM lag_sigs),
sparse AS (SELECT e.sig, e.ns FROM events e JOIN lag_sigs l ON l.sig = e.sig),
probe AS (
  SELECT sig, ns, unnest(make_array(ns / (${lag_ms} * 1000000) - 1,
                                    ns / (${lag_ms} * 1000000),
                                    ns / (${lag_ms} * 1000000) + 1)) AS bucket
  FROM sparse
),
target AS (SELECT sig, ns, ns / (${lag_ms} * 1000000) AS bucket FROM sparse),
nearest AS (
  SELECT a.sig AS a, b.sig AS b,
         min(2 * abs(b.ns - a.ns) + CASE WHEN b.ns < a.ns THEN 1 ELSE 0 END) AS coded
  FROM probe a JOIN target b ON a.bucket = b.bucket AND a.sig <> b.sig
  WHERE abs(b.ns - a.ns) <= ${lag_ms} * 1000000
  GROUP BY a.sig, a.ns, b.sig
),
lag_dir AS (
  SELECT d.a, d.b, d.k, d.lag_ns,
         CAST(d.k AS DOUBLE) / na.n AS conf,
         -- The chance that a random instant has one of b's events within +-lag.
         1 - exp(-CAST(nb.n AS DOUBLE) * (2.0 * ${lag_ms} * 1000000) / t.span_ns) AS chance,
         na.n AS n_a
  FROM (SELECT a, b, count(*) AS k,
               median(CASE WHEN coded % 2 = 1 THEN -(coded / 2) ELSE coded / 2 END) AS lag_ns
        FROM nearest GROUP BY a, b) d
  JOIN ev_n na ON na.sig = d.a
  JOIN ev_n nb ON nb.sig = d.b
  CROSS JOIN totals t
)
SELECT a, b, k, lag_ns, conf, conf / chance AS lift,
       binom_significance(k, n_a, chance) AS significance
FROM lag_dir;

-- Levels 1 and 3 share one method: baskets (a trace or request id; a window) holding
-- signatures, with a hypergeometric test against the population of baskets. A session
-- table, read three times below (12 M-row lake: 1.97 -> 1.68 s as a table, not a CTE).
CREATE TABLE baskets AS
SELECT 'same_id' AS level, 1 AS rank, rid AS basket, sig, min(ns) AS ns
FROM problems WHERE rid IS NOT NULL GROUP BY rid, sig
UNION ALL
SELECT 'window' AS level, 3 AS rank, CAST(w AS BIGINT) AS basket, sig, ns
FROM (SELECT date_bin(INTERVAL '${window}', ts, TIMESTAMP '1970-01-01T00:00:00Z') AS w, sig, min(ns) AS ns
      FROM problems GROUP BY 1, 2) wins;

WITH populations AS (
  SELECT 'same_id' AS level, ids AS n FROM totals
  UNION ALL
  SELECT 'window' AS level, windows AS n FROM totals
),
basket_n AS (SELECT level, sig, count(*) AS n FROM baskets GROUP BY level, sig),
basket_levels AS (
  SELECT p.lo, p.hi, p.level, p.rank, p.k,
         CAST(p.k AS DOUBLE) / nl.n AS conf_lo_hi,
         CAST(p.k AS DOUBLE) / nh.n AS conf_hi_lo,
         CAST(p.k AS DOUBLE) * pop.n / (CAST(nl.n AS DOUBLE) * nh.n) AS lift,
         hypergeom_significance(p.k, pop.n, nl.n, nh.n) AS significance,
         p.lag_ns
  FROM (SELECT a.level, a.rank, a.sig AS lo, b.sig AS hi, count(*) AS k,
               median(b.ns - a.ns) AS lag_ns
        FROM baskets a JOIN baskets b
          ON a.level = b.level AND a.basket = b.basket AND a.sig < b.sig
        GROUP BY a.level, a.rank, a.sig, b.sig) p
  JOIN basket_n nl ON nl.level = p.level AND nl.sig = p.lo
  JOIN basket_n nh ON nh.level = p.level AND nh.sig = p.hi
  JOIN populations pop ON pop.level = p.level
),
lag_level AS (
  -- One row per pair: the stronger direction's figures, lags seen from lo.
  SELECT coalesce(f.a, r.b) AS lo, coalesce(f.b, r.a) AS hi, 'lag' AS level, 2 AS rank,
         CASE WHEN coalesce(f.significance, 0) >= coalesce(r.significance, 0) THEN f.k ELSE r.k END AS k,
         coalesce(f.conf, 0) AS conf_lo_hi,
         coalesce(r.conf, 0) AS conf_hi_lo,
         CASE WHEN coalesce(f.significance, 0) >= coalesce(r.significance, 0) THEN f.lift ELSE r.lift END AS lift,
         greatest(coalesce(f.significance, 0), coalesce(r.significance, 0)) AS significance,
         CASE WHEN coalesce(f.significance, 0) >= coalesce(r.significance, 0) THEN f.lag_ns ELSE -r.lag_ns END AS lag_ns
  FROM (SELECT * FROM lag_scored WHERE a < b) f
  FULL JOIN (SELECT * FROM lag_scored WHERE a > b) r ON f.a = r.b AND f.b = r.a
),
evidence AS (
  SELECT *,
         k >= ${min_support} AND lift >= ${min_lift}
           AND greatest(conf_lo_hi, conf_hi_lo) >= ${min_confidence}
           AND significance >= ${min_significance} AS linked
  FROM (SELECT * FROM basket_levels UNION ALL SELECT * FROM lag_level) e
),
pairs AS (
  SELECT lo, hi,
         coalesce(max(CASE WHEN level = 'same_id' THEN k END), 0) AS support_id,
         coalesce(max(CASE WHEN level = 'lag' THEN k END), 0) AS support_lag,
         coalesce(max(CASE WHEN level = 'window' THEN k END), 0) AS support_window,
         first_value(level ORDER BY linked DESC, CASE WHEN linked THEN rank END, significance DESC) AS level,
         first_value(conf_lo_hi ORDER BY linked DESC, CASE WHEN linked THEN rank END, significance DESC) AS conf_lo_hi,
         first_value(conf_hi_lo ORDER BY linked DESC, CASE WHEN linked THEN rank END, significance DESC) AS conf_hi_lo,
         first_value(lift ORDER BY linked DESC, CASE WHEN linked THEN rank END, significance DESC) AS lift,
         first_value(significance ORDER BY linked DESC, CASE WHEN linked THEN rank END, significance DESC) AS significance,
         first_value(lag_ns ORDER BY linked DESC, CASE WHEN linked THEN rank END, significance DESC) AS lag_ns,
         bool_or(linked) AS linked
  FROM evidence
  GROUP BY lo, hi
),
counts AS (SELECT sig, count(*) AS n FROM problems GROUP BY sig),
oriented AS (
  SELECT CASE WHEN lag_ns >= 0 THEN lo ELSE hi END AS signature_a,
         CASE WHEN lag_ns >= 0 THEN hi ELSE lo END AS signature_b,
         support_id, support_lag, support_window, level,
         CASE WHEN lag_ns >= 0 THEN conf_lo_hi ELSE conf_hi_lo END AS confidence_ab,
         CASE WHEN lag_ns >= 0 THEN conf_hi_lo ELSE conf_lo_hi END AS confidence_ba,
         lift, significance, abs(lag_ns) / 1e6 AS median_lag_ms, linked
  FROM pairs
)
SELECT o.signature_a, o.signature_b, sa.template AS template_a, sb.template AS template_b,
       ca.n AS n_a, cb.n AS n_b,
       o.support_id,
       CASE WHEN la.sig IS NULL OR lb.sig IS NULL THEN NULL ELSE o.support_lag END AS support_lag,
       o.support_window, o.level,
       o.confidence_ab, o.confidence_ba, o.lift, o.significance, o.median_lag_ms, o.linked
FROM oriented o
JOIN counts ca ON ca.sig = o.signature_a
JOIN counts cb ON cb.sig = o.signature_b
LEFT JOIN lag_sigs la ON la.sig = o.signature_a
LEFT JOIN lag_sigs lb ON lb.sig = o.signature_b
LEFT JOIN signatures sa ON sa.signature_id = o.signature_a
LEFT JOIN signatures sb ON sb.signature_id = o.signature_b
ORDER BY o.linked DESC, o.significance DESC, o.signature_a, o.signature_b
