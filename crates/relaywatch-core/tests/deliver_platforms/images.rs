//! Charts as images: Feishu with app credentials (tenant token, one upload per chart, the card
//! by image_key) and report charts reaching Discord and Telegram.

use super::discord::discord_ok;
use super::*;

/// Feishu with app credentials: a tenant token, one image upload per chart, then the card
/// showing them by `image_key` — all against a loopback stand-in for the open API.
#[tokio::test]
async fn feishu_with_app_credentials_sends_charts_as_images() {
    const APP_SECRET: &str = "fake-app-secret-123";
    let rx = Receiver::start(vec![
        Reply::json(
            200,
            r#"{"code":0,"msg":"ok","tenant_access_token":"t-fake-tenant","expire":7200}"#,
        ),
        Reply::json(200, r#"{"code":0,"data":{"image_key":"img_v2_overview"}}"#),
        Reply::json(200, r#"{"code":0,"data":{"image_key":"img_v2_models"}}"#),
        Reply::json(200, r#"{"code":0,"data":{"image_key":"img_v2_trend"}}"#),
        Reply::json(200, r#"{"code":0,"data":{"image_key":"img_v2_top_keys"}}"#),
        Reply::json(200, r#"{"code":0,"msg":"success"}"#),
    ])
    .await;
    let port = rx.port();
    let settings = settings(
        ChannelSettings {
            api_base: Some(format!("http://127.0.0.1:{port}")),
            app_id: Some("cli_fake".into()),
            app_secret: Some(SecretRef::Env {
                env: "APP_SECRET".into(),
            }),
            ..channel(ChannelType::Feishu, port)
        },
        2_000,
    );
    let url = url_for(ChannelType::Feishu, port);
    let store = SecretStore::default().with_env(move |k| match k {
        "URL" => Some(url.clone()),
        "APP_SECRET" => Some(APP_SECRET.to_string()),
        _ => None,
    });
    let s = ChannelSender::new(&settings, NAME, &store).expect("sender");
    let (_, report) = samples::all(Lang::ZhCn).remove(0);
    assert_eq!(report.charts.len(), 4);
    let sent = s.send(&report, "msg-1", Utc::now()).await;
    assert!(sent.delivered(), "{sent:?}");
    let seen = rx.seen();
    let targets: Vec<&str> = seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets[0],
        "/open-apis/auth/v3/tenant_access_token/internal"
    );
    assert!(
        targets[1..5]
            .iter()
            .all(|t| *t == "/open-apis/im/v1/images"),
        "{targets:?}"
    );
    assert_eq!(targets[5], expected_target(ChannelType::Feishu));
    assert!(
        String::from_utf8_lossy(&seen[0].body).contains(APP_SECRET),
        "the token call carries the app secret"
    );
    let card = String::from_utf8_lossy(&seen[5].body);
    for key in [
        "img_v2_overview",
        "img_v2_models",
        "img_v2_trend",
        "img_v2_top_keys",
    ] {
        assert!(card.contains(key), "{key} in the card");
    }
    let shown = format!("{sent:?}");
    assert_no_secret_in(&shown, APP_SECRET);
    assert_no_secret_in(&shown, "t-fake-tenant");
    no_leak(&sent);
}

/// The dashboard report with its four charts reaches Discord as multipart attachments shown in
/// embeds, and Telegram as a text message plus one PNG document per chart.
#[tokio::test]
async fn report_charts_reach_discord_and_telegram_as_images() {
    let (_, report) = samples::all(Lang::En).remove(0);
    assert_eq!(report.charts.len(), 4);
    let png = samples::tiny_png();

    let rx = Receiver::start(vec![discord_ok()]).await;
    let sent = sender(ChannelType::Discord, rx.port(), 2_000)
        .send(&report, "msg-1", Utc::now())
        .await;
    assert!(sent.delivered(), "{sent:?}");
    let seen = rx.seen();
    assert_eq!(
        seen.len(),
        1,
        "one multipart request carries text and charts"
    );
    let body = &seen[0].body;
    let text = String::from_utf8_lossy(body);
    for stem in ["overview", "models", "trend", "top-keys"] {
        assert!(
            text.contains(&format!("attachment://{stem}.png")),
            "{stem} shown in an embed"
        );
        assert!(
            text.contains(&format!("filename=\"{stem}.png\"")),
            "{stem} attached"
        );
    }
    let png_copies = body
        .windows(png.len())
        .filter(|w| *w == png.as_slice())
        .count();
    assert_eq!(png_copies, 4, "the four PNGs travel as they are");
    no_leak(&sent);

    let rx = Receiver::start(vec![Reply::json(200, r#"{"ok":true,"result":{}}"#)]).await;
    let sent = sender(ChannelType::Telegram, rx.port(), 2_000)
        .send(&report, "msg-1", Utc::now())
        .await;
    assert!(sent.delivered(), "{sent:?}");
    let targets: Vec<String> = rx.seen().iter().map(|r| r.target.clone()).collect();
    let messages = targets
        .iter()
        .filter(|t| t.ends_with("/sendMessage"))
        .count();
    let documents = targets
        .iter()
        .filter(|t| t.ends_with("/sendDocument"))
        .count();
    assert!(messages >= 1, "{targets:?}");
    assert_eq!(documents, 4, "{targets:?}");
    for r in rx
        .seen()
        .iter()
        .filter(|r| r.target.ends_with("/sendDocument"))
    {
        assert_eq!(
            r.body
                .windows(png.len())
                .filter(|w| *w == png.as_slice())
                .count(),
            1
        );
    }
    no_leak(&sent);
}
