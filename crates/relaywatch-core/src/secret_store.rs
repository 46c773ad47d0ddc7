//! Resolving secret references to values: environment variables and files always; the OS
//! keychain when a keychain backend is given (the desktop app's). Errors name the reference,
//! never the value.

use crate::config::channels::SecretRef;
use crate::secrets::Secret;

/// A secret reference could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {reference}: {reason}")]
    Unavailable { reference: String, reason: String },
}

/// A keychain backend (the desktop app plugs in the OS keychain).
pub trait Keychain: Send + Sync {
    fn get(&self, name: &str) -> Result<Option<String>, String>;
}

/// An environment lookup.
type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Resolves secret references.
pub struct SecretStore {
    keychain: Option<Box<dyn Keychain>>,
    env: EnvLookup,
}

impl Default for SecretStore {
    fn default() -> Self {
        SecretStore {
            keychain: None,
            env: Box::new(|k| std::env::var(k).ok()),
        }
    }
}

impl SecretStore {
    /// With a keychain backend.
    pub fn with_keychain(mut self, k: Box<dyn Keychain>) -> Self {
        self.keychain = Some(k);
        self
    }

    /// With an environment lookup other than the process's (tests).
    pub fn with_env(
        mut self,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Box::new(env);
        self
    }

    pub fn resolve(&self, r: &SecretRef) -> Result<Secret, SecretError> {
        let fail = |reason: String| SecretError::Unavailable {
            reference: r.describe(),
            reason,
        };
        let value = match r {
            SecretRef::Env { env } => (self.env)(env)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| fail(format!("the environment variable {env} is not set")))?,
            SecretRef::File { file } => {
                let text = std::fs::read_to_string(file).map_err(|e| fail(e.to_string()))?;
                let v = text.trim_end_matches(['\n', '\r']).to_string();
                if v.is_empty() {
                    return Err(fail("the file is empty".into()));
                }
                v
            }
            SecretRef::Keychain { keychain } => match &self.keychain {
                None => {
                    return Err(fail(
                        "no keychain here (a server without a desktop session): use { env = \"VAR\" } or { file = \"/path\" }".into(),
                    ))
                }
                Some(k) => k
                    .get(keychain)
                    .map_err(fail)?
                    .ok_or_else(|| fail("no such keychain entry".into()))?,
            },
            SecretRef::Plain(_) => {
                return Err(fail("literal secrets are not accepted in the config".into()))
            }
        };
        Ok(Secret::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_file_resolve_and_errors_hide_values() {
        let store = SecretStore::default()
            .with_env(|k| (k == "HOOK").then(|| "https://x/hook/tok".to_string()));
        let s = store
            .resolve(&SecretRef::Env { env: "HOOK".into() })
            .unwrap();
        assert_eq!(s.expose(), "https://x/hook/tok");
        let e = store
            .resolve(&SecretRef::Env { env: "NOPE".into() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("NOPE"), "{e}");
        let dir = std::env::temp_dir().join(format!("rw-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s");
        std::fs::write(&f, "whsec_abc\n").unwrap();
        let s = store
            .resolve(&SecretRef::File {
                file: f.display().to_string(),
            })
            .unwrap();
        assert_eq!(s.expose(), "whsec_abc");
        let e = store
            .resolve(&SecretRef::Plain("https://x/hook/tok".into()))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("tok"), "{e}");
        let e = store
            .resolve(&SecretRef::Keychain {
                keychain: "team".into(),
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("keychain team"), "{e}");
    }
}
