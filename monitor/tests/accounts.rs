//! Users, sessions, tokens, roles, the audit log and sealed secrets, on a
//! real SurrealDB (mem:// or a SurrealKV temp dir).

mod common;

use std::sync::Arc;
use std::time::Duration;

use model::Role;
use monitor::auth::{AuthError, KeySource, LoginLimits, Vault, VaultError};
use monitor::{Accounts, Control, ControlError, Engine, EngineConfig, NewSource, Store};

async fn accounts_on(store: Arc<Store>) -> Accounts {
    let vault = Vault::open(&KeySource::Ephemeral, &store).await.unwrap();
    Accounts::new(store, vault, LoginLimits::default())
}

async fn fresh() -> Accounts {
    accounts_on(Arc::new(Store::open("mem://").await.unwrap())).await
}

/// Accounts with an admin "root" signed in.
async fn with_admin() -> (Accounts, monitor::Identity) {
    let a = fresh().await;
    a.ensure_admin("root", "root-password-1").await.unwrap();
    let (_, who) = a.login("root", "root-password-1", None).await.unwrap();
    (a, who)
}

#[tokio::test]
async fn first_admin_comes_from_the_one_time_link() {
    let a = fresh().await;
    assert!(a.needs_setup().await.unwrap());
    let token = a
        .setup_token()
        .await
        .unwrap()
        .expect("a link while no user exists");
    assert_eq!(
        a.setup_token().await.unwrap().as_deref(),
        Some(token.as_str()),
        "stable until used"
    );
    let wrong = a
        .setup_admin("not-the-token", "boss", "a-long-password")
        .await;
    assert!(matches!(wrong, Err(AuthError::Invalid(_))), "{wrong:?}");
    let short = a.setup_admin(&token, "boss", "short").await;
    assert!(matches!(short, Err(AuthError::Invalid(m)) if m.contains("10 characters")));
    let u = a
        .setup_admin(&token, "Boss", "a-long-password")
        .await
        .unwrap();
    assert_eq!((u.name.as_str(), u.role), ("boss", Role::Admin));
    // Used once: the link is gone, and so is --admin-password's effect.
    assert!(a.setup_token().await.unwrap().is_none());
    assert!(a
        .setup_admin(&token, "other", "a-long-password")
        .await
        .is_err());
    assert!(a
        .ensure_admin("admin", "another-password")
        .await
        .unwrap()
        .is_none());
    let (cookie, who) = a.login("boss", "a-long-password", None).await.unwrap();
    assert_eq!(who.role(), Role::Admin);
    assert_eq!(
        a.session(&cookie)
            .await
            .unwrap()
            .unwrap()
            .viewer
            .user
            .as_deref(),
        Some("boss")
    );
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_brute_force_is_throttled() {
    let a = fresh().await;
    a.ensure_admin("root", "root-password-1").await.unwrap();
    let ip = Some("192.0.2.9".parse().unwrap());
    assert!(matches!(
        a.login("root", "nope", ip).await,
        Err(AuthError::BadLogin)
    ));
    assert!(
        matches!(
            a.login("nobody", "nope", ip).await,
            Err(AuthError::BadLogin)
        ),
        "same answer for an unknown name"
    );
    for _ in 0..4 {
        let _ = a.login("root", "still wrong", ip).await;
    }
    // Five failures for "root": now even the right password waits.
    match a.login("root", "root-password-1", ip).await {
        Err(AuthError::Throttled(wait)) => assert!(wait > Duration::from_secs(60)),
        other => panic!("expected throttling, got {other:?}"),
    }
    assert!(a.session("made-up-cookie").await.unwrap().is_none());
}

#[tokio::test]
async fn roles_are_enforced_and_changes_apply_at_once() {
    let (a, root) = with_admin().await;
    a.create_user(&root, "vera", Role::Viewer, "vera-password")
        .await
        .unwrap();
    a.create_user(&root, "ed", Role::Editor, "ed-password-1")
        .await
        .unwrap();
    let (vera_cookie, vera) = a.login("vera", "vera-password", None).await.unwrap();
    let (_, ed) = a.login("ed", "ed-password-1", None).await.unwrap();

    // Nobody but an admin manages users.
    for who in [&vera, &ed] {
        assert!(matches!(
            a.create_user(who, "x", Role::Viewer, "x-password-1").await,
            Err(AuthError::Forbidden { .. })
        ));
        assert!(matches!(
            a.set_role(who, "vera", Role::Admin).await,
            Err(AuthError::Forbidden { .. })
        ));
        assert!(matches!(
            a.delete_user(who, "root").await,
            Err(AuthError::Forbidden { .. })
        ));
        assert!(matches!(
            a.users(who).await,
            Err(AuthError::Forbidden { .. })
        ));
        assert!(matches!(
            a.audit_log(who, None, 10).await,
            Err(AuthError::Forbidden { .. })
        ));
    }
    assert!(
        matches!(
            a.create_user(&root, "vera", Role::Viewer, "vera-password")
                .await,
            Err(AuthError::Invalid(_))
        ),
        "names are unique"
    );

    // A role change applies to an open session at once.
    a.set_role(&root, "vera", Role::Editor).await.unwrap();
    assert_eq!(
        a.session(&vera_cookie).await.unwrap().unwrap().role(),
        Role::Editor
    );
    // The only admin can neither be demoted nor deleted.
    assert!(
        matches!(a.set_role(&root, "root", Role::Viewer).await, Err(AuthError::Invalid(m)) if m.contains("only admin"))
    );
    assert!(a.delete_user(&root, "root").await.is_err());
    // Deleting a user ends their sessions.
    a.delete_user(&root, "vera").await.unwrap();
    assert!(a.session(&vera_cookie).await.unwrap().is_none());

    // Everything above is in the audit log, newest first, with before/after.
    let log = a.audit_log(&root, None, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions[0], "user.delete");
    let role_change = log.iter().find(|e| e.action == "user.role").unwrap();
    assert_eq!(role_change.actor, "root");
    assert_eq!(role_change.target, "vera");
    assert_eq!(role_change.before.as_ref().unwrap()["role"], "viewer");
    assert_eq!(role_change.after.as_ref().unwrap()["role"], "editor");
    assert!(log.windows(2).all(|w| w[0].id > w[1].id));
    let older = a.audit_log(&root, Some(log[1].id), 100).await.unwrap();
    assert_eq!(older[0].id, log[2].id, "paging with `before`");
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        !text.contains("password-1") && !text.contains("argon2"),
        "no secrets in the log"
    );
}

