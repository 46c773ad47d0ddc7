//! The tray's words in English and Simplified Chinese, and the rule that picks one: the
//! desktop's locale (`LANGUAGE`, then `LC_ALL`, `LC_MESSAGES`, `LANG`), as native menus do.
//! Every text the tray menu, its tooltip and its own notifications show is here; pure.

use relaywatch_core::config::Lang;

/// The language for these locale variables (`var` reads one; unset or empty ones are skipped).
/// Any Chinese locale reads the Simplified texts; anything else, `C` and `POSIX` read English.
pub fn from_locale(var: impl Fn(&str) -> Option<String>) -> Lang {
    let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    // LC_ALL, else LC_MESSAGES, else LANG decides; GNU's LANGUAGE list comes first unless that
    // locale is C/POSIX.
    let locale = set("LC_ALL")
        .or_else(|| set("LC_MESSAGES"))
        .or_else(|| set("LANG"))
        .unwrap_or_default();
    let c_locale = matches!(locale.split(['.', '@']).next(), Some("C" | "POSIX"));
    let first = set("LANGUAGE")
        .filter(|_| !c_locale && !locale.is_empty())
        .and_then(|l| l.split(':').find(|x| !x.is_empty()).map(str::to_string))
        .unwrap_or(locale);
    if first.to_ascii_lowercase().starts_with("zh") {
        Lang::ZhCn
    } else {
        Lang::En
    }
}

/// One text in both languages.
#[derive(Debug, Clone, Copy)]
pub struct T(pub &'static str, pub &'static str);

impl T {
    pub fn get(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.0,
            Lang::ZhCn => self.1,
        }
    }

    /// The text with each `{}` replaced by the next of `args`.
    pub fn fill(self, lang: Lang, args: &[&str]) -> String {
        let mut out = String::new();
        let mut rest = self.get(lang);
        let mut args = args.iter();
        while let Some(i) = rest.find("{}") {
            out.push_str(&rest[..i]);
            out.push_str(args.next().copied().unwrap_or(""));
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        out
    }
}

