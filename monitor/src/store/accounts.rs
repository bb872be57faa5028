//! Rows behind sign-in and the audit log: users (with their password hash),
//! sessions and API tokens (by the SHA-256 of their secret, never the secret),
//! the audit log, and encrypted secrets.
//!
//! These tables are small and written rarely, so they are plain records read
//! by id; the checks (rate limits, hashing, roles) live in `crate::auth`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use model::{ApiToken, AuditEntry, User};

use super::{decode, Result, Store};

/// A user's row: the public part plus the argon2 PHC string.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserRow {
    #[serde(flatten)]
    pub user: User,
    pub password_hash: String,
}

/// A signed-in browser. The row's id is the SHA-256 of the cookie's value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionRow {
    pub user: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// An API token's row: the public part plus the SHA-256 of its secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRow {
    #[serde(flatten)]
    pub token: ApiToken,
    pub secret_hash: String,
}

/// An encrypted secret (see `crate::auth::vault`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecretRow {
    pub name: String,
    /// Base64 of nonce followed by ciphertext.
    pub sealed: String,
    /// What may be shown of it: its last characters.
    pub hint: String,
    pub updated: DateTime<Utc>,
}

/// A record's content; an `id` field is the record's id, so it is left out.
fn row<T: Serialize>(v: &T) -> Value {
    let mut v = serde_json::to_value(v).expect("account rows always serialise");
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
    }
    v
}

