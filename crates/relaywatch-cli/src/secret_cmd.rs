//! `relaywatch secret set|delete NAME`: keychain entries for `{ keychain = "NAME" }` secret
//! references (service `relaywatch`). Rule: a value is read from standard input only, never
//! from the command line (argv is visible to every user of the machine), and never printed.

use std::io::{IsTerminal, Read};

use anyhow::{bail, Context, Result};
use relaywatch_core::secret_store::SecretStore;

use crate::cli::SecretArgs;

/// The secret store of this build: env and files, plus the OS keychain with the `keychain`
/// feature.
pub fn secret_store() -> SecretStore {
    SecretStore::for_this_machine()
}

/// Reads a secret from stdin: one line from a terminal, else everything; trailing newlines
/// are dropped.
fn read_value() -> Result<String> {
    let stdin = std::io::stdin();
    let mut text = String::new();
    if stdin.is_terminal() {
        eprintln!(
            "Paste the secret and press Enter (it is shown as you type; pipe it in to avoid that):"
        );
        stdin
            .read_line(&mut text)
            .context("reading the secret from standard input")?;
    } else {
        stdin
            .lock()
            .read_to_string(&mut text)
            .context("reading the secret from standard input")?;
    }
    let value = text.trim_end_matches(['\n', '\r']).to_string();
    if value.trim().is_empty() {
        bail!("no secret on standard input: pipe it in, e.g. `printenv HOOK_URL | relaywatch secret set team-wecom-url`");
    }
    Ok(value)
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!("secret name {name:?}: use 1-128 letters, digits, '-', '_' or '.' (e.g. team-wecom-url)");
    }
    Ok(())
}

#[cfg(feature = "keychain")]
pub fn run(a: SecretArgs) -> Result<i32> {
    use crate::cli::SecretCommand;
    use relaywatch_core::secret_store::OsKeychain;
    use relaywatch_core::secrets::Secret;
    let keychain = OsKeychain::new();
    match a.command {
        SecretCommand::Set { name } => {
            check_name(&name)?;
            let value = Secret::new(read_value()?);
            keychain.set(&name, &value)?;
            println!(
                "stored keychain entry {name} (service {}); use it as {{ keychain = \"{name}\" }}",
                OsKeychain::SERVICE
            );
            Ok(0)
        }
        SecretCommand::Delete { name } => {
            check_name(&name)?;
            if keychain.delete(&name)? {
                println!("deleted keychain entry {name}");
                Ok(0)
            } else {
                println!("no keychain entry {name}");
                Ok(1)
            }
        }
    }
}

#[cfg(not(feature = "keychain"))]
pub fn run(a: SecretArgs) -> Result<i32> {
    let _ = (a, read_value, check_name);
    bail!("this relaywatch was built without the `keychain` feature: use {{ env = \"VAR\" }} or {{ file = \"/path\" }} secret references")
}
