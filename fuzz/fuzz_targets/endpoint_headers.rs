//! Fuzzes netcore-endpoint's message classification and router, through
//! its hidden `fuzzing` hooks (the dialects and `Routes::resolve` are
//! private):
//!
//! - both dialects (LSO v2's `nc-*` headers, Python netcore 0.1.3's info
//!   keys) classify arbitrary header sets, with arbitrary calls pending,
//!   without panicking;
//! - round trips: what a dialect writes — a call, a notification, a reply,
//!   an error reply, a cancel — it classifies back as what was written
//!   (route, call id, deadline, error code, the caller's extra headers);
//! - the router: a tree of routes, blueprints and fallbacks with arbitrary
//!   paths and prefixes builds exactly when the path rules allow it, holds
//!   exactly the full paths expected, and resolves arbitrary paths to the
//!   exact route, else the fallback of the deepest prefix containing the
//!   path, else "not found".

#![no_main]

use std::collections::BTreeSet;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use netcore_endpoint::fuzzing::{self, Kind, Target};
use netcore_endpoint::{Headers, Reply, ReplyCode, Router};
use netcore_pipe::{PipeConfig, WireFormat};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Headers of an incoming message, as a peer may send them.
    raw: Vec<(Name, Vec<u8>)>,
    /// Call ids pending on this side.
    pending: Vec<u64>,
    /// A request to write and read back.
    route: String,
    call_id: Option<u64>,
    deadline_ms: Option<u32>,
    extra: Vec<(Name, String)>,
    error_code: Option<u32>,
    tree: Tree,
    lookups: Vec<Path>,
}

/// A header name: mostly one the dialects read.
#[derive(Arbitrary, Debug)]
enum Name {
    Known(u8),
    Any(String),
}

impl Name {
    fn text(&self) -> String {
        const KNOWN: [&str; 10] = [
            "nc-kind",
            "route",
            "nc-call",
            "nc-deadline-ms",
            "nc-code",
            "content-type",
            "message_id",
            "is_response",
            "trace",
            "x",
        ];
        match self {
            Name::Known(i) => KNOWN[usize::from(*i) % KNOWN.len()].to_owned(),
            Name::Any(name) => name.clone(),
        }
    }
}

/// A path or prefix: mostly made of a few interesting pieces.
#[derive(Arbitrary, Debug)]
enum Path {
    Pieces(Vec<u8>),
    Any(String),
}

impl Path {
    fn text(&self) -> String {
        const PIECES: [&str; 8] = ["/", "a", "b", "/a", "/b", "//", "/a/b", "é"];
        match self {
            Path::Pieces(pieces) => pieces
                .iter()
                .take(6)
                .map(|i| PIECES[usize::from(*i) % PIECES.len()])
                .collect(),
            Path::Any(text) => text.clone(),
        }
    }
}

/// A router: its routes, blueprints nested under prefixes, a fallback.
#[derive(Arbitrary, Debug)]
struct Tree {
    routes: Vec<Path>,
    nested: Vec<(Path, Tree)>,
    fallback: bool,
}

/// What the router must hold: full paths and fallback prefixes, or that it
/// must fail to build.
#[derive(Debug, Default)]
struct Expected {
    routes: BTreeSet<String>,
    fallbacks: Vec<String>,
    error: bool,
}

fn valid_path(path: &str) -> bool {
    path.starts_with('/') || is_bare_name(path)
}

fn is_bare_name(path: &str) -> bool {
    !path.is_empty() && !path.contains('/')
}

fn valid_prefix(prefix: &str) -> bool {
    prefix.starts_with('/') && !prefix.ends_with('/')
}

