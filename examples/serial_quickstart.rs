//! The paper's quick start, in Rust: a device endpoint over a serial port.
//!
//! The Python original:
//!
//! ```python
//! ser = serial.Serial('/dev/ttyUSB0', 115200)
//! pipe = Pipe(ser.read, ser.write)
//! endpoint = Endpoint(pipe)
//!
//! @endpoint.request('sensor_data')
//! def handle_sensor():
//!     return Response('sensor_ack', {"status": "OK"})
//!
//! endpoint.start()
//! ```
//!
//! Here the device answers `/sensor_data` with JSON over any serial port:
//!
//! - `cargo run --example serial_quickstart --features serial -- /dev/ttyUSB0 [baud] [seconds]`
//!   serves on that port (default 115200 baud) for the given time (default 60 s);
//! - without a path, it makes a pseudo-terminal pair and runs the device and a
//!   host in one process: the host asks for sensor data a few times, then both
//!   stop.
//!
//! Serial lines lose and flip bytes: the endpoint uses the lossy-link settings
//! (resync decoding, small chunks).
#![allow(clippy::print_stdout)]

use std::time::Duration;

use netcore::endpoint::{Endpoint, EndpointConfig, Json, Router, Routes};
use netcore::pipe::PipeConfig;
use netcore::transports::serial::{self, SerialOptions, SerialTransport};
use serde::{Deserialize, Serialize};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Debug, Serialize, Deserialize)]
struct SensorAck {
    status: String,
    temperature_c: f32,
}

/// The paper's `handle_sensor`.
async fn sensor_data() -> Json<SensorAck> {
    Json(SensorAck {
        status: "OK".into(),
        temperature_c: 21.5,
    })
}

fn device_routes() -> Result<Routes> {
    Ok(Router::new().route("/sensor_data", sensor_data).build()?)
}

fn serial_config() -> EndpointConfig {
    EndpointConfig {
        pipe: PipeConfig::lossy_link(),
        ..EndpointConfig::default()
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next() {
        Some(path) => {
            let baud: u32 = args
                .next()
                .map(|b| b.parse())
                .transpose()?
                .unwrap_or(115_200);
            let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(60);
            serve_on(&path, baud, Duration::from_secs(seconds)).await
        }
        None => self_demo().await,
    }
}

/// The device, on a real port.
async fn serve_on(path: &str, baud: u32, for_how_long: Duration) -> Result<()> {
    let options = SerialOptions::new(path).baud_rate(baud);
    let port = serial::open_stream(&options)?;
    let device = Endpoint::new(
        SerialTransport::new(port),
        device_routes()?,
        serial_config(),
    );
    println!("device serving /sensor_data on {path} at {baud} baud for {for_how_long:?}");
    tokio::select! {
        _ = tokio::time::sleep(for_how_long) => println!("time is up"),
        outcome = device.closed() => println!("the link ended: {outcome:?}"),
    }
    device.close().await?;
    Ok(())
}

/// Device and host over a pseudo-terminal pair, in one process.
async fn self_demo() -> Result<()> {
    let (device_end, host_end) = serial::pair()?;
    let device = Endpoint::new(
        SerialTransport::new(device_end),
        device_routes()?,
        serial_config(),
    );
    let host = Endpoint::new(
        SerialTransport::new(host_end),
        Router::new().build()?,
        serial_config(),
    );
    println!("device and host on a pseudo-terminal pair (no hardware needed)");
    for n in 1..=3 {
        let ack: SensorAck = host.peer().call_json("/sensor_data", &()).await?;
        println!(
            "host: sensor_data #{n} -> status {}, {} °C",
            ack.status, ack.temperature_c
        );
    }
    host.close().await?;
    device.closed().await?;
    println!("closed gracefully");
    Ok(())
}
