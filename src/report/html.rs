//! The report as one self-contained HTML file: inline CSS, charts drawn as inline SVG here
//! (no script, font or image is fetched), so it opens offline and can be mailed around.
//!
//! Charts: severities per window over the range (stacked bars), a sparkline per incident
//! (its root cause) and per issue, and one small graph per linked incident (the root cause,
//! an arrow to each effect with its evidence). A
//! few lines of inline script only mark, once the page has loaded, how many charts the
//! browser laid out with a non-empty box (`data-charts-rendered` on `<body>`): the test
//! that opens the file in headless Chromium reads it.
//!
//! Log text is attacker-controlled: everything from the lake goes through [`esc`].

use super::model::Priority;
use std::fmt::Write;

use super::model::{Counted, Incident, Issue, Report};
use crate::common::numbers::{plural, thousands};

/// Text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Colours per severity, DEFAULT to EMERGENCY.
fn colour(severity: &str) -> &'static str {
    match severity {
        "DEBUG" => "#b0bec5",
        "INFO" => "#90caf9",
        "NOTICE" => "#80cbc4",
        "WARNING" => "#ffb74d",
        "ERROR" => "#e57373",
        "CRITICAL" => "#c62828",
        "ALERT" | "EMERGENCY" => "#6a1b9a",
        _ => "#cfd8dc",
    }
}

