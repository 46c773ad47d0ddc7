//! `[[channels]]`, `[network]`, `[delivery]` and `[state]`: where messages go and how. Secrets
//! (webhook URLs, signing secrets, bot tokens, app secrets) are references — `{ env = "VAR" }`,
//! `{ file = "/path" }`, `{ keychain = "name" }` — never values in the file; validation names
//! every bad field and its fix.

use serde::{Deserialize, Serialize};

use super::Lang;
use crate::error::FieldError;

/// Where a secret lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SecretRef {
    /// An environment variable.
    Env { env: String },
    /// A file holding only the secret (trailing newline ignored); keep it mode 0600.
    File { file: String },
    /// An entry in the OS keychain (service `relaywatch`, this account name).
    Keychain { keychain: String },
    /// A literal value: refused by validation, so a secret never sits in the config file.
    Plain(String),
}

impl SecretRef {
    /// A description without the value, for messages.
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env { env } => format!("env {env}"),
            SecretRef::File { file } => format!("file {file}"),
            SecretRef::Keychain { keychain } => format!("keychain {keychain}"),
            SecretRef::Plain(_) => "a literal value".into(),
        }
    }
}

/// The platforms relaywatch delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    Slack,
    Discord,
    #[serde(alias = "dingding")]
    Dingtalk,
    #[serde(alias = "wechat", alias = "workwx", alias = "wechat_work")]
    Wecom,
    Feishu,
    Lark,
    Telegram,
    #[serde(alias = "custom", alias = "webhook")]
    Generic,
    File,
}

impl ChannelType {
    /// Parse a type name, including the seed reporter's aliases.
    pub fn parse(s: &str) -> Option<ChannelType> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "slack" => ChannelType::Slack,
            "discord" => ChannelType::Discord,
            "dingtalk" | "dingding" => ChannelType::Dingtalk,
            "wecom" | "wechat" | "workwx" | "wechat_work" => ChannelType::Wecom,
            "feishu" => ChannelType::Feishu,
            "lark" => ChannelType::Lark,
            "telegram" => ChannelType::Telegram,
            "generic" | "custom" | "webhook" => ChannelType::Generic,
            "file" => ChannelType::File,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Slack => "slack",
            ChannelType::Discord => "discord",
            ChannelType::Dingtalk => "dingtalk",
            ChannelType::Wecom => "wecom",
            ChannelType::Feishu => "feishu",
            ChannelType::Lark => "lark",
            ChannelType::Telegram => "telegram",
            ChannelType::Generic => "generic",
            ChannelType::File => "file",
        }
    }
}

fn yes() -> bool {
    true
}

/// One `[[channels]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// The webhook URL (Telegram: the bot token).
    #[serde(default)]
    pub url: Option<SecretRef>,
    /// Signing secret (DingTalk `SEC…`, Feishu, generic `whsec_…`).
    #[serde(default)]
    pub secret: Option<SecretRef>,
    #[serde(default)]
    pub lang: Option<Lang>,
    /// WeCom: `markdown` (default) or `markdown_v2`.
    #[serde(default)]
    pub format: Option<String>,
    /// DingTalk security keyword every message must contain.
    #[serde(default)]
    pub keyword: Option<String>,
    /// DingTalk mobiles to @.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// `http://host:port` or `socks5://host:port`.
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Telegram chat id.
    #[serde(default)]
    pub chat_id: Option<String>,
    /// Telegram Bot API or Feishu open API base (tests point it at a loopback stand-in).
    #[serde(default)]
    pub api_base: Option<String>,
    /// Feishu app credentials, for chart images.
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub app_secret: Option<SecretRef>,
    /// Generic: `Authorization: Bearer` token, as EZ-API sends.
    #[serde(default)]
    pub bearer: Option<SecretRef>,
    /// File channel: the folder messages are written to.
    #[serde(default)]
    pub path: Option<String>,
}

impl ChannelSettings {
    /// A channel of `kind` named `name` with every other field as an empty `[[channels]]` entry
    /// leaves it (enabled, no URL); set the rest with struct update syntax.
    pub fn new(name: impl Into<String>, kind: ChannelType) -> Self {
        ChannelSettings {
            name: name.into(),
            kind,
            url: None,
            secret: None,
            lang: None,
            format: None,
            keyword: None,
            mentions: Vec::new(),
            proxy: None,
            enabled: true,
            chat_id: None,
            api_base: None,
            app_id: None,
            app_secret: None,
            bearer: None,
            path: None,
        }
    }
}

