-- totals: rows per severity over the range, with the projects, services and time span seen.
-- params: (none; restrict the range with --since/--until)
-- columns: severity, severity_number, n, projects, services (distinct, comma-separated),
--   first_entry, last_entry; one row per severity, lowest first
-- Rows are counted per severity, project and service first (a few groups), then per severity.
SELECT severity,
       min(severity_number) AS severity_number,
       sum(n) AS n,
       array_to_string(array_sort(array_agg(DISTINCT project_id)), ',') AS projects,
       array_to_string(array_sort(array_agg(DISTINCT service)), ',') AS services,
       min(first_entry) AS first_entry,
       max(last_entry) AS last_entry
FROM (
  SELECT severity, severity_number, project_id, service, count(*) AS n,
         min(timestamp) AS first_entry, max(timestamp) AS last_entry
  FROM logs
  GROUP BY 1, 2, 3, 4
) g
GROUP BY severity
ORDER BY severity_number
