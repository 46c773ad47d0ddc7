//! The OS keychain backend for real (on Linux: the kernel keyring through keyutils syscalls):
//! a secret set, resolved through `{ keychain = "…" }`, replaced, deleted. Rule: no mock — when
//! the kernel keyring is unavailable (a seccomp profile that blocks `keyctl`), the test fails
//! and says so; build without the `keychain` feature to leave it out.
#![cfg(feature = "keychain")]

use relaywatch_core::config::channels::SecretRef;
use relaywatch_core::secret_store::{OsKeychain, SecretStore};
use relaywatch_core::secrets::{assert_no_secret_in, Secret};

#[test]
fn a_secret_round_trips_through_the_os_keychain() {
    // Entries of this test live under their own service, apart from the operator's.
    let keychain = OsKeychain::with_service(&format!("relaywatch-test-{}", std::process::id()));
    let name = "team-wecom-url";
    let value = "https://qyapi.weixin.example/cgi-bin/webhook/send?key=fake-kc-0a1b2c";
    if let Err(e) = keychain.set(name, &Secret::new(value)) {
        panic!(
            "the OS keychain is not usable here ({e}); on Linux the kernel keyring (keyutils) \
             must allow add_key/keyctl — build with --no-default-features to leave the \
             keychain out"
        );
    }
    let store = SecretStore::default().with_keychain(Box::new(keychain.clone()));
    let r = SecretRef::Keychain {
        keychain: name.into(),
    };
    assert_eq!(store.resolve(&r).unwrap().expose(), value);

    keychain.set(name, &Secret::new("whsec_replaced")).unwrap();
    assert_eq!(store.resolve(&r).unwrap().expose(), "whsec_replaced");

    assert!(keychain.delete(name).unwrap());
    assert!(!keychain.delete(name).unwrap(), "already gone");
    let e = store.resolve(&r).unwrap_err().to_string();
    assert!(e.contains("keychain team-wecom-url"), "{e}");
    assert!(e.contains("no such keychain entry"), "{e}");
    assert_no_secret_in(&e, "fake-kc-0a1b2c");
}
