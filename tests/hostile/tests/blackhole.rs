//! A blackholed link (sockets open, nothing forwarded) is noticed by
//! keepalive within `CoreConfig::keepalive_timeout`, on both sides.

use std::time::Duration;

use netcore_endpoint::{EndpointConfig, ServerConfig};
use netcore_hostile::server::PING_ROUTE;
use netcore_hostile::{BlackholeProxy, TestServer, client};
use netcore_pipe::PipeConfig;
use netcore_pipe::core::CoreConfig;

const KEEPALIVE: Duration = Duration::from_millis(300);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(1);

fn pipe() -> PipeConfig {
    let core = CoreConfig::default()
        .with_keepalive(Some(KEEPALIVE))
        .with_keepalive_timeout(Some(KEEPALIVE_TIMEOUT));
    PipeConfig::default().with_core(core)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_notices_a_blackhole() {
    let server =
        TestServer::start(ServerConfig::default().with_endpoint(EndpointConfig::over(pipe())))
            .await
            .expect("server");
    let proxy = BlackholeProxy::start(server.addr).await.expect("proxy");
    let honest = client(proxy.addr(), pipe()).await.expect("connect");
    let reply = tokio::time::timeout(Duration::from_secs(5), honest.peer().call(PING_ROUTE, ""))
        .await
        .expect("in time")
        .expect("served through the proxy");
    assert_eq!(reply.body, "pong");
    proxy.blackhole();
    let outcome = tokio::time::timeout(KEEPALIVE_TIMEOUT * 5, honest.peer().closed())
        .await
        .expect("the client noticed the blackhole");
    let error = outcome.expect_err("a blackhole is an error");
    assert!(format!("{error:?}").contains("Keepalive"), "{error:?}");
    assert_eq!(
        server.connections_down_to(0, KEEPALIVE_TIMEOUT * 5).await,
        0
    );
}
