//! The HTTP client behind every webhook send: reqwest with a resolver that checks every
//! address a name resolves to and hands back only those, so the connection goes to the address
//! that was checked (no second lookup, no DNS rebinding). Rule: a request is sent only after
//! `check_url` passed it, redirects are never followed, and errors name the host, never the URL
//! (whose path, query or fragment may be the secret).
//!
//! With a proxy, the proxy's own address is checked the same way; the target is checked by its
//! literal address or name, and with `http://` or `socks5h://` proxies the proxy resolves the
//! name itself, out of this guard's sight (`socks5://` resolves here, through the guard). A
//! proxy whose name resolves to a refused address fails the send permanently under that rule.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{check_proxy, check_resolved, check_url, NetError, NetPolicy, Refusal};
use crate::channels::{Body, Request};
use crate::secrets::{redact, redact_url};

/// The most of a response body kept (platform answers are small; the rest is dropped).
pub const MAX_RESPONSE_BODY: usize = 1 << 20;

/// A platform's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// At most `MAX_RESPONSE_BODY` bytes.
    pub body: Vec<u8>,
    /// From sending the request to the end of the body.
    pub latency: Duration,
}

/// What a name lookup returns.
pub type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Name resolution, injectable so tests resolve names without DNS.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The system resolver (tokio's `lookup_host`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_string();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// A fixed table of names, for tests: unknown names fail like NXDOMAIN. Counts lookups.
#[derive(Debug, Default)]
pub struct StaticLookup {
    table: HashMap<String, Vec<IpAddr>>,
    calls: AtomicUsize,
}

impl StaticLookup {
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, Vec<IpAddr>)>) -> Self {
        StaticLookup {
            table: entries
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            calls: AtomicUsize::new(0),
        }
    }

    /// How many lookups were made.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Lookup for StaticLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let found = self.table.get(&host.to_ascii_lowercase()).cloned();
        let host = host.to_string();
        Box::pin(async move {
            found.ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{host}: no such name"),
                )
            })
        })
    }
}

/// The last refusal per host name the resolver made (cleared when the name passes): the SOCKS
/// connector drops the cause of a failed proxy connection, so a refused proxy is found here.
type Refused = Arc<Mutex<HashMap<String, Refusal>>>;

/// reqwest's resolver: look up, check every address, return only the checked ones.
struct GuardedResolver {
    policy: Arc<NetPolicy>,
    lookup: Arc<dyn Lookup>,
    refused: Refused,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let lookup = Arc::clone(&self.lookup);
        let refused = Arc::clone(&self.refused);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = lookup.lookup(&host).await?;
            let addrs: Vec<SocketAddr> = ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            let checked = check_resolved(&policy, &host, &addrs);
            let mut last = refused.lock().unwrap_or_else(|e| e.into_inner());
            match &checked {
                Ok(()) => last.remove(&host.to_ascii_lowercase()),
                Err(r) => last.insert(host.to_ascii_lowercase(), r.clone()),
            };
            drop(last);
            checked?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The SSRF-guarded HTTP client. Cheap to clone (connections are pooled inside).
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    policy: Arc<NetPolicy>,
    proxied: bool,
    /// The proxy's host when it is a name (resolved through the guard), and the proxy redacted.
    proxy_name: Option<(String, String)>,
    refused: Refused,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .field("proxied", &self.proxied)
            .finish()
    }
}

impl HttpClient {
    /// A client resolving with the system resolver. `proxy`: an `http://`, `socks5://` or
    /// `socks5h://` URL for this channel; its address must pass the policy like a target's.
    pub fn new(policy: NetPolicy, proxy: Option<&str>) -> Result<Self, NetError> {
        Self::with_lookup(policy, proxy, Arc::new(SystemLookup))
    }

