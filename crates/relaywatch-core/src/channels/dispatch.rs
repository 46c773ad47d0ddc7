//! From a channel's type to its platform file: one table, so adding a platform is one line
//! per function. Pure.

use chrono::{DateTime, Utc};

use super::{
    dingtalk, discord, feishu, file, generic, slack, telegram, wecom, EncodeContext, Limits,
    Outcome, Request,
};
use crate::config::channels::ChannelType;
use crate::render::message::Message;
use crate::secrets::Secret;

/// The HTTP requests that carry `msg` to a channel of type `kind` (none for `file`).
pub fn encode(
    kind: ChannelType,
    msg: &Message,
    ctx: &EncodeContext,
    bearer: Option<&Secret>,
) -> Vec<Request> {
    match kind {
        ChannelType::Slack => slack::encode(msg, ctx),
        ChannelType::Discord => discord::encode(msg, ctx),
        ChannelType::Dingtalk => dingtalk::encode(msg, ctx),
        ChannelType::Wecom => wecom::encode(msg, ctx),
        ChannelType::Feishu | ChannelType::Lark => feishu::encode(msg, ctx),
        ChannelType::Telegram => telegram::encode(msg, ctx),
        ChannelType::Generic => generic::encode_with_bearer(msg, ctx, bearer),
        ChannelType::File => Vec::new(),
    }
}

/// What the platform's answer, received at `now`, means.
pub fn classify(
    kind: ChannelType,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    match kind {
        ChannelType::Slack => slack::classify(status, headers, body, now),
        ChannelType::Discord => discord::classify(status, headers, body, now),
        ChannelType::Dingtalk => dingtalk::classify(status, headers, body, now),
        ChannelType::Wecom => wecom::classify(status, headers, body, now),
        ChannelType::Feishu | ChannelType::Lark => feishu::classify(status, headers, body, now),
        ChannelType::Telegram => telegram::classify(status, headers, body, now),
        ChannelType::Generic => generic::classify(status, headers, body, now),
        ChannelType::File => Outcome::Delivered { code: None },
    }
}

/// The platform's limits.
pub fn limits(kind: ChannelType) -> Limits {
    match kind {
        ChannelType::Slack => slack::limits(),
        ChannelType::Discord => discord::limits(),
        ChannelType::Dingtalk => dingtalk::limits(),
        ChannelType::Wecom => wecom::limits(),
        ChannelType::Feishu | ChannelType::Lark => feishu::limits(),
        ChannelType::Telegram => telegram::limits(),
        ChannelType::Generic => generic::limits(),
        ChannelType::File => file::limits(),
    }
}

/// The rule that judged an answer, in words, for `relaywatch test` and history.
pub fn rule(kind: ChannelType, outcome: &Outcome) -> String {
    let code = |c: &Option<i64>| {
        c.map(|c| format!(" (platform code {c})"))
            .unwrap_or_default()
    };
    match outcome {
        Outcome::Delivered { code: c } => format!("{}: accepted{}", kind.as_str(), code(c)),
        Outcome::Retry {
            after,
            reason,
            code: c,
        } => format!(
            "{}: temporary failure{}, retry{}: {reason}",
            kind.as_str(),
            code(c),
            after
                .map(|a| format!(" after {:.1} s", a.as_secs_f64()))
                .unwrap_or_default()
        ),
        Outcome::Fail { reason, code: c } => {
            format!("{}: permanent failure{}: {reason}", kind.as_str(), code(c))
        }
        Outcome::Disable { reason, code: c } => format!(
            "{}: the endpoint is gone{}, channel should be disabled: {reason}",
            kind.as_str(),
            code(c)
        ),
        Outcome::TooLong { reason, code: c } => format!(
            "{}: message too long{}, must be re-rendered smaller: {reason}",
            kind.as_str(),
            code(c)
        ),
    }
}
