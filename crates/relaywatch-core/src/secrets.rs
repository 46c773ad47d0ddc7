//! Secrets (webhook URLs with tokens, signing secrets, bot tokens, Redis passwords): a type that
//! cannot leak through `Debug`, `Display` or serde; a by-value [`Scrubber`] that removes every
//! form of every secret relaywatch holds (the value, its URL path segments, query values and
//! fragment, each plain, percent-encoded, JSON-escaped and base64) from text; and the pattern
//! redactor for token-bearing URLs, a second net. Rule: a secret's value is read only through
//! `expose`, at the moment it is put on the wire, and every text that leaves relaywatch (error,
//! platform reply, history, outbox `last_error`, log line, API answer, panic) passes [`redact`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{OnceLock, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// A secret value. Prints as `***`; has no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself: only for building the request that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Query parameters whose values are credentials.
const SECRET_PARAMS: &[&str] = &[
    "key",
    "access_token",
    "token",
    "sig",
    "sign",
    "secret",
    "api_key",
    "apikey",
    "api-key",
    "auth",
    "auth_token",
    "password",
    "pass",
    "pwd",
    "signature",
    "client_secret",
];

/// Make `text` safe to show, log or store: every secret this process has resolved (see
/// [`remember`]) is replaced by `***` in all its forms, then [`redact_patterns`] masks whatever
/// token-bearing URL is left.
pub fn redact(text: &str) -> String {
    redact_patterns(
        &known()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .scrub(text),
    )
}

/// Mask the credential parts of every URL in `text` (by pattern, knowing no value): the query
/// values of `key=`, `access_token=`, `token=`, `sig=`, `sign=`, `secret=`, `api_key=`; the
/// token in `/hook/<token>`, `/bot<token>/`, `/webhooks/<id>/<token>`,
/// `/services/T…/B…/<token>`; and any `user:password@`.
pub fn redact_patterns(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find_url_start(rest) {
        out.push_str(&rest[..start]);
        let url_len = rest[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ']'))
            .unwrap_or(rest.len() - start);
        out.push_str(&redact_url(&rest[start..start + url_len]));
        rest = &rest[start + url_len..];
    }
    out.push_str(rest);
    out
}

fn find_url_start(s: &str) -> Option<usize> {
    ["https://", "http://", "redis://", "rediss://"]
        .iter()
        .filter_map(|p| s.find(p))
        .min()
}

/// Mask the credential parts of one URL (see `redact`).
pub fn redact_url(url: &str) -> String {
    let (url, fragment) = match url.split_once('#') {
        Some((u, _)) => (u, Some("#***")),
        None => (url, None),
    };
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let (authority, path_and_query) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    let authority = match authority.rfind('@') {
        Some(i) => format!("***@{}", &authority[i + 1..]),
        None => authority.to_string(),
    };
    let (path, query) = match path_and_query.find('?') {
        Some(i) => (&path_and_query[..i], Some(&path_and_query[i + 1..])),
        None => (path_and_query, None),
    };
    let segments: Vec<&str> = path.split('/').collect();
    let mut masked: Vec<String> = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        let prev = if i > 0 { segments[i - 1] } else { "" };
        let prev2 = if i > 1 { segments[i - 2] } else { "" };
        let secret = (prev == "hook" && !seg.is_empty())
            || (prev2 == "webhooks" && !seg.is_empty())
            || (seg.starts_with("bot") && seg.contains(':'))
            || (prev2 == "services" && seg.starts_with('B'))
            || (i >= 3 && segments.get(i - 3) == Some(&"services") && !seg.is_empty())
            || (prev2 == "catch" && !seg.is_empty())
            || (prev.eq_ignore_ascii_case("IncomingWebhook") && !seg.is_empty())
            || (prev2.eq_ignore_ascii_case("IncomingWebhook") && !seg.is_empty())
            || (prev.starts_with("webhookb2") && seg.contains('@'));
        masked.push(if secret && seg.starts_with("bot") {
            "bot***".to_string()
        } else if secret {
            "***".to_string()
        } else if let Some((head, params)) = seg.split_once(';') {
            // Path parameters (`;token=…`): every value masked.
            let params: Vec<String> = params
                .split(';')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) => format!("{k}=***"),
                    None => kv.to_string(),
                })
                .collect();
            format!("{head};{}", params.join(";"))
        } else {
            seg.to_string()
        });
    }
    let mut out = format!("{scheme}{authority}{}", masked.join("/"));
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => {
                    format!("{k}=***")
                }
                _ => kv.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out.push_str(fragment.unwrap_or(""));
    out
}

/// A whole secret shorter than this is not scrubbed (it would mask ordinary words).
pub const MIN_SECRET: usize = 4;

/// A piece of a secret (a path segment, a query value) shorter than this is not scrubbed on its
/// own; the whole value still is.
pub const MIN_PIECE: usize = 6;

