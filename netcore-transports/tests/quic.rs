//! QUIC end to end over loopback: messages both ways, a 32 MiB message, a
//! graceful close, peers that die, vanish or close the connection
//! mid-transfer, untrusted certificates, ALPN, mutual TLS and PEM files.
//!
//! Certificates are generated in each test; clients trust only what the test
//! hands them. Every step is bounded by `tokio::time::timeout` as a failure
//! guard only; assertions are about content, order and error kinds.
#![cfg(feature = "quic")]

mod scenarios;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use netcore_transports::pipe::{self as netcore_pipe, Message, Pipe, PipeConfig, SendError};
use netcore_transports::quic::{
    self, ALPN, DevCa, Identity, QuicClientConfig, QuicConnector, QuicError, QuicListener,
    QuicOptions, QuicServerConfig, QuicStream, TrustRoots,
};
use quinn::ConnectionError;
use rustls::AlertDescription;
use rustls::pki_types::CertificateDer;
use scenarios::{KIB, MIB, guarded, numbered, pattern, streaming};

const LOOPBACK: &str = "127.0.0.1:0";

fn loopback() -> SocketAddr {
    LOOPBACK.parse().expect("a socket address")
}

/// A server with a fresh self-signed certificate and a client trusting only it.
fn self_signed_setup() -> (QuicServerConfig, QuicClientConfig) {
    let server = QuicServerConfig::self_signed(&["localhost", "127.0.0.1"]).expect("a certificate");
    let roots = TrustRoots::new()
        .add_der(server.certificate_der().clone())
        .expect("a trust root");
    (server, QuicClientConfig::new(roots))
}

/// Connects `client` to `listener` and accepts: (client pipe, server pipe).
async fn connect_pipes(
    listener: &QuicListener,
    client: &QuicClientConfig,
    client_pipe: PipeConfig,
) -> (Pipe, Pipe) {
    let addr = listener.local_addr().expect("the listener's address");
    let (client, server) = guarded("connect and accept", async {
        tokio::join!(
            quic::connect(addr, "localhost", client, client_pipe),
            listener.accept()
        )
    })
    .await;
    let client = client.expect("the client connects");
    let (server, peer) = server.expect("the server accepts");
    assert!(peer.ip().is_loopback());
    (client, server)
}

/// A connected (client, server) pipe pair with default settings.
async fn pipes() -> (Pipe, Pipe, QuicListener) {
    let (server, client) = self_signed_setup();
    let listener = QuicListener::bind(loopback(), &server).expect("bind");
    let (a, b) = connect_pipes(&listener, &client, PipeConfig::default()).await;
    (a, b, listener)
}

/// Connected raw streams (client, server); nothing is written yet, so the
/// client writes first before the server's stream can arrive.
async fn raw_streams() -> (QuicStream, QuicListener, QuicConnector) {
    let (server, client) = self_signed_setup();
    let listener = QuicListener::bind(loopback(), &server).expect("bind");
    let addr = listener.local_addr().expect("address");
    let connector = QuicConnector::new(&client, addr).expect("a client endpoint");
    let stream = guarded("connect", connector.connect_stream(addr, "localhost"))
        .await
        .expect("connect");
    (stream, listener, connector)
}

/// The QUIC reason inside a pipe's connection error; fails the test if
/// there is none.
fn quic_reason(error: &netcore_pipe::ConnectionError) -> ConnectionError {
    quic::connection_error(error)
        .unwrap_or_else(|| panic!("expected a QUIC connection error inside {error:?}"))
}