#[tokio::test]
async fn tokens_are_shown_once_capped_by_the_owner_and_revoked_at_once() {
    let (a, root) = with_admin().await;
    a.create_user(&root, "ed", Role::Editor, "ed-password-1")
        .await
        .unwrap();
    let (_, ed) = a.login("ed", "ed-password-1", None).await.unwrap();
    assert!(
        matches!(
            a.create_token(&ed, "ci", Role::Admin).await,
            Err(AuthError::Forbidden { .. })
        ),
        "no more than one's own role"
    );
    let (t, secret) = a.create_token(&ed, "ci", Role::Editor).await.unwrap();
    assert!(secret.starts_with(&format!("dw_{}_", t.id)));
    let who = a.token(&secret).await.unwrap().expect("valid token");
    assert_eq!(
        (who.role(), who.viewer.via.as_str()),
        (Role::Editor, "token")
    );
    assert_eq!(who.label, "token:ci (ed)");
    // Listed without its secret, stored only as a hash.
    let listed = serde_json::to_string(&a.tokens(&ed).await.unwrap()).unwrap();
    // `dw_<id>_<secret>`; the secret itself may contain `_`.
    let secret_part = secret
        .strip_prefix("dw_")
        .and_then(|rest| rest.split_once('_'))
        .map(|(_, s)| s)
        .unwrap();
    assert!(!listed.contains(secret_part));
    assert!(a
        .token(&format!("dw_{}_wrong", t.id))
        .await
        .unwrap()
        .is_none());
    assert!(a.token("garbage").await.unwrap().is_none());

    // The owner demoted: the token does no more than the owner may.
    a.set_role(&root, "ed", Role::Viewer).await.unwrap();
    assert_eq!(
        a.token(&secret).await.unwrap().unwrap().role(),
        Role::Viewer
    );
    // Someone else's token: not theirs to revoke (an admin may).
    a.create_user(&root, "vera", Role::Viewer, "vera-password")
        .await
        .unwrap();
    let (_, vera) = a.login("vera", "vera-password", None).await.unwrap();
    assert!(matches!(
        a.revoke_token(&vera, &t.id).await,
        Err(AuthError::NotFound(_))
    ));
    assert!(a.still_valid(&who).await);
    a.revoke_token(&ed, &t.id).await.unwrap();
    assert!(
        a.token(&secret).await.unwrap().is_none(),
        "revoked works at once"
    );
    assert!(!a.still_valid(&who).await);
}

