//! Secrets at rest: store credentials, API keys and webhook URLs are sealed
//! with XChaCha20-Poly1305 before they reach the database, under a key that
//! is not in the database (given in the configuration, or a key file made on
//! first start with owner-only permissions).
//!
//! A check value sealed at first use tells, at the next start, whether the
//! key given is the one the database was written with: a wrong key is a clear
//! error at start, not garbage later. What may be shown of a secret after it
//! was saved is its hint (the last four characters), never the value.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::Utc;
use serde_json::json;

use crate::store::{SecretRow, Store, StoreError};

const CHECK: &str = "dropwatch vault check";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the secret key is not valid: {0} (give 32 bytes as base64, e.g. from `openssl rand -base64 32`)")]
    BadKey(String),
    #[error("could not read or create the key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("the secret key does not match the one this database's secrets were sealed with; give the original key (DROPWATCH_SECRET_KEY or the key file)")]
    WrongKey,
    #[error("the stored secret {0:?} could not be opened; was the key changed?")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// 32 bytes, base64.
    Given(String),
    /// A file holding the base64 key; made if missing.
    File(std::path::PathBuf),
    /// A fresh key for this process only (an in-memory database).
    Ephemeral,
}

pub struct Vault {
    cipher: XChaCha20Poly1305,
}

fn decode_key(text: &str) -> Result<[u8; 32], VaultError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| VaultError::BadKey(e.to_string()))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| VaultError::BadKey(format!("{} bytes, not 32", b.len())))
}

fn key_file(path: &Path) -> Result<[u8; 32], VaultError> {
    let err = |e: std::io::Error| VaultError::KeyFile {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    match std::fs::read_to_string(path) {
        Ok(text) => decode_key(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(err)?;
            }
            let key = XChaCha20Poly1305::generate_key(&mut OsRng);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(path).map_err(err)?;
            std::io::Write::write_all(&mut f, STANDARD.encode(key).as_bytes()).map_err(err)?;
            tracing::info!(
                "made a new secret key in {}; keep it with the database",
                path.display()
            );
            Ok(key.into())
        }
        Err(e) => Err(err(e)),
    }
}

/// The last four characters of a secret, for "••••abcd".
pub fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return String::new();
    }
    chars[chars.len() - 4..].iter().collect()
}

impl Vault {
    /// Loads the key and checks it against the database.
    pub async fn open(source: &KeySource, store: &Store) -> Result<Vault, VaultError> {
        let key = match source {
            KeySource::Given(text) => decode_key(text)?,
            KeySource::File(path) => key_file(path)?,
            KeySource::Ephemeral => XChaCha20Poly1305::generate_key(&mut OsRng).into(),
        };
        let vault = Vault {
            cipher: XChaCha20Poly1305::new(&key.into()),
        };
        match store.meta("vault_check").await? {
            Some(sealed) => {
                let opened = sealed.as_str().and_then(|s| vault.open_text(s).ok());
                if opened.as_deref() != Some(CHECK) {
                    return Err(VaultError::WrongKey);
                }
            }
            None => {
                store
                    .set_meta("vault_check", json!(vault.seal(CHECK)))
                    .await?
            }
        }
        Ok(vault)
    }

    fn seal(&self, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(&nonce, plain.as_bytes())
                .expect("XChaCha20-Poly1305 seals any length we store"),
        );
        STANDARD.encode(out)
    }

    fn open_text(&self, sealed: &str) -> Result<String, ()> {
        let bytes = STANDARD.decode(sealed).map_err(|_| ())?;
        if bytes.len() < 24 {
            return Err(());
        }
        let (nonce, ct) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| ())?;
        String::from_utf8(plain).map_err(|_| ())
    }

    /// Seals and stores a secret under a name (e.g. "source/kith-com/header").
    pub async fn put(&self, store: &Store, name: &str, plain: &str) -> Result<(), VaultError> {
        store
            .save_secret(&SecretRow {
                name: name.to_string(),
                sealed: self.seal(plain),
                hint: hint(plain),
                updated: Utc::now(),
            })
            .await?;
        Ok(())
    }

    /// Seals and stores several secrets in one transaction: all are saved
    /// or none (an account's user name and password belong together).
    pub async fn put_all(&self, store: &Store, secrets: &[(&str, &str)]) -> Result<(), VaultError> {
        let updated = Utc::now();
        let rows: Vec<SecretRow> = secrets
            .iter()
            .map(|(name, plain)| SecretRow {
                name: name.to_string(),
                sealed: self.seal(plain),
                hint: hint(plain),
                updated,
            })
            .collect();
        store.save_secrets(&rows).await?;
        Ok(())
    }

    /// The secret's value, for the server's own use (never for a page).
    pub async fn get(&self, store: &Store, name: &str) -> Result<Option<String>, VaultError> {
        match store.secret(name).await? {
            None => Ok(None),
            Some(row) => self
                .open_text(&row.sealed)
                .map(Some)
                .map_err(|_| VaultError::Corrupt(name.to_string())),
        }
    }

    /// What may be shown: whether it is set, and its hint.
    pub async fn hint(&self, store: &Store, name: &str) -> Result<Option<String>, VaultError> {
        Ok(store.secret(name).await?.map(|r| r.hint))
    }
}
