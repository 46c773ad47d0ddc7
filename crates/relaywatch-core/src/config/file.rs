//! Finding and reading `relaywatch.toml`: `--config`, then `RELAYWATCH_CONFIG`, then the OS
//! config dir; a missing default file means "all defaults". Env overrides apply on top, and the
//! result is validated before anyone uses it.

use std::path::{Path, PathBuf};

use super::{apply_env, EnvSource, Settings};
use crate::error::Error;

/// A validated configuration and the file it came from, if any.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub settings: Settings,
    pub path: Option<PathBuf>,
}

/// `$XDG_CONFIG_HOME/relaywatch/relaywatch.toml` (or the platform's equivalent).
pub fn default_config_path(env: &dyn EnvSource) -> Option<PathBuf> {
    let base = if cfg!(target_os = "macos") {
        env.var("HOME")
            .map(|h| PathBuf::from(h).join("Library/Application Support"))
    } else if cfg!(windows) {
        env.var("APPDATA").map(PathBuf::from)
    } else {
        env.var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| env.var("HOME").map(|h| PathBuf::from(h).join(".config")))
    };
    base.map(|b| b.join("relaywatch").join("relaywatch.toml"))
}

/// Parse a TOML text (no env, no validation). A parse error shows the line with its value
/// masked (the line may hold a secret); the Redis URLs' passwords are remembered for scrubbing.
pub fn load_from_str(text: &str, name: &str) -> Result<Settings, Error> {
    let mut settings = toml::from_str::<Settings>(text).map_err(|e| Error::ConfigFile {
        path: PathBuf::from(name),
        reason: toml_error(text, &e),
    })?;
    ezapi_defaults(&mut settings, text);
    settings.remember_credentials();
    Ok(settings)
}

/// With `[events] source = "ezapi"`, an error-rate rule whose `dimensions` the file leaves out
/// counts one global window, as EZ-API's own rule does (so the defaults reproduce it exactly).
fn ezapi_defaults(s: &mut Settings, text: &str) {
    use super::rules::{Dimension, EventSourceKind};
    if s.events.source != EventSourceKind::Ezapi {
        return;
    }
    let set = toml::from_str::<toml::Value>(text).ok().is_some_and(|v| {
        v.get("rules")
            .and_then(|r| r.get("error_rate"))
            .and_then(|e| e.get("dimensions"))
            .is_some()
    });
    if !set {
        s.rules.error_rate.dimensions = vec![Dimension::Global];
    }
}

/// A TOML error as `line L, column C: message` and the line, values masked.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = mask_message(e.message().trim_end());
    let Some(start) = e.span().map(|s| s.start.min(text.len())) else {
        return msg;
    };
    let before = text.get(..start).unwrap_or("");
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("");
    format!(
        "line {line_no}, column {col}: {msg}\n  {line_no} | {}",
        mask_line(line)
    )
}

/// A TOML line with its value masked: `key = ***`; a table header as written (quoted parts
/// masked); anything else `***`.
fn mask_line(line: &str) -> String {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '=') if is_key(&line[..i]) => return format!("{}= ***", &line[..i]),
            (None, '=') => break,
            _ => {}
        }
    }
    if line.trim_start().starts_with('[') || line.trim().is_empty() {
        mask_message(line)
    } else {
        "***".into()
    }
}

/// Whether `text` reads as a TOML key (bare or dotted, quotes aside): shown as written.
fn is_key(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || " \t_-.\"'".contains(c))
}

/// `text` with every quoted string (`"…"`, `'…'`) masked, and the value an `unknown variant`
/// error names in backticks.
fn mask_message(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote = None;
    let mut variant = text.contains("unknown variant `");
    for c in text.chars() {
        match quote {
            None if c == '"' || c == '\'' || (c == '`' && variant) => {
                out.push(c);
                out.push_str("***");
                quote = Some(c);
            }
            None => out.push(c),
            Some(q) if c == q => {
                out.push(c);
                quote = None;
                if q == '`' {
                    variant = false;
                }
            }
            Some(_) => {}
        }
    }
    out
}

