//! The Python paper's minimal example, in Rust: a device endpoint over a
//! serial port that answers the route `message` with `{"status": "received"}`.
//!
//! The Python original (the netcore paper, "Implementation"):
//!
//! ```python
//! from netcore import Endpoint, Pipe
//! import serial
//!
//! device = serial.Serial('/dev/ttyUSB0', 115200)
//! pipe = Pipe(device.read, device.write)
//! endpoint = Endpoint(pipe)
//!
//! @endpoint.request('message')
//! def handle_message():
//!     return Response('message', {"status": "received"})
//!
//! endpoint.start()
//! ```
//!
//! The Rust version is the code between `paper:begin` and `paper:end`
//! (`tests/paper_examples.rs` counts its lines against the Python ones).
//! `serial::open` gives a pipe with the serial settings (resync decoding
//! after damaged bytes, small chunks), so nothing more is needed.
//!
//! - `cargo run --example serial_quickstart --features serial -- /dev/ttyUSB0`
//!   serves on that port at 115 200 baud until the line closes;
//! - without a path, it makes a pseudo-terminal pair (no hardware needed),
//!   serves on one end as above and calls `message` from the other three
//!   times, then both sides close and the program exits.
#![allow(clippy::print_stdout)]

// paper:begin
use netcore::prelude::*;
use netcore::serde_json::json;

async fn serve(path: &str) -> Result<(), netcore::BoxError> {
    let device = serial::open(&SerialOptions::new(path).baud_rate(115_200))?;
    let endpoint = Endpoint::builder()
        .route("message", || async { Json(json!({"status": "received"})) })
        .start(device)?;
    endpoint.closed().await?;
    Ok(())
}
// paper:end

#[tokio::main]
async fn main() -> Result<(), netcore::BoxError> {
    match std::env::args().nth(1) {
        Some(path) => serve(&path).await,
        None => self_demo().await,
    }
}

/// The device on one end of a pseudo-terminal pair, opened by its path as
/// a real port would be, and a host on the other end.
async fn self_demo() -> Result<(), netcore::BoxError> {
    let (host_end, device_end) = serial::pair()?;
    let path = device_end.name().ok_or("the pseudo-terminal has no path")?;
    println!("device on {path} (a pseudo-terminal: no hardware needed)");
    let device = tokio::spawn(async move { serve(&path).await.map_err(|e| e.to_string()) });
    let host = Endpoint::builder()
        .config(EndpointConfig::lossy_link())
        .start(host_end)?;
    for n in 1..=3 {
        let reply: netcore::serde_json::Value = host.peer().call_json("message", &()).await?;
        println!("host: message #{n} -> {reply}");
        assert_eq!(reply, json!({"status": "received"}));
    }
    host.close().await?;
    tokio::time::timeout(std::time::Duration::from_secs(10), device).await???;
    drop(device_end);
    println!("closed gracefully");
    Ok(())
}