impl Store {
    pub(super) async fn one<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        vars: Value,
    ) -> Result<Option<T>> {
        let mut res = self.db().query(sql).bind(vars).await?.check()?;
        let rows: Vec<Value> = res.take(0)?;
        Ok(decode(rows)?.into_iter().next())
    }

    pub(super) async fn exec(&self, sql: &str, vars: Value) -> Result<()> {
        self.db().query(sql).bind(vars).await?.check()?;
        Ok(())
    }

    pub(super) async fn all<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        vars: Value,
    ) -> Result<Vec<T>> {
        let mut res = self.db().query(sql).bind(vars).await?.check()?;
        let rows: Vec<Value> = res.take(0)?;
        decode(rows)
    }

    /// The number a `RETURN count(...)` query answers.
    async fn count(&self, sql: &str) -> Result<u64> {
        let mut res = self.db().query(sql).await?.check()?;
        let n: Option<i64> = res.take(0).unwrap_or(None);
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    pub async fn user_count(&self) -> Result<u64> {
        self.count("RETURN count(SELECT id FROM user)").await
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRow>> {
        self.one(
            "SELECT * OMIT id FROM type::record('user', $name)",
            json!({ "name": name }),
        )
        .await
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        self.all(
            "SELECT * OMIT id, password_hash FROM user ORDER BY name",
            json!({}),
        )
        .await
    }

    pub async fn save_user(&self, u: &UserRow) -> Result<()> {
        self.exec(
            "UPSERT type::record('user', $name) CONTENT $row",
            json!({ "name": u.user.name, "row": row(u) }),
        )
        .await
    }

    /// Creates a user only if the name is free; `false` when it was taken.
    pub async fn create_user(&self, u: &UserRow) -> Result<bool> {
        let mut res = self
            .db()
            .query("CREATE type::record('user', $name) CONTENT $row")
            .bind(json!({ "name": u.user.name, "row": row(u) }))
            .await?;
        Ok(res.take_errors().is_empty())
    }

    /// Deletes a user with their sessions and tokens, in one transaction.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        let mut res = self
            .db()
            .query(
                "BEGIN TRANSACTION;
                 DELETE type::record('user', $name);
                 DELETE session WHERE user = $name;
                 DELETE api_token WHERE owner = $name;
                 COMMIT TRANSACTION;",
            )
            .bind(json!({ "name": name }))
            .await?;
        super::root_error(res.take_errors())
    }

    pub async fn admin_count(&self) -> Result<u64> {
        self.count("RETURN count(SELECT id FROM user WHERE role = 'admin')")
            .await
    }

    pub async fn save_session(&self, id_hash: &str, s: &SessionRow) -> Result<()> {
        self.exec(
            "CREATE type::record('session', $id) CONTENT $row",
            json!({ "id": id_hash, "row": row(s) }),
        )
        .await
    }

    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>> {
        self.one(
            "SELECT * OMIT id FROM type::record('session', $id)",
            json!({ "id": id_hash }),
        )
        .await
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        self.exec(
            "DELETE type::record('session', $id)",
            json!({ "id": id_hash }),
        )
        .await
    }

    /// Ends every session of a user except `keep` (the one that asked).
    pub async fn delete_sessions_of(&self, user: &str, keep: Option<&str>) -> Result<()> {
        self.exec(
            "DELETE session WHERE user = $user AND record::id(id) != $keep",
            json!({ "user": user, "keep": keep.unwrap_or("") }),
        )
        .await
    }

    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<()> {
        self.exec(
            "DELETE session WHERE expires < $now",
            json!({ "now": now.to_rfc3339() }),
        )
        .await
    }

    pub async fn save_token(&self, t: &TokenRow) -> Result<()> {
        self.exec(
            "UPSERT type::record('api_token', $id) CONTENT $row",
            json!({ "id": t.token.id, "row": row(t) }),
        )
        .await
    }

    pub async fn token(&self, id: &str) -> Result<Option<TokenRow>> {
        self.one(
            "SELECT *, record::id(id) AS id FROM type::record('api_token', $id)",
            json!({ "id": id }),
        )
        .await
    }

    /// Tokens, newest first; of one owner, or everyone's.
    pub async fn tokens(&self, owner: Option<&str>) -> Result<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = match owner {
            Some(o) => {
                self.all(
                    "SELECT *, record::id(id) AS id FROM api_token WHERE owner = $o ORDER BY id DESC",
                    json!({ "o": o }),
                )
                .await?
            }
            None => {
                self.all(
                    "SELECT *, record::id(id) AS id FROM api_token ORDER BY id DESC",
                    json!({}),
                )
                    .await?
            }
        };
        Ok(rows.into_iter().map(|r| r.token).collect())
    }

    pub async fn touch_token(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE type::record('api_token', $id) SET last_used = $at",
            json!({ "id": id, "at": at.to_rfc3339() }),
        )
        .await
    }

    pub async fn touch_login(&self, user: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE type::record('user', $user) SET last_login = $at",
            json!({ "user": user, "at": at.to_rfc3339() }),
        )
        .await
    }

    pub async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        self.exec(
            "CREATE type::record('audit', $id) CONTENT $row",
            json!({ "id": e.id, "row": row(e) }),
        )
        .await
    }

    /// The newest `limit` audit entries with an id below `before`, newest first.
    pub async fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditEntry>> {
        let from = before.unwrap_or(i64::MAX);
        self.all(
            "SELECT *, record::id(id) AS id FROM audit WHERE id < type::record('audit', $from)
             ORDER BY id DESC LIMIT $limit",
            json!({ "from": from, "limit": limit }),
        )
        .await
    }

    pub async fn save_secret(&self, s: &SecretRow) -> Result<()> {
        self.exec(
            "UPSERT type::record('secret', $name) CONTENT $row",
            json!({ "name": s.name, "row": row(s) }),
        )
        .await
    }

    pub async fn secret(&self, name: &str) -> Result<Option<SecretRow>> {
        self.one(
            "SELECT * OMIT id FROM type::record('secret', $name)",
            json!({ "name": name }),
        )
        .await
    }

    pub async fn delete_secret(&self, name: &str) -> Result<()> {
        self.exec(
            "DELETE type::record('secret', $name)",
            json!({ "name": name }),
        )
        .await
    }

    /// A small value kept beside the schema version (e.g. the vault's check).
    pub async fn meta(&self, key: &str) -> Result<Option<Value>> {
        let mut res = self
            .db()
            .query("SELECT VALUE value FROM ONLY type::record('meta', $key)")
            .bind(json!({ "key": key }))
            .await?
            .check()?;
        Ok(res.take::<Option<Value>>(0).unwrap_or(None))
    }

    pub async fn set_meta(&self, key: &str, value: Value) -> Result<()> {
        self.exec(
            "UPSERT type::record('meta', $key) SET value = $value",
            json!({ "key": key, "value": value }),
        )
        .await
    }
}