/// URL words that are no secret even where a secret URL carries them.
const COMMON_PIECES: [&str; 24] = [
    "services",
    "webhook",
    "webhooks",
    "webhookb2",
    "incomingwebhook",
    "robot",
    "cgi-bin",
    "open-apis",
    "sendmessage",
    "sendphoto",
    "senddocument",
    "access_token",
    "timestamp",
    "apikey",
    "api_key",
    "secret",
    "message",
    "messages",
    "localhost",
    "workflows",
    "triggers",
    "invoke",
    "api-version",
    "channel",
];

/// Whether a piece of a secret is scrubbed on its own: long enough and no common URL word.
fn worth_scrubbing(piece: &str) -> bool {
    piece.chars().count() >= MIN_PIECE
        && !COMMON_PIECES.contains(&piece.to_ascii_lowercase().as_str())
}

/// Whether a piece looks like a token (a digit, mixed case, or 10+ characters): scrubbed
/// wherever it appears. Other pieces (`alerts`, `notify`) are word-like: scrubbed only as whole
/// words, so `delivered` keeps its letters when a path says `/deliver`.
fn token_like(piece: &str) -> bool {
    piece.chars().any(|c| c.is_ascii_digit())
        || (piece.chars().any(|c| c.is_uppercase()) && piece.chars().any(|c| c.is_lowercase()))
        || piece.chars().count() >= 10
}

/// Splits `s` at URL delimiters into `out` (each piece also percent-decoded, and a Telegram
/// `bot<token>` also without `bot`).
fn split_into(s: &str, out: &mut Vec<String>) {
    for piece in s.split(['/', '?', '#', '&', '=', ';', ',', ':', '@']) {
        out.push(piece.to_string());
        let decoded = percent_encoding::percent_decode_str(piece).decode_utf8_lossy();
        if decoded != piece {
            out.push(decoded.into_owned());
        }
        if let Some(rest) = piece.strip_prefix("bot") {
            out.push(rest.to_string());
        }
    }
    out.push(s.to_string());
}

/// The parts of a secret that are secret on their own: the value; for a URL its user, password
/// and `user:password`, its path-query-fragment, each path segment (and its `;`/`=`/`:` parts),
/// each query value and the fragment; for another value its delimited parts. Never the scheme,
/// host or port.
pub fn secret_pieces(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    match url::Url::parse(value) {
        Ok(u) if u.has_host() => {
            let user = u.username().to_string();
            if let Some(pw) = u.password() {
                parts.push(pw.to_string());
                parts.push(format!("{user}:{pw}"));
            }
            parts.push(user);
            split_into(&u[url::Position::BeforePath..], &mut parts);
            split_into(u.path(), &mut parts);
            if let Some(q) = u.query() {
                split_into(q, &mut parts);
                parts.extend(u.query_pairs().map(|(_, v)| v.into_owned()));
            }
            if let Some(f) = u.fragment() {
                split_into(f, &mut parts);
            }
        }
        _ => split_into(value, &mut parts),
    }
    let mut out = vec![value.to_string()];
    for p in parts {
        if worth_scrubbing(&p) && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Percent-encoding of everything but `-._~` (and, with `keep_path`, `/` and `:`).
fn percent(v: &str, keep_path: bool) -> String {
    const ALL: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    const PATH: &AsciiSet = &ALL.remove(b'/').remove(b':');
    utf8_percent_encode(v, if keep_path { PATH } else { ALL }).to_string()
}

/// The forms a value can take in text: itself, percent-encoded (upper and lower hex, path-safe,
/// form-encoded), JSON-escaped (`\/`, `\u0026`), base64 (standard and URL-safe, padded or not).
pub fn encoded_forms(v: &str) -> Vec<String> {
    let upper = percent(v, false);
    let lower = lower_hex_escapes(&upper);
    let json = serde_json::to_string(v).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let forms = [
        v.to_string(),
        upper,
        lower,
        percent(v, true),
        url::form_urlencoded::byte_serialize(v.as_bytes()).collect(),
        json.clone(),
        json.replace('/', "\\/"),
        json.replace('&', "\\u0026")
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('=', "\\u003d"),
        STANDARD.encode(v),
        STANDARD_NO_PAD.encode(v),
        URL_SAFE.encode(v),
        URL_SAFE_NO_PAD.encode(v),
    ];
    let mut out: Vec<String> = Vec::with_capacity(forms.len());
    for f in forms {
        if !f.is_empty() && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

fn lower_hex_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut hex_left = 0;
    for c in s.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every string that must not appear in output for `value`: each of its [`secret_pieces`] in
/// each of its [`encoded_forms`]. Empty for a value shorter than [`MIN_SECRET`].
pub fn secret_forms(value: &str) -> Vec<String> {
    forms_by_strength(value).into_keys().collect()
}

/// [`secret_forms`], each with whether it is word-like (scrubbed only as a whole word).
fn forms_by_strength(value: &str) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    if value.chars().count() < MIN_SECRET {
        return out;
    }
    for piece in secret_pieces(value) {
        let word = piece != value && !token_like(&piece);
        for f in encoded_forms(&piece) {
            let w = out.entry(f).or_insert(word);
            *w = *w && word;
        }
    }
    out
}

/// Replaces every form of a set of secret values by `***` (longest match first).
#[derive(Default, Clone)]
pub struct Scrubber {
    values: BTreeSet<String>,
    /// Each form, and whether it is word-like.
    forms: BTreeMap<String, bool>,
    needles: Vec<(String, bool)>,
    matcher: Option<AhoCorasick>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrubber({} secrets)", self.values.len())
    }
}

impl Scrubber {
    /// A scrubber for `secrets` (each with all its forms).
    pub fn of<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Scrubber {
        let mut s = Scrubber::default();
        s.add_all(secrets.into_iter().map(Secret::expose));
        s
    }

    /// Adds values (and their forms); the matcher is rebuilt once.
    pub fn add_all<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) {
        let mut changed = false;
        for v in values {
            if v.chars().count() >= MIN_SECRET && self.values.insert(v.to_string()) {
                for (f, word) in forms_by_strength(v) {
                    let w = self.forms.entry(f).or_insert(word);
                    *w = *w && word;
                }
                changed = true;
            }
        }
        if changed {
            self.needles = self.forms.iter().map(|(f, w)| (f.clone(), *w)).collect();
            self.needles
                .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
            self.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(self.needles.iter().map(|(f, _)| f))
                .ok();
        }
    }

    /// Whether there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every form of every secret replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        match &self.matcher {
            None => text.to_string(),
            Some(m) => {
                let mut out = String::with_capacity(text.len());
                m.replace_all_with(text, &mut out, |m, found, dst| {
                    let word = self.needles[m.pattern().as_usize()].1;
                    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
                    let inside_word = alnum(text[..m.start()].chars().next_back())
                        || alnum(text[m.end()..].chars().next());
                    dst.push_str(if word && inside_word { found } else { "***" });
                    true
                });
                out
            }
        }
    }

    /// The first form of a secret found in `text`, if any (for tests and checks).
    pub fn find_in(&self, text: &str) -> Option<&str> {
        let m = self.matcher.as_ref()?.find(text)?;
        Some(self.needles[m.pattern().as_usize()].0.as_str())
    }
}