pub const ALL_GOOD: T = T("All good", "一切正常");
pub const WARNING: T = T("Warning", "警告");
pub const ALERT_FIRING: T = T("Alert firing", "告警中");
pub const PAUSED_UNTIL: T = T("Alerts paused until {}", "告警已暂停至 {}");
pub const OFFLINE: T = T("Offline: {}", "离线：{}");
pub const STARTING: T = T("Starting…", "启动中…");
pub const STATE_REDIS_DOWN: T = T(
    "Offline: state Redis unreachable",
    "离线：无法连接状态 Redis",
);
pub const STALE: T = T("Stale: {}", "数据过期：{}");
pub const STALE_NO_DATA: T = T("Stale: no fresh data", "数据过期：没有新数据");
pub const DEMO: T = T(
    "{} — demo data (configure a source in Settings…)",
    "{} — 演示数据（请在“设置…”中配置数据源）",
);
pub const COST: T = T("Today: {}", "今日费用：{}");
pub const TOKENS: T = T("Tokens: {}", "今日 Token：{}");
pub const REQUESTS: T = T("Requests: {}", "今日请求：{}");
pub const ERROR_RATE_OVER: T = T("Error rate: over threshold ({})", "错误率：超过阈值（{}）");
pub const ERROR_RATE_BELOW: T = T("Error rate: below threshold", "错误率：低于阈值");
pub const LAST_REFRESH: T = T("Last refresh: {} ({})", "上次刷新：{}（{}）");
pub const LAST_REFRESH_NEVER: T = T("Last refresh: never", "上次刷新：从未");
pub const JUST_NOW: T = T("just now", "刚刚");
pub const SECONDS_AGO: T = T("{} s ago", "{} 秒前");
pub const MINUTES_AGO: T = T("{} min ago", "{} 分钟前");
pub const HOURS_AGO: T = T("{} h ago", "{} 小时前");
pub const FIRING_LINE: T = T("{} — since {}", "{} — 自 {} 起");
pub const FIRING_MENU: T = T("Firing alerts ({})", "告警中（{}）");
pub const NO_ALERT: T = T("No alert firing", "没有告警");
pub const OPEN_DASHBOARD: T = T("Open dashboard…", "打开仪表盘…");
pub const SEND_REPORT: T = T("Send report now", "立即发送报告");
pub const NO_CHANNEL: T = T("No channel configured", "未配置渠道");
pub const PAUSE_ALERTS: T = T("Pause alerts", "暂停告警");
pub const PAUSE_30M: T = T("For 30 minutes", "30 分钟");
pub const PAUSE_1H: T = T("For 1 hour", "1 小时");
pub const PAUSE_TOMORROW: T = T("Until 09:00 tomorrow", "直到明天 09:00");
pub const RESUME: T = T("Resume alerts", "恢复告警");
pub const REFRESH_NOW: T = T("Refresh now", "立即刷新");
pub const SETTINGS: T = T("Settings…", "设置…");
pub const START_AT_LOGIN: T = T("Start at login", "登录时启动");
pub const QUIT: T = T("Quit relaywatch", "退出 relaywatch");
pub const REPORT_NOT_SENT: T = T(
    "relaywatch: report to {} not sent",
    "relaywatch：发往 {} 的报告未发送",
);
pub const ALERTS: T = T("relaywatch: {} alerts", "relaywatch：{} 条告警");
pub const ALERTS_RESOLVED: T = T(
    "relaywatch: {} alerts resolved",
    "relaywatch：{} 条告警已恢复",
);
pub const AND_MORE: T = T("… and {} more", "… 另有 {} 条");
pub const DELIVERY_FAILED: T = T(
    "relaywatch: delivery to {} failed",
    "relaywatch：发往 {} 的消息投递失败",
);
pub const DELIVERY_FAILED_BODY: T = T(
    "A {} message could not be delivered after its retries; see History in the dashboard to retry it.",
    "一条 {} 消息重试后仍未送达；可在仪表盘的“投递记录”中重试。",
);

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_locale_variables_pick_the_language_in_posix_order() {
        assert_eq!(from_locale(env(&[])), Lang::En);
        assert_eq!(from_locale(env(&[("LANG", "zh_CN.UTF-8")])), Lang::ZhCn);
        assert_eq!(from_locale(env(&[("LANG", "zh_TW.UTF-8")])), Lang::ZhCn);
        assert_eq!(
            from_locale(env(&[
                ("LANG", "zh_CN.UTF-8"),
                ("LC_MESSAGES", "en_US.UTF-8")
            ])),
            Lang::En
        );
        assert_eq!(
            from_locale(env(&[
                ("LC_MESSAGES", "en_US.UTF-8"),
                ("LC_ALL", "zh_CN.UTF-8")
            ])),
            Lang::ZhCn
        );
        assert_eq!(
            from_locale(env(&[("LANG", "en_US.UTF-8"), ("LANGUAGE", "zh_CN:en")])),
            Lang::ZhCn
        );
        // LANGUAGE is ignored in the C locale (as gettext does), and empty values are skipped.
        assert_eq!(
            from_locale(env(&[("LANG", "C.UTF-8"), ("LANGUAGE", "zh_CN")])),
            Lang::En
        );
        assert_eq!(
            from_locale(env(&[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")])),
            Lang::ZhCn
        );
    }

    #[test]
    fn fill_replaces_each_placeholder_in_turn() {
        assert_eq!(
            LAST_REFRESH.fill(Lang::En, &["09:30", "just now"]),
            "Last refresh: 09:30 (just now)"
        );
        assert_eq!(
            LAST_REFRESH.fill(Lang::ZhCn, &["09:30", "刚刚"]),
            "上次刷新：09:30（刚刚）"
        );
        assert_eq!(FIRING_MENU.fill(Lang::En, &[]), "Firing alerts ()");
    }
}
