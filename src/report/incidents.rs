//! Incidents: issues grouped into root causes with their effects, the way a person triages.
//!
//! Three kinds, tried in this order:
//! 1. **linked**: a root cause and the issues linked *to it directly* with evidence (the
//!    co_occurrence `linked` flag at the same trace or request id, or within the lag). Links
//!    in the same window only are too weak to group (they are still listed as
//!    relationships). An effect is never reached through a chain: `A -> B -> C` groups
//!    `A` with `B`, and `C` only if `A -> C` is linked too, so a frequent hub cannot pull a
//!    whole week into one incident.
//! 2. **family**: request signatures (`GET /path STATUS`) with no cause or effect, of one
//!    service and one status: "404 on 12 endpoints". A family that would hold more than a
//!    quarter of the issues is split by resource (the first path segment past `api` and a
//!    version: "404 on 6 endpoints under /api/agents"), endpoints alone on their resource
//!    staying together.
//! 3. **single**: every other issue is an incident of its own.
//!
//! Direction: the earlier side of a link is the cause (median lag), with two exceptions
//! from how Cloud Run logs: a request log never causes an app log (the request's status is
//! the consequence of what the app logged during it, although the request line carries
//! the request's start time), and a 4xx request log causes nothing (a client error is not
//! a server problem's cause, and the effect of an app error only in the same request).
//! Links within [`SIMULTANEOUS_MS`] go both ways. An effect needs most of its rows
//! explained by the cause ([`MIN_EFFECT_CONFIDENCE`]).
//!
//! Roots are chosen greedily, most urgent first: a candidate's group is itself and its
//! not-yet-grouped effects; candidates with no cause of their own go first, then by the
//! group's most urgent priority, the number of effects, the candidate's own priority and
//! count. Each issue joins one incident only (the first root that claims it).
//!
//! Failure mode: the grouping trusts the links; a coincidental link that passed
//! co_occurrence's significance test puts two problems in one incident. The evidence is
//! shown next to each effect so a reader can judge it.

use std::collections::{BTreeMap, BTreeSet};

use super::priority::request_status;

/// Links closer than this have no direction.
pub const SIMULTANEOUS_MS: f64 = 1.0;

/// What grouping needs to know of an issue.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub priority: u8,
    pub count: u64,
    pub signature_id: &'a str,
    pub template: &'a str,
    /// The service most of its problem rows come from.
    pub service: Option<&'a str>,
}

/// A linked pair (`a` comes first), indexes into the nodes.
#[derive(Debug, Clone)]
pub struct Link<'a> {
    pub a: usize,
    pub b: usize,
    pub level: &'a str,
    pub lag_ms: f64,
    /// The share of a's rows (ids, events) that have b, and of b's that have a.
    pub confidence_ab: f64,
    pub confidence_ba: f64,
}

/// An effect must be explained by its cause this often (the share of the effect's rows
/// that have the cause): a rare early line that happens to precede a frequent one is not
/// its cause.
pub const MIN_EFFECT_CONFIDENCE: f64 = 0.25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Linked,
    Family,
    Single,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Linked => "linked",
            Kind::Family => "family",
            Kind::Single => "single",
        }
    }
}

/// One incident: node indexes, root first, and the link that ties each effect to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub kind: Kind,
    pub members: Vec<usize>,
    /// Per member after the root: the index of its link to the root (linked only).
    pub links: Vec<Option<usize>>,
}

impl Group {
    pub fn root(&self) -> usize {
        self.members[0]
    }
}

