//! The `netra-staging` scenario (see the module doc of [`super`]). Message texts and shapes
//! follow the real Cloud Run entries of the company that wrote the reference worklog.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::Event;
use crate::common::time::format_rfc3339;

/// The reference worklog was generated at 2025-09-12T04:54:30Z; the synth week ends there.
pub const REFERENCE_END: i64 = 1_757_652_870_000_000_000;

const HOUR: i64 = 3_600_000_000_000;
const MS: i64 = 1_000_000;
const SEC: i64 = 1_000_000_000;

const PROJECT: &str = "netra-staging";
const SERVICE: &str = "netra-backend-staging";
const HOST: &str = "https://netra-backend-staging-pnovr5vsba-uc.a.run.app";

pub const SESSION_WARNING: &str = "Session access failed (middleware not installed?): SessionMiddleware must be installed to access request.session";
pub const ASGI_ERROR: &str = "CRITICAL: ASGI scope error in WebSocket exclusion: 'URL' object has no attribute 'query_params'";
pub const AUTH_403: &str = "CRITICAL_AUTH_FAILURE: 403 'Not authenticated' error detected! | User: 'service:netra-backend' | Operation: 'CRITICAL_403_NOT_AUTHENTICATED_ERROR'";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";

/// Endpoints of user traffic: (method, path template, weight). `{id}` takes a UUID.
const ENDPOINTS: [(&str, &str, u32); 12] = [
    ("GET", "/api/threads", 14),
    ("GET", "/api/threads/{id}/messages", 12),
    ("POST", "/api/threads/{id}/messages", 8),
    ("POST", "/api/agents/run", 6),
    ("GET", "/api/agents/status/{id}", 6),
    ("GET", "/auth/me", 10),
    ("GET", "/api/user/settings", 4),
    ("GET", "/api/corpus", 3),
    ("POST", "/api/corpus/upload", 1),
    ("GET", "/api/health/ready", 4),
    ("GET", "/ws", 9),
    ("OPTIONS", "/api/threads", 3),
];

const USER_AGENTS: [&str; 5] = [
    CHROME,
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "python-requests/2.32.3",
    "curl/8.7.1",
];

/// Modules and functions for JSON app logs.
const MODULES: [(&str, &str, u32); 6] = [
    ("netra_backend.app.routes.threads", "list_threads", 88),
    (
        "netra_backend.app.agents.supervisor.agent_registry",
        "register",
        80,
    ),
    ("netra_backend.app.websocket_core.manager", "connect", 214),
    (
        "netra_backend.app.services.thread_service",
        "get_messages",
        131,
    ),
    (
        "netra_backend.app.clients.auth_client_core",
        "validate_token",
        402,
    ),
    (
        "netra_backend.app.database.request_scoped_session_factory",
        "get_request_scoped_session",
        270,
    ),
];

pub struct Netra {
    rate: f64,
    seed: u64,
    first_hour: i64,
}

/// Per-hour generation state.
struct Hour {
    rng: ChaCha8Rng,
    events: Vec<Event>,
    revision: String,
    instance: String,
    seq: u64,
}

impl Netra {
    pub fn new(rate: f64, seed: u64, first_hour: i64) -> Netra {
        Netra {
            rate,
            seed,
            first_hour,
        }
    }

