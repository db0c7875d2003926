//! Priority rules: which issue is P0 (blocking) to P3, and which rule said so.
//!
//! Rules from `--rules FILE` (TOML) are tried first, in file order, then the built-in
//! defaults; the first rule that matches sets the priority. A rule matches when every
//! condition it states holds:
//!
//! ```toml
//! [[rule]]
//! name = "payments"                  # shown in the report next to the priority
//! priority = "P0"
//! template = ["(?i)payment", "fail"] # regexes, all must match the template (or one string)
//! min_severity = "ERROR"             # the issue's highest severity is at least this
//! max_severity = "CRITICAL"
//! service = "^billing-"              # a regex, some service of the issue matches
//! endpoint = "^POST /api/pay"        # a regex, some endpoint ("METHOD /path/{id}") matches
//! status = [500, 503]                # some status is one of these
//! min_status = 500                   # some status is at least this
//! min_frequency = "HIGH"             # VERY HIGH, HIGH, MEDIUM or LOW
//! min_count = 3                      # at least this many problem rows
//! promote = true                     # also make matching signatures issues when they are
//!                                    # below WARNING and without 5xx
//! ```
//!
//! Failure modes: an unreadable file, bad TOML, an unknown key, a bad regex or priority are
//! [`RulesError`]s naming the file and the rule.

use std::path::Path;

use regex::Regex;

use super::model::Frequency;
use crate::common::severity::SEVERITIES;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("reading rules {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("rules {path}: {source}")]
    Toml {
        path: String,
        source: toml::de::Error,
    },
    #[error("rules {path}, rule {rule:?}: {detail}")]
    Rule {
        path: String,
        rule: String,
        detail: String,
    },
}

/// What the rules look at, for one issue.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    pub template: &'a str,
    /// 0 to 800.
    pub severity_number: i32,
    pub services: Vec<&'a str>,
    pub endpoints: Vec<&'a str>,
    pub statuses: Vec<i64>,
    /// Index into [`Frequency::ALL`]: the average rate's class, or the peak's for a burst.
    pub frequency: usize,
    /// Problem rows (severity >= WARNING, HTTP status >= 500, or all rows when promoted).
    pub count: u64,
    /// The problem rows are under 1% of the signature's rows, and it is not new.
    pub occasional: bool,
    /// First seen in the range (new_and_rising's `new`).
    pub new: bool,
    /// Rose sharply after a revision change (new_and_rising's `rising`).
    pub rising: bool,
    /// Linked (co-occurrence) to an issue already at P0, or to a user-facing 5xx.
    pub linked_to_blocking: bool,
    pub linked_to_user_5xx: bool,
}

impl Facts<'_> {
    /// Some endpoint that users call (not a health check or probe).
    pub fn user_facing(&self) -> bool {
        static PROBE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
            Regex::new(r"(?i)/(health|healthz|ready|readiness|live|liveness|ping|metrics)(/|$)")
                .expect("valid regex")
        });
        self.endpoints.iter().any(|e| !PROBE.is_match(e))
    }

    pub fn user_5xx(&self) -> bool {
        self.user_facing() && self.statuses.iter().any(|s| *s >= 500)
    }

    /// A request log's signature (`GET /path 404`) whose statuses are all 4xx.
    pub fn client_error(&self) -> bool {
        request_status(self.template).is_some_and(|s| (400..500).contains(&s))
            && self.statuses.iter().all(|s| (400..500).contains(s))
    }
}

