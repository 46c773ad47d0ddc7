//! The desktop's keychain: the Secret Service (GNOME Keyring, KWallet — what a desktop user
//! has, persistent across reboots) first, then the kernel keyring the headless daemon and
//! `relaywatch secret set` use, so a secret stored either way resolves. Entries are filed under
//! service `relaywatch`, account = the secret's name. Errors name the entry, never the value.

use relaywatch_core::secret_store::{Keychain, OsKeychain};
use relaywatch_core::secrets::Secret;

/// Where a secret was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    SecretService,
    KernelKeyring,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::KernelKeyring => "kernel-keyring",
        }
    }
}

/// Secret Service first, the kernel keyring second.
#[derive(Debug, Clone)]
pub struct DesktopKeychain {
    service: String,
    kernel: OsKeychain,
}

impl Default for DesktopKeychain {
    fn default() -> Self {
        DesktopKeychain::with_service(OsKeychain::SERVICE)
    }
}

impl DesktopKeychain {
    /// Entries under `service` (tests keep theirs apart).
    pub fn with_service(service: &str) -> Self {
        DesktopKeychain {
            service: service.to_string(),
            kernel: OsKeychain::with_service(service),
        }
    }

    #[cfg(target_os = "linux")]
    fn ss_entry(&self, name: &str) -> keyring::Result<keyring::Entry> {
        let cred =
            keyring::secret_service::SsCredential::new_with_target(None, &self.service, name)?;
        Ok(keyring::Entry::new_with_credential(Box::new(cred)))
    }

    #[cfg(not(target_os = "linux"))]
    fn ss_entry(&self, name: &str) -> keyring::Result<keyring::Entry> {
        keyring::Entry::new(&self.service, name)
    }

    /// Stores `value` as `name`: in the Secret Service when one answers, else the kernel keyring.
    pub fn set(&self, name: &str, value: &Secret) -> Result<Backend, String> {
        match self
            .ss_entry(name)
            .and_then(|e| e.set_password(value.expose()))
        {
            Ok(()) => Ok(Backend::SecretService),
            Err(ss) => {
                tracing::info!(
                    "Secret Service unavailable ({ss}); using the kernel keyring for {name}"
                );
                self.kernel
                    .set(name, value)
                    .map(|_| Backend::KernelKeyring)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Removes `name` from both stores; `true` when either had it.
    pub fn delete(&self, name: &str) -> Result<bool, String> {
        let ss = match self.ss_entry(name).and_then(|e| e.delete_credential()) {
            Ok(()) => true,
            Err(keyring::Error::NoEntry) => false,
            Err(_) => false,
        };
        let kernel = self.kernel.delete(name).map_err(|e| e.to_string())?;
        Ok(ss || kernel)
    }

    /// Reads `name` and says which store had it.
    pub fn get_with_backend(&self, name: &str) -> Result<Option<(String, Backend)>, String> {
        let ss_err = match self.ss_entry(name).and_then(|e| e.get_password()) {
            Ok(v) => return Ok(Some((v, Backend::SecretService))),
            Err(keyring::Error::NoEntry) => None,
            Err(e) => Some(e.to_string()),
        };
        match self.kernel.get(name) {
            Ok(Some(v)) => Ok(Some((v, Backend::KernelKeyring))),
            Ok(None) => Ok(None),
            Err(k) => Err(match ss_err {
                Some(s) => format!("secret {name}: Secret Service: {s}; kernel keyring: {k}"),
                None => format!("secret {name}: {k}"),
            }),
        }
    }
}

impl Keychain for DesktopKeychain {
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        self.get_with_backend(name).map(|o| o.map(|(v, _)| v))
    }
}

/// Stores, reads back and deletes a throwaway entry; says which backend held it.
pub fn round_trip(k: &DesktopKeychain) -> Result<Backend, String> {
    let name = format!("relaywatch-desktop-check-{}", std::process::id());
    let value = Secret::new(format!("check-{}", std::process::id()));
    let stored = k.set(&name, &value)?;
    let read = k.get_with_backend(&name)?;
    let deleted = k.delete(&name)?;
    match read {
        Some((v, b)) if v == value.expose() && b == stored && deleted => Ok(b),
        Some((_, b)) => Err(format!(
            "keychain check: stored in {}, read back from {} {}",
            stored.as_str(),
            b.as_str(),
            if deleted {
                "with a different value"
            } else {
                "but could not delete it"
            }
        )),
        None => Err(format!(
            "keychain check: stored in {} but could not read it back",
            stored.as_str()
        )),
    }
}