/// Builds the router of `tree` (depth-limited) and what it must hold.
fn build(tree: &Tree, depth: usize, budget: &mut usize) -> (Router, Expected) {
    let mut router = Router::new();
    let mut expected = Expected::default();
    for path in &tree.routes {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let path = path.text();
        router = router.route(&path, || async { "" });
        if !valid_path(&path) || !expected.routes.insert(path) {
            expected.error = true;
        }
    }
    if depth < 3 {
        for (prefix, child) in &tree.nested {
            if *budget == 0 {
                break;
            }
            *budget -= 1;
            let prefix = prefix.text();
            let (inner, inner_expected) = build(child, depth + 1, budget);
            router = router.nest(&prefix, inner);
            if !valid_prefix(&prefix) {
                expected.error = true;
                continue;
            }
            expected.error |= inner_expected.error;
            for path in inner_expected.routes {
                if is_bare_name(&path) {
                    expected.error = true;
                    continue;
                }
                let full = if path == "/" {
                    prefix.clone()
                } else {
                    format!("{prefix}{path}")
                };
                if !expected.routes.insert(full) {
                    expected.error = true;
                }
            }
            for inner in inner_expected.fallbacks {
                expected.fallbacks.push(format!("{prefix}{inner}"));
            }
        }
    }
    if tree.fallback {
        router = router.fallback(|| async { "" });
        expected.fallbacks.retain(|prefix| !prefix.is_empty());
        expected.fallbacks.push(String::new());
    }
    (router, expected)
}

/// Where `path` must go.
fn resolve(expected: &Expected, path: &str) -> Target {
    if expected.routes.contains(path) {
        return Target::Route(path.to_owned());
    }
    let mut best: Option<&String> = None;
    for prefix in &expected.fallbacks {
        let contains = prefix.is_empty()
            || path == prefix
            || path
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
        if contains && best.is_none_or(|best| prefix.len() > best.len()) {
            best = Some(prefix);
        }
    }
    best.map_or(Target::NotFound, |prefix| Target::Fallback(prefix.clone()))
}

fn check_router(input: &Input) {
    let mut budget = 64;
    let (router, expected) = build(&input.tree, 0, &mut budget);
    let routes = match router.build() {
        Ok(routes) => {
            assert!(!expected.error, "a router breaking the path rules built");
            routes
        }
        Err(error) => {
            assert!(expected.error, "a valid router refused: {error}");
            return;
        }
    };
    let paths: BTreeSet<String> = routes.paths().map(str::to_owned).collect();
    assert_eq!(paths, expected.routes);
    let mut lookups: Vec<String> = input.lookups.iter().map(Path::text).collect();
    lookups.extend(expected.routes.iter().cloned());
    lookups.extend(expected.fallbacks.iter().map(|p| format!("{p}/x")));
    for path in lookups.iter().take(128) {
        assert_eq!(routes.contains(path), expected.routes.contains(path));
        assert_eq!(
            fuzzing::resolve(&routes, path),
            resolve(&expected, path),
            "path {path:?}"
        );
    }
}

/// Headers from `pairs`: each appended, or (`replace`) replacing any value
/// its name had, as a dialect sets them.
fn headers_of(pairs: impl IntoIterator<Item = (String, Vec<u8>)>, replace: bool) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in pairs.into_iter().take(32) {
        let _ = if replace {
            headers.insert(name, value)
        } else {
            headers.append(name, value)
        };
    }
    headers
}

/// Arbitrary incoming headers: classified without a panic, consistently
/// with what is pending.
fn check_classify(input: &Input, wire: &WireFormat) {
    let raw = headers_of(input.raw.iter().map(|(n, v)| (n.text(), v.clone())), false);
    let pending = |id: u64| input.pending.contains(&id);
    match fuzzing::classify(wire, raw, &pending) {
        Kind::Reply { call_id, .. } if matches!(wire, WireFormat::Py013(_)) => {
            // A Python reply matches a waiting call only.
            assert!(pending(call_id), "a reply to call {call_id}, not pending");
        }
        _ => {}
    }
}

/// Extra headers of a request, with the dialect's own names left out (those
/// it overwrites), and (Python) names it skips.
fn extra_headers(input: &Input, skip: &[&str]) -> Headers {
    headers_of(
        input
            .extra
            .iter()
            .map(|(n, v)| (n.text(), v.clone().into_bytes()))
            .filter(|(n, _)| !skip.contains(&n.as_str())),
        true,
    )
}

