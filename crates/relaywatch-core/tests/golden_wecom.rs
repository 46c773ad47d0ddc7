//! WeCom channel: golden requests for every sample in both languages (markdown, and markdown_v2
//! for the table-heavy ones), chart images (base64 + md5, downscaled over 2 MB), the errcode table
//! and the 4096-byte budget. Rule: no network; expected hashes are literals computed elsewhere.

#[path = "common/golden.rs"]
mod golden;

use std::time::Duration;

use chrono::Utc;
use relaywatch_core::channels::{wecom, Body, EncodeContext, Outcome, Request};
use relaywatch_core::config::Lang;
use relaywatch_core::render::message::{Section, Table};
use relaywatch_core::secrets::{assert_no_secret_in, Secret};
use relaywatch_testkit::samples;
use serde_json::{json, Value};

const URL: &str = "https://qyapi.weixin.example/cgi-bin/webhook/send?key=fake-key";

fn ctx(lang: Lang, format: Option<&str>) -> EncodeContext {
    EncodeContext {
        url: Secret::new(URL),
        secret: None,
        lang,
        format: format.map(str::to_string),
        keyword: None,
        mentions: Vec::new(),
        api_base: None,
        chat_id: None,
        message_id: "msg_fixed-0001".into(),
        now: samples::sample_time().with_timezone(&Utc),
    }
}

fn json_body(r: &Request) -> &Value {
    match &r.body {
        Body::Json { value } => value,
        Body::Multipart { .. } => panic!("WeCom sends JSON"),
    }
}

fn content(r: &Request) -> Option<&str> {
    let b = json_body(r);
    let t = b["msgtype"].as_str().unwrap();
    b[t]["content"].as_str()
}

#[test]
fn golden_requests_for_every_sample() {
    for lang in [Lang::En, Lang::ZhCn] {
        for (name, msg) in samples::all(lang) {
            let reqs = wecom::encode(&msg, &ctx(lang, None));
            golden::check_golden(
                &format!("wecom/{name}.{}.json", lang.as_str()),
                &golden::dump(&reqs),
            );
            if ["report", "leaderboard", "quota-firing"].contains(&name.as_str()) {
                let reqs = wecom::encode(&msg, &ctx(lang, Some("markdown_v2")));
                golden::check_golden(
                    &format!("wecom/{name}.{}.v2.json", lang.as_str()),
                    &golden::dump(&reqs),
                );
            }
        }
    }
}

#[test]
fn report_is_markdown_then_one_image_per_chart() {
    let (_, report) = samples::all(Lang::ZhCn).remove(0);
    let reqs = wecom::encode(&report, &ctx(Lang::ZhCn, None));
    let types: Vec<&str> = reqs
        .iter()
        .map(|r| json_body(r)["msgtype"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["markdown", "image", "image", "image", "image"],
        "text first, then the four charts"
    );
    let png = samples::tiny_png();
    let img = &json_body(&reqs[1])["image"];
    // md5 of the raw PNG bytes (not of the base64), base64 of the raw bytes.
    assert_eq!(img["md5"], relaywatch_core::channels::sign::md5_hex(&png));
    assert_eq!(
        img["base64"],
        relaywatch_core::channels::sign::base64_encode(&png)
    );
    let md = content(&reqs[0]).unwrap();
    assert!(md.contains("<font color=\"warning\">"), "{md}");
    assert!(!md.contains("| ---"), "no tables in markdown v1");
    let v2 = wecom::encode(&report, &ctx(Lang::ZhCn, Some("markdown_v2")));
    assert_eq!(json_body(&v2[0])["msgtype"], "markdown_v2");
    let md2 = content(&v2[0]).unwrap();
    assert!(md2.contains("|---:|"), "tables in markdown v2: {md2}");
    assert!(!md2.contains("<font"), "no colours in markdown v2");
}

#[test]
fn md5_matches_an_independent_computation() {
    // `printf abc | md5sum`
    assert_eq!(
        relaywatch_core::channels::sign::md5_hex(b"abc"),
        "900150983cd24fb0d6963f7d28e17f72"
    );
}

#[test]
fn mentions_in_markdown_v1_only() {
    let (_, m) = samples::all(Lang::En)
        .into_iter()
        .find(|(n, _)| n == "breaker-open")
        .unwrap();
    let mut c = ctx(Lang::En, None);
    c.mentions = vec!["zhangsan".into()];
    let reqs = wecom::encode(&m, &c);
    assert!(content(&reqs[0]).unwrap().ends_with("<@zhangsan>"));
    c.format = Some("markdown_v2".into());
    let reqs = wecom::encode(&m, &c);
    assert!(!content(&reqs[0]).unwrap().contains("<@"));
}

/// A deterministic noise PNG of `w`×`h` RGB pixels: incompressible, so its file is about
/// `w*h*3` bytes.
fn noise_png(w: u32, h: u32) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(&pixels).unwrap();
    }
    out
}

fn png_size(png: &[u8]) -> (u32, u32) {
    let r = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    (r.info().width, r.info().height)
}