    /// All entries of one UTC hour (hour number since the epoch), in time order.
    pub fn hour(&self, hour: i64) -> Vec<Event> {
        let seed = self.seed ^ (hour as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // A deploy every ~37 hours: a new revision, with its startup logs.
        let since_start = hour - self.first_hour;
        let rev_no = 600 + since_start / 37;
        let suffix = revision_suffix(rev_no as u64 ^ self.seed);
        let instance: String = (0..96)
            .map(|_| hex_digit(rng.random_range(0..16)))
            .collect();
        let mut h = Hour {
            rng,
            events: Vec::new(),
            revision: format!("{SERVICE}-{rev_no:05}-{suffix}"),
            instance,
            seq: 0,
        };
        let start = hour * HOUR;
        let r = self.rate;
        if since_start % 37 == 0 {
            let at = start + h.rng.random_range(0..60) * SEC;
            h.startup(at);
        }
        // Health checks every 8/r seconds, each with the SessionMiddleware warning.
        h.periodic(start, 8.0 / r, |h, t| h.health_check(t));
        // User traffic with a day/night shape (peak at 21:00 UTC, afternoon in the US).
        let hour_of_day = hour.rem_euclid(24) as f64;
        let shape =
            0.35 + 0.65 * (0.5 - 0.5 * ((hour_of_day - 9.0) / 24.0 * std::f64::consts::TAU).cos());
        h.poisson(start, 0.335 * r * shape / 0.675, |h, t| h.user_request(t));
        // Service-to-service calls failing auth: every ~300 s at rate 2.
        h.poisson(start, r / 600.0, |h, t| h.service_auth_failure(t));
        // Background app chatter.
        h.poisson(start, 0.08 * r, |h, t| h.chatter(t));
        // One crash incident in the week: workers die and requests get 503 for two minutes.
        if since_start == 24 * 4 + 14 {
            h.crash_burst(start + 17 * 60 * SEC);
        }
        h.events.sort_by_key(|e| e.ts);
        h.events
    }
}

/// Cloud Run stamps app and request logs with microseconds: `2025-09-12T03:46:13.957993Z`.
fn micros(ts: i64) -> String {
    let full = format_rfc3339(ts);
    format!("{}Z", &full[..26])
}

fn hex_digit(n: u32) -> char {
    char::from_digit(n, 16).unwrap_or('0')
}

fn revision_suffix(x: u64) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut v = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
    (0..3)
        .map(|_| {
            let c = alphabet[(v % 36) as usize] as char;
            v /= 36;
            c
        })
        .collect()
}

impl Hour {
    fn periodic(&mut self, start: i64, every_secs: f64, mut f: impl FnMut(&mut Hour, i64)) {
        let step = (every_secs * SEC as f64) as i64;
        let mut t = start + self.rng.random_range(0..step.max(1));
        while t < start + HOUR {
            f(self, t);
            let jitter = self.rng.random_range(0..(step / 10).max(1));
            t += step - step / 20 + jitter;
        }
    }