/// Whether `cause` may be the cause of `effect` along a link at `level` (see the module
/// doc): a 4xx causes nothing and is an effect of the same request only; a request line
/// does not cause an app log.
fn may_cause(nodes: &[Node<'_>], cause: usize, effect: usize, level: &str) -> bool {
    let (c, e) = (
        request_status(nodes[cause].template),
        request_status(nodes[effect].template),
    );
    let client_error = |s: Option<u16>| s.is_some_and(|s| (400..500).contains(&s));
    if client_error(c) || (c.is_some() && e.is_none()) {
        return false;
    }
    !client_error(e) || level == "same_id"
}

/// Groups the nodes into incidents, in no particular order (see the module doc).
pub fn group(nodes: &[Node<'_>], links: &[Link<'_>]) -> Vec<Group> {
    let causal = Causal::of(nodes, links);
    let mut grouped = vec![false; nodes.len()];
    let mut groups = linked_groups(nodes, &causal.effects, &mut grouped);
    groups.extend(families(nodes, &causal.linked_at_all, &mut grouped));
    for n in (0..nodes.len()).filter(|n| !grouped[*n]) {
        groups.push(Group {
            kind: Kind::Single,
            members: vec![n],
            links: Vec::new(),
        });
    }
    groups
}

/// Which node may cause which, from the links.
struct Causal {
    /// cause -> effect -> link index.
    effects: Vec<BTreeMap<usize, usize>>,
    /// In a causal link either way.
    linked_at_all: Vec<bool>,
}

impl Causal {
    fn of(nodes: &[Node<'_>], links: &[Link<'_>]) -> Causal {
        // cause -> effect -> link index, over the evidence levels.
        let mut effects: Vec<BTreeMap<usize, usize>> = vec![BTreeMap::new(); nodes.len()];
        let mut linked_at_all = vec![false; nodes.len()];
        for (k, l) in links.iter().enumerate() {
            if !matches!(l.level, "same_id" | "lag") || l.a == l.b {
                continue;
            }
            let mut directions = Vec::new();
            let both = l.lag_ms.abs() < SIMULTANEOUS_MS;
            let app_after_request = request_status(nodes[l.a].template).is_some()
                && request_status(nodes[l.b].template).is_none();
            if may_cause(nodes, l.a, l.b, l.level) && l.confidence_ba >= MIN_EFFECT_CONFIDENCE {
                directions.push((l.a, l.b));
            }
            if (both || app_after_request)
                && may_cause(nodes, l.b, l.a, l.level)
                && l.confidence_ab >= MIN_EFFECT_CONFIDENCE
            {
                directions.push((l.b, l.a));
            }
            for (c, e) in directions {
                linked_at_all[c] = true;
                linked_at_all[e] = true;
                effects[c].entry(e).or_insert(k);
            }
        }
        Causal {
            effects,
            linked_at_all,
        }
    }
}

/// Root causes with their effects, most urgent roots first; marks their members grouped.
fn linked_groups(
    nodes: &[Node<'_>],
    effects: &[BTreeMap<usize, usize>],
    grouped: &mut [bool],
) -> Vec<Group> {
    let has_cause: Vec<bool> = (0..nodes.len())
        .map(|n| effects.iter().any(|e| e.contains_key(&n)))
        .collect();
    // The most urgent priority among a candidate and its effects.
    let urgency = |n: usize| {
        effects[n]
            .keys()
            .map(|&e| nodes[e].priority)
            .fold(nodes[n].priority, u8::min)
    };
    let mut candidates: Vec<usize> = (0..nodes.len())
        .filter(|&n| !effects[n].is_empty())
        .collect();
    candidates.sort_by(|&x, &y| {
        let key = |n: usize| {
            (
                has_cause[n],
                urgency(n),
                std::cmp::Reverse(effects[n].len()),
                nodes[n].priority,
                std::cmp::Reverse(nodes[n].count),
            )
        };
        key(x)
            .cmp(&key(y))
            .then_with(|| nodes[x].signature_id.cmp(nodes[y].signature_id))
    });

    let mut groups = Vec::new();
    for root in candidates {
        if grouped[root] {
            continue;
        }
        let mut members: Vec<(usize, usize)> = effects[root]
            .iter()
            .filter(|(e, _)| !grouped[**e])
            .map(|(e, k)| (*e, *k))
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort_by(|(x, _), (y, _)| order(nodes, *x, *y));
        grouped[root] = true;
        for (m, _) in &members {
            grouped[*m] = true;
        }
        groups.push(Group {
            kind: Kind::Linked,
            members: std::iter::once(root)
                .chain(members.iter().map(|(m, _)| *m))
                .collect(),
            links: members.iter().map(|(_, k)| Some(*k)).collect(),
        });
    }
    groups
}

/// Request signatures with no cause or effect, per (service, status), split by resource
/// when a family would hold too many; marks their members grouped.
fn families(nodes: &[Node<'_>], linked_at_all: &[bool], grouped: &mut [bool]) -> Vec<Group> {
    let mut groups = Vec::new();
    let mut families: BTreeMap<(Option<&str>, u16), Vec<usize>> = BTreeMap::new();
    for (n, node) in nodes.iter().enumerate() {
        if grouped[n] || linked_at_all[n] {
            continue;
        }
        if let Some(status) = request_status(node.template) {
            families.entry((node.service, status)).or_default().push(n);
        }
    }
    let most = (nodes.len() / 4).max(2);
    for members in families.into_values() {
        for mut members in split_by_resource(nodes, members, most) {
            if members.len() < 2 {
                continue;
            }
            members.sort_by(|x, y| order(nodes, *x, *y));
            for &m in &members {
                grouped[m] = true;
            }
            groups.push(Group {
                kind: Kind::Family,
                links: vec![None; members.len() - 1],
                members,
            });
        }
    }
    groups
}

/// Most urgent first, then the most rows, then by signature id.
fn order(nodes: &[Node<'_>], x: usize, y: usize) -> std::cmp::Ordering {
    (
        nodes[x].priority,
        std::cmp::Reverse(nodes[x].count),
        nodes[x].signature_id,
    )
        .cmp(&(
            nodes[y].priority,
            std::cmp::Reverse(nodes[y].count),
            nodes[y].signature_id,
        ))
}

/// A request template's path.
fn path<'a>(nodes: &[Node<'a>], n: usize) -> &'a str {
    nodes[n].template.split(' ').nth(1).unwrap_or("")
}

/// The resource a path names: its first segment past `api` and version segments
/// (`/api/v1/agents/list` -> `agents`).
fn resource(path: &str) -> &str {
    path.split('/')
        .find(|s| {
            !s.is_empty()
                && *s != "api"
                && !(s.starts_with('v')
                    && s.len() > 1
                    && s[1..].bytes().all(|b| b.is_ascii_digit()))
        })
        .unwrap_or("")
}

/// A family larger than `most` members (a quarter of the issues) is split by resource,
/// so that no incident swallows the report; resources with one endpoint stay together.
fn split_by_resource(nodes: &[Node<'_>], members: Vec<usize>, most: usize) -> Vec<Vec<usize>> {
    if members.len() <= most {
        return vec![members];
    }
    let mut by_resource: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for m in members {
        by_resource
            .entry(resource(path(nodes, m)))
            .or_default()
            .push(m);
    }
    let (mut out, rest): (Vec<Vec<usize>>, Vec<Vec<usize>>) =
        by_resource.into_values().partition(|g| g.len() > 1);
    out.push(rest.into_iter().flatten().collect());
    out
}

/// A family's title: "404 on 12 endpoints", "404 on 6 endpoints under /api/agents".
pub fn family_title(nodes: &[Node<'_>], members: &[usize]) -> String {
    let statuses: BTreeSet<u16> = members
        .iter()
        .filter_map(|&m| request_status(nodes[m].template))
        .collect();
    let listed: Vec<String> = statuses.iter().map(u16::to_string).collect();
    let endpoints: BTreeSet<&str> = members
        .iter()
        .map(|&m| {
            let t = nodes[m].template;
            t.rsplit_once(' ').map_or(t, |(e, _)| e)
        })
        .collect();
    let mut title = format!("{} on {} endpoints", listed.join("/"), endpoints.len());
    // The path prefix they share, when it names a resource.
    let paths: Vec<&str> = members.iter().map(|&m| path(nodes, m)).collect();
    let first: Vec<&str> = paths.first().map_or(Vec::new(), |p| p.split('/').collect());
    let shared = (0..first.len())
        .take_while(|&k| paths.iter().all(|p| p.split('/').nth(k) == Some(first[k])))
        .count();
    let prefix = first[..shared].join("/");
    let resources: BTreeSet<&str> = paths.iter().map(|p| resource(p)).collect();
    if !resource(&prefix).is_empty() {
        title.push_str(&format!(" under {prefix}"));
    } else if let [only] = resources.into_iter().collect::<Vec<_>>()[..] {
        title.push_str(&format!(" for {only}"));
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(template: &'static str, priority: u8, count: u64) -> Node<'static> {
        Node {
            priority,
            count,
            signature_id: template,
            template,
            service: Some("api"),
        }
    }

    fn link(a: usize, b: usize, level: &'static str, lag_ms: f64) -> Link<'static> {
        Link {
            a,
            b,
            level,
            lag_ms,
            confidence_ab: 1.0,
            confidence_ba: 1.0,
        }
    }

    fn kinds_and_members(
        groups: &[Group],
        nodes: &[Node<'static>],
    ) -> Vec<(Kind, Vec<&'static str>)> {
        let mut out: Vec<(Kind, Vec<&'static str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.kind,
                    g.members.iter().map(|&m| nodes[m].template).collect(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    }

    #[test]
    fn the_reference_week_groups_into_root_causes() {
        let nodes = vec![
            node("CRITICAL_AUTH_FAILURE <*>", 0, 900),
            node(
                "Failed to create request-scoped database session <*>",
                1,
                900,
            ),
            node("ASGI scope error <*>", 1, 50),
            node("GET /ws 500", 1, 50),
            node("Session access failed <*>", 2, 75_000),
            node("GET /api/a 404", 3, 10),
            node("GET /api/b 404", 3, 12),
            node("POST /api/c 401", 3, 4),
            node("psycopg.OperationalError: timeout", 1, 30),
            node("GET /api/threads 500", 1, 20),
            node("POST /api/runs 500", 1, 10),
        ];
        let links = vec![
            link(0, 1, "same_id", 3.0),
            // The request line starts first, but the app error is the cause.
            link(3, 2, "same_id", 5.0),
            link(8, 9, "same_id", 0.0),
            link(8, 10, "lag", 2.0),
            // Too weak to group.
            link(4, 5, "window", 0.0),
        ];
        let groups = group(&nodes, &links);
        assert_eq!(
            kinds_and_members(&groups, &nodes),
            vec![
                (Kind::Linked, vec!["ASGI scope error <*>", "GET /ws 500"]),
                (
                    Kind::Linked,
                    vec![
                        "CRITICAL_AUTH_FAILURE <*>",
                        "Failed to create request-scoped database session <*>"
                    ]
                ),
                (Kind::Family, vec!["GET /api/b 404", "GET /api/a 404"]),
                (Kind::Single, vec!["POST /api/c 401"]),
                (Kind::Single, vec!["Session access failed <*>"]),
                (
                    Kind::Linked,
                    vec![
                        "psycopg.OperationalError: timeout",
                        "GET /api/threads 500",
                        "POST /api/runs 500"
                    ]
                ),
            ]
        );
        let family = groups
            .iter()
            .find(|g| g.kind == Kind::Family)
            .expect("family");
        assert_eq!(family_title(&nodes, &family.members), "404 on 2 endpoints");
    }

    #[test]
    fn a_family_larger_than_a_quarter_of_the_issues_splits_by_resource() {
        let templates = [
            "GET /api/agents 404",
            "GET /api/agents/list 404",
            "GET /api/agents/config 404",
            "GET /api/v1/metrics 404",
            "GET /api/metrics/agents 404",
            "GET /api/stats 404",
            "GET /api/jobs 404",
            "GET /ws 500",
        ];
        let nodes: Vec<Node<'static>> = templates.iter().map(|t| node(t, 3, 5)).collect();
        let groups = group(&nodes, &[]);
        let mut families: Vec<String> = groups
            .iter()
            .filter(|g| g.kind == Kind::Family)
            .map(|g| family_title(&nodes, &g.members))
            .collect();
        families.sort();
        assert_eq!(
            families,
            [
                "404 on 2 endpoints",
                "404 on 2 endpoints for metrics",
                "404 on 3 endpoints under /api/agents"
            ]
        );
    }

    #[test]
    fn a_hub_does_not_chain_unrelated_problems() {
        // A -> B -> C, D -> C: C is not A's effect, and no incident spans all four.
        let nodes = vec![
            node("A failed <*>", 1, 100),
            node("B failed <*>", 2, 100),
            node("C failed <*>", 2, 100),
            node("D failed <*>", 2, 100),
        ];
        let links = vec![
            link(0, 1, "lag", 10.0),
            link(1, 2, "lag", 10.0),
            link(3, 2, "lag", 10.0),
        ];
        let groups = group(&nodes, &links);
        let linked: Vec<&Group> = groups.iter().filter(|g| g.kind == Kind::Linked).collect();
        assert_eq!(linked.len(), 2, "{groups:?}");
        assert_eq!(linked[0].members, vec![0, 1]);
        assert_eq!(linked[1].members, vec![3, 2]);
        // A 4xx causes nothing; an app error causes the request's status.
        let nodes = vec![
            node("GET /x 404", 3, 100),
            node("GET /y 500", 1, 5),
            node("Boom <*>", 1, 5),
        ];
        let groups = group(&nodes, &[link(0, 1, "lag", 4.0)]);
        assert!(groups.iter().all(|g| g.kind == Kind::Single), "{groups:?}");
        let groups = group(&nodes, &[link(0, 2, "same_id", 4.0)]);
        assert_eq!(groups[0].members, vec![2, 0]);
        // Only in the same request: a 4xx near an app error in time is a coincidence.
        let groups = group(&nodes, &[link(2, 0, "lag", 4.0)]);
        assert!(groups.iter().all(|g| g.kind == Kind::Single), "{groups:?}");
        // A rare line before a frequent one does not explain it.
        let mut weak = link(2, 1, "lag", 4.0);
        weak.confidence_ba = 0.1;
        let groups = group(&nodes, &[weak]);
        assert!(groups.iter().all(|g| g.kind == Kind::Single), "{groups:?}");
    }
}
