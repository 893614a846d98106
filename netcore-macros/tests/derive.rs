//! What `#[derive(Route)]` generates for the item kinds it accepts, with
//! every attribute key.

use netcore_endpoint::Route;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Route)]
#[route(path = "/users/get", response = Option<String>, codec = json)]
struct GetUser {
    id: u32,
}

#[derive(Serialize, Deserialize, Route)]
#[route(path = "/ping", response = ())]
struct Ping;

#[derive(Serialize, Deserialize, Route)]
#[route(path = "/pair", response = (u8, u8))]
struct Pair(u8, u8);

#[derive(Serialize, Deserialize, Route)]
#[serde(tag = "kind")]
#[route(path = "/shape", response = f64)]
enum Shape {
    Circle { radius: f64 },
    Square { side: f64 },
}

/// The endpoint crate under another name, as through the `netcore` facade.
mod renamed {
    use netcore_endpoint as endpoint;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, endpoint::Route)]
    #[route(crate = endpoint, path = "/ping", response = ())]
    pub(crate) struct Ping;
}

/// The same schema, laid out differently and under another name.
mod same {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, netcore_endpoint::Route)]
    #[route(response = Option < String >, path = "/users/get")]
    pub(crate) struct Fetch {
        id: u32,
    }
}

fn path_and_fingerprint<R: Route>() -> (&'static str, u64) {
    (R::PATH, R::FINGERPRINT)
}

#[test]
fn every_item_kind_gets_its_path_and_a_distinct_fingerprint() {
    let all = [
        path_and_fingerprint::<GetUser>(),
        path_and_fingerprint::<Ping>(),
        path_and_fingerprint::<Pair>(),
        path_and_fingerprint::<Shape>(),
    ];
    let paths: Vec<_> = all.iter().map(|(path, _)| *path).collect();
    assert_eq!(paths, ["/users/get", "/ping", "/pair", "/shape"]);
    for (i, (_, a)) in all.iter().enumerate() {
        for (_, b) in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn the_fingerprint_ignores_layout_names_and_the_crate_path() {
    assert_eq!(
        <same::Fetch as Route>::FINGERPRINT,
        <GetUser as Route>::FINGERPRINT
    );
    assert_eq!(
        <renamed::Ping as Route>::FINGERPRINT,
        <Ping as Route>::FINGERPRINT
    );
}

#[test]
fn the_fingerprint_is_stable_across_releases() {
    // Changing how fingerprints are computed breaks every deployed peer:
    // this value may only change with a new `netcore-route-vN` scheme.
    // FNV-1a of "netcore-route-v1\npath /ping\nrequest struct unit\nresponse ()".
    assert_eq!(<Ping as Route>::FINGERPRINT, 0x92e6_3cd7_e5c9_e62b);
}