/// `[network]`: the SSRF guard's door and the HTTP timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSettings {
    /// CIDRs or host names that may be reached although private or loopback; an entry with a
    /// port (`10.0.0.5:6379`, `hooks.internal:2525`) also opens that refused port on that host.
    pub allow: Vec<String>,
    pub timeout_ms: u64,
    /// Permit plain `http://` webhook URLs.
    pub allow_http: bool,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            allow: Vec::new(),
            timeout_ms: 10_000,
            allow_http: false,
        }
    }
}

/// `[delivery]`: retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// Attempts per message before it is dead-lettered (24).
    pub attempts: u32,
    /// First retry delay; doubles each attempt (±20 % jitter) (1 s).
    pub backoff_ms: u64,
    /// Longest retry delay (2 min).
    pub backoff_cap_ms: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        // 1, 2, 4 … 64 s, then every 2 min: 24 attempts span about 34 minutes, so a receiver
        // that is down for a quarter of an hour (a deploy, a restart) still gets its message.
        DeliverySettings {
            attempts: 24,
            backoff_ms: 1_000,
            backoff_cap_ms: 120_000,
        }
    }
}

/// `[state]`: where relaywatch keeps its own keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateSettings {
    /// Default: the source's Redis.
    pub redis_url: Option<String>,
    pub prefix: String,
}

impl Default for StateSettings {
    fn default() -> Self {
        StateSettings {
            redis_url: None,
            prefix: "relaywatch:".into(),
        }
    }
}

fn err(
    errors: &mut Vec<FieldError>,
    field: String,
    value: impl Into<String>,
    fix: impl Into<String>,
) {
    errors.push(FieldError {
        field,
        value: value.into(),
        fix: fix.into(),
    });
}

/// Every problem of the channel list, with field paths like `channels[2].url`.
pub fn channel_problems(channels: &[ChannelSettings]) -> Vec<FieldError> {
    let mut e = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, c) in channels.iter().enumerate() {
        name_problems(&mut e, i, c, &mut seen);
        literal_secret_problems(&mut e, i, c);
        destination_problems(&mut e, i, c);
        type_field_problems(&mut e, i, c);
        endpoint_problems(&mut e, i, c);
    }
    e
}

/// The path of field `f` of the `i`th channel.
fn at(i: usize, f: &str) -> String {
    format!("channels[{i}].{f}")
}

/// The name: 1-64 letters, digits, '-' or '_', and not taken by an earlier channel.
fn name_problems(
    e: &mut Vec<FieldError>,
    i: usize,
    c: &ChannelSettings,
    seen: &mut std::collections::HashSet<String>,
) {
    let name_ok = !c.name.is_empty()
        && c.name.len() <= 64
        && c.name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !name_ok {
        err(
            e,
            at(i, "name"),
            format!("{:?}", c.name),
            "use 1-64 letters, digits, '-' or '_' (e.g. team-wecom)",
        );
    } else if !seen.insert(c.name.clone()) {
        err(
            e,
            at(i, "name"),
            format!("{:?}", c.name),
            "another channel has this name; names must be unique",
        );
    }
}

/// Secrets written as literal values instead of references.
fn literal_secret_problems(e: &mut Vec<FieldError>, i: usize, c: &ChannelSettings) {
    for (field, r) in [
        ("url", &c.url),
        ("secret", &c.secret),
        ("app_secret", &c.app_secret),
        ("bearer", &c.bearer),
    ] {
        if let Some(SecretRef::Plain(_)) = r {
            err(
                e,
                at(i, field),
                "(a literal value, not shown)",
                format!("secrets do not go in the config file: write {field} = {{ env = \"VAR\" }}, {{ file = \"/path\" }} or {{ keychain = \"{}-{field}\" }}", c.name),
            );
        }
    }
}

/// Where messages go: a file channel's folder, every other type's URL (Telegram: bot token),
/// and Telegram's chat.
fn destination_problems(e: &mut Vec<FieldError>, i: usize, c: &ChannelSettings) {
    match c.kind {
        ChannelType::File => {
            if c.path.as_deref().unwrap_or("").is_empty() {
                err(
                    e,
                    at(i, "path"),
                    "(unset)",
                    "a file channel needs path = \"/folder/for/messages\"",
                );
            }
        }
        _ => {
            if c.url.is_none() {
                let what = if c.kind == ChannelType::Telegram {
                    "the bot token"
                } else {
                    "the webhook URL"
                };
                err(
                    e,
                    at(i, "url"),
                    "(unset)",
                    format!(
                        "give {what} as a reference, e.g. url = {{ env = \"{}_URL\" }}",
                        c.name.to_ascii_uppercase().replace('-', "_")
                    ),
                );
            }
        }
    }
    if c.kind == ChannelType::Telegram && c.chat_id.as_deref().unwrap_or("").is_empty() {
        err(
            e,
            at(i, "chat_id"),
            "(unset)",
            "a telegram channel needs chat_id = \"-100…\" (the chat to post in)",
        );
    }
}

