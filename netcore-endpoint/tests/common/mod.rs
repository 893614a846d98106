//! Test support shared by the integration tests: a `tracing` subscriber that
//! captures log records, to check what failing listeners and tasks log.
#![allow(dead_code, unreachable_pub)]

use std::fmt;
use std::sync::Mutex;

/// A minimal `tracing` subscriber recording every event with the thread
/// that logged it. It is the global default (scoped subscribers race with
/// other test threads over callsite interest); a test on a current-thread
/// runtime reads back its own thread's records.
pub struct Capture {
    thread: std::thread::ThreadId,
}

pub type Record = (std::thread::ThreadId, tracing::Level, String, String);

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());

impl Capture {
    pub fn install() -> Capture {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            tracing::subscriber::set_global_default(Recorder)
                .expect("no other global subscriber in this test binary");
        });
        Capture {
            thread: std::thread::current().id(),
        }
    }

    pub fn mine(&self) -> Vec<(tracing::Level, String, String)> {
        RECORDS
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|record| record.0 == self.thread)
            .map(|(_, level, message, fields)| (*level, message.clone(), fields.clone()))
            .collect()
    }

    pub fn contains(&self, level: tracing::Level, message: &str) -> bool {
        self.mine()
            .iter()
            .any(|(l, m, _)| *l == level && m == message)
    }

    pub fn any_field_contains(&self, text: &str) -> bool {
        self.mine()
            .iter()
            .any(|(_, _, fields)| fields.contains(text))
    }
}

struct Recorder;

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _metadata: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _span: &tracing::span::Id, _values: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        #[derive(Default)]
        struct Fields {
            message: String,
            rest: String,
        }
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                if field.name() == "message" {
                    self.message = format!("{value:?}");
                } else {
                    self.rest.push_str(&format!("{}={value:?} ", field.name()));
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        RECORDS.lock().expect("not poisoned").push((
            std::thread::current().id(),
            *event.metadata().level(),
            fields.message,
            fields.rest,
        ));
    }
    fn enter(&self, _span: &tracing::span::Id) {}
    fn exit(&self, _span: &tracing::span::Id) {}
}

/// How long a test waits for anything before it fails: a failure guard
/// only (on a paused clock it passes in no real time).
pub const GUARD: std::time::Duration = std::time::Duration::from_secs(60);

/// `future`'s output, or a failure if it takes longer than [`GUARD`].
pub async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

/// A server serving `routes` and a client with none, over an in-memory
/// link, both with `config`.
pub fn connect(
    routes: netcore_endpoint::Routes,
    config: netcore_endpoint::EndpointConfig,
) -> (netcore_endpoint::Endpoint, netcore_endpoint::Endpoint) {
    let (a, b) = netcore_pipe::transport::memory_pair(256 << 10);
    let server = netcore_endpoint::Endpoint::new(b, routes, config.clone());
    let client = netcore_endpoint::Endpoint::new(a, netcore_endpoint::Routes::default(), config);
    (server, client)
}
