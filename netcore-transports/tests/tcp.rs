//! TCP end to end over loopback: the socket options are applied, messages
//! both ways, a 64 MiB message, a graceful close, a peer that dies or walks
//! away mid-transfer, and errors that name the address.
//!
//! Every step is bounded by `tokio::time::timeout` as a failure guard only;
//! assertions are about content and order.
#![cfg(feature = "tcp")]

mod scenarios;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use netcore_transports::pipe::{Message, Pipe, PipeConfig};
use netcore_transports::tcp::{self, TcpOptions};
use netcore_transports::{Address, Error};
use scenarios::{KIB, MIB, guarded, numbered, pattern, streaming};
use socket2::SockRef;
use tokio::net::TcpStream;

/// A client and a server pipe connected over `host` (port 0: any free
/// port), both with `options`.
async fn pipes_over(host: &str, options: &TcpOptions) -> (Pipe, Pipe) {
    let listener = tcp::Listener::bind(format!("{host}:0"), options.clone())
        .await
        .expect("bind on loopback");
    let address = listener.local_addr();
    let (client, server) = guarded("connect", async {
        tokio::join!(tcp::connect(address, options), listener.accept())
    })
    .await;
    let client = client.expect("connect");
    let (server, peer) = server.expect("accept");
    assert!(peer.ip().is_loopback());
    (client, server)
}

async fn pipes(options: &TcpOptions) -> (Pipe, Pipe) {
    pipes_over("127.0.0.1", options).await
}

