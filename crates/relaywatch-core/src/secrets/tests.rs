//! Tests of secret references, redaction and URL masking.

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
        (
            "https://hooks.zapier.com/hooks/catch/123/ab1cd/",
            "https://hooks.zapier.com/hooks/catch/123/***/",
        ),
        (
            "https://x.webhook.office.com/webhookb2/g1@t1/IncomingWebhook/abc/g2",
            "https://x.webhook.office.com/webhookb2/***/IncomingWebhook/***/***",
        ),
        (
            "https://x.test/n?apikey=a1&auth=b2&v=1",
            "https://x.test/n?apikey=***&auth=***&v=1",
        ),
        ("https://x.test/n;token=t1", "https://x.test/n;token=***"),
        ("https://x.test/n#frag", "https://x.test/n#***"),
    ];
    for (url, want) in cases {
        assert_eq!(redact_url(url), want, "{url}");
    }
    let text = "POST https://open.feishu.cn/open-apis/bot/v2/hook/0000-1111 failed: timeout";
    assert_eq!(
        redact_patterns(text),
        "POST https://open.feishu.cn/open-apis/bot/v2/hook/*** failed: timeout"
    );
    assert_no_secret_in(&redact_patterns(text), "0000-1111");
}

#[test]
fn scrubber_removes_every_form_of_a_url_secret_but_keeps_the_host() {
    let url = "https://hooks.zapier.test/hooks/catch/123456/zq7Tok9x/?apikey=Ak3yVal77&auth=Au7h0rity#frag9Ment";
    let s = Scrubber::of([&Secret::new(url)]);
    let text = format!(
        "POST {url} failed; Cannot POST /hooks/catch/123456/zq7Tok9x/?apikey=Ak3yVal77; \
         {}; {}; {}; auth={}",
        percent(url, false),
        STANDARD.encode("zq7Tok9x"),
        url.replace('/', "\\/"),
        "Au7h0rity"
    );
    let out = s.scrub(&text);
    for needle in ["zq7Tok9x", "Ak3yVal77", "Au7h0rity", "frag9Ment", "123456"] {
        assert!(!out.contains(needle), "{needle} in {out}");
    }
    assert!(s.find_in(&out).is_none(), "{out}");
    assert!(s.find_in(&text).is_some());
    assert!(out.contains("failed"), "{out}");
    assert!(!secret_forms(url).contains(&"hooks.zapier.test".to_string()));
    assert!(s.scrub("hooks.zapier.test").contains("hooks.zapier.test"));
    // Common URL words stay; word-like pieces go only as whole words.
    assert_eq!(s.scrub("the webhook services"), "the webhook services");
    let s = Scrubber::of([&Secret::new("https://h.test/deliver/alerts")]);
    assert_eq!(
        s.scrub("delivered alerts, /deliver/x"),
        "delivered ***, /***/x"
    );
}

#[test]
fn scrubber_handles_tokens_teams_paths_and_path_parameters() {
    let values = [
        "https://x.webhook.office.test/webhookb2/aaaa1111-2222@bbbb3333-4444/IncomingWebhook/cc55dd66ee77/ffff8888",
        "https://hook.test/notify;token=Semi9Colon7",
        "123456789:AAHbotTokenPart_42",
    ];
    let secrets: Vec<Secret> = values.iter().map(|v| Secret::new(*v)).collect();
    let s = Scrubber::of(&secrets);
    let text = "a aaaa1111-2222 b cc55dd66ee77 c ffff8888 d Semi9Colon7 e \
                bot123456789:AAHbotTokenPart_42 f AAHbotTokenPart_42";
    let out = s.scrub(text);
    assert_eq!(out, "a *** b *** c *** d *** e bot*** f ***");
}

#[test]
fn remembered_secrets_and_redis_passwords_are_redacted() {
    remember("whsec_RememberedValue_1");
    remember_url_credentials("redis://:Pa55wordRedis@127.0.0.1:6379/0");
    let out = redact("sig whsec_RememberedValue_1 and Pa55wordRedis and :Pa55wordRedis");
    assert_eq!(out, "sig *** and *** and ***");
    let mut w = ScrubWriter(Vec::new());
    std::io::Write::write_all(&mut w, b"log whsec_RememberedValue_1\n").unwrap();
    assert_eq!(String::from_utf8(w.0).unwrap(), "log ***\n");
}
#[test]
fn masks_user_and_password() {
    assert_eq!(
        mask_url("redis://:s3cret@10.0.0.5:6379/2"),
        "redis://***@10.0.0.5:6379/2"
    );
    assert_eq!(
        mask_url("rediss://user:p@ss@host:6380"),
        "rediss://***@host:6380"
    );
    assert_eq!(mask_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    assert_eq!(
        mask_url("postgres://ez:pw@db:5432/ezapi?sslmode=disable&password=pw2"),
        "postgres://***@db:5432/ezapi?sslmode=disable&password=***"
    );
}
