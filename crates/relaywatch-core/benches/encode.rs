//! Encoding benchmark: one dashboard report (charts already rendered; tiny stand-in PNGs) for
//! all seven chat platforms, timed together. Prints figures; asserts nothing about speed.

use std::time::Instant;

use relaywatch_core::channels::dispatch;
use relaywatch_core::channels::EncodeContext;
use relaywatch_core::config::channels::ChannelType;
use relaywatch_core::config::Lang;
use relaywatch_core::secrets::Secret;
use relaywatch_testkit::samples;

const PLATFORMS: [(ChannelType, &str); 7] = [
    (
        ChannelType::Slack,
        "https://hooks.slack.example/services/TFAKE/BFAKE/fake-token",
    ),
    (
        ChannelType::Discord,
        "https://discord.example/api/webhooks/1/fake-token",
    ),
    (
        ChannelType::Dingtalk,
        "https://oapi.dingtalk.example/robot/send?access_token=fake",
    ),
    (
        ChannelType::Wecom,
        "https://qyapi.weixin.example/cgi-bin/webhook/send?key=fake",
    ),
    (
        ChannelType::Feishu,
        "https://open.feishu.example/open-apis/bot/v2/hook/fake",
    ),
    (ChannelType::Telegram, "123456:fake-token"),
    (ChannelType::Generic, "https://receiver.example/hook"),
];

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    for lang in [Lang::En, Lang::ZhCn] {
        let (_, report) = samples::all(lang).remove(0);
        let now = samples::sample_time().with_timezone(&chrono::Utc);
        let ctx = |url: &str| EncodeContext {
            url: Secret::new(url),
            secret: Some(Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
            lang,
            format: None,
            keyword: None,
            mentions: Vec::new(),
            api_base: None,
            chat_id: Some("-1001".into()),
            message_id: "msg-1".into(),
            now,
        };
        let contexts: Vec<(ChannelType, EncodeContext)> =
            PLATFORMS.iter().map(|(k, u)| (*k, ctx(u))).collect();
        let mut all = Vec::with_capacity(runs);
        let mut per: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); PLATFORMS.len()];
        let mut requests = 0;
        for _ in 0..runs {
            let started = Instant::now();
            requests = 0;
            for (i, (kind, c)) in contexts.iter().enumerate() {
                let t = Instant::now();
                requests += dispatch::encode(*kind, &report, c, None).len();
                per[i].push(t.elapsed().as_secs_f64() * 1000.0);
            }
            all.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        all.sort_by(f64::total_cmp);
        println!(
            "report ({}) for 7 platforms, {requests} requests: median {:.3} ms, p95 {:.3} ms  [target ≤ 5 ms]",
            lang.as_str(),
            all[runs / 2],
            all[runs * 95 / 100]
        );
        for (i, (kind, _)) in PLATFORMS.iter().enumerate() {
            per[i].sort_by(f64::total_cmp);
            println!("  {:<9} median {:.3} ms", kind.as_str(), per[i][runs / 2]);
        }
    }
}