/// The status of a request log's template (`METHOD /path STATUS`), the line Cloud Run's
/// request logs are signed on.
pub fn request_status(template: &str) -> Option<u16> {
    let mut words = template.split(' ');
    let (method, path, status) = (words.next()?, words.next()?, words.next()?);
    let is_method = matches!(
        method,
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" | "CONNECT" | "TRACE"
    );
    (words.next().is_none() && is_method && path.starts_with('/'))
        .then(|| status.parse().ok())
        .flatten()
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Statuses {
    One(i64),
    Many(Vec<i64>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    priority: String,
    template: Option<OneOrMany>,
    min_severity: Option<String>,
    max_severity: Option<String>,
    service: Option<String>,
    endpoint: Option<String>,
    status: Option<Statuses>,
    min_status: Option<i64>,
    min_frequency: Option<String>,
    min_count: Option<u64>,
    #[serde(default)]
    promote: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    rule: Vec<RawRule>,
}

/// A condition the built-in rules need beyond a rule file's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    None,
    UserFacing,
    UserImpact,
    Occasional,
    ClientError,
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    /// 0 for P0 .. 3 for P3.
    pub priority: u8,
    templates: Vec<Regex>,
    min_severity: Option<i32>,
    max_severity: Option<i32>,
    service: Option<Regex>,
    endpoint: Option<Regex>,
    statuses: Vec<i64>,
    min_status: Option<i64>,
    min_frequency: Option<usize>,
    min_count: Option<u64>,
    pub promote: bool,
    extra: Extra,
}

impl Rule {
    pub fn matches(&self, f: &Facts<'_>) -> bool {
        self.templates.iter().all(|r| r.is_match(f.template))
            && self.min_severity.is_none_or(|m| f.severity_number >= m)
            && self.max_severity.is_none_or(|m| f.severity_number <= m)
            && self
                .service
                .as_ref()
                .is_none_or(|r| f.services.iter().any(|s| r.is_match(s)))
            && self
                .endpoint
                .as_ref()
                .is_none_or(|r| f.endpoints.iter().any(|e| r.is_match(e)))
            && (self.statuses.is_empty() || f.statuses.iter().any(|s| self.statuses.contains(s)))
            && self
                .min_status
                .is_none_or(|m| f.statuses.iter().any(|s| *s >= m))
            && self.min_frequency.is_none_or(|m| f.frequency >= m)
            && self.min_count.is_none_or(|m| f.count >= m)
            && match self.extra {
                Extra::None => true,
                Extra::UserFacing => f.user_facing(),
                Extra::UserImpact => {
                    f.user_facing() || f.linked_to_blocking || f.linked_to_user_5xx
                }
                Extra::Occasional => f.occasional,
                Extra::ClientError => f.client_error() && !f.new && !f.rising,
            }
    }
}

/// The rules in force: a file's first, then the defaults.
#[derive(Debug)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

/// The number of a severity name (any case), as the lake stores it.
pub fn severity_number(name: &str) -> Option<i32> {
    SEVERITIES
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(name))
        .map(|(_, n)| *n)
}

fn builtin(
    name: &str,
    priority: u8,
    templates: &[&str],
    min_severity: Option<i32>,
    extra: Extra,
) -> Rule {
    Rule {
        name: name.to_owned(),
        priority,
        templates: templates
            .iter()
            .map(|t| Regex::new(t).expect("built-in rules are valid regexes"))
            .collect(),
        min_severity,
        max_severity: None,
        service: None,
        endpoint: None,
        statuses: Vec::new(),
        min_status: None,
        min_frequency: None,
        min_count: None,
        promote: false,
        extra,
    }
}

/// The defaults, in the order they are tried (the README's "Priority rules" lists them).
fn defaults() -> Vec<Rule> {
    let auth = r"(?i)(not authenticated|unauthori[sz]ed|forbidden|permission denied|auth\w*[ _]?fail|invalid (token|credentials)|\b40[13]\b)";
    let between_services = r"(?i)(\bservice\b|service[:_-]|service ?account|\bs2s\b|\binternal\b)";
    let data_loss = r"(?i)(data loss|lost (data|writes|messages|events)|corrupt|dropped (rows|writes|messages|events)|integrity (error|violation)|fsync failed)";
    let crash = r"(?i)(traceback|unhandled|uncaught|(?-i:\b[A-Z][a-z]\w*(Error|Exception):)|modulenotfounderror|importerror|no module named|cannot import|failed to (start|boot|load)|startup (probe )?fail|crash ?loop|back-?off restarting|container (called exit|exited|failed|terminated)|exit(ed)? (code|status) [1-9]|\bpanic|segmentation fault|out of memory|oomkilled|memory limit)";
    let mut server_errors = builtin(
        "5xx on a user-facing endpoint",
        1,
        &[],
        None,
        Extra::UserFacing,
    );
    server_errors.min_status = Some(500);
    server_errors.min_count = Some(3);
    let mut user_impact = builtin(
        "ERROR or worse with user impact (a user-facing endpoint, or linked to a P0 or a user-facing 5xx)",
        1,
        &[],
        Some(500),
        Extra::UserImpact,
    );
    user_impact.min_count = Some(3);
    let mut rare_server_errors = builtin(
        "5xx on a user-facing endpoint, once or twice",
        2,
        &[],
        None,
        Extra::UserFacing,
    );
    rare_server_errors.min_status = Some(500);
    let mut warnings = builtin(
        "frequent (HIGH or more) warning or worse",
        2,
        &[],
        Some(400),
        Extra::None,
    );
    warnings.min_frequency = Some(2);
    vec![
        builtin(
            "occasional: under 1% of the statement's rows are problems",
            3,
            &[],
            None,
            Extra::Occasional,
        ),
        builtin(
            "authentication/authorization failure between services",
            0,
            &[auth, between_services],
            Some(500),
            Extra::None,
        ),
        builtin("data-loss signal", 0, &[data_loss], Some(400), Extra::None),
        builtin(
            "4xx client error, neither new nor rising",
            3,
            &[],
            None,
            Extra::ClientError,
        ),
        server_errors,
        user_impact,
        builtin(
            "unhandled exception, traceback, import/startup failure or crash",
            2,
            &[crash],
            Some(500),
            Extra::None,
        ),
        rare_server_errors,
        warnings,
        builtin("everything else", 3, &[], None, Extra::None),
    ]
}

