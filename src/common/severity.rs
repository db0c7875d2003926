//! Cloud Logging severities: the one table every stage names them by.

/// Cloud Logging severities with their numbers (`LogSeverity`).
pub const SEVERITIES: [(&str, i32); 9] = [
    ("DEFAULT", 0),
    ("DEBUG", 100),
    ("INFO", 200),
    ("NOTICE", 300),
    ("WARNING", 400),
    ("ERROR", 500),
    ("CRITICAL", 600),
    ("ALERT", 700),
    ("EMERGENCY", 800),
];
