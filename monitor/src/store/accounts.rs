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

/// Which of a user's sessions an account change ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndSessions {
    None,
    /// Every one (an admin's password reset).
    All,
    /// Every one but this (the SHA-256 of the cookie that asked).
    AllBut(String),
}

/// One change to a user, written by [`Store::change_user`] in one
/// transaction: all of it lands, or none of it.
#[derive(Clone, Debug)]
pub struct UserChange {
    pub name: String,
    /// The fields of the user's row to set (`role`, `password_hash`, ...).
    pub set: Value,
    /// The change demotes an admin: refused if it would leave none.
    pub keep_an_admin: bool,
    pub end_sessions: EndSessions,
    /// Revoke every token of the user not revoked yet, as of this time.
    pub revoke_tokens: Option<DateTime<Utc>>,
    /// What the change did, for the audit log.
    pub audit: Vec<AuditEntry>,
}

/// What the transaction of [`Store::change_user`] throws when no admin
/// would remain.
const NO_ADMIN_LEFT: &str = "dropwatch: no admin would remain";

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

    /// Deletes a user with their sessions, tokens and what picks learned
    /// about them, in one transaction.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        let mut res = self
            .db()
            .query(
                "BEGIN TRANSACTION;
                 DELETE type::record('user', $name);
                 DELETE session WHERE user = $name;
                 DELETE api_token WHERE owner = $name;
                 DELETE signal WHERE user = $name;
                 COMMIT TRANSACTION;",
            )
            .bind(json!({ "name": name }))
            .await?;
        super::root_error(res.take_errors())
    }

    /// Applies a change to a user in one transaction: the row's fields, the
    /// sessions ended, the tokens revoked and the audit entries. `Ok(false)`,
    /// with nothing written, when it would leave no admin: checked again
    /// inside the transaction, so two admins demoting each other at the same
    /// moment cannot both succeed.
    pub async fn change_user(&self, c: &UserChange) -> Result<bool> {
        let mut sql =
            String::from("BEGIN TRANSACTION;\nUPDATE type::record('user', $name) MERGE $fields;\n");
        let mut vars = serde_json::Map::new();
        vars.insert("name".into(), json!(c.name));
        vars.insert("fields".into(), c.set.clone());
        if c.keep_an_admin {
            sql += &format!(
                "IF count(SELECT id FROM user WHERE role = 'admin') < 1 {{ THROW \"{NO_ADMIN_LEFT}\"; }};\n"
            );
        }
        match &c.end_sessions {
            EndSessions::None => {}
            EndSessions::All => sql += "DELETE session WHERE user = $name;\n",
            EndSessions::AllBut(keep) => {
                sql += "DELETE session WHERE user = $name AND record::id(id) != $keep;\n";
                vars.insert("keep".into(), json!(keep));
            }
        }
        if let Some(at) = c.revoke_tokens {
            // `revoked` is null (or absent) while a token is valid.
            sql += "UPDATE api_token SET revoked = $revoked WHERE owner = $name AND !revoked;\n";
            vars.insert("revoked".into(), json!(at));
        }
        for (i, e) in c.audit.iter().enumerate() {
            sql += &format!("CREATE type::record('audit', $audit_id_{i}) CONTENT $audit_{i};\n");
            vars.insert(format!("audit_id_{i}"), json!(e.id));
            vars.insert(format!("audit_{i}"), row(e));
        }
        sql += "COMMIT TRANSACTION;";
        let mut res = self.db().query(sql).bind(Value::Object(vars)).await?;
        let errors = res.take_errors();
        if errors
            .values()
            .any(|e| e.to_string().contains(NO_ADMIN_LEFT))
        {
            return Ok(false);
        }
        super::root_error(errors)?;
        Ok(true)
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

    /// Saves several secrets in one transaction: all of them or none (an
    /// account's user name and its password belong together).
    pub async fn save_secrets(&self, secrets: &[SecretRow]) -> Result<()> {
        let mut sql = String::from("BEGIN TRANSACTION;\n");
        let mut vars = serde_json::Map::new();
        for (i, s) in secrets.iter().enumerate() {
            sql +=
                &format!("UPSERT type::record('secret', $secret_name_{i}) CONTENT $secret_{i};\n");
            vars.insert(format!("secret_name_{i}"), json!(s.name));
            vars.insert(format!("secret_{i}"), row(s));
        }
        sql += "COMMIT TRANSACTION;";
        let mut res = self.db().query(sql).bind(Value::Object(vars)).await?;
        super::root_error(res.take_errors())
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