fn check_lso2(input: &Input) {
    let wire = WireFormat::Lso2;
    let nothing = |_: u64| false;
    let extra = extra_headers(input, &["nc-kind", "route", "nc-call", "nc-deadline-ms"]);
    let deadline = input.deadline_ms.map(|ms| Duration::from_millis(ms.into()));
    if let Ok(headers) =
        fuzzing::request(&wire, &input.route, input.call_id, deadline, extra.clone())
    {
        match (fuzzing::classify(&wire, headers, &nothing), input.call_id) {
            (
                Kind::Call {
                    route,
                    call_id,
                    deadline: read,
                    headers,
                    ..
                },
                Some(written),
            ) => {
                assert_eq!(route, input.route);
                assert_eq!(call_id, written);
                assert_eq!(read, deadline);
                for (name, value) in extra.iter() {
                    assert!(
                        headers.get(name).is_some_and(|v| v == value),
                        "extra header {name:?} lost"
                    );
                }
            }
            (Kind::Notify { route, .. }, None) => assert_eq!(route, input.route),
            (kind, written) => panic!("a request (call id {written:?}) read back as {kind:?}"),
        }
    }
    let call_id = input.call_id.unwrap_or(1);
    let reply = match input.error_code {
        Some(code) => Reply::error(ReplyCode(code), "failed"),
        None => Reply::Ok {
            headers: extra.clone(),
            body: bytes::Bytes::new(),
        },
    };
    if let Ok(written) = fuzzing::reply(&wire, call_id, None, None, reply) {
        let headers = written.expect("LSO v2 carries every reply");
        match fuzzing::classify(&wire, headers, &nothing) {
            Kind::Reply {
                call_id: read,
                error,
                ..
            } => {
                assert_eq!(read, call_id);
                assert_eq!(error, input.error_code);
            }
            kind => panic!("a reply read back as {kind:?}"),
        }
    }
    let cancel = fuzzing::cancel(&wire, call_id).expect("LSO v2 has cancels");
    assert_eq!(
        fuzzing::classify(&wire, cancel, &nothing),
        Kind::Cancel { call_id }
    );
}

fn check_py013(input: &Input) {
    let wire = PipeConfig::py013().wire;
    // Python message ids number 62^8 calls.
    let call_id = input.call_id.map(|id| id % 62u64.pow(8));
    let extra = extra_headers(
        input,
        &["route", "message_id", "is_response", "content-type"],
    );
    let Ok(headers) = fuzzing::request(&wire, &input.route, call_id, None, extra.clone()) else {
        return;
    };
    let nothing = |_: u64| false;
    let (peer_call_id, reply_route) =
        match (fuzzing::classify(&wire, headers.clone(), &nothing), call_id) {
            (
                Kind::Call {
                    route,
                    call_id: read,
                    peer_call_id,
                    reply_route,
                    headers,
                    ..
                },
                Some(written),
            ) => {
                assert_eq!(route, input.route);
                assert_eq!(read, written);
                assert_eq!(
                    peer_call_id.as_deref(),
                    Some(netcore_endpoint::py013::message_id(written).as_str())
                );
                for (name, value) in extra.iter() {
                    assert!(
                        headers.get(name).is_some_and(|v| v == value),
                        "extra header {name:?} lost"
                    );
                }
                (peer_call_id, reply_route)
            }
            (Kind::Notify { route, .. }, None) => {
                assert_eq!(route, input.route);
                return;
            }
            (kind, written) => panic!("a request (call id {written:?}) read back as {kind:?}"),
        };
    let call_id = call_id.unwrap_or_default();
    // Our own call, pending: its request, echoed back, reads as its reply.
    let ours = |id: u64| id == call_id;
    assert!(matches!(
        fuzzing::classify(&wire, headers, &ours),
        Kind::Reply { call_id: read, error: None, .. } if read == call_id
    ));
    let reply = Reply::Ok {
        headers: extra,
        body: bytes::Bytes::from_static(b"ok"),
    };
    if let Ok(written) = fuzzing::reply(&wire, call_id, peer_call_id, reply_route, reply) {
        let headers = written.expect("a Python peer takes successful replies");
        assert!(matches!(
            fuzzing::classify(&wire, headers.clone(), &ours),
            Kind::Reply { call_id: read, error: None, .. } if read == call_id
        ));
        assert_eq!(
            fuzzing::classify(&wire, headers, &nothing),
            Kind::Ignored,
            "a reply nobody waits for is dropped"
        );
    }
    let error = Reply::error(ReplyCode::INTERNAL, "failed");
    assert!(matches!(
        fuzzing::reply(&wire, call_id, None, None, error),
        Ok(None)
    ));
    assert!(fuzzing::cancel(&wire, call_id).is_none());
}

fuzz_target!(|input: Input| {
    check_classify(&input, &WireFormat::Lso2);
    check_classify(&input, &PipeConfig::py013().wire);
    check_lso2(&input);
    check_py013(&input);
    check_router(&input);
});
