// Only `netcore` is a dependency: derive, service and the prelude come
// through it.
use netcore::prelude::*;
use netcore::serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
#[serde(crate = "netcore::serde")]
struct Pong {
    at: u64,
}

#[derive(Serialize, Deserialize, Route)]
#[serde(crate = "netcore::serde")]
#[route(path = "/ping", response = Pong)]
struct Ping;

#[service(prefix = "/clock")]
trait Clock {
    async fn now(&self) -> Result<u64, ReplyError>;
}

async fn ping(_: Ping) -> Result<Pong, ReplyError> {
    Ok(Pong { at: 1 })
}

fn main() {
    let router: Router = Router::new().typed(ping);
    let _: Result<Routes, RouterError> = router.build();
    let _config: EndpointConfig = EndpointConfig::lossy_link();
    let _tcp: TcpOptions = TcpOptions::default();
    let _serial: SerialOptions = SerialOptions::new("/dev/null");
    let _headers: Headers = Headers::new();
}