    /// A client resolving names through `lookup` (tests inject a `StaticLookup`).
    pub fn with_lookup(
        policy: NetPolicy,
        proxy: Option<&str>,
        lookup: Arc<dyn Lookup>,
    ) -> Result<Self, NetError> {
        ensure_crypto_provider();
        let policy = Arc::new(policy);
        let refused = Refused::default();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("relaywatch/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(policy.timeout())
            .connect_timeout(policy.timeout())
            .dns_resolver(Arc::new(GuardedResolver {
                policy: Arc::clone(&policy),
                lookup,
                refused: Arc::clone(&refused),
            }));
        let mut proxy_name = None;
        builder = match proxy {
            None => builder.no_proxy(),
            Some(p) => {
                let url = check_proxy(&policy, p)?;
                if let Some(url::Host::Domain(d)) = url.host() {
                    proxy_name = Some((d.to_ascii_lowercase(), redact_url(p)));
                }
                let proxy = reqwest::Proxy::all(url).map_err(|e| NetError::Proxy {
                    proxy_redacted: redact_url(p),
                    reason: error_text(&e),
                })?;
                builder.proxy(proxy)
            }
        };
        let client = builder.build().map_err(|e| NetError::Client {
            reason: error_text(&e),
        })?;
        Ok(HttpClient {
            client,
            policy,
            proxied: proxy.is_some(),
            proxy_name,
            refused,
        })
    }

    pub fn policy(&self) -> &NetPolicy {
        &self.policy
    }

    /// POST the request to its URL, once: checked first, no redirect followed, the whole
    /// exchange (connect, send, body) bounded by the policy's timeout.
    pub async fn send(&self, req: &Request) -> Result<HttpResponse, NetError> {
        let raw = req.url.expose();
        let shown = host_shown(raw);
        // `check_url` refuses `localhost` names that no allow entry names, with or without a
        // proxy, before any lookup.
        let target = check_url(&self.policy, raw).map_err(|r| hide_url(r, &shown))?;
        let mut builder = self.client.post(target.url);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder = match &req.body {
            Body::Json { value } => builder.json(value),
            Body::Multipart { parts } => {
                let mut form = reqwest::multipart::Form::new();
                for p in parts {
                    let mut part = reqwest::multipart::Part::bytes(p.bytes.clone())
                        .mime_str(&p.content_type)
                        .map_err(|e| NetError::InvalidRequest {
                            url_redacted: shown.clone(),
                            reason: format!(
                                "part {:?}: content type {:?}: {}",
                                p.name,
                                p.content_type,
                                error_text(&e)
                            ),
                        })?;
                    if let Some(f) = &p.filename {
                        part = part.file_name(f.clone());
                    }
                    form = form.part(p.name.clone(), part);
                }
                builder.multipart(form)
            }
        };
        let timeout = self.policy.timeout();
        let started = Instant::now();
        let exchange = async {
            let resp = builder.send().await?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let mut resp = resp;
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await? {
                let room = MAX_RESPONSE_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_RESPONSE_BODY {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, headers, body))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(NetError::Timeout {
                url_redacted: shown,
                after: timeout,
            }),
            Ok(Err(e)) => Err(self
                .proxy_refusal()
                .unwrap_or_else(|| map_error(e, shown, timeout))),
            Ok(Ok((status, headers, body))) => Ok(HttpResponse {
                status,
                headers,
                body,
                latency: started.elapsed(),
            }),
        }
    }
}

/// What an error names instead of a URL: its host (and port when one is written), never its
/// path, query, fragment or credentials.
pub fn host_shown(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => "a URL without a host".into(),
        },
        Err(_) => "the channel's URL".into(),
    }
}

/// A refusal of the request's URL, naming the host instead of the URL.
fn hide_url(r: Refusal, host: &str) -> NetError {
    let host = host.to_string();
    match r {
        Refusal::InvalidUrl { reason, .. } => Refusal::InvalidUrl { url: host, reason }.into(),
        Refusal::Scheme { scheme, .. } => Refusal::Scheme { url: host, scheme }.into(),
        Refusal::PlainHttp { .. } => Refusal::PlainHttp { url: host }.into(),
        Refusal::Port {
            port,
            family,
            service,
            ..
        } => Refusal::Port {
            target: host,
            port,
            family,
            service,
        }
        .into(),
        other => other.into(),
    }
}

impl HttpClient {
    /// The refusal of this client's proxy, when its name last resolved to a refused address.
    fn proxy_refusal(&self) -> Option<NetError> {
        let (host, shown) = self.proxy_name.as_ref()?;
        let last = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        let inner = last.get(host)?.clone();
        Some(NetError::Refused(Refusal::ProxyAddress {
            proxy: shown.clone(),
            inner: Box::new(inner),
        }))
    }
}

/// reqwest's error as ours: a refusal from the resolver comes back as that refusal.
fn map_error(e: reqwest::Error, shown: String, timeout: Duration) -> NetError {
    let e = e.without_url();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return NetError::Refused(r.clone());
        }
        cur = err.source();
    }
    if e.is_timeout() {
        return NetError::Timeout {
            url_redacted: shown,
            after: timeout,
        };
    }
    if e.is_builder() || e.is_request() && !e.is_connect() && !e.is_body() {
        return NetError::InvalidRequest {
            url_redacted: shown,
            reason: error_text(&e),
        };
    }
    NetError::Connect {
        url_redacted: shown,
        reason: error_text(&e),
    }
}

/// An error and its causes on one line, without the URL reqwest attaches, redacted again.
fn error_text(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    // reqwest puts the URL into its top-level text: cut it, then mask whatever URL is left.
    let first = parts.first().cloned().unwrap_or_default();
    if let Some(i) = first.find(" for url (") {
        parts[0] = first[..i].to_string();
    }
    redact(&parts.join(": "))
}

/// reqwest is built without a bundled crypto provider: use ring (builds with a C compiler
/// only) unless the process already chose one.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing one is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