/// Fields that belong to one channel type: WeCom's format, DingTalk's keyword, Feishu's app.
fn type_field_problems(e: &mut Vec<FieldError>, i: usize, c: &ChannelSettings) {
    if let Some(f) = &c.format {
        if c.kind != ChannelType::Wecom || !matches!(f.as_str(), "markdown" | "markdown_v2") {
            err(
                e,
                at(i, "format"),
                format!("{f:?}"),
                "format is for wecom channels: \"markdown\" or \"markdown_v2\"",
            );
        }
    }
    if c.keyword.is_some() && c.kind != ChannelType::Dingtalk {
        err(
            e,
            at(i, "keyword"),
            "set",
            "keyword is a DingTalk security setting; remove it for this channel type",
        );
    }
    if matches!(c.kind, ChannelType::Feishu | ChannelType::Lark)
        && c.app_id.is_some() != c.app_secret.is_some()
    {
        err(
            e,
            at(i, "app_secret"),
            "(one of app_id/app_secret set)",
            "give both app_id and app_secret (for chart images), or neither",
        );
    }
}

/// The proxy's scheme and the API base's.
fn endpoint_problems(e: &mut Vec<FieldError>, i: usize, c: &ChannelSettings) {
    if let Some(p) = &c.proxy {
        let lower = p.to_ascii_lowercase();
        if !(lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("socks5://")
            || lower.starts_with("socks5h://"))
        {
            err(
                e,
                at(i, "proxy"),
                crate::secrets::redact_url(p),
                "use http://host:port or socks5://host:port",
            );
        }
    }
    if let Some(b) = &c.api_base {
        if !(b.starts_with("https://") || b.starts_with("http://")) {
            err(
                e,
                at(i, "api_base"),
                format!("{b:?}"),
                "use a base URL such as https://api.telegram.org",
            );
        }
    }
}

/// Every problem of `[network]`, `[delivery]` and `[state]`.
pub fn delivery_problems(
    n: &NetworkSettings,
    d: &DeliverySettings,
    s: &StateSettings,
) -> Vec<FieldError> {
    let mut e = Vec::new();
    if !(100..=120_000).contains(&n.timeout_ms) {
        err(
            &mut e,
            "network.timeout_ms".into(),
            n.timeout_ms.to_string(),
            "must be between 100 and 120000",
        );
    }
    for (i, a) in n.allow.iter().enumerate() {
        if a.trim().is_empty() || a.contains("://") || a.contains(' ') {
            err(&mut e, format!("network.allow[{i}]"), format!("{a:?}"), "give a CIDR such as 10.0.0.0/8, a host name such as hooks.internal, or a host and port such as 10.0.0.5:6379, without a scheme");
        }
    }
    if !(1..=50).contains(&d.attempts) {
        err(
            &mut e,
            "delivery.attempts".into(),
            d.attempts.to_string(),
            "must be between 1 and 50",
        );
    }
    if !(100..=600_000).contains(&d.backoff_ms) {
        err(
            &mut e,
            "delivery.backoff_ms".into(),
            d.backoff_ms.to_string(),
            "must be between 100 and 600000",
        );
    }
    if d.backoff_cap_ms < d.backoff_ms || d.backoff_cap_ms > 86_400_000 {
        err(
            &mut e,
            "delivery.backoff_cap_ms".into(),
            d.backoff_cap_ms.to_string(),
            format!(
                "must be between delivery.backoff_ms ({}) and 86400000",
                d.backoff_ms
            ),
        );
    }
    if s.prefix.is_empty() || s.prefix.contains(' ') {
        err(
            &mut e,
            "state.prefix".into(),
            format!("{:?}", s.prefix),
            "use a non-empty key prefix without spaces, e.g. \"relaywatch:\"",
        );
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_is_what_a_bare_entry_parses_to() {
        let parsed: ChannelSettings = toml::from_str("name = \"ops\"\ntype = \"slack\"").unwrap();
        assert_eq!(ChannelSettings::new("ops", ChannelType::Slack), parsed);
    }
}