#[tokio::test]
async fn changing_a_password_ends_other_sessions() {
    let (a, _) = with_admin().await;
    let (c1, s1) = a.login("root", "root-password-1", None).await.unwrap();
    let (c2, _) = a.login("root", "root-password-1", None).await.unwrap();
    assert!(matches!(
        a.change_password(&s1, "wrong", "new-password-2").await,
        Err(AuthError::Invalid(_))
    ));
    a.change_password(&s1, "root-password-1", "new-password-2")
        .await
        .unwrap();
    assert!(
        a.session(&c1).await.unwrap().is_some(),
        "the session that asked stays"
    );
    assert!(a.session(&c2).await.unwrap().is_none());
    assert!(a.login("root", "root-password-1", None).await.is_err());
    a.logout(&s1).await.unwrap();
    assert!(a.session(&c1).await.unwrap().is_none());
    assert!(a.login("root", "new-password-2", None).await.is_ok());
}

#[tokio::test]
async fn a_user_edit_refused_for_one_field_changes_nothing() {
    let (a, root) = with_admin().await;
    let (root_cookie, _) = a.login("root", "root-password-1", None).await.unwrap();
    // Issue 23: the only admin, demoted and given a new password at once.
    let r = a
        .edit_user(
            &root,
            "root",
            Some(Role::Viewer),
            Some("a-new-password-123"),
        )
        .await;
    assert!(
        matches!(&r, Err(AuthError::Invalid(m)) if m.contains("only admin")),
        "{r:?}"
    );
    assert!(
        a.session(&root_cookie).await.unwrap().is_some(),
        "the admin's sessions stay"
    );
    assert!(a.login("root", "a-new-password-123", None).await.is_err());
    assert!(a.login("root", "root-password-1", None).await.is_ok());

    a.create_user(&root, "ed", Role::Editor, "ed-password-1")
        .await
        .unwrap();
    let (ed_cookie, ed) = a.login("ed", "ed-password-1", None).await.unwrap();
    let (_, secret) = a.create_token(&ed, "ci", Role::Editor).await.unwrap();
    // Promoted, with a password too short: neither happens.
    let r = a
        .edit_user(&root, "ed", Some(Role::Admin), Some("short"))
        .await;
    assert!(matches!(r, Err(AuthError::Invalid(_))), "{r:?}");
    assert_eq!(
        a.session(&ed_cookie).await.unwrap().unwrap().role(),
        Role::Editor
    );
    assert!(a.token(&secret).await.unwrap().is_some());
    let before = a.audit_log(&root, None, 100).await.unwrap();

    // Both fine: both happen, the sessions and tokens go, each is audited.
    let u = a
        .edit_user(&root, "ed", Some(Role::Viewer), Some("ed-password-2"))
        .await
        .unwrap();
    assert_eq!(u.role, Role::Viewer);
    assert!(u.password_changed.is_some());
    assert!(a.session(&ed_cookie).await.unwrap().is_none());
    assert!(a.token(&secret).await.unwrap().is_none());
    assert!(a.login("ed", "ed-password-2", None).await.is_ok());
    let log = a.audit_log(&root, None, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        &actions[..4],
        [
            "session.login",
            "user.password_reset",
            "token.revoke",
            "user.role"
        ]
    );
    assert_eq!(log.len(), before.len() + 4, "nothing else: {actions:?}");
}

