//! Shared helpers of the channels that sign or hash what they send: HMAC-SHA256, base64, md5,
//! URL encoding, and the scrubbing of platform error texts. Rule: pure functions over bytes; a
//! text that came back from a platform is scrubbed (`scrub`) before it reaches an `Outcome`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any size");
    mac.update(msg);
    let out = mac.finalize().into_bytes();
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&out);
    bytes
}

/// Standard (padded, `+/`) base64.
pub fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard (padded, `+/`) base64, decoded.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))
}

/// md5 of `bytes` as 32 lowercase hex digits.
pub fn md5_hex(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encode everything but the unreserved characters (RFC 3986 `A-Z a-z 0-9 - . _ ~`),
/// as a query value needs (`+`, `/` and `=` of base64 included).
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` with `params` appended to its query string (`?` or `&`), values URL-encoded.
pub fn append_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut out = url.to_string();
    for (k, v) in params {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(k);
        out.push('=');
        out.push_str(&urlencode(v));
    }
    out
}

/// Longest platform text carried into an outcome's reason.
pub const REASON_MAX: usize = 300;

/// A platform's error text made safe to log and store: token-bearing URLs masked
/// (`secrets::redact`), token-like runs (24+ characters of letters, digits, `-`/`_` with at least
/// one digit, as webhook keys and access tokens are) replaced by `***`, line breaks flattened and
/// the whole cut to `REASON_MAX` characters.
pub fn scrub(text: &str) -> String {
    let redacted = crate::secrets::redact(text);
    let mut out = String::with_capacity(redacted.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let tokenish = run.chars().count() >= 24 && run.chars().any(|c| c.is_ascii_digit());
        out.push_str(if tokenish { "***" } else { run.as_str() });
        run.clear();
    };
    for c in redacted.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(if c == '\n' || c == '\r' { ' ' } else { c });
        }
    }
    flush(&mut run, &mut out);
    let trimmed = out.trim();
    if trimmed.chars().count() > REASON_MAX {
        let mut t: String = trimmed.chars().take(REASON_MAX).collect();
        t.push('…');
        t
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn md5_and_base64_known_values() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_decode("Zm9vYg==").unwrap(), b"foob");
        assert!(base64_decode("%%%").is_err());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(urlencode("a+b/c=="), "a%2Bb%2Fc%3D%3D");
        assert_eq!(
            append_query("https://x.test/send?access_token=t", &[("sign", "a+b=")]),
            "https://x.test/send?access_token=t&sign=a%2Bb%3D"
        );
        assert_eq!(
            append_query("https://x.test/send", &[("a", "1"), ("b", "2")]),
            "https://x.test/send?a=1&b=2"
        );
    }

    #[test]
    fn scrub_masks_tokens() {
        let text = "invalid webhook url https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa, key 693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa\nmore";
        let s = scrub(text);
        crate::secrets::assert_no_secret_in(&s, "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa");
        crate::secrets::assert_no_secret_in(&s, "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa");
        assert!(!s.contains('\n'));
        assert!(s.starts_with("invalid webhook url https://qyapi.weixin.qq.com"));
        assert_eq!(
            scrub("send too fast, exceed 20 times per minute"),
            "send too fast, exceed 20 times per minute"
        );
    }
}
