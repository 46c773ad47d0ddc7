//! A scripted loopback HTTP/1.1 receiver for the delivery tests; rule: 127.0.0.1 only. Each
//! request is answered from a script of replies used in order (the last one repeats), then the
//! connection is closed.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    pub fn json(status: u16, body: &str) -> Reply {
        Reply::new(status, body).header("Content-Type", "application/json")
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn delayed(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Path and query, as on the request line.
    pub target: String,
    pub body: Vec<u8>,
}

/// A scripted loopback receiver.
pub struct Receiver {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    pub async fn start(script: Vec<Reply>) -> Receiver {
        assert!(!script.is_empty(), "a receiver needs at least one reply");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let seen2 = seen.clone();
        let script = Arc::new(script);
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (seen, script) = (seen2.clone(), script.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, seen, script).await;
                });
            }
        });
        Receiver { addr, seen }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn serve(
    sock: TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Vec<Reply>>,
) -> std::io::Result<()> {
    let mut r = BufReader::new(sock);
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(());
    }
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut len = 0usize;
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(Seen { target, body });
        seen.len()
    };
    let reply = &script[(n - 1).min(script.len() - 1)];
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let sock = r.get_mut();
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(&reply.body).await?;
    sock.flush().await?;
    sock.shutdown().await
}