#[tokio::test]
async fn source_changes_need_an_editor_and_are_audited() {
    let engine = Engine::open(
        Store::open("mem://").await.unwrap(),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let accounts = Arc::new(accounts_on(engine.store().clone()).await);
    accounts
        .ensure_admin("root", "root-password-1")
        .await
        .unwrap();
    let (_, root) = accounts
        .login("root", "root-password-1", None)
        .await
        .unwrap();
    accounts
        .create_user(&root, "vera", Role::Viewer, "vera-password")
        .await
        .unwrap();
    let (_, vera) = accounts.login("vera", "vera-password", None).await.unwrap();
    let control = Control {
        engine: engine.clone(),
        accounts: accounts.clone(),
        alerts: monitor::alerts::AlertService::open(
            accounts.clone(),
            Default::default(),
            "mailto:admin@example.com",
        )
        .await
        .unwrap(),
        repricing: monitor::repricing::service::Repricer::open(engine.clone(), accounts.clone())
            .await
            .unwrap(),
    };
    let new = || NewSource::new("shopify", "https://shop.example", Duration::from_secs(60));
    for who in [&vera, &monitor::Identity::anonymous(Role::Viewer)] {
        let r = control.add_source(who, new()).await;
        assert!(
            matches!(r, Err(ControlError::Auth(AuthError::Forbidden { .. }))),
            "{r:?}"
        );
    }
    assert!(engine.sources().is_empty());
    let (s, added) = control.add_source(&root, new()).await.unwrap();
    assert!(added);
    assert!(matches!(
        control.remove_source(&vera, &s.key).await,
        Err(ControlError::Auth(_))
    ));
    assert!(matches!(
        control.set_source_enabled(&vera, &s.key, false).await,
        Err(ControlError::Auth(_))
    ));
    assert!(matches!(
        control.check_source(&vera, &s.key).await,
        Err(ControlError::Auth(_))
    ));
    control
        .set_source_enabled(&root, &s.key, false)
        .await
        .unwrap();
    control.remove_source(&root, &s.key).await.unwrap();
    let log = accounts.audit_log(&root, None, 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        &actions[..3],
        ["source.remove", "source.pause", "source.add"]
    );
    assert_eq!(
        log[0].before.as_ref().unwrap()["url"],
        "https://shop.example"
    );
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_and_need_the_right_key() {
    let dir = std::env::temp_dir().join(format!("dropwatch-vault-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = format!("surrealkv://{}", dir.join("db").display());
    let key_file = dir.join("secret.key");
    {
        let store = Store::open(&db).await.unwrap();
        let vault = Vault::open(&KeySource::File(key_file.clone()), &store)
            .await
            .unwrap();
        vault
            .put(&store, "shopify/admin-token", "shpat_0123456789abcdef")
            .await
            .unwrap();
        assert_eq!(
            vault
                .get(&store, "shopify/admin-token")
                .await
                .unwrap()
                .as_deref(),
            Some("shpat_0123456789abcdef")
        );
        assert_eq!(
            vault
                .hint(&store, "shopify/admin-token")
                .await
                .unwrap()
                .as_deref(),
            Some("cdef")
        );
        let row = store.secret("shopify/admin-token").await.unwrap().unwrap();
        assert!(!row.sealed.contains("shpat_0123456789abcdef"));
    }
    // SurrealKV releases its directory lock once the handle is gone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file is the owner's only");
    }
    // The raw database files do not hold the secret either.
    assert!(!common::files_contain(
        &dir.join("db"),
        "shpat_0123456789abcdef"
    ));
    {
        let store = Store::open(&db).await.unwrap();
        let wrong = Vault::open(&KeySource::Given("A".repeat(43) + "="), &store).await;
        assert!(
            matches!(wrong, Err(VaultError::WrongKey)),
            "a wrong key is refused at start"
        );
        let bad = Vault::open(&KeySource::Given("not base64!".into()), &store).await;
        assert!(matches!(bad, Err(VaultError::BadKey(_))));
        let vault = Vault::open(&KeySource::File(key_file.clone()), &store)
            .await
            .unwrap();
        assert_eq!(
            vault
                .get(&store, "shopify/admin-token")
                .await
                .unwrap()
                .as_deref(),
            Some("shpat_0123456789abcdef")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
