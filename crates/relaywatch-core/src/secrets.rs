//! Secrets (webhook URLs with tokens, signing secrets, bot tokens): a type that cannot leak
//! through `Debug`, `Display` or serde, and `redact` for text that may carry a token-bearing URL.
//! Rule: a secret's value is read only through `expose`, at the moment it is put on the wire.

use std::fmt;

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
const SECRET_PARAMS: [&str; 7] = [
    "key",
    "access_token",
    "token",
    "sig",
    "sign",
    "secret",
    "api_key",
];

/// Mask the credential parts of every URL in `text`: the query values of `key=`,
/// `access_token=`, `token=`, `sig=`, `sign=`, `secret=`, `api_key=`; the token in
/// `/hook/<token>`, `/bot<token>/`, `/webhooks/<id>/<token>`, `/services/T…/B…/<token>`; and any
/// `user:password@`.
pub fn redact(text: &str) -> String {
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
            || (i >= 3 && segments.get(i - 3) == Some(&"services") && !seg.is_empty());
        masked.push(if secret && seg.starts_with("bot") {
            "bot***".to_string()
        } else if secret {
            "***".to_string()
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
    out
}

/// Panics when `secret` (or its URL-encoded form) appears in `output`: the shared check every
/// channel's tests run over errors, logs and history.
pub fn assert_no_secret_in(output: &str, secret: &str) {
    assert!(!secret.is_empty(), "assert_no_secret_in: empty secret");
    let encoded: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    assert!(
        !output.contains(secret) && !output.contains(&encoded),
        "a secret leaked into: {}",
        output.replace(secret, "<SECRET>")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn token_bearing_urls_are_masked() {
        let cases = [
            (
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123",
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
            ),
            (
                "https://oapi.dingtalk.com/robot/send?access_token=ffff&timestamp=1&sign=xyz",
                "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=1&sign=***",
            ),
            (
                "https://open.feishu.cn/open-apis/bot/v2/hook/0000-1111",
                "https://open.feishu.cn/open-apis/bot/v2/hook/***",
            ),
            (
                "https://api.telegram.org/bot123456:ABC-def/sendMessage",
                "https://api.telegram.org/bot***/sendMessage",
            ),
            (
                "https://discord.com/api/webhooks/1234/tok-en_x?wait=true",
                "https://discord.com/api/webhooks/1234/***?wait=true",
            ),
            (
                "https://hooks.slack.com/services/TFAKE/BFAKE/notarealtoken",
                "https://hooks.slack.com/services/TFAKE/***/***",
            ),
            (
                "https://example.test/x?sig=abc&v=1",
                "https://example.test/x?sig=***&v=1",
            ),
            (
                "https://user:pw@example.test/hook",
                "https://***@example.test/hook",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
        let text = "POST https://open.feishu.cn/open-apis/bot/v2/hook/0000-1111 failed: timeout";
        assert_eq!(
            redact(text),
            "POST https://open.feishu.cn/open-apis/bot/v2/hook/*** failed: timeout"
        );
        assert_no_secret_in(&redact(text), "0000-1111");
    }
}
