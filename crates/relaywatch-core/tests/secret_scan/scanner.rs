//! The secret scan's secrets, scanner and captured logs: every value that must never be shown, and the check that none is.

use super::*;

/// A recognisable random secret: `tag` and 20 random hex digits.
pub(crate) fn token(tag: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    let a = h.finish();
    h.write_u64(a);
    format!("{tag}{a:016x}{:04x}", h.finish() & 0xffff)
}

/// Every value that must never be shown: each random token and each whole secret value.
#[derive(Default, Clone)]
pub(crate) struct Secrets(Arc<Mutex<Vec<String>>>);

impl Secrets {
    pub(crate) fn add(&self, v: impl Into<String>) -> String {
        let v = v.into();
        self.0.lock().unwrap().push(v.clone());
        v
    }

    pub(crate) fn token(&self, tag: &str) -> String {
        self.add(token(tag))
    }

    /// The forms of every secret, computed here (not by the code under test).
    pub(crate) fn forms(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for v in self.0.lock().unwrap().iter() {
            let pct: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let forms = [
                ("plain", v.clone()),
                ("percent-encoded", pct.clone()),
                ("percent-encoded, lower hex", pct.to_lowercase()),
                ("base64", STANDARD.encode(v)),
                ("base64 unpadded", STANDARD_NO_PAD.encode(v)),
                ("base64url", URL_SAFE.encode(v)),
                ("base64url unpadded", URL_SAFE_NO_PAD.encode(v)),
            ];
            for (name, f) in forms {
                out.push((format!("{name} form of a secret starting {:.6}", v), f));
            }
        }
        out
    }

    /// Panics when any form of any secret is in `text`.
    pub(crate) fn scan(&self, place: &str, text: &str) {
        assert!(!text.is_empty() || place.contains("may be empty"));
        for (what, f) in self.forms() {
            if let Some(i) = text.find(&f) {
                let from = text[..i].char_indices().rev().nth(60).map_or(0, |(j, _)| j);
                panic!("{what} leaked into {place}, after: {:?}", &text[from..i]);
            }
        }
    }
}

/// Log lines, captured from the first test on.
pub(crate) fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "relaywatch_core=trace,warn",
            ))
            .with_writer(move || Capture(writer.clone()))
            .with_ansi(false)
            .try_init();
        buf
    })
}

pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
