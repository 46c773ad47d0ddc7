//! The channels under test: one of every type and URL form, their secrets in env and files, the settings and store around them.

use super::*;

pub(crate) fn bare(name: &str, kind: ChannelType) -> ChannelSettings {
    ChannelSettings::new(name, kind)
}

/// The channels of one failure path, all pointed at `base` (`scheme://host:port`); their
/// secrets go to `env` (and a few to files under `dir`).
pub(crate) struct Fleet {
    pub(crate) channels: Vec<ChannelSettings>,
    pub(crate) env: HashMap<String, String>,
}

impl Fleet {
    /// `name`'s `field` resolves to `value`: from a file for every third secret, else from env.
    pub(crate) fn put(
        &mut self,
        dir: &std::path::Path,
        name: &str,
        field: &str,
        value: String,
    ) -> SecretRef {
        let var = format!(
            "{}_{}",
            name.to_uppercase().replace('-', "_"),
            field.to_uppercase()
        );
        if self.env.len() % 3 == 2 {
            let f = dir.join(&var);
            std::fs::write(&f, format!("{value}\n")).unwrap();
            self.env.insert(var, String::new());
            return SecretRef::File {
                file: f.display().to_string(),
            };
        }
        self.env.insert(var.clone(), value);
        SecretRef::Env { env: var }
    }
}

/// One channel of every type and every URL form, at `base`, with fresh secrets.
/// Every platform's webhook URL form and the generic forms (Zapier, Teams, `?apikey=`,
/// `?auth=`, `;token=`, `#fragment`, a bare segment), at `base`, each token from `t`.
pub(crate) fn url_forms(
    base: &str,
    t: &dyn Fn(&str) -> String,
) -> Vec<(&'static str, ChannelType, String)> {
    vec![
        (
            "slack",
            ChannelType::Slack,
            format!("{base}/services/T{}/B{}/{}", t("t"), t("b"), t("sl")),
        ),
        (
            "discord",
            ChannelType::Discord,
            format!("{base}/api/webhooks/{}/{}", t("9"), t("dc")),
        ),
        (
            "dingtalk",
            ChannelType::Dingtalk,
            format!("{base}/robot/send?access_token={}", t("dt")),
        ),
        (
            "wecom",
            ChannelType::Wecom,
            format!("{base}/cgi-bin/webhook/send?key={}", t("wc")),
        ),
        (
            "feishu",
            ChannelType::Feishu,
            format!("{base}/open-apis/bot/v2/hook/{}", t("fs")),
        ),
        (
            "lark",
            ChannelType::Lark,
            format!("{base}/open-apis/bot/v2/hook/{}", t("lk")),
        ),
        (
            "zapier",
            ChannelType::Generic,
            format!("{base}/hooks/catch/{}/{}/", t("1"), t("zp")),
        ),
        (
            "teams",
            ChannelType::Generic,
            format!(
                "{base}/webhookb2/{}@{}/IncomingWebhook/{}/{}",
                t("g1"),
                t("g2"),
                t("tm"),
                t("g3")
            ),
        ),
        (
            "apikey",
            ChannelType::Generic,
            format!("{base}/notify?apikey={}", t("ak")),
        ),
        (
            "auth",
            ChannelType::Generic,
            format!("{base}/notify?auth={}&v=1", t("au")),
        ),
        (
            "semicolon",
            ChannelType::Generic,
            format!("{base}/notify;token={}", t("sc")),
        ),
        (
            "fragment",
            ChannelType::Generic,
            format!("{base}/notify#{}", t("fr")),
        ),
        ("bare", ChannelType::Generic, format!("{base}/{}", t("br"))),
    ]
}

pub(crate) fn fleet(tag: &str, base: &str, sec: &Secrets, dir: &std::path::Path) -> Fleet {
    let mut f = Fleet {
        channels: Vec::new(),
        env: HashMap::new(),
    };
    let t = |name: &str| sec.token(&format!("{tag}{name}"));
    let add = |f: &mut Fleet, name: &str, kind: ChannelType, url: String| {
        let mut c = bare(&format!("{tag}-{name}"), kind);
        c.url = Some(f.put(dir, &c.name.clone(), "url", sec.add(url)));
        f.channels.push(c);
    };
    for (name, kind, url) in url_forms(base, &t) {
        add(&mut f, name, kind, url);
    }
    for i in 0..f.channels.len() {
        let name = f.channels[i].name.clone();
        match f.channels[i].kind {
            ChannelType::Dingtalk => {
                let s = f.put(dir, &name, "secret", sec.add(format!("SEC{}", t("ds"))));
                f.channels[i].secret = Some(s);
            }
            ChannelType::Feishu | ChannelType::Lark => {
                let s = f.put(dir, &name, "secret", t("fk"));
                let a = f.put(dir, &name, "app_secret", t("as"));
                let ch = &mut f.channels[i];
                ch.secret = Some(s);
                ch.app_secret = Some(a);
                ch.app_id = Some("cli_scan".into());
                ch.api_base = Some(base.to_string());
            }
            _ => {}
        }
    }
    let mut g = bare(&format!("{tag}-generic"), ChannelType::Generic);
    g.url = Some(f.put(
        dir,
        &g.name,
        "url",
        sec.add(format!("{base}/hooks/{}/deliver", t("gp"))),
    ));
    g.secret = Some(f.put(
        dir,
        &g.name,
        "secret",
        sec.add(format!("whsec_{}", STANDARD.encode(t("ws")))),
    ));
    g.bearer = Some(f.put(dir, &g.name, "bearer", t("be")));
    f.channels.push(g);
    let mut tg = bare(&format!("{tag}-telegram"), ChannelType::Telegram);
    tg.url = Some(f.put(
        dir,
        &tg.name,
        "url",
        sec.add(format!(
            "{}:{}",
            7_000_000_000u64 + (tag.len() as u64),
            t("AAH")
        )),
    ));
    tg.api_base = Some(base.to_string());
    tg.chat_id = Some("-100200300".into());
    f.channels.push(tg);
    f
}

pub(crate) fn settings(channels: Vec<ChannelSettings>, redis: &str) -> Settings {
    let mut s = Settings {
        channels,
        network: NetworkSettings {
            allow: vec!["127.0.0.0/8".into()],
            timeout_ms: 700,
            allow_http: true,
        },
        ..Default::default()
    };
    s.state.redis_url = Some(redis.to_string());
    s.delivery.backoff_ms = 100;
    s.delivery.backoff_cap_ms = 200;
    s.delivery.attempts = 2;
    s
}

pub(crate) fn store(env: HashMap<String, String>) -> SecretStore {
    SecretStore::default().with_env(move |k| env.get(k).cloned())
}

pub(crate) fn report() -> Message {
    samples::all(Lang::En).remove(0).1
}

pub(crate) fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rw-scan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
