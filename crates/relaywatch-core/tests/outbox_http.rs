//! Loopback HTTP/1.1 helpers for the outbox tests, example and bench; rule: 127.0.0.1 only, a
//! receiver counts only requests it answered 2xx, and a stalled request never counts.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub key: String,
    pub body: Vec<u8>,
}

/// What the receiver answers.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16, Vec<(String, String)>),
    /// Never answer (the connection stays open until the client goes away).
    Stall,
}

pub type Behaviour = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

/// A counting loopback receiver.
pub struct Receiver {
    pub addr: std::net::SocketAddr,
    /// Idempotency keys answered 2xx, with how many times.
    pub ok: Arc<Mutex<HashMap<String, usize>>>,
    /// Every request received (any answer).
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ok: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (ok2, seen2) = (ok.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (ok, seen, behaviour) = (ok2.clone(), seen2.clone(), behaviour.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, ok, seen, behaviour).await;
                });
            }
        });
        Receiver { addr, ok, seen }
    }

    pub fn delivered(&self) -> HashMap<String, usize> {
        self.ok.lock().unwrap().clone()
    }
}

async fn serve(
    sock: TcpStream,
    ok: Arc<Mutex<HashMap<String, usize>>>,
    seen: Arc<Mutex<Vec<String>>>,
    behaviour: Behaviour,
) -> std::io::Result<()> {
    let mut r = BufReader::new(sock);
    loop {
        let mut len = 0usize;
        let mut key = String::new();
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
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
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    "idempotency-key" => key = v.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        let s = Seen { key, body };
        let n = {
            let mut seen = seen.lock().unwrap();
            seen.push(s.key.clone());
            seen.len()
        };
        match behaviour(&s, n) {
            Reply::Stall => {
                let mut sink = [0u8; 64];
                while r.read(&mut sink).await? > 0 {}
                return Ok(());
            }
            Reply::Status(code, headers) => {
                let mut head = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n");
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if (200..300).contains(&code) {
                    *ok.lock().unwrap().entry(s.key.clone()).or_default() += 1;
                }
                r.get_mut().write_all(head.as_bytes()).await?;
            }
        }
    }
}

/// A keep-alive client: a pool of connections to one receiver.
#[derive(Clone)]
pub struct Client {
    addr: std::net::SocketAddr,
    pool: Arc<Mutex<Vec<BufReader<TcpStream>>>>,
}

/// The status and headers of an answer.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Client {
    pub fn new(addr: std::net::SocketAddr) -> Client {
        assert!(addr.ip().is_loopback(), "loopback only");
        Client {
            addr,
            pool: Arc::default(),
        }
    }

    /// POSTs `body` with an `Idempotency-Key` header.
    pub async fn post(&self, key: &str, body: &[u8], timeout: Duration) -> std::io::Result<Answer> {
        let conn = self.pool.lock().unwrap().pop();
        let mut conn = match conn {
            Some(c) => c,
            None => BufReader::new(TcpStream::connect(self.addr).await?),
        };
        let fut = async {
            let head = format!(
                "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nIdempotency-Key: {key}\r\n\r\n",
                body.len()
            );
            conn.get_mut().write_all(head.as_bytes()).await?;
            conn.get_mut().write_all(body).await?;
            let mut line = String::new();
            if conn.read_line(&mut line).await? == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            let status: u16 = line
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let mut headers = Vec::new();
            let mut len = 0usize;
            loop {
                line.clear();
                conn.read_line(&mut line).await?;
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let mut rest = vec![0u8; len];
            conn.read_exact(&mut rest).await?;
            Ok(Answer { status, headers })
        };
        let answer = tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"))??;
        self.pool.lock().unwrap().push(conn);
        Ok(answer)
    }
}