/// The secrets this process holds, for [`redact`].
fn known() -> &'static RwLock<Scrubber> {
    static KNOWN: OnceLock<RwLock<Scrubber>> = OnceLock::new();
    KNOWN.get_or_init(RwLock::default)
}

/// Makes every later [`redact`] in this process scrub `value` (a resolved secret, a platform
/// token) in all its forms.
pub fn remember(value: &str) {
    let mut k = known().write().unwrap_or_else(|e| e.into_inner());
    k.add_all([value]);
}

/// Remembers the credentials of a URL (a Redis or database URL's password and
/// `user:password`), not its host or path.
pub fn remember_url_credentials(url: &str) {
    if let Ok(u) = url::Url::parse(url) {
        if let Some(pw) = u.password() {
            let decoded = percent_encoding::percent_decode_str(pw).decode_utf8_lossy();
            let pair = format!("{}:{}", u.username(), decoded);
            let mut k = known().write().unwrap_or_else(|e| e.into_inner());
            k.add_all([pw, decoded.as_ref(), pair.as_str()]);
        }
        for (k, v) in u.query_pairs() {
            if k.eq_ignore_ascii_case("password") && !v.is_empty() {
                remember(&v);
            }
        }
    }
}

/// A writer that passes everything through [`redact`] (for log output: each log line is one
/// write).
#[derive(Debug)]
pub struct ScrubWriter<W: std::io::Write>(pub W);

impl<W: std::io::Write> std::io::Write for ScrubWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Replaces the panic hook with one that prints the message through [`redact`] (a panic message
/// may format a value holding a secret).
pub fn scrub_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        eprintln!(
            "thread '{}' panicked{at}:\n{}",
            thread.name().unwrap_or("<unnamed>"),
            redact(&msg)
        );
    }));
}

/// Panics when `secret` (or its URL-encoded form) appears in `output`: the shared check every
/// channel's tests run over errors, logs and history.
pub fn assert_no_secret_in(output: &str, secret: &str) {
    assert!(!secret.is_empty(), "assert_no_secret_in: empty secret");
    let encoded = percent(secret, false);
    assert!(
        !output.contains(secret) && !output.contains(&encoded),
        "a secret leaked into: {}",
        output.replace(secret, "<SECRET>")
    );
}

/// A Redis or PostgreSQL URL with its user and password (and a `password=` query value)
/// replaced by `***`, safe to print.
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    if let Some(q) = url.find('?') {
        let (base, query) = url.split_at(q + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        return format!(
            "{}{}",
            mask_url(&base[..q]),
            "?".to_string() + &masked.join("&")
        );
    }
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => format!(
            "{}://***@{}{}",
            &url[..scheme_end],
            &authority[at + 1..],
            &rest[authority_end..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests;
