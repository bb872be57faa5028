//! The shop's own webhooks (`POST /webhooks/shopify`): the HMAC check over
//! the raw body, and which deliveries to apply.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `header` (X-Shopify-Hmac-Sha256, base64) is the HMAC-SHA256 of
/// the raw `body` under `secret`. Constant-time; false for a malformed header.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Ok(expected) = STANDARD.decode(header.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The header value for `body` (what Shopify sends; the tests' fake too).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_signature_passes_and_anything_else_fails() {
        let body = br#"{"id":1,"updated_at":"2026-11-22T10:00:00Z"}"#;
        let good = sign(b"app-secret", body);
        assert!(verify(b"app-secret", body, &good));
        assert!(!verify(b"other-secret", body, &good));
        assert!(!verify(b"app-secret", b"{\"id\":2}", &good), "another body");
        assert!(!verify(b"app-secret", body, "not base64!"));
        assert!(!verify(b"app-secret", body, ""));
        // A known vector: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            sign(b"key", b"The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
        );
    }
}