#[test]
fn images_over_2mb_are_halved_until_they_fit() {
    let big = noise_png(1000, 1000);
    assert!(big.len() > wecom::MAX_IMAGE_BYTES, "{}", big.len());
    let body = wecom::image_body(&big).expect("halved to fit");
    let b64 = body["image"]["base64"].as_str().unwrap();
    let raw = relaywatch_core::channels::sign::base64_decode(b64).unwrap();
    assert!(raw.len() <= wecom::MAX_IMAGE_BYTES);
    assert_eq!(png_size(&raw), (500, 500));
    assert_eq!(
        body["image"]["md5"],
        relaywatch_core::channels::sign::md5_hex(&raw)
    );
    // Small images are sent as they are; broken oversized ones are left out.
    let tiny = samples::tiny_png();
    assert_eq!(
        wecom::fit_image(&tiny, wecom::MAX_IMAGE_BYTES).unwrap(),
        tiny
    );
    assert!(wecom::image_body(&vec![0u8; wecom::MAX_IMAGE_BYTES + 1]).is_none());
    // Odd sizes and a 2×2 box filter: a 3×1 image halves to 1×1.
    let halved = wecom::halve_png(&noise_png(3, 1)).unwrap();
    assert_eq!(png_size(&halved), (1, 1));
}

fn huge_message(lang: Lang) -> relaywatch_core::render::message::Message {
    let (_, mut m) = samples::all(lang).remove(0);
    let table = m.sections[0].table.clone().unwrap();
    for s in 0..10 {
        m.sections.push(Section {
            title: format!("分组 {s}"),
            facts: Vec::new(),
            table: Some(Table {
                columns: table.columns.clone(),
                rows: table
                    .rows
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        r[1] = format!("{}-{}", r[1], "研发".repeat(20));
                        r
                    })
                    .collect(),
            }),
            text: None,
            optional: false,
        });
    }
    m.sections.push(Section {
        title: "错误".into(),
        facts: Vec::new(),
        table: None,
        text: Some("很长的错误信息\n".repeat(800)),
        optional: false,
    });
    m
}

#[test]
fn every_markdown_fits_in_4096_bytes() {
    for format in [None, Some("markdown_v2")] {
        for lang in [Lang::En, Lang::ZhCn] {
            let mut all = samples::all(lang);
            all.push(("huge".into(), huge_message(lang)));
            for (name, msg) in all {
                let reqs = wecom::encode(&msg, &ctx(lang, format));
                let texts: Vec<&str> = reqs.iter().filter_map(content).collect();
                assert!(!texts.is_empty());
                for t in texts {
                    assert!(
                        t.len() <= wecom::MAX_MARKDOWN_BYTES,
                        "{name} {format:?}: {} bytes",
                        t.len()
                    );
                }
                if name == "huge" {
                    assert!(reqs.iter().filter(|r| content(r).is_some()).count() > 1);
                }
            }
        }
    }
    let l = wecom::limits();
    assert_eq!((l.rate, l.per), (20, Duration::from_secs(60)));
    assert_eq!(l.max_text, 4096);
    assert!(l.images);
}

fn body(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn errcode_table() {
    let ok = |code: i64, msg: &str| {
        wecom::classify(
            200,
            &[],
            &body(json!({"errcode": code, "errmsg": msg})),
            at(),
        )
    };
    assert_eq!(ok(0, "ok"), Outcome::Delivered { code: Some(0) });
    assert_eq!(
        ok(45009, "api freq out of limit"),
        Outcome::Retry {
            after: None,
            reason: "WeCom errcode 45009: api freq out of limit".into(),
            code: Some(45009),
        }
    );
    assert_eq!(
        ok(93000, "invalid webhook url"),
        Outcome::Fail {
            reason: "WeCom errcode 93000: invalid webhook url (the webhook key is invalid)".into(),
            code: Some(93000),
        }
    );
    assert_eq!(
        ok(40058, "markdown.content exceed max length 4096"),
        Outcome::TooLong {
            reason: "WeCom errcode 40058: markdown.content exceed max length 4096".into(),
            code: Some(40058),
        }
    );
    assert_eq!(
        ok(40008, "invalid message type"),
        Outcome::Fail {
            reason: "WeCom errcode 40008: invalid message type".into(),
            code: Some(40008),
        }
    );
    assert!(matches!(
        ok(-1, "system busy"),
        Outcome::Retry {
            after: None,
            code: Some(-1),
            ..
        }
    ));
    let h = vec![("retry-after".to_string(), "3".to_string())];
    assert!(matches!(
        wecom::classify(429, &h, b"", at()),
        Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(3)
    ));
    assert!(matches!(
        wecom::classify(400, &[], b"bad", at()),
        Outcome::Fail { code: None, .. }
    ));
}

#[test]
fn outcomes_do_not_echo_the_key() {
    let key = "693a91f6-7a1b-4bc4-97a0-0ec2a1fa5aaa";
    let bodies = [
        json!({"errcode": 93000, "errmsg": format!("invalid webhook url, hint: [1700000000_1_abc], from ip: 1.2.3.4, more info at https://open.work.weixin.qq.com/devtool/query?e=93000 key={key}")}),
        json!({"errcode": 93000, "errmsg": format!("invalid webhook url https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}")}),
        json!({"errcode": 45009, "errmsg": format!("api freq out of limit for {key}")}),
    ];
    for b in bodies {
        let o = wecom::classify(200, &[], &body(b), at());
        assert_no_secret_in(&format!("{o:?}"), key);
    }
    let o = wecom::classify(
        502,
        &[],
        format!("upstream https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}").as_bytes(),
        at(),
    );
    assert_no_secret_in(&format!("{o:?}"), key);
    let (_, m) = samples::all(Lang::En).remove(0);
    assert_no_secret_in(
        &format!("{:?}", wecom::encode(&m, &ctx(Lang::En, None))),
        "fake-key",
    );
}

/// The moment the answers are judged at (a Retry-After date counts from it).
fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time")
}
