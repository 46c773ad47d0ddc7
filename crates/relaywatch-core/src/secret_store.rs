//! Resolving secret references to values: environment variables and files always; the OS
//! keychain when a keychain backend is given ([`OsKeychain`] behind the default `keychain`
//! feature: the kernel keyring on Linux, the Keychain on macOS, the Credential Manager on
//! Windows; service `relaywatch`). Errors name the reference, never the value; every value
//! resolved is remembered, so `secrets::redact` scrubs it from any later text.

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
    /// The store for this machine: env and files, plus the OS keychain when this build has
    /// the `keychain` feature.
    pub fn for_this_machine() -> Self {
        let store = SecretStore::default();
        #[cfg(feature = "keychain")]
        let store = store.with_keychain(Box::new(OsKeychain::new()));
        store
    }

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

    /// A database URL: a literal is accepted (its password is masked wherever it shows), a
    /// reference is resolved as any secret.
    pub fn resolve_url(&self, r: &SecretRef) -> Result<Secret, SecretError> {
        match r {
            SecretRef::Plain(u) => {
                crate::secrets::remember_url_credentials(u);
                Ok(Secret::new(u.clone()))
            }
            r => self.resolve(r),
        }
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
        // From now on every `secrets::redact` of this process scrubs it, in all its forms.
        crate::secrets::remember(&value);
        Ok(Secret::new(value))
    }
}

/// The OS keychain through the `keyring` crate: entries of service [`OsKeychain::SERVICE`]
/// whose account is the secret's name. On Linux this is the kernel keyring (keyutils syscalls,
/// the user's keyring): no D-Bus or system library, shared by the user's processes, gone after
/// a reboot. macOS: the login Keychain; Windows: the Credential Manager.
#[cfg(feature = "keychain")]
#[derive(Debug, Clone)]
pub struct OsKeychain {
    service: String,
}

#[cfg(feature = "keychain")]
impl Default for OsKeychain {
    fn default() -> Self {
        OsKeychain::new()
    }
}

#[cfg(feature = "keychain")]
impl OsKeychain {
    /// The keychain service every relaywatch entry is filed under.
    pub const SERVICE: &'static str = "relaywatch";

    pub fn new() -> Self {
        OsKeychain::with_service(Self::SERVICE)
    }

    /// Entries under another service (tests keep theirs apart).
    pub fn with_service(service: &str) -> Self {
        OsKeychain {
            service: service.to_string(),
        }
    }

    /// Runs `op` on the entry `name`. On Linux the entry is a key in the kernel's **user**
    /// keyring (description `keyring-rs:NAME@relaywatch`): every process of this user sees it
    /// (a `secret set` over SSH reaches the daemon), until reboot. Not the session keyring
    /// `keyring` picks by default: a service's session is not the login's; and not linked into
    /// the persistent keyring, which containers often leave unsearchable (the link makes every
    /// search fail with EACCES).
    fn with_entry<T>(
        &self,
        name: &str,
        op: impl Fn(&keyring::Entry) -> keyring::Result<T>,
    ) -> keyring::Result<T> {
        #[cfg(target_os = "linux")]
        {
            use keyring::keyutils::{decode_error, KeyutilsCredential};
            use linux_keyutils::{KeyRing, KeyRingIdentifier};
            let user =
                KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(decode_error)?;
            let cred = KeyutilsCredential {
                session: user,
                persistent: None,
                description: format!("keyring-rs:{name}@{}", self.service),
            };
            op(&keyring::Entry::new_with_credential(Box::new(cred)))
        }
        #[cfg(not(target_os = "linux"))]
        {
            op(&keyring::Entry::new(&self.service, name)?)
        }
    }

    /// Stores `value` as `name` (replacing what was there).
    pub fn set(&self, name: &str, value: &crate::secrets::Secret) -> Result<(), SecretError> {
        self.with_entry(name, |e| e.set_password(value.expose()))
            .map_err(|e| keychain_error(name, e))
    }

    /// Removes `name`; `false` when there was no such entry.
    pub fn delete(&self, name: &str) -> Result<bool, SecretError> {
        match self.with_entry(name, |e| e.delete_credential()) {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keychain_error(name, e)),
        }
    }
}

/// A keychain failure, naming the entry and never a value (`keyring`'s errors carry none).
#[cfg(feature = "keychain")]
fn keychain_error(name: &str, e: keyring::Error) -> SecretError {
    SecretError::Unavailable {
        reference: format!("keychain {name}"),
        reason: format!(
            "the OS keychain refused: {e}; on a server without a keychain use {{ env = \"VAR\" }} \
             or {{ file = \"/path\" }}"
        ),
    }
}

#[cfg(feature = "keychain")]
impl Keychain for OsKeychain {
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        match self.with_entry(name, |e| e.get_password()) {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(format!("the OS keychain refused: {e}")),
        }
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