/// Waits until `client` either failed to connect or its pipe failed, and
/// returns the TLS alert behind it: a refusal must surface on connect or on
/// first use, as an error.
async fn refusal_alert(connected: Result<Pipe, QuicError>) -> AlertDescription {
    match connected {
        Err(error) => {
            assert!(
                matches!(error, QuicError::Refused { .. }),
                "expected a refusal, got {error:?}"
            );
            error
                .tls_alert()
                .unwrap_or_else(|| panic!("a TLS alert behind {error}"))
        }
        Ok(pipe) => {
            let error = guarded("the refused pipe fails", pipe.closed())
                .await
                .expect_err("a refused client's pipe must fail");
            let reason = quic_reason(&error);
            quic::tls_alert(&reason).unwrap_or_else(|| panic!("a TLS alert behind {reason}"))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_messages_each_way_at_once() {
    let (a, b, _listener) = pipes().await;
    scenarios::concurrent_both_ways(&a, &b, 50, 256 * KIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_both_ways_over_ipv6_loopback() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        // No IPv6 loopback on this machine: nothing to test.
        return;
    }
    let server = QuicServerConfig::self_signed(&["localhost", "::1"]).expect("a certificate");
    let roots = TrustRoots::new()
        .add_der(server.certificate_der().clone())
        .expect("a trust root");
    let listener = QuicListener::bind("[::1]:0".parse().expect("address"), &server).expect("bind");
    let addr = listener.local_addr().expect("address");
    assert!(addr.is_ipv6());
    let client = QuicClientConfig::new(roots);
    let (connected, accepted) = guarded("connect and accept", async {
        tokio::join!(
            quic::connect(addr, "::1", &client, PipeConfig::default()),
            listener.accept()
        )
    })
    .await;
    let a = connected.expect("connect over IPv6, checking the IP address SAN");
    let (b, peer) = accepted.expect("accept");
    assert_eq!(peer.ip(), std::net::Ipv6Addr::LOCALHOST);
    scenarios::concurrent_both_ways(&a, &b, 20, 64 * KIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_32_mib_message() {
    let (a, b, _listener) = pipes().await;
    scenarios::large_message(&a, &b, 32 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_close_lets_messages_in_flight_finish() {
    let (a, b, _listener) = pipes().await;
    scenarios::graceful_close(a, b, 8, 2 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_graceful_close_the_quic_connection_ends_cleanly_on_both_sides() {
    let (stream, listener, connector) = raw_streams().await;
    let a = Pipe::new(stream, PipeConfig::default());
    // The client's HELLO announces the stream.
    let (server, _) = guarded("accept", listener.accept_stream())
        .await
        .expect("accept");
    let protocol = server
        .connection()
        .handshake_data()
        .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|data| data.protocol);
    assert_eq!(
        protocol.as_deref(),
        Some(ALPN),
        "ALPN netcore/2 was negotiated"
    );
    let b = Pipe::new(server, PipeConfig::default());

    b.send(Message::new("last words"))
        .expect("send")
        .await
        .expect("sent");
    let got = guarded("recv", a.recv()).await.expect("a message");
    assert_eq!(got.body.to_bytes().await.expect("body"), "last words");
    guarded("close", a.close()).await.expect("a graceful close");
    guarded("closed", b.closed())
        .await
        .expect("the peer sees a graceful end");

    // Both pipes are done, so both ends let the connection go (nothing else
    // holds it): both endpoints shut it down cleanly and become idle, long
    // before the 30 s idle timeout could have ended it.
    guarded(
        "the client endpoint goes idle",
        connector.endpoint().wait_idle(),
    )
    .await;
    guarded(
        "the server endpoint goes idle",
        listener.endpoint().wait_idle(),
    )
    .await;
    assert!(a.is_closed() && b.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_dies_mid_transfer_fails_the_sender_without_a_hang() {
    let (server, client) = self_signed_setup();
    let listener = QuicListener::bind(loopback(), &server).expect("bind");
    let addr = listener.local_addr().expect("address");
    let a = guarded(
        "connect",
        quic::connect(addr, "localhost", &client, PipeConfig::default()),
    )
    .await
    .expect("connect");
    let (server, _) = guarded("accept", listener.accept_stream())
        .await
        .expect("accept");
    // The peer's pipe runs (and dies) on a runtime of its own; its endpoint
    // stays here and tells the survivor the connection is gone.
    let start_peer = move || Pipe::new(server, streaming(PipeConfig::default()));
    scenarios::peer_dies_mid_transfer(a, start_peer, 64 * MIB, MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_drops_its_pipe_mid_transfer_fails_the_sender_without_a_hang() {
    let (server, client) = self_signed_setup();
    let listener = QuicListener::bind(loopback(), &server)
        .expect("bind")
        .with_pipe_config(streaming(PipeConfig::default()));
    let (a, b) = connect_pipes(&listener, &client, streaming(PipeConfig::default())).await;
    let a = Arc::new(a);
    let mut handle = a.send(numbered(0, pattern(3, 64 * MIB))).expect("send");
    let pending_accept = tokio::spawn({
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
        matches!(sent, Err(SendError::CancelledByPeer { .. })),
        "an abandoned message must fail as cancelled, got {sent:?}"
    );
    assert!(handle.bytes_sent() < 64 * MIB as u64);
    let accepted = guarded("the pending accept", pending_accept)
        .await
        .expect("the task");
    assert!(
        accepted.is_err(),
        "a pending accept must end when the peer leaves"
    );
    guarded("closed", a.closed())
        .await
        .expect("the peer left gracefully");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_vanishes_is_noticed_by_the_idle_timeout() {
    let (server, client) = self_signed_setup();
    // Short, so the test is quick; long enough that a busy machine does not
    // starve the live connection into it (the test also runs alone: see
    // .config/nextest.toml).
    let client = client.options(QuicOptions {
        idle_timeout: Duration::from_secs(2),
        ..QuicOptions::default()
    });
    // The whole server — endpoint, connection, pipe — lives on a runtime of
    // its own that is dropped mid-transfer: not a packet more, as when the
    // process is killed.
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    let (died_tx, died) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the peer's runtime");
        let kept = runtime.block_on(async move {
            let listener = QuicListener::bind(loopback(), &server)
                .expect("bind")
                .with_pipe_config(streaming(PipeConfig::default()));
            let _ = ready_tx.send(listener.local_addr().expect("address"));
            let (pipe, _) = listener.accept().await.expect("accept");
            let incoming = pipe.accept().await.expect("the message opens");
            let mut body = incoming.body;
            let mut read = 0;
            while read < MIB {
                read += body.next().await.expect("more").expect("a chunk").len();
            }
            (listener, pipe, body)
        });
        drop(runtime);
        drop(kept);
        let _ = died_tx.send(());
    });
    let addr = guarded("the peer starts", ready)
        .await
        .expect("its address");
    let a = Arc::new(
        guarded(
            "connect",
            quic::connect(addr, "localhost", &client, PipeConfig::default()),
        )
        .await
        .expect("connect"),
    );
    let mut handle = a.send(numbered(0, pattern(9, 64 * MIB))).expect("send");
    let pending_recv = tokio::spawn({
        let a = Arc::clone(&a);
        async move { a.recv().await.map(drop) }
    });
    guarded("the peer dies", died)
        .await
        .expect("the peer thread");

    let sent = guarded("the send handle", handle.finished()).await;
    let error = sent.expect_err("a send to a vanished peer must fail");
    let error = error.connection().expect("the connection's error");
    assert_eq!(quic_reason(error), ConnectionError::TimedOut, "{error}");
    assert!(handle.bytes_sent() < 64 * MIB as u64);
    let received = guarded("the pending recv", pending_recv)
        .await
        .expect("task");
    assert!(received.is_err(), "a pending recv must fail");
    let ended = guarded("closed", a.closed()).await;
    assert!(ended.is_err(), "the end must be reported as an error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_closing_the_connection_mid_transfer_fails_everything_at_once() {
    let (stream, listener, _connector) = raw_streams().await;
    let a = Arc::new(Pipe::new(stream, PipeConfig::default()));
    let (server, _) = guarded("accept", listener.accept_stream())
        .await
        .expect("accept");
    let server_connection = server.connection().clone();
    let b = Pipe::new(server, streaming(PipeConfig::default()));

    let mut handle = a.send(numbered(0, pattern(5, 64 * MIB))).expect("send");
    let pending_recv = tokio::spawn({
        let a = Arc::clone(&a);
        async move { a.recv().await.map(drop) }
    });
    let incoming = guarded("accept", b.accept())
        .await
        .expect("the message opens");
    let mut body = incoming.body;
    let mut read = 0;
    while read < MIB {
        read += guarded("a chunk", body.next())
            .await
            .expect("more")
            .expect("a chunk")
            .len();
    }
    server_connection.close(7u32.into(), b"crash");

    let error = guarded("the send handle", handle.finished())
        .await
        .expect_err("the send must fail");
    match quic_reason(error.connection().expect("the connection's error")) {
        ConnectionError::ApplicationClosed(close) => {
            assert_eq!(close.error_code, 7u32.into());
            assert_eq!(&close.reason[..], b"crash");
        }
        other => panic!("expected the peer's close, got {other}"),
    }
    assert!(guarded("recv", pending_recv).await.expect("task").is_err());
    assert!(guarded("closed", a.closed()).await.is_err());
    // The closing side's own pending body fails too.
    let rest = guarded("the rest of the body", async {
        while let Some(chunk) = body.next().await {
            if let Err(error) = chunk {
                return Some(error);
            }
        }
        None
    })
    .await;
    assert!(rest.is_some(), "the body must end with an error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trusting_another_certificate_is_refused() {
    let (server, _) = self_signed_setup();
    let listener = QuicListener::bind(loopback(), &server).expect("bind");
    let addr = listener.local_addr().expect("address");
    let stranger = Identity::self_signed(&["localhost"]).expect("another certificate");
    let client = QuicClientConfig::new(
        TrustRoots::new()
            .add_der(stranger.certificate_der().clone())
            .expect("root"),
    );
    let error = guarded(
        "connect",
        quic::connect(addr, "localhost", &client, PipeConfig::default()),
    )
    .await
    .expect_err("an untrusted server must be refused");
    assert!(
        matches!(error, QuicError::TlsRejected { addr: at, .. } if at == addr),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&addr.to_string()), "{message}");
    // (Both certificates name the same subject, so rustls finds the wrong
    // key rather than no issuer: either way the certificate is refused.)
    assert!(message.contains("invalid peer certificate"), "{message}");

    // The right certificate, the wrong name.
    let trusting = QuicClientConfig::new(
        TrustRoots::new()
            .add_der(server.certificate_der().clone())
            .expect("root"),
    );
    let error = guarded(
        "connect",
        quic::connect(addr, "elsewhere.example", &trusting, PipeConfig::default()),
    )
    .await
    .expect_err("a certificate for another name must be refused");
    assert!(matches!(error, QuicError::TlsRejected { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("not valid for name \"elsewhere.example\""),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_speaking_another_protocol_is_told_so() {
    let (server, client) = self_signed_setup();
    let listener = QuicListener::bind(loopback(), &server).expect("bind");
    let addr = listener.local_addr().expect("address");
    let client = client.alpn_protocols(vec![b"other/1".to_vec()]);
    let error = guarded(
        "connect",
        quic::connect(addr, "localhost", &client, PipeConfig::default()),
    )
    .await
    .expect_err("no common ALPN protocol");
    assert!(matches!(error, QuicError::AlpnMismatch { .. }), "{error:?}");
    assert_eq!(
        error.tls_alert(),
        Some(AlertDescription::NoApplicationProtocol)
    );
    assert!(error.to_string().contains("\"other/1\""), "{error}");
}

/// A server requiring client certificates from `ca`.
fn mutual_tls_server(ca: &DevCa) -> (QuicListener, TrustRoots) {
    let roots = TrustRoots::new()
        .add_pem(ca.certificate_pem().as_bytes())
        .expect("the CA as a root");
    let server = QuicServerConfig::new(ca.issue(&["localhost"]).expect("a server certificate"))
        .require_client_certificates(roots.clone());
    let listener = QuicListener::bind(loopback(), &server).expect("bind");
    (listener, roots)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_lets_a_client_with_a_trusted_certificate_in() {
    let ca = DevCa::new("netcore test CA").expect("a CA");
    let (listener, roots) = mutual_tls_server(&ca);
    let identity = ca.issue(&["client-1"]).expect("a client certificate");
    let client_leaf = identity.certificate_der().clone();
    let client = QuicClientConfig::new(roots).client_certificate(identity);
    let addr = listener.local_addr().expect("address");
    let connector = QuicConnector::new(&client, addr).expect("endpoint");
    let stream = guarded("connect", connector.connect_stream(addr, "localhost"))
        .await
        .expect("a trusted client connects");
    let a = Pipe::new(stream, PipeConfig::default());
    let (server, _) = guarded("accept", listener.accept_stream())
        .await
        .expect("accept");
    let presented = server
        .connection()
        .peer_identity()
        .and_then(|identity| identity.downcast::<Vec<CertificateDer<'static>>>().ok())
        .expect("the client's certificate chain");
    assert_eq!(presented.first(), Some(&client_leaf));
    let b = Pipe::new(server, PipeConfig::default());

    a.send(Message::new("hello"))
        .expect("send")
        .await
        .expect("sent");
    let got = guarded("recv", b.recv()).await.expect("a message");
    assert_eq!(got.body.to_bytes().await.expect("body"), "hello");
    b.send(Message::new("welcome"))
        .expect("send")
        .await
        .expect("sent");
    let got = guarded("recv", a.recv()).await.expect("a message");
    assert_eq!(got.body.to_bytes().await.expect("body"), "welcome");
    guarded("close", a.close()).await.expect("graceful");
    guarded("closed", b.closed()).await.expect("graceful");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_a_client_without_a_certificate_or_with_an_untrusted_one() {
    let ca = DevCa::new("netcore test CA").expect("a CA");
    let (listener, roots) = mutual_tls_server(&ca);
    let addr = listener.local_addr().expect("address");

    let anonymous = QuicClientConfig::new(roots.clone());
    let connected = guarded(
        "connect without a certificate",
        quic::connect(addr, "localhost", &anonymous, PipeConfig::default()),
    )
    .await;
    assert_eq!(
        refusal_alert(connected).await,
        AlertDescription::CertificateRequired
    );

    let stranger = Identity::self_signed(&["client-2"]).expect("an unrelated certificate");
    let untrusted = QuicClientConfig::new(roots.clone()).client_certificate(stranger);
    let connected = guarded(
        "connect with an untrusted certificate",
        quic::connect(addr, "localhost", &untrusted, PipeConfig::default()),
    )
    .await;
    assert_eq!(refusal_alert(connected).await, AlertDescription::UnknownCA);

    // The listener goes on: a trusted client still gets in.
    let trusted = QuicClientConfig::new(roots)
        .client_certificate(ca.issue(&["client-3"]).expect("a client certificate"));
    let (a, b) = connect_pipes(&listener, &trusted, PipeConfig::default()).await;
    a.send(Message::new("in"))
        .expect("send")
        .await
        .expect("sent");
    let got = guarded("recv", b.recv()).await.expect("a message");
    assert_eq!(got.body.to_bytes().await.expect("body"), "in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_and_trust_roots_load_from_pem_files() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let identity = Identity::self_signed(&["localhost"]).expect("a certificate");
    let cert_path = dir.path().join("server.crt");
    let key_path = dir.path().join("server.key");
    std::fs::write(&cert_path, identity.certificate_pem()).expect("write");
    std::fs::write(&key_path, identity.private_key_pem()).expect("write");

    let server = QuicServerConfig::from_pem_files(&cert_path, &key_path).expect("load");
    assert_eq!(server.certificate_der(), identity.certificate_der());
    let listener = QuicListener::bind(loopback(), &server).expect("bind");
    let client = QuicClientConfig::new(TrustRoots::new().add_pem_file(&cert_path).expect("roots"));
    let (a, b) = connect_pipes(&listener, &client, PipeConfig::default()).await;
    a.send(Message::new(pattern(1, 300 * KIB)))
        .expect("send")
        .await
        .expect("sent");
    let got = guarded("recv", b.recv()).await.expect("a message");
    assert_eq!(
        got.body.to_bytes().await.expect("body"),
        pattern(1, 300 * KIB)
    );
}

#[test]
fn pem_errors_name_the_file_at_fault() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let identity = Identity::self_signed(&["localhost"]).expect("a certificate");
    let cert_path = dir.path().join("server.crt");
    let key_path = dir.path().join("server.key");
    std::fs::write(&cert_path, identity.certificate_pem()).expect("write");
    std::fs::write(&key_path, identity.private_key_pem()).expect("write");

    let missing = dir.path().join("missing.crt");
    let error = QuicServerConfig::from_pem_files(&missing, &key_path).expect_err("no such file");
    assert!(
        matches!(error, QuicError::ReadFile { ref path, .. } if *path == missing),
        "{error:?}"
    );
    assert!(error.to_string().contains("missing.crt"), "{error}");

    // A key file holding only a certificate.
    let error = QuicServerConfig::from_pem_files(&cert_path, &cert_path).expect_err("no key");
    assert!(matches!(error, QuicError::NoPemItem { .. }), "{error:?}");
    assert!(error.to_string().contains("server.crt"), "{error}");

    // Broken PEM.
    let broken = dir.path().join("broken.crt");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let error = TrustRoots::new()
        .add_pem_file(&broken)
        .expect_err("bad PEM");
    assert!(matches!(error, QuicError::Pem { .. }), "{error:?}");
    assert!(error.to_string().contains("broken.crt"), "{error}");

    // A key that does not belong to the certificate.
    let other = Identity::self_signed(&["localhost"]).expect("another certificate");
    let mismatched = Identity::from_pem(
        identity.certificate_pem().as_bytes(),
        other.private_key_pem().as_bytes(),
    )
    .expect("both parse");
    let error = QuicServerConfig::new(mismatched)
        .to_quinn()
        .expect_err("the key does not match the certificate");
    assert!(matches!(error, QuicError::Tls(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_naming_the_address() {
    // A UDP socket that takes packets and never answers.
    let silent = std::net::UdpSocket::bind(LOOPBACK).expect("bind");
    let addr = silent.local_addr().expect("address");
    let (_, client) = self_signed_setup();
    let client = client.options(QuicOptions {
        idle_timeout: Duration::from_secs(1),
        ..QuicOptions::default()
    });
    let error = guarded(
        "connect",
        quic::connect(addr, "localhost", &client, PipeConfig::default()),
    )
    .await
    .expect_err("nobody answers");
    assert!(
        matches!(error, QuicError::Timeout { addr: at, .. } if at == addr),
        "{error:?}"
    );
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_a_used_address_names_it() {
    let taken = std::net::UdpSocket::bind(LOOPBACK).expect("bind");
    let addr = taken.local_addr().expect("address");
    let (server, _) = self_signed_setup();
    let error = QuicListener::bind(addr, &server).expect_err("the port is taken");
    assert!(
        matches!(error, QuicError::Bind { addr: at, .. } if at == addr),
        "{error:?}"
    );
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
}