impl Rules {
    /// The defaults alone.
    pub fn builtin() -> Rules {
        Rules { rules: defaults() }
    }

    /// The rules of `path` (TOML), then the defaults.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: p.clone(),
            source,
        })?;
        let raw: RawRules = toml::from_str(&text).map_err(|source| RulesError::Toml {
            path: p.clone(),
            source,
        })?;
        let mut rules = Vec::new();
        for r in raw.rule {
            let bad = |detail: String| RulesError::Rule {
                path: p.clone(),
                rule: r.name.clone(),
                detail,
            };
            let regex = |s: &str| Regex::new(s).map_err(|e| bad(format!("regex {s:?}: {e}")));
            let severity = |s: &Option<String>| -> Result<Option<i32>, RulesError> {
                s.as_deref()
                    .map(|name| {
                        severity_number(name).ok_or_else(|| {
                            let names: Vec<&str> = SEVERITIES.iter().map(|(s, _)| *s).collect();
                            bad(format!("severity {name:?}: one of {names:?}"))
                        })
                    })
                    .transpose()
            };
            let priority = match r.priority.to_ascii_uppercase().as_str() {
                "P0" => 0,
                "P1" => 1,
                "P2" => 2,
                "P3" => 3,
                other => return Err(bad(format!("priority {other:?}: one of P0, P1, P2, P3"))),
            };
            let templates = match &r.template {
                None => Vec::new(),
                Some(OneOrMany::One(t)) => vec![regex(t)?],
                Some(OneOrMany::Many(ts)) => {
                    ts.iter().map(|t| regex(t)).collect::<Result<_, _>>()?
                }
            };
            let min_frequency = r
                .min_frequency
                .as_deref()
                .map(|f| {
                    let names = Frequency::ALL.map(Frequency::name);
                    names
                        .iter()
                        .position(|c| c.eq_ignore_ascii_case(f))
                        .ok_or_else(|| bad(format!("frequency {f:?}: one of {names:?}")))
                })
                .transpose()?;
            rules.push(Rule {
                name: r.name.clone(),
                priority,
                templates,
                min_severity: severity(&r.min_severity)?,
                max_severity: severity(&r.max_severity)?,
                service: r.service.as_deref().map(regex).transpose()?,
                endpoint: r.endpoint.as_deref().map(regex).transpose()?,
                statuses: match &r.status {
                    None => Vec::new(),
                    Some(Statuses::One(s)) => vec![*s],
                    Some(Statuses::Many(v)) => v.clone(),
                },
                min_status: r.min_status,
                min_frequency,
                min_count: r.min_count,
                promote: r.promote,
                extra: Extra::None,
            });
        }
        rules.extend(defaults());
        Ok(Rules { rules })
    }

    /// The first matching rule (the last default matches everything).
    pub fn assess(&self, facts: &Facts<'_>) -> (u8, &str) {
        self.rules
            .iter()
            .find(|r| r.matches(facts))
            .map_or((3, "everything else"), |r| (r.priority, r.name.as_str()))
    }

    /// Whether a rule with `promote = true` makes this signature an issue.
    pub fn promotes(&self, facts: &Facts<'_>) -> bool {
        self.rules.iter().any(|r| r.promote && r.matches(facts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(template: &str, severity: i32) -> Facts<'_> {
        Facts {
            template,
            severity_number: severity,
            count: 100,
            ..Facts::default()
        }
    }

    #[test]
    fn defaults_follow_the_reference_assessment() {
        let r = Rules::builtin();
        let auth = facts(
            "[🔴] CRITICAL_AUTH_FAILURE: <*> 'Not authenticated' error detected! | User: 'service:netra-backend' | Operation: '<*>'",
            600,
        );
        assert_eq!(r.assess(&auth).0, 0);
        // The cascade: not between services by itself, P1 because it follows a P0.
        let mut db = facts(
            "CRITICAL ERROR: Failed to create request-scoped database session <*> for user_id='<*>'. Error: <*>: Not authenticated",
            500,
        );
        assert_eq!(r.assess(&db).0, 3);
        db.linked_to_blocking = true;
        assert_eq!(r.assess(&db).0, 1);
        let mut ws = facts("GET /ws 500", 500);
        ws.endpoints = vec!["GET /ws"];
        ws.statuses = vec![500];
        assert_eq!(r.assess(&ws), (1, "5xx on a user-facing endpoint"));
        // A health check's 500 is not user-facing.
        ws.endpoints = vec!["GET /api/health/ready"];
        assert_eq!(r.assess(&ws).0, 3);
        let mut warning = facts("Session access failed <*>", 400);
        warning.frequency = 3;
        assert_eq!(r.assess(&warning).0, 2);
        warning.frequency = 1;
        assert_eq!(r.assess(&warning).0, 3);
    }

    #[test]
    fn calibration_on_real_data() {
        let r = Rules::builtin();
        // A revision that cannot start is at least P2 however rare.
        let mut import = facts("ModuleNotFoundError: No module named '<*>'", 500);
        import.count = 2;
        assert_eq!(r.assess(&import).0, 2, "{}", r.assess(&import).1);
        let exc = facts("sqlalchemy.exc.OperationalError: connection refused", 500);
        assert_eq!(r.assess(&exc).0, 2);
        // "ERROR:" as a prefix is not an exception name.
        assert_eq!(r.assess(&facts("ERROR: cache miss", 500)).0, 3);
        // One 500 is worth a look (P2), three or more on a user-facing endpoint are P1.
        let mut one = facts("POST /api/pay 500", 500);
        one.endpoints = vec!["POST /api/pay"];
        one.statuses = vec![500];
        one.count = 1;
        assert_eq!(r.assess(&one).0, 2);
        one.count = 3;
        assert_eq!(r.assess(&one).0, 1);
        // 4xx on a request log: P3 even when frequent, unless new or rising.
        let mut not_found = facts("GET /api/agents/active 404", 400);
        not_found.endpoints = vec!["GET /api/agents/active"];
        not_found.statuses = vec![404];
        not_found.frequency = 3;
        assert_eq!(
            r.assess(&not_found),
            (3, "4xx client error, neither new nor rising")
        );
        not_found.rising = true;
        assert_eq!(r.assess(&not_found).0, 2);
        // A few stray ERROR copies of a DEBUG statement stay P3, even where a P1 rule
        // would match.
        let mut stray = facts("GET /v1/balance 500", 500);
        stray.endpoints = vec!["GET /v1/balance"];
        stray.statuses = vec![500];
        stray.occasional = true;
        assert_eq!(r.assess(&stray).0, 3);
    }

    #[test]
    fn request_lines_are_recognised() {
        assert_eq!(request_status("GET /ws 500"), Some(500));
        assert_eq!(
            request_status("POST /api/threads/<*>/messages 422"),
            Some(422)
        );
        assert_eq!(request_status("GET the thing 500"), None);
        assert_eq!(request_status("GET /ws 500 extra"), None);
    }

    #[test]
    fn rule_files_come_first_and_say_what_is_wrong() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rules.toml");
        std::fs::write(
            &path,
            r#"
[[rule]]
name = "staging noise"
priority = "P3"
template = "(?i)session access failed"

[[rule]]
name = "payments"
priority = "P0"
template = ["(?i)payment", "declined"]
min_severity = "warning"
promote = true
"#,
        )
        .expect("write");
        let r = Rules::load(&path).expect("rules");
        let mut warning = facts("Session access failed <*>", 400);
        warning.frequency = 3;
        assert_eq!(r.assess(&warning), (3, "staging noise"));
        let pay = facts("Payment <*> declined by issuer", 400);
        assert_eq!(r.assess(&pay), (0, "payments"));
        assert!(r.promotes(&pay));
        assert!(!r.promotes(&facts("Payment <*> declined", 200)));

        std::fs::write(&path, "[[rule]]\nname = \"x\"\npriority = \"P9\"\n").expect("write");
        let e = Rules::load(&path).expect_err("bad priority").to_string();
        assert!(e.contains("rule \"x\"") && e.contains("P9"), "{e}");
        std::fs::write(
            &path,
            "[[rule]]\nname = \"x\"\npriority = \"P1\"\ncolour = 1\n",
        )
        .expect("write");
        let e = Rules::load(&path).expect_err("unknown key").to_string();
        assert!(e.contains("colour"), "{e}");
    }
}
