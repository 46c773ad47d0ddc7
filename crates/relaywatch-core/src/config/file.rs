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

/// Parse a TOML text (no env, no validation).
pub fn load_from_str(text: &str, name: &str) -> Result<Settings, Error> {
    toml::from_str::<Settings>(text).map_err(|e| Error::ConfigFile {
        path: PathBuf::from(name),
        reason: e.to_string().trim_end().to_string(),
    })
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
