//! The testkit's sample messages as the engine renders them: one of every kind in both
//! languages, and no secret from a delivery failure in any of them. Rule: pure, no I/O.

use relaywatch_core::config::Lang;
use relaywatch_core::render::markdown;
use relaywatch_core::secrets::assert_no_secret_in;
use relaywatch_testkit::samples;

#[test]
fn every_kind_in_both_languages() {
    for lang in [Lang::En, Lang::ZhCn] {
        let all = samples::all(lang);
        let kinds: std::collections::HashSet<_> = all.iter().map(|(_, m)| m.kind).collect();
        assert_eq!(kinds.len(), 8, "every MessageKind has a sample");
        for (name, m) in &all {
            assert!(!m.title.is_empty(), "{name}");
            assert_eq!(m.lang, lang);
        }
    }
    let zh = samples::all(Lang::ZhCn);
    assert!(zh[0].1.title.contains("仪表盘"));
    let en = samples::all(Lang::En);
    assert_eq!(en[0].1.charts.len(), 4);
    assert!(en[0].1.sections[0].table.as_ref().unwrap().rows[0][1] == "研发部-主力");
}

#[test]
fn secrets_never_reach_a_delivery_failure_notice() {
    for (name, m) in samples::all(Lang::En) {
        let json = serde_json::to_string(&m).unwrap();
        assert_no_secret_in(&json, "00000000-fake");
        let md = markdown::render(&m);
        assert_no_secret_in(&md, "00000000-fake");
        let _ = name;
    }
}