    fn poisson(&mut self, start: i64, per_sec: f64, mut f: impl FnMut(&mut Hour, i64)) {
        if per_sec <= 0.0 {
            return;
        }
        let mut t = start as f64;
        loop {
            let u: f64 = self.rng.random::<f64>().max(1e-12);
            t += -u.ln() / per_sec * SEC as f64;
            if t >= (start + HOUR) as f64 {
                break;
            }
            f(self, t as i64);
        }
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| hex_digit(self.rng.random_range(0..16)))
            .collect()
    }

    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    fn insert_id(&mut self, ts: i64) -> String {
        self.seq += 1;
        format!(
            "{:08x}{:08x}{}",
            ts / SEC,
            (ts % SEC) / 1000 + self.seq as i64,
            self.hex(8)
        )
    }

    fn trace(&mut self) -> String {
        format!("projects/{PROJECT}/traces/{}", self.hex(32))
    }

    fn ip(&mut self) -> String {
        let r = &mut self.rng;
        format!(
            "{}.{}.{}.{}",
            r.random_range(23..223),
            r.random_range(0..256),
            r.random_range(0..256),
            r.random_range(1..255)
        )
    }

    fn base(&mut self, ts: i64, log: &'static str, severity: Option<&str>) -> Value {
        let receive = ts + self.rng.random_range(5..250) * MS + self.rng.random_range(0..1000);
        let mut v = json!({
            "insertId": self.insert_id(ts),
            "logName": format!("projects/{PROJECT}/logs/run.googleapis.com%2F{log}"),
            "receiveTimestamp": format_rfc3339(receive),
            "resource": {
                "labels": {
                    "configuration_name": SERVICE,
                    "location": "us-central1",
                    "project_id": PROJECT,
                    "revision_name": self.revision,
                    "service_name": SERVICE,
                },
                "type": "cloud_run_revision",
            },
            "timestamp": micros(ts),
        });
        if log != "requests" {
            v["labels"] = json!({ "instanceId": self.instance });
        }
        if let Some(s) = severity {
            v["severity"] = json!(s);
        }
        v
    }

    fn push(&mut self, ts: i64, log: &'static str, json: Value) {
        self.events.push(Event { ts, log, json });
    }

    /// A request log entry as Cloud Run writes it.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        ts: i64,
        method: &str,
        path: &str,
        status: u16,
        latency_ms: f64,
        ua: &str,
        trace: &str,
    ) {
        let severity = match status {
            500.. => "ERROR",
            400..=499 => "WARNING",
            _ => "INFO",
        };
        let mut v = self.base(ts, "requests", Some(severity));
        let response_size = if status == 204 {
            0
        } else {
            self.rng.random_range(80..24_000)
        };
        v["httpRequest"] = json!({
            "latency": format!("{:.9}s", latency_ms / 1000.0),
            "protocol": "HTTP/1.1",
            "remoteIp": self.ip(),
            "requestMethod": method,
            "requestSize": self.rng.random_range(300..1400).to_string(),
            "requestUrl": format!("{HOST}{path}"),
            "responseSize": response_size.to_string(),
            "serverIp": "34.143.76.2",
            "status": status,
            "userAgent": ua,
        });
        v["trace"] = json!(trace);
        v["spanId"] = json!(self.hex(16));
        v["traceSampled"] = json!(true);
        self.push(ts, "requests", v);
    }

    /// A structured (JSON) app log on stderr, as the Python logging handler writes it.
    fn app_json(
        &mut self,
        ts: i64,
        severity: &str,
        module: usize,
        message: &str,
        trace: Option<&str>,
        extra: Option<(&str, Value)>,
    ) {
        let (name, function, line) = MODULES[module % MODULES.len()];
        let mut v = self.base(ts, "stderr", Some(severity));
        let mut payload = json!({
            "context": { "name": name, "service": "netra-service" },
            "labels": { "function": function, "line": line.to_string(), "module": name },
            "message": message,
            "timestamp": micros(ts - self.rng.random_range(0..900) * 1000).replace('Z', "+00:00"),
        });
        if let Some((k, val)) = extra {
            payload[k] = val;
        }
        v["jsonPayload"] = payload;
        if let Some(t) = trace {
            v["trace"] = json!(t);
        }
        self.push(ts, "stderr", v);
    }

    /// A plain text app log, loguru style on stdout or gunicorn style on stderr.
    fn app_text(&mut self, ts: i64, log: &'static str, severity: Option<&str>, text: String) {
        let mut v = self.base(ts, log, severity);
        v["textPayload"] = json!(text);
        self.push(ts, log, v);
    }

    fn health_check(&mut self, t: i64) {
        let trace = self.trace();
        let latency = 0.8 + self.rng.random::<f64>() * 2.5;
        self.request(t, "GET", "/health", 200, latency, "GoogleHC/1.0", &trace);
        let w = t + self.rng.random_range(200..900) * 1000;
        let mut v = self.base(w, "stderr", Some("WARNING"));
        v["jsonPayload"] = json!({
            "labels": { "function": "callHandlers", "line": "1706", "module": "logging" },
            "message": SESSION_WARNING,
            "timestamp": micros(w).replace('Z', "+00:00"),
        });
        self.push(w, "stderr", v);
    }

    fn user_request(&mut self, t: i64) {
        let total: u32 = ENDPOINTS.iter().map(|e| e.2).sum();
        let mut pick = self.rng.random_range(0..total);
        let mut endpoint = ENDPOINTS[0];
        for e in ENDPOINTS {
            if pick < e.2 {
                endpoint = e;
                break;
            }
            pick -= e.2;
        }
        let (method, template, _) = endpoint;
        let trace = self.trace();
        if template == "/ws" {
            return self.websocket(t, &trace);
        }
        let mut path = template.replace("{id}", &self.uuid());
        if self.rng.random_bool(0.15) {
            path.push_str(&format!(
                "?limit={}&offset={}",
                self.rng.random_range(10..100),
                self.rng.random_range(0..500)
            ));
        }
        let roll: f64 = self.rng.random();
        let status = match roll {
            x if x < 0.010 => 500,
            x if x < 0.030 => 401,
            x if x < 0.045 => 404,
            x if x < 0.050 => 422,
            x if x < 0.080 && method == "GET" => 304,
            _ if method == "POST" => 201,
            _ if method == "OPTIONS" => 204,
            _ => 200,
        };
        let latency = (self.rng.random::<f64>() * 3.0).exp() * 12.0;
        let ua = USER_AGENTS[self.rng.random_range(0..USER_AGENTS.len())];
        let user = self.uuid();
        let module = self.rng.random_range(0..4);
        // The app logs the request while handling it, then the request log closes it.
        let msg = match module {
            0 => format!(
                "Listed {} threads for user {user} in {:.1}ms",
                self.rng.random_range(0..40),
                latency * 0.7
            ),
            1 => format!("Agent run {} started for user_id='{user}'", self.uuid()),
            2 => format!(
                "Message persisted to thread {} ({} bytes)",
                self.uuid(),
                self.rng.random_range(20..4000)
            ),
            _ => format!(
                "Token validated for user {user} from {} in {:.6}s",
                self.ip(),
                latency / 3000.0
            ),
        };
        let app_t = t + (latency * 0.5 * MS as f64) as i64;
        self.app_json(
            app_t,
            "INFO",
            [0, 1, 3, 4][module],
            &msg,
            Some(&trace),
            None,
        );
        if status == 500 {
            let e = t + (latency * 0.9 * MS as f64) as i64;
            let text = format!(
                "Traceback (most recent call last):\n  File \"/app/netra_backend/app/routes/threads.py\", line {}, in list_threads\n    rows = await session.execute(stmt)\nsqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection to server at \"{}\", port 5432 failed: timeout expired",
                self.rng.random_range(80..140),
                self.ip()
            );
            self.app_text(e, "stderr", Some("ERROR"), text);
        }
        let end = t + (latency * MS as f64) as i64;
        self.request(end, method, &path, status, latency, ua, &trace);
    }

    /// A WebSocket attempt: most fail with the ASGI scope error and a 500 a few ms later.
    fn websocket(&mut self, t: i64, trace: &str) {
        if self.rng.random_bool(0.75) {
            self.app_json(t, "ERROR", 2, ASGI_ERROR, Some(trace), None);
            let lag = self.rng.random_range(1_500..7_000) * 1000;
            let latency = 2.5 + self.rng.random::<f64>() * 1.5;
            self.request(t + lag, "GET", "/ws", 500, latency, CHROME, trace);
        } else {
            let user = self.uuid();
            let msg = format!(
                "WebSocket connected: user_id={user} connection_id=ws_{}",
                self.hex(12)
            );
            self.app_json(t, "INFO", 2, &msg, Some(trace), None);
            let minutes = 0.2 + self.rng.random::<f64>() * 30.0;
            self.request(
                t + (minutes * 60.0 * SEC as f64) as i64,
                "GET",
                "/ws",
                101,
                minutes * 60_000.0,
                CHROME,
                trace,
            );
        }
    }

    /// A service call whose auth fails, then the request-scoped DB session failure.
    fn service_auth_failure(&mut self, t: i64) {
        let trace = self.trace();
        let ms = t / MS;
        let req = format!(
            "req_{ms}_{}_{:08}",
            self.rng.random_range(100..9999),
            self.rng.random_range(0..100_000_000u64)
        );
        self.app_json(
            t,
            "CRITICAL",
            4,
            &format!("[🔴] {AUTH_403}"),
            Some(&trace),
            Some(("request_id", json!(req))),
        );
        let lag = self.rng.random_range(2_000..9_000) * 1000;
        let msg = format!(
            "CRITICAL ERROR: Failed to create request-scoped database session {req} for user_id='service:netra-backend'. Error: 403: Not authenticated"
        );
        self.app_json(
            t + lag,
            "ERROR",
            5,
            &msg,
            Some(&trace),
            Some(("request_id", json!(req))),
        );
    }

    /// Routine lines between the incidents: one of ten kinds, three of them plain text.
    fn chatter(&mut self, t: i64) {
        match self.rng.random_range(0..10) {
            roll @ (2 | 3 | 7) => self.text_chatter(t, roll),
            roll => self.json_chatter(t, roll),
        }
    }

    /// Plain-text lines: a loguru line, a gunicorn access line, a health check.
    fn text_chatter(&mut self, t: i64, roll: i32) {
        let stamp = format_rfc3339(t);
        let (date, clock) = (&stamp[..10], &stamp[11..23]);
        match roll {
            2 => {
                let text = format!(
                    "{date} {clock} | INFO     | netra_backend.app.services.cache:evict:57 | <white>Evicted {} cache entries in {:.3}ms</white>",
                    self.rng.random_range(1..500),
                    self.rng.random::<f64>() * 40.0
                );
                self.app_text(t, "stdout", None, text);
            }
            3 => {
                let pid = self.rng.random_range(2..40);
                let ip = self.ip();
                let port = self.rng.random_range(1024..65535);
                let text = format!(
                    "[{date} {} +0000] [{pid}] [INFO] {ip}:{port} - \"WebSocket /ws\" 403",
                    &clock[..8]
                );
                self.app_text(t, "stderr", None, text);
            }
            _ => {
                let text = format!(
                    "{}:{} - \"GET /health HTTP/1.1\" 200",
                    self.ip(),
                    self.rng.random_range(1024..65535)
                );
                self.app_text(t, "stdout", None, text);
            }
        }
    }

    /// Structured app lines.
    fn json_chatter(&mut self, t: i64, roll: i32) {
        match roll {
            0 | 1 => {
                let n = self.rng.random_range(0..12);
                self.app_json(
                    t,
                    "INFO",
                    2,
                    &format!("Handler cleanup complete. Remaining handlers: {n}"),
                    None,
                    None,
                );
            }
            4 => self.app_json(
                t,
                "WARNING",
                4,
                "WebSocket connection rejected in staging: Invalid JWT=REDACTED",
                None,
                None,
            ),
            5 => {
                let s = self.rng.random_range(1..30);
                self.app_json(
                    t,
                    "INFO",
                    3,
                    &format!(
                        "AuthClientCache initialized with default TTL: {s}s and user isolation"
                    ),
                    None,
                    None,
                );
            }
            6 => {
                let u = self.uuid();
                let msg = format!(
                    "Background task {u} finished in {:.2}s",
                    self.rng.random::<f64>() * 9.0
                );
                self.app_json(t, "INFO", 1, &msg, None, None);
            }
            8 => {
                let u = self.uuid();
                let email = format!("user{}@netrasystems.ai", self.rng.random_range(1..900));
                self.app_json(
                    t,
                    "NOTICE",
                    4,
                    &format!("User {email} ({u}) signed in via OAuth"),
                    None,
                    None,
                );
            }
            _ => {
                let msg = format!(
                    "Redis pool stats: in_use={} idle={} wait_ms={}",
                    self.rng.random_range(0..20),
                    self.rng.random_range(0..20),
                    self.rng.random_range(0..50)
                );
                self.app_json(t, "INFO", 3, &msg, None, None);
            }
        }
    }

    fn startup(&mut self, t: i64) {
        let lines = [
            "Backend Service: Running in staging - skipping .env file loading (using GSM)",
            "Built database URL from POSTGRES_* environment variables",
            "Enhanced RedisManager initialized with automatic recovery",
            "AuthServiceClient initialized - Service ID: netra-backend, Service Secret=REDACTED True",
            "Starting enhanced middleware setup with WebSocket exclusion support...",
            "uvicorn-compatible SessionMiddleware configured for staging (Issue #1127)",
            "OpenTelemetry automatic instrumentation initialized successfully",
        ];
        let mut at = t;
        for (i, line) in lines.iter().enumerate() {
            at += self.rng.random_range(5..400) * MS;
            self.app_json(at, "INFO", i, line, None, None);
        }
        self.app_json(
            at + 30 * MS,
            "WARNING",
            0,
            "Sentry SDK not available - install sentry-sdk[fastapi] to enable error tracking",
            None,
            None,
        );
        let text = format!(
            "Default STARTUP TCP probe succeeded after 1 attempt for container \"{SERVICE}-1\" on port 8080."
        );
        self.app_text(at + 900 * MS, "stderr", Some("INFO"), text);
    }

    fn crash_burst(&mut self, t: i64) {
        for k in 0..12 {
            let at = t + k * 10 * SEC + self.rng.random_range(0..900) * MS;
            let stamp = format_rfc3339(at);
            let pid = self.rng.random_range(2..40);
            self.app_text(
                at,
                "stderr",
                Some("ERROR"),
                format!(
                    "[{} {} +0000] [1] [ERROR] Worker (pid:{pid}) exited with code 3",
                    &stamp[..10],
                    &stamp[11..19]
                ),
            );
            for _ in 0..self.rng.random_range(3..9) {
                let r = at + self.rng.random_range(10..9_000) * MS;
                let trace = self.trace();
                let ua = USER_AGENTS[self.rng.random_range(0..3)];
                let mut v = self.base(r, "requests", Some("ERROR"));
                v["textPayload"] = json!(
                    "The request failed because either the HTTP response was malformed or connection to the instance had an error. Additional troubleshooting documentation can be found at: https://cloud.google.com/run/docs/troubleshooting#malformed-response-or-connection-error"
                );
                self.push(r, "requests", v);
                let latency = 10.0 + self.rng.random::<f64>() * 20.0;
                self.request(r, "POST", "/api/agents/run", 503, latency, ua, &trace);
            }
        }
    }
}