/// Read, override from the environment, and validate.
pub fn load(explicit: Option<&Path>, env: &dyn EnvSource) -> Result<LoadedConfig, Error> {
    let chosen: Option<(PathBuf, bool)> = match explicit {
        Some(p) => Some((p.to_path_buf(), true)),
        None => match env.var("RELAYWATCH_CONFIG") {
            Some(p) => Some((PathBuf::from(p), true)),
            None => default_config_path(env).map(|p| (p, false)),
        },
    };
    let (mut settings, path) = match chosen {
        Some((path, required)) => match std::fs::read_to_string(&path) {
            Ok(text) => (
                load_from_str(&text, &path.display().to_string())?,
                Some(path),
            ),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                (Settings::default(), None)
            }
            Err(e) => {
                return Err(Error::ConfigFile {
                    path,
                    reason: e.to_string(),
                })
            }
        },
        None => (Settings::default(), None),
    };
    let mut errors = apply_env(&mut settings, env);
    settings.remember_credentials();
    errors.extend(settings.problems());
    if !errors.is_empty() {
        return Err(Error::Config {
            source_name: path.as_ref().map(|p| p.display().to_string()),
            errors,
        });
    }
    Ok(LoadedConfig { settings, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ezapi_counts_one_global_window_unless_told_otherwise() {
        use crate::config::rules::Dimension;
        let ez = "[events]\nsource = \"ezapi\"\ndatabase_url = { env = \"EZ\" }\n";
        let s = load_from_str(ez, "t").unwrap();
        assert_eq!(s.rules.error_rate.dimensions, vec![Dimension::Global]);
        let s = load_from_str(
            &format!("{ez}[rules.error_rate]\ndimensions = [\"global\", \"key\"]\n"),
            "t",
        )
        .unwrap();
        assert_eq!(
            s.rules.error_rate.dimensions,
            vec![Dimension::Global, Dimension::Key]
        );
        let s = load_from_str("", "t").unwrap();
        assert_eq!(
            s.rules.error_rate.dimensions.len(),
            2,
            "the stream keeps global + provider"
        );
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn unknown_field_is_refused_with_its_name() {
        let err = load_from_str("[report]\ntrend_dayz = 3\n", "t.toml").unwrap_err();
        assert!(err.to_string().contains("trend_dayz"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_line() {
        let err = load_from_str("[report]\ntrend_days = \"many\"\n", "t.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("trend_days"), "{msg}");
    }

    #[test]
    fn toml_errors_mask_the_line_and_quoted_values() {
        let text = "[[channels]]\nname = \"hook\"\ntype = \"slack\"\nurll = \"https://hooks.slack.com/services/T1/B2/zzSECRETzz9\"\n";
        let msg = load_from_str(text, "t.toml").unwrap_err().to_string();
        assert!(msg.contains("urll"), "{msg}");
        assert!(msg.contains("line 4"), "{msg}");
        assert!(!msg.contains("zzSECRETzz9"), "{msg}");
        let text = "[report]\ntrend_days = \"https://x.test/s3cretPath99\"\n";
        let msg = load_from_str(text, "t.toml").unwrap_err().to_string();
        assert!(msg.contains("trend_days"), "{msg}");
        assert!(!msg.contains("s3cretPath99"), "{msg}");
        let text = "[report]\ntrend_days = 3\nhttps://x.test/hook/s3cretPath99\n";
        let msg = load_from_str(text, "t.toml").unwrap_err().to_string();
        assert!(!msg.contains("s3cretPath99"), "{msg}");
        assert_eq!(mask_line("  url = { env = \"X\" }"), "  url = ***");
        assert_eq!(mask_line("[[channels]]"), "[[channels]]");
        assert_eq!(mask_line("https://x.test/hook/s3cret?a=b"), "***");
        assert_eq!(
            mask_message("unknown variant `s3cr3t`, expected `slack`"),
            "unknown variant `***`, expected `slack`"
        );
    }

    #[test]
    fn explicit_missing_file_is_an_error_and_default_missing_is_not() {
        let dir = std::env::temp_dir().join(format!("rw-cfg-{}", std::process::id()));
        let err = load(Some(&dir.join("nope.toml")), &no_env).unwrap_err();
        assert!(err.to_string().contains("nope.toml"));
        let home = dir.display().to_string();
        let env = move |k: &str| (k == "HOME").then(|| home.clone());
        let loaded = load(None, &env).unwrap();
        assert!(loaded.path.is_none());
    }

    #[test]
    fn file_values_are_validated() {
        let dir = std::env::temp_dir().join(format!("rw-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("relaywatch.toml");
        std::fs::write(&f, "[report]\ntop_keys = 50\n").unwrap();
        let err = load(Some(&f), &no_env).unwrap_err().to_string();
        assert!(
            err.contains("`report.top_keys` = 50: must be between 1 and 20"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 2, "{err}");
    }
}
