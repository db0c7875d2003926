-- totals: rows per severity over the range, with the projects, services and time span seen.
-- params: (none; restrict the range with --since/--until)
-- columns: severity, severity_number, n, projects, services (distinct, comma-separated),
--   first_entry, last_entry; one row per severity, lowest first
SELECT severity,
       min(severity_number) AS severity_number,
       count(*) AS n,
       array_to_string(array_sort(array_agg(DISTINCT project_id)), ',') AS projects,
       array_to_string(array_sort(array_agg(DISTINCT service)), ',') AS services,
       min(timestamp) AS first_entry,
       max(timestamp) AS last_entry
FROM logs
GROUP BY severity
ORDER BY severity_number
