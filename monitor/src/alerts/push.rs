//! Web Push (RFC 8030) to a browser's subscription: the payload encrypted
//! with `aes128gcm` (RFC 8291) for the browser's key, the request signed with
//! our VAPID key (RFC 8292). The crypto is `web-push-native` (pure Rust).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use url::Url;
use web_push_native::jwt_simple::algorithms::ES256KeyPair;
use web_push_native::{p256, Auth, WebPushBuilder};

use super::channel::{Endpoints, Vapid};
use super::send::SendError;

/// Makes a VAPID key pair; `to_bytes()` of it is what the vault keeps.
pub fn new_vapid_key() -> ES256KeyPair {
    ES256KeyPair::generate()
}

/// Reads a kept key (base64url of the 32-byte secret scalar).
pub fn vapid_from(text: &str, contact: &str) -> Option<Vapid> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    Some(Vapid {
        key: std::sync::Arc::new(ES256KeyPair::from_bytes(&bytes).ok()?),
        contact: contact.to_string(),
    })
}

/// What the vault keeps for a key.
pub fn vapid_text(key: &ES256KeyPair) -> String {
    URL_SAFE_NO_PAD.encode(key.to_bytes())
}

fn b64(s: &str) -> Result<Vec<u8>, SendError> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(s))
        .map_err(|_| SendError::Permanent("the push subscription's keys are not base64url".into()))
}

/// The encrypted, signed POST for one notification.
pub fn request(
    http: &reqwest::Client,
    at: &Endpoints,
    endpoint: Url,
    p256dh: &str,
    auth: &str,
    body: &Value,
) -> Result<reqwest::RequestBuilder, SendError> {
    let vapid = at
        .vapid
        .as_ref()
        .ok_or_else(|| SendError::Transient("the push key is not loaded yet".into()))?;
    let ua_public = p256::PublicKey::from_sec1_bytes(&b64(p256dh)?).map_err(|_| {
        SendError::Permanent("the push subscription's p256dh is not a P-256 key".into())
    })?;
    let auth = b64(auth)?;
    if auth.len() != 16 {
        return Err(SendError::Permanent(
            "the push subscription's auth secret is not 16 bytes".into(),
        ));
    }
    let uri: axum::http::Uri = endpoint
        .as_str()
        .parse()
        .map_err(|_| SendError::Permanent("the push endpoint is not a URL".into()))?;
    let built = WebPushBuilder::new(uri, ua_public, Auth::clone_from_slice(&auth))
        .with_valid_duration(std::time::Duration::from_secs(12 * 3600))
        .with_vapid(&vapid.key, &vapid.contact)
        .build(serde_json::to_vec(body).unwrap_or_default())
        .map_err(|e| SendError::Permanent(format!("could not encrypt the push message: {e}")))?;
    let (parts, payload) = built.into_parts();
    let mut req = http.post(endpoint).body(payload).header("Urgency", "high");
    for (name, value) in parts.headers.iter() {
        // reqwest sets the length itself.
        if name != axum::http::header::CONTENT_LENGTH {
            req = req.header(name.clone(), value.clone());
        }
    }
    Ok(req)
}
