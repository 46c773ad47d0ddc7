//! Where secrets typed in the UI (webhook URLs, signing secrets, the serve token) are kept: the OS
//! keychain, else a 0600 file per secret in `secrets/` next to the config (0700 folder). Also the
//! masks shown instead of values. Rule: a value goes to the keychain or that file and nowhere
//! else; the config only gets the reference.

use std::path::{Path, PathBuf};

use crate::config::channels::SecretRef;
use crate::secret_store::SecretStore;
use crate::secrets::Secret;

use super::error::ServiceError;

/// Where new secrets go.
pub enum Vault {
    /// The OS keychain (service `relaywatch`).
    #[cfg(feature = "keychain")]
    Keychain(crate::secret_store::OsKeychain),
    /// One 0600 file per secret in this folder.
    Files(PathBuf),
}

/// The mask shown for a secret's resolved value: `••••` and its last 4 characters, or `set`
/// when shorter than 12 characters (the tail would give too much away).
pub fn mask_value(value: &str) -> String {
    let n = value.chars().count();
    if n < 12 {
        return "set".into();
    }
    let tail: String = value.chars().skip(n - 4).collect();
    format!("••••{tail}")
}

/// The mask of a reference: from its value when it resolves, else `missing`.
pub fn mask_ref(store: &SecretStore, r: &SecretRef) -> String {
    match store.resolve(r) {
        Ok(v) => mask_value(v.expose()),
        Err(_) => "missing".into(),
    }
}

/// A keychain entry or file name: letters, digits, `-`, `_`, `.` only.
pub fn entry_name(channel: &str, field: &str) -> String {
    let clean: String = channel
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("relaywatch-{clean}-{field}")
}

/// The folder of the file fallback: `secrets/` next to the config file.
pub fn files_dir(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("secrets")
}

impl Vault {
    /// The keychain when it works here (a write, read back and delete succeed), else files;
    /// `RELAYWATCH_NO_KEYCHAIN` set forces files.
    pub fn detect(config_path: &Path) -> Vault {
        #[cfg(feature = "keychain")]
        if std::env::var_os("RELAYWATCH_NO_KEYCHAIN").is_none() {
            use crate::secret_store::{Keychain, OsKeychain};
            let k = OsKeychain::new();
            let probe = format!("relaywatch-probe-{}", std::process::id());
            let ok = k.set(&probe, &Secret::new("probe")).is_ok()
                && matches!(k.get(&probe), Ok(Some(v)) if v == "probe");
            let _ = k.delete(&probe);
            if ok {
                return Vault::Keychain(k);
            }
        }
        Vault::Files(files_dir(config_path))
    }

    /// `keychain`, or `file:<folder>`: where new secrets go, for the UI to say.
    pub fn describe(&self) -> String {
        match self {
            #[cfg(feature = "keychain")]
            Vault::Keychain(_) => "keychain".into(),
            Vault::Files(dir) => format!("file:{}", dir.display()),
        }
    }

    /// The secrets folder when files are used.
    pub fn fallback_dir(&self) -> Option<&Path> {
        match self {
            #[cfg(feature = "keychain")]
            Vault::Keychain(_) => None,
            Vault::Files(dir) => Some(dir),
        }
    }

    /// Stores `value` as `name`; returns the reference to write into the config.
    pub fn store(&self, name: &str, value: &Secret) -> Result<SecretRef, ServiceError> {
        match self {
            #[cfg(feature = "keychain")]
            Vault::Keychain(k) => {
                k.set(name, value)?;
                Ok(SecretRef::Keychain {
                    keychain: name.to_string(),
                })
            }
            Vault::Files(dir) => {
                let path = dir.join(name);
                write_private(dir, &path, value.expose().as_bytes()).map_err(|e| {
                    ServiceError::Secret(format!(
                        "cannot store secret {name} in {}: {e}",
                        dir.display()
                    ))
                })?;
                Ok(SecretRef::File {
                    file: path.display().to_string(),
                })
            }
        }
    }

    /// Removes what a reference created by [`Vault::store`] points at (others are left alone).
    pub fn forget(&self, r: &SecretRef) {
        match (self, r) {
            #[cfg(feature = "keychain")]
            (Vault::Keychain(k), SecretRef::Keychain { keychain }) => {
                let _ = k.delete(keychain);
            }
            (Vault::Files(dir), SecretRef::File { file }) if Path::new(file).starts_with(dir) => {
                let _ = std::fs::remove_file(file);
            }
            _ => {}
        }
    }
}

/// Writes `bytes` to `path` with mode 0600 (temp file + rename), creating `dir` with 0700.
pub fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    super::file::write_atomic(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_show_only_the_tail_of_long_values() {
        assert_eq!(mask_value("https://hooks.example/T/B/xyza1b2"), "••••a1b2");
        assert_eq!(mask_value("short"), "set");
        assert_eq!(entry_name("team wecom", "url"), "relaywatch-team_wecom-url");
    }

    #[test]
    fn file_vault_writes_0600_and_forgets() {
        let dir = std::env::temp_dir().join(format!("rw-vault-{}", std::process::id()));
        let v = Vault::Files(dir.join("secrets"));
        let r = v
            .store("relaywatch-a-url", &Secret::new("https://x/hook/abc"))
            .unwrap();
        let SecretRef::File { file } = &r else {
            panic!("{r:?}")
        };
        assert_eq!(std::fs::read_to_string(file).unwrap(), "https://x/hook/abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let store = SecretStore::default();
        assert_eq!(mask_ref(&store, &r), "••••/abc");
        v.forget(&r);
        assert!(!Path::new(file).exists());
        assert_eq!(mask_ref(&store, &r), "missing");
    }
}