/// A connected pair of tuned raw streams (client, server).
async fn streams(options: &TcpOptions) -> (TcpStream, TcpStream) {
    let listener = tcp::Listener::bind("127.0.0.1:0", options.clone())
        .await
        .expect("bind");
    let address = listener.local_addr();
    let (client, server) = guarded("connect", async {
        tokio::join!(
            tcp::connect_stream(address, options),
            listener.accept_stream()
        )
    })
    .await;
    (client.expect("connect"), server.expect("accept").0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_options_are_applied_on_both_sides() {
    let (client, server) = streams(&TcpOptions::default()).await;
    for (side, stream) in [("client", &client), ("server", &server)] {
        assert!(stream.nodelay().expect("nodelay"), "{side}: TCP_NODELAY");
        let socket = SockRef::from(stream);
        assert!(
            socket.keepalive().expect("keepalive"),
            "{side}: SO_KEEPALIVE"
        );
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            assert_eq!(
                socket.tcp_keepalive_time().expect("keepalive time"),
                Duration::from_secs(30),
                "{side}: TCP_KEEPIDLE"
            );
            assert_eq!(
                socket.tcp_notsent_lowat().expect("notsent lowat"),
                tcp::DEFAULT_NOTSENT_LOWAT,
                "{side}: TCP_NOTSENT_LOWAT"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_options_are_applied_too() {
    let options = TcpOptions::default()
        .nodelay(false)
        .keepalive(None)
        .notsent_lowat(Some(16 * 1024));
    let (client, server) = streams(&options).await;
    for (side, stream) in [("client", &client), ("server", &server)] {
        assert!(!stream.nodelay().expect("nodelay"), "{side}: TCP_NODELAY");
        let socket = SockRef::from(stream);
        assert!(
            !socket.keepalive().expect("keepalive"),
            "{side}: SO_KEEPALIVE"
        );
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(
            socket.tcp_notsent_lowat().expect("notsent lowat"),
            16 * 1024,
            "{side}: TCP_NOTSENT_LOWAT"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_tunes_a_stream_made_elsewhere() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (client, server) = guarded("connect", async {
        tokio::join!(TcpStream::connect(address), listener.accept())
    })
    .await;
    let client = client.expect("connect");
    let (server, _) = server.expect("accept");
    tcp::configure(&client, &TcpOptions::default()).expect("configure");
    assert!(client.nodelay().expect("nodelay"));
    #[cfg(any(target_os = "linux", target_os = "android"))]
    assert_eq!(
        SockRef::from(&client).tcp_notsent_lowat().expect("lowat"),
        tcp::DEFAULT_NOTSENT_LOWAT
    );

    // And from_stream gives working pipes over such streams.
    let a = tcp::from_stream(client, &TcpOptions::default()).expect("client pipe");
    let b = tcp::from_stream(server, &TcpOptions::default()).expect("server pipe");
    a.send(Message::new("made elsewhere")).expect("send");
    let got = guarded("recv", b.recv()).await.expect("message");
    assert_eq!(got.body.to_bytes().await.expect("body"), "made elsewhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_messages_each_way_at_once() {
    let (a, b) = pipes(&TcpOptions::default()).await;
    scenarios::concurrent_both_ways(&a, &b, 50, 256 * KIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_both_ways_over_ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        // No IPv6 loopback on this machine: nothing to test.
        return;
    }
    let (a, b) = pipes_over("[::1]", &TcpOptions::default()).await;
    scenarios::concurrent_both_ways(&a, &b, 20, 64 * KIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_64_mib_message() {
    let (a, b) = pipes(&TcpOptions::default()).await;
    scenarios::large_message(&a, &b, 64 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_close_lets_messages_in_flight_finish() {
    let (a, b) = pipes(&TcpOptions::default()).await;
    scenarios::graceful_close(a, b, 8, 2 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_dies_mid_transfer_fails_the_sender_without_a_hang() {
    let options = TcpOptions::default();
    let listener = tcp::Listener::bind("127.0.0.1:0", options.clone())
        .await
        .expect("bind");
    let (client, server) = guarded("connect", async {
        tokio::join!(
            tcp::connect(listener.local_addr(), &options),
            listener.accept_stream()
        )
    })
    .await;
    let a = client.expect("connect");
    // The peer's socket moves to the peer's own runtime, where it dies.
    let (server, _) = server.expect("accept");
    let server = server.into_std().expect("a std socket");
    let config = streaming(options.pipe.clone());
    let start_peer = move || {
        let server = TcpStream::from_std(server).expect("register the socket");
        tcp::from_stream(server, &TcpOptions::default().pipe(config)).expect("peer pipe")
    };
    scenarios::peer_dies_mid_transfer(a, start_peer, 64 * MIB, MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_drops_its_pipe_mid_transfer_fails_the_sender_without_a_hang() {
    let options = TcpOptions::default();
    let (a, b) = pipes(&options.clone().pipe(streaming(PipeConfig::default()))).await;
    let a = Arc::new(a);
    let mut handle = a.send(numbered(0, pattern(3, 64 * MIB))).expect("send");
    let pending_recv = tokio::spawn({
        let a = Arc::clone(&a);
        async move { a.accept().await.map(drop) }
    });
    let incoming = guarded("accept", b.accept())
        .await
        .expect("the message opens");
    let mut body = incoming.body;
    let mut read = 0;
    while read < MIB {
        read += guarded("a chunk", body.next())
            .await
            .expect("the body goes on")
            .expect("a chunk")
            .len();
    }
    drop(body); // abandons the message: the sender is told
    drop(b); // and walks away (a graceful close)

    let sent = guarded("the send handle", handle.finished()).await;
    assert!(
        sent.is_err(),
        "an abandoned message must fail, got {sent:?}"
    );
    assert!(handle.bytes_sent() < 64 * MIB as u64);
    let received = guarded("the pending receive", pending_recv)
        .await
        .expect("the task");
    assert!(
        received.is_err(),
        "a pending receive must end when the peer leaves"
    );
    guarded("closed", a.closed()).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_closed_port_names_the_address() {
    // A port that was free a moment ago, and is closed now.
    let address: SocketAddr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let error = guarded("connect", tcp::connect(address, &TcpOptions::default()))
        .await
        .expect_err("nobody listens there");
    assert!(
        matches!(&error, Error::Connect { peer: Address::Tcp(peer), .. } if *peer == address.to_string()),
        "{error:?}"
    );
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    let message = error.to_string();
    assert!(message.contains(&address.to_string()), "{message}");
    let as_io: io::Error = error.into();
    assert_eq!(as_io.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_a_used_address_names_it() {
    let taken = tcp::Listener::bind("127.0.0.1:0", TcpOptions::default())
        .await
        .expect("bind");
    let address = taken.local_addr().to_string();
    let error = tcp::Listener::bind(address.as_str(), TcpOptions::default())
        .await
        .expect_err("the address is taken");
    assert!(matches!(error, Error::Bind { .. }), "{error:?}");
    assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    assert!(error.to_string().contains(&address), "{error}");
}