fn priority_colour(p: Priority) -> &'static str {
    match p {
        Priority::P0 => "#b71c1c",
        Priority::P1 => "#e65100",
        Priority::P2 => "#f9a825",
        Priority::P3 => "#607d8b",
    }
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#212121;padding:0 1em}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.3em .5em;text-align:left;vertical-align:middle}\
.badge{color:#fff;border-radius:3px;padding:0 .4em;font-weight:600;font-size:.85em}\
code,pre{font-family:ui-monospace,monospace;font-size:.9em;background:#f5f5f5}\
pre{padding:.6em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}\
.issue{border-left:4px solid #ccc;padding-left:1em;margin:1.5em 0}.incident{border-top:3px solid #ccc;margin:2em 0;padding-top:.3em}.meta td:first-child{width:11em;color:#555}\
.num{text-align:right;font-variant-numeric:tabular-nums}";

const CHECK: &str = "window.addEventListener('load',function(){var c=document.querySelectorAll('svg[data-chart]'),ok=0;\
for(var i=0;i<c.length;i++){var b=c[i].getBoundingClientRect();if(b.width>0&&b.height>0&&c[i].querySelector('rect,polyline,circle,line'))ok++;}\
document.body.setAttribute('data-charts-rendered',ok+'/'+c.length);});";

/// Renders the whole report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    head(&mut o, r);
    let _ = writeln!(o, "<h2>Severities per {}</h2>", esc(&r.timeline.window));
    severity_chart(&mut o, r);
    summary(&mut o, r);
    bursts(&mut o, r);
    incidents(&mut o, r);
    relationships(&mut o, r);
    let _ = writeln!(o, "<h2>Queries used</h2><pre>");
    for q in &r.queries {
        let _ = writeln!(o, "{}", esc(&q.command));
    }
    let _ = writeln!(o, "</pre><script>{CHECK}</script></body></html>");
    o
}

/// The document head, the title and the range and totals line.
fn head(o: &mut String, r: &Report) {
    let title = format!("Log Gardener Worklog - {}", r.services.join(", "));
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(&title)
    );
    let _ = writeln!(o, "<h1>{}</h1>", esc(&title));
    let _ = writeln!(
        o,
        "<p><b>Generated:</b> {} &nbsp; <b>Projects:</b> {} &nbsp; <b>Range:</b> {}<br>\
         <b>Totals:</b> {} entries: {}</p>",
        esc(&r.generated_at),
        esc(&r.projects.join(", ")),
        esc(&r.range.header()),
        thousands(r.totals.rows),
        r.totals
            .severities
            .iter()
            .map(|(s, n)| format!("{} {}", esc(s), thousands(*n)))
            .collect::<Vec<_>>()
            .join(" · ")
    );
}

/// One table row per incident, with its sparkline.
fn summary(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Summary</h2><p>{}.</p>", esc(&r.overview()));
    if r.incidents.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "<table><tr><th>#</th><th>Incident</th><th>Priority</th><th>Why</th>\
         <th class=\"num\">Rows</th><th>Issues</th><th>Per {}</th><th>Status</th></tr>",
        esc(&r.timeline.window)
    );
    for inc in &r.incidents {
        let _ = write!(
            o,
            "<tr><td>{}</td><td><a href=\"#incident-{}\">{}</a></td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td>",
            inc.id,
            inc.id,
            esc(&inc.title),
            badge(inc.priority),
            esc(&inc.why),
            thousands(inc.count),
            inc.issues
                .iter()
                .map(|x| format!("<a href=\"#issue-{x}\">#{x}</a>"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        if let Some(root) = r.issue(inc.root) {
            sparkline(o, &root.timeline, priority_colour(inc.priority));
        }
        let _ = writeln!(o, "</td><td>{}</td></tr>", inc.status);
    }
    let _ = writeln!(o, "</table>");
}

/// Windows far above their signature's baseline.
fn bursts(o: &mut String, r: &Report) {
    if !r.bursts.is_empty() {
        let _ = writeln!(o, "<h2>Bursts</h2><ul>");
        for b in &r.bursts {
            let who = b.issue.map_or_else(
                || format!("<code>{}</code>", esc(&b.template)),
                |i| format!("<a href=\"#issue-{i}\">Issue #{i}</a>"),
            );
            let _ = writeln!(
                o,
                "<li>{who} at {}: {} against a baseline of {:.1} (z = {:.1})</li>",
                esc(&b.window_start),
                plural(b.n, "row", "rows"),
                b.baseline,
                b.z
            );
        }
        let _ = writeln!(o, "</ul>");
    }
}

/// Each incident with its graph (linked) and its issues.
fn incidents(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Incidents</h2>");
    if r.incidents.is_empty() {
        let _ = writeln!(o, "<p>None.</p>");
    }
    for inc in &r.incidents {
        let _ = writeln!(
            o,
            "<section class=\"incident\" id=\"incident-{}\" style=\"border-color:{}\">\
             <h3>Incident {}: {} {}</h3><p><b>Why {}:</b> {}<br><b>Rows:</b> {} ({} to {})</p>",
            inc.id,
            priority_colour(inc.priority),
            inc.id,
            esc(&inc.title),
            badge(inc.priority),
            inc.priority,
            esc(&inc.why),
            thousands(inc.count),
            esc(&inc.first_seen),
            esc(&inc.last_seen)
        );
        if inc.kind == "linked" {
            graph(o, r, inc);
        }
        for id in &inc.issues {
            if let Some(i) = r.issue(*id) {
                issue(o, i);
            }
        }
        let _ = writeln!(o, "</section>");
    }
}

/// The linked pairs with their evidence.
fn relationships(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Root-cause relationships</h2>");
    if r.relationships.is_empty() {
        let _ = writeln!(o, "<p>No linked issues.</p>");
    } else {
        let _ = writeln!(
            o,
            "<table><tr><th>Cause</th><th>Effect</th><th>Evidence</th><th class=\"num\">Lag ms</th>\
             <th class=\"num\">Confidence</th><th class=\"num\">Lift</th><th class=\"num\">-log10 p</th></tr>"
        );
        for x in &r.relationships {
            let _ = writeln!(
                o,
                "<tr><td>#{}</td><td>#{}</td><td>{}</td><td class=\"num\">{:.1}</td>\
                 <td class=\"num\">{:.2} / {:.2}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td></tr>",
                x.issue_a,
                x.issue_b,
                esc(&x.level),
                x.lag_ms,
                x.confidence_ab,
                x.confidence_ba,
                x.lift,
                x.significance
            );
        }
        let _ = writeln!(o, "</table>");
    }
}

/// One issue's block inside its incident.
fn issue(o: &mut String, i: &Issue) {
    let _ = writeln!(
        o,
        "<div class=\"issue\" id=\"issue-{}\" style=\"border-color:{}\"><h4>Issue {}: {}</h4><table class=\"meta\">",
        i.id,
        priority_colour(i.priority),
        i.id,
        esc(&i.title)
    );
    for (k, v) in issue_rows(i).into_iter().filter(|(_, v)| !v.is_empty()) {
        let _ = writeln!(o, "<tr><td>{k}</td><td>{v}</td></tr>");
    }
    let _ = writeln!(o, "</table>");
    if let Some(s) = i.samples.first() {
        let raw = serde_json::to_string_pretty(&s.entry).unwrap_or_default();
        let _ = writeln!(
            o,
            "<p>Log sample:</p><pre>{}</pre><details><summary>Raw entry</summary><pre>{}</pre></details>",
            esc(&s.line),
            esc(&raw)
        );
    }
    let _ = writeln!(o, "</div>");
}

/// An issue's facts, one table row each (empty ones are left out).
fn issue_rows(i: &Issue) -> Vec<(&'static str, String)> {
    let mut timeline = String::new();
    sparkline(&mut timeline, &i.timeline, priority_colour(i.priority));
    vec![
        ("Pattern", format!("<code>{}</code>", esc(&i.template))),
        (
            "Signature",
            format!("<code>{}</code>", esc(&i.signature_id)),
        ),
        (
            "Frequency",
            format!(
                "{} - {} ({:.1} per hour)",
                i.frequency,
                esc(&i.frequency_text),
                i.rate_per_hour
            ),
        ),
        ("Per window", timeline),
        (
            "Severity",
            format!(
                "{} ({} of the statement's {} rows are problems; most are {}){}",
                esc(&i.severity),
                thousands(i.count),
                thousands(i.total_rows),
                esc(&i.dominant_severity),
                i.novelty.map_or_else(String::new, |n| format!(" — {n}"))
            ),
        ),
        (
            "Priority",
            format!("{} rule: {}", badge(i.priority), esc(&i.priority_rule)),
        ),
        ("Endpoints", counted(&i.impact.endpoints)),
        ("Status codes", counted(&i.impact.status_codes)),
        ("User agents", counted(&i.impact.user_agents)),
        ("Services", counted(&i.impact.services)),
        ("Revisions", counted(&i.impact.revisions)),
        ("First seen", esc(&i.first_seen)),
        ("Last seen", esc(&i.last_seen)),
        (
            "Recent",
            i.recent
                .iter()
                .map(|x| esc(&x.timestamp))
                .collect::<Vec<_>>()
                .join("<br>"),
        ),
        (
            "Trend per day",
            i.trend
                .iter()
                .map(|d| format!("{} {}", esc(&d.day), thousands(d.n)))
                .collect::<Vec<_>>()
                .join(" · "),
        ),
        (
            "Linked with",
            i.related
                .iter()
                .map(|x| format!("<a href=\"#issue-{x}\">#{x}</a>"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ]
}

fn badge(p: Priority) -> String {
    format!(
        "<span class=\"badge\" style=\"background:{}\">{p}</span>",
        priority_colour(p),
    )
}

fn counted(list: &[Counted]) -> String {
    list.iter()
        .take(8)
        .map(|c| format!("{} ({})", esc(&c.value), thousands(c.n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stacked bars: one per window, severities bottom (DEFAULT) to top.
fn severity_chart(o: &mut String, r: &Report) {
    let (w, h, left, bottom) = (1040.0, 220.0, 56.0, 24.0);
    let slots = r.timeline.starts.len();
    let totals: Vec<u64> = (0..slots)
        .map(|k| r.timeline.severities.iter().map(|(_, v)| v[k]).sum())
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bar = (w - left) / slots.max(1) as f64;
    let _ = write!(
        o,
        "<svg data-chart=\"severities\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" \
         aria-label=\"rows per window by severity\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    let _ = write!(
        o,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{w}\" y2=\"{}\" stroke=\"#999\"/>\
         <text x=\"{}\" y=\"12\" font-size=\"11\" text-anchor=\"end\">{}</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">0</text>",
        h - bottom,
        h - bottom,
        left - 4.0,
        thousands(max as u64),
        left - 4.0,
        h - bottom
    );
    for k in 0..slots {
        let mut y = h - bottom;
        for (sev, counts) in &r.timeline.severities {
            let n = counts[k];
            if n == 0 {
                continue;
            }
            let height = n as f64 / max * (h - bottom - 8.0);
            y -= height;
            let _ = write!(
                o,
                "<rect x=\"{:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{height:.2}\" fill=\"{}\">\
                 <title>{} {}: {}</title></rect>",
                left + k as f64 * bar,
                (bar - 0.5).max(0.5),
                colour(sev),
                esc(&r.timeline.starts[k]),
                esc(sev),
                thousands(n)
            );
        }
        // A date label at each UTC midnight.
        let x = left + k as f64 * bar;
        if r.timeline.starts[k].contains("T00:00:00") && x < w - 70.0 {
            let _ = write!(
                o,
                "<text x=\"{x:.1}\" y=\"{}\" font-size=\"11\">{}</text>",
                h - 6.0,
                esc(&r.timeline.starts[k][..10.min(r.timeline.starts[k].len())])
            );
        }
    }
    let _ = writeln!(o, "</svg>");
    let _ = write!(o, "<p class=\"legend\">");
    for (sev, _) in &r.timeline.severities {
        let _ = write!(
            o,
            "<span><i style=\"background:{}\"></i>{}</span>",
            colour(sev),
            esc(sev)
        );
    }
    let _ = writeln!(o, "</p>");
}

fn sparkline(o: &mut String, counts: &[u64], stroke: &str) {
    let (w, h) = (160.0, 28.0);
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = w / counts.len().saturating_sub(1).max(1) as f64;
    let points: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(k, n)| {
            format!(
                "{:.1},{:.1}",
                k as f64 * step,
                h - 2.0 - *n as f64 / max * (h - 4.0)
            )
        })
        .collect();
    let _ = write!(
        o,
        "<svg data-chart=\"sparkline\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><polyline fill=\"none\" stroke=\"{stroke}\" \
         stroke-width=\"1.2\" points=\"{}\"/></svg>",
        points.join(" ")
    );
}

/// An incident's graph: the root cause on the left, an arrow to each effect on the right,
/// labelled with its evidence.
fn graph(o: &mut String, r: &Report, inc: &Incident) {
    let find = |id: usize| r.issue(id);
    let Some(root) = find(inc.root) else {
        return;
    };
    let row = 34.0;
    let (w, h) = (1040.0, (inc.effects.len() as f64 * row + 16.0).max(60.0));
    let (rx, ry, ex) = (40.0, h / 2.0, 520.0);
    let _ = write!(
        o,
        "<svg data-chart=\"incident\" viewBox=\"0 0 {w} {h}\" width=\"100%\" \
         xmlns=\"http://www.w3.org/2000/svg\"><defs><marker id=\"arrow-{}\" viewBox=\"0 0 10 10\" \
         refX=\"22\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>",
        inc.id
    );
    for (k, e) in inc.effects.iter().enumerate() {
        let Some(effect) = find(e.issue) else {
            continue;
        };
        let y = 8.0 + row / 2.0 + k as f64 * row;
        let label: String = effect.title.chars().take(60).collect();
        let _ = write!(
            o,
            "<line x1=\"{rx}\" y1=\"{ry:.1}\" x2=\"{ex}\" y2=\"{y:.1}\" stroke=\"#555\" \
             stroke-width=\"{:.1}\" marker-end=\"url(#arrow-{})\"><title>#{} -> #{}: {} (lift {:.1})</title></line>\
             <circle cx=\"{ex}\" cy=\"{y:.1}\" r=\"14\" fill=\"{}\"><title>{}</title></circle>\
             <text x=\"{ex}\" y=\"{:.1}\" font-size=\"11\" fill=\"#fff\" text-anchor=\"middle\">#{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{} ({}, {:+.1} ms)</text>",
            1.0 + e.confidence * 2.0,
            inc.id,
            root.id,
            effect.id,
            esc(&e.level),
            e.lift,
            priority_colour(effect.priority),
            esc(&effect.title),
            y + 4.0,
            effect.id,
            ex + 22.0,
            y + 4.0,
            esc(&label),
            esc(&e.level),
            e.lag_ms
        );
    }
    let _ = writeln!(
        o,
        "<circle cx=\"{rx}\" cy=\"{ry:.1}\" r=\"14\" fill=\"{}\"><title>{}</title></circle>\
         <text x=\"{rx}\" y=\"{:.1}\" font-size=\"11\" fill=\"#fff\" text-anchor=\"middle\">#{}</text></svg>",
        priority_colour(root.priority),
        esc(&root.title),
        ry + 4.0,
        root.id
    );
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_in_log_text_is_inert() {
        let e = esc("<img src=x onerror=\"alert(1)\"> & 'x'");
        assert_eq!(
            e,
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;x&#39;"
        );
    }
}
