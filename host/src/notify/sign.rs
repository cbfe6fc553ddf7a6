//! The signature on every delivery: HMAC-SHA256, keyed with the webhook's
//! secret, over `<timestamp>.<body>`, sent as
//! `Sluice-Signature: v1=<hex>` beside `Sluice-Timestamp: <unix seconds>`.
//!
//! A receiver recomputes it over the raw body it got, compares in constant
//! time, and refuses timestamps outside its replay window (five minutes
//! is a good one) and delivery keys (`Sluice-Delivery`) it has seen.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Sluice-Signature";
/// The header carrying the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "Sluice-Timestamp";
/// The header carrying the delivery's key (the same on every attempt).
pub const DELIVERY_HEADER: &str = "Sluice-Delivery";
/// The header carrying the event's name.
pub const EVENT_HEADER: &str = "Sluice-Event";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Sluice-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header is not `v1=<64 hex digits>`.
    #[error("the signature header is not `v1=<hex>`")]
    Malformed,
    /// The timestamp is outside the replay window.
    #[error("the timestamp is {0} s away from now, outside the replay window")]
    Stale(i64),
    /// The signature does not match.
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Check a delivery as a receiver would: `header` is the
/// `Sluice-Signature` value, `timestamp` the `Sluice-Timestamp` value,
/// `now` the receiver's Unix time, `window` the seconds of skew accepted.
pub fn verify(
    secret: &str,
    header: &str,
    timestamp: i64,
    body: &[u8],
    now: i64,
    window: i64,
) -> Result<(), VerifyError> {
    let hex_sig = header
        .trim()
        .strip_prefix("v1=")
        .ok_or(VerifyError::Malformed)?;
    let given = hex::decode(hex_sig).map_err(|_| VerifyError::Malformed)?;
    let skew = now.saturating_sub(timestamp);
    if skew.abs() > window {
        return Err(VerifyError::Stale(skew));
    }
    // `verify_slice` compares in constant time.
    mac(secret, timestamp, body)
        .verify_slice(&given)
        .map_err(|_| VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123";

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let body = br#"{"event":"run.failed"}"#;
        let sig = sign(SECRET, 1_700_000_000, body);
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64, "{sig}");
        assert_eq!(
            verify(SECRET, &sig, 1_700_000_000, body, 1_700_000_010, 300),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, &sig, 1_700_000_000, b"{}", 1_700_000_010, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &sig, 1_700_000_001, body, 1_700_000_010, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                "another-secret-0123",
                &sig,
                1_700_000_000,
                body,
                1_700_000_010,
                300
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &sig, 1_700_000_000, body, 1_700_001_000, 300),
            Err(VerifyError::Stale(1000))
        );
        assert_eq!(
            verify(SECRET, "sha256=00", 1_700_000_000, body, 1_700_000_000, 300),
            Err(VerifyError::Malformed)
        );
    }

    #[test]
    fn the_signature_matches_a_known_value() {
        // openssl: printf '1700000000.{}' | openssl dgst -sha256 -hmac 0123456789abcdef0123
        assert_eq!(sign(SECRET, 1_700_000_000, b"{}"), format!("v1={}", KNOWN));
    }

    const KNOWN: &str = "19ecdc0e607efbadb3c4a4ac61543ed0f9b88019950c2e31536f94e89ad1b7df";
}
