//! A TCP relay that can turn into a blackhole: sockets stay open, nothing
//! is forwarded any more (what a dead route or a vanished NAT entry looks
//! like to both ends).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A relay from its own 127.0.0.1 port to a target address.
#[derive(Debug)]
pub struct BlackholeProxy {
    addr: SocketAddr,
    blackholed: Arc<AtomicBool>,
    task: JoinHandle<()>,
    relays: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl BlackholeProxy {
    /// Starts relaying connections made to [`addr`](Self::addr) to `target`.
    pub async fn start(target: SocketAddr) -> io::Result<BlackholeProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let blackholed = Arc::new(AtomicBool::new(false));
        let flag = blackholed.clone();
        let relays = Arc::new(Mutex::new(Vec::new()));
        let spawned = relays.clone();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(target).await else {
                    continue;
                };
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                let mut spawned = spawned.lock().unwrap_or_else(|e| e.into_inner());
                spawned.push(tokio::spawn(relay(in_read, out_write, flag.clone())));
                spawned.push(tokio::spawn(relay(out_read, in_write, flag.clone())));
            }
        });
        Ok(BlackholeProxy {
            addr,
            blackholed,
            task,
            relays,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on every byte either side sends is read and dropped.
    pub fn blackhole(&self) {
        self.blackholed.store(true, Ordering::SeqCst);
    }
}

impl Drop for BlackholeProxy {
    fn drop(&mut self) {
        self.task.abort();
        for relay in self.relays.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            relay.abort();
        }
    }
}

async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    blackholed: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 << 10];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) if blackholed.load(Ordering::SeqCst) => {
                // Not even the close goes through: the other side's socket
                // stays open until the proxy is dropped.
                std::future::pending::<()>().await;
                return;
            }
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if blackholed.load(Ordering::SeqCst) {
            // Swallowed; the sockets stay open, the write half is kept.
            continue;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
