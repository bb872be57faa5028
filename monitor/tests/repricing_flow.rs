//! Repricing end to end in the engine: connect the fake Shopify store, link
//! a demo product's size to a store variant by SKU, a source price change
//! makes a proposal with the markup, two concurrent approvals push once, a
//! job interrupted between "claimed" and "pushed" completes once at the next
//! start, a 502 is retried, and other currencies cannot be priced.

mod common;

use std::sync::Arc;
use std::time::Duration;

use model::{Markup, ProposalState, Role, Rounding};
use monitor::auth::{KeySource, LoginLimits, Vault};
use monitor::demo::admin::{FakeAdmin, SHOP_NAME};
use monitor::repricing::service::{RepriceError, Repricer, WebhookOutcome};
use monitor::repricing::webhook;
use monitor::{Accounts, Identity};
use rust_decimal::Decimal;
use serde_json::json;

const TOKEN: &str = "shpat_fake_admin_token_1";

struct Setup {
    h: common::Harness,
    admin: Arc<FakeAdmin>,
    shop_url: String,
    accounts: Arc<Accounts>,
    store: Arc<monitor::Store>,
    root: Identity,
    ed: Identity,
    r: Arc<Repricer>,
}

/// A demo store polled once, the fake Shopify Admin of "the user's store"
/// mirroring its first products, an editor, and a repricer.
async fn setup() -> Setup {
    let h = common::Harness::new(5).await;
    h.check().await;
    let admin = {
        let cat = h.demo.catalogue.lock().unwrap();
        FakeAdmin::new(TOKEN, &cat, 5)
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop_url = format!("http://{}", l.local_addr().unwrap());
    let app = admin.router();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let store = h.engine.store().clone();
    let vault = Vault::open(&KeySource::Ephemeral, &store).await.unwrap();
    let accounts = Arc::new(Accounts::new(store.clone(), vault, LoginLimits::default()));
    let root = Identity::system("root");
    accounts.create_user(&root, "ed", Role::Editor, "editor-password").await.unwrap();
    let (_, ed) = accounts.login("ed", "editor-password", None).await.unwrap();
    let r = Repricer::open(h.engine.clone(), accounts.clone()).await.unwrap();
    Setup { h, admin, shop_url, accounts, store, root, ed, r }
}

fn markup() -> Markup {
    Markup {
        percent: 20.into(),
        fixed: Decimal::ZERO,
        rounding: Rounding::Cents,
        floor: None,
        ceiling: None,
        max_step_percent: None,
        auto_approve: false,
    }
}

#[tokio::test]
async fn a_price_change_is_proposed_approved_once_and_pushed_once() {
    let Setup { h, admin, shop_url, accounts, store, root, ed, r } = setup().await;

    // Only admins connect a store; a wrong token is refused and not kept.
    assert!(matches!(r.connect(&ed, &shop_url, TOKEN).await, Err(RepriceError::Auth(_))));
    assert!(matches!(r.connect(&root, &shop_url, "wrong").await, Err(RepriceError::Shopify(_))));
    assert!(accounts.vault.get(&store, "shopify/admin-token").await.unwrap().is_none());
    assert_eq!(r.connect(&root, &shop_url, TOKEN).await.unwrap(), SHOP_NAME);

    let (pid, vid, _) = h.variant(0, 0);
    let key = format!("{}:{pid}", h.source.key);
    let link = r
        .link_by_sku(&ed, &key, Some(vid.to_string()), &format!("DW-{vid}"), markup())
        .await
        .unwrap();
    let target = link.target_variant.clone();
    assert_eq!(Some(admin.state.lock().unwrap().variants[&target].price), link.target_price);
    r.start();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The source gets cheaper: a proposal at +20 %.
    assert_eq!(h.control("price", json!({ "variant_id": vid, "price": "50.00" })).await, 204);
    h.check().await;
    let mut proposal = None;
    for _ in 0..100 {
        if let Some(p) = store.proposals(10).await.unwrap().into_iter().next() {
            proposal = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let p = proposal.expect("a proposal");
    assert_eq!(p.state, ProposalState::Proposed);
    assert_eq!(p.proposed, Some("60.00".parse().unwrap()));
    assert_eq!(p.current_target, link.target_price);

    // Two approvals of the version both saw: one push.
    let (a, b) = tokio::join!(r.approve(&ed, &p.id, p.version), r.approve(&ed, &p.id, p.version));
    let done = match (a, b) {
        (Ok(d), Err(RepriceError::Conflict)) | (Err(RepriceError::Conflict), Ok(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(done.state, ProposalState::Done);
    assert_eq!(done.pushed_price, Some("60.00".parse().unwrap()), "read back");
    assert_eq!(admin.state.lock().unwrap().updates, 1);
    assert_eq!(admin.state.lock().unwrap().variants[&target].price, "60.00".parse::<Decimal>().unwrap());
    assert_eq!(r.links()[0].target_price, Some("60.00".parse().unwrap()));
    let audit = accounts.audit_log(&root, None, 100).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "reprice.push" && e.actor == "ed"), "{audit:?}");
    assert!(!serde_json::to_string(&audit).unwrap().contains(TOKEN));

    // Claimed, then the process stopped before the call: the next start
    // pushes it, once.
    let link = r.links()[0].clone();
    let p2 = r.propose(&link, 9_001, "40.00".parse().unwrap(), "USD").await.unwrap();
    let mut claimed = p2.clone();
    claimed.state = ProposalState::Pushing;
    claimed.version += 1;
    store.advance_proposal(&claimed, p2.version).await.unwrap().unwrap();
    drop(r);
    let r = Repricer::open(h.engine.clone(), accounts.clone()).await.unwrap();
    assert_eq!(r.resume().await.unwrap(), 1);
    assert_eq!(r.resume().await.unwrap(), 0, "nothing left");
    let p2 = store.proposal(&p2.id).await.unwrap().unwrap();
    assert_eq!(p2.state, ProposalState::Done);
    assert_eq!(admin.state.lock().unwrap().updates, 2);
    assert_eq!(admin.state.lock().unwrap().variants[&target].price, "48.00".parse::<Decimal>().unwrap());

    // A 502 is retried; the push still happens once.
    let p3 = r.propose(&link, 9_002, "45.00".parse().unwrap(), "USD").await.unwrap();
    reqwest::Client::new()
        .post(format!("{shop_url}/admin-control/fail"))
        .json(&json!({ "status": 502 }))
        .send()
        .await
        .unwrap();
    let p3 = r.approve(&ed, &p3.id, p3.version).await.unwrap();
    assert_eq!((p3.state, p3.attempts), (ProposalState::Done, 2));
    assert_eq!(admin.state.lock().unwrap().updates, 3);

    // Another currency cannot be priced; nothing to approve.
    let p4 = r.propose(&link, 9_003, "45.00".parse().unwrap(), "EUR").await.unwrap();
    assert_eq!(p4.state, ProposalState::CannotPrice);
    assert!(p4.note.unwrap().contains("EUR"));
    assert!(matches!(r.approve(&ed, &p4.id, p4.version).await, Err(RepriceError::Conflict)));
}

#[tokio::test]
async fn shop_webhooks_are_verified_deduplicated_and_applied_in_order() {
    let Setup { h, shop_url, root, ed, r, accounts, .. } = setup().await;
    r.connect(&root, &shop_url, TOKEN).await.unwrap();
    let (pid, vid, _) = h.variant(1, 0);
    let link = r
        .link_by_sku(&ed, &format!("{}:{pid}", h.source.key), Some(vid.to_string()), &format!("DW-{vid}"), markup())
        .await
        .unwrap();
    let variant_num: u64 = link.target_variant.rsplit('/').next().unwrap().parse().unwrap();
    let item = link.target_inventory_item.clone().expect("read with the SKU lookup");
    let item_num: u64 = item.rsplit('/').next().unwrap().parse().unwrap();
    let update = |price: &str, at: &str| {
        json!({ "id": 1, "updated_at": at, "variants": [
            { "id": variant_num, "admin_graphql_api_id": link.target_variant, "price": price, "updated_at": at }
        ]})
        .to_string()
    };
    let secret = "app-secret-0123456789";
    let signed = |body: &str| webhook::sign(secret.as_bytes(), body.as_bytes());

    // No secret configured yet: refused, whatever the signature.
    let b1 = update("77.00", "2026-11-22T10:00:00Z");
    assert!(matches!(r.webhook("products/update", "w1", &signed(&b1), b1.as_bytes()).await, Err(RepriceError::BadSignature)));
    assert!(matches!(r.set_webhook_secret(&ed, secret).await, Err(RepriceError::Auth(_))));
    r.set_webhook_secret(&root, secret).await.unwrap();
    // A wrong signature, or a body changed after signing: refused, nothing kept.
    let forged = webhook::sign(b"another-secret-12345", b1.as_bytes());
    assert!(matches!(r.webhook("products/update", "w1", &forged, b1.as_bytes()).await, Err(RepriceError::BadSignature)));
    let b1x = update("1.00", "2026-11-22T10:00:00Z");
    assert!(matches!(r.webhook("products/update", "w1", &signed(&b1), b1x.as_bytes()).await, Err(RepriceError::BadSignature)));
    assert_eq!(r.links()[0].target_price, link.target_price);

    assert_eq!(r.webhook("products/update", "w1", &signed(&b1), b1.as_bytes()).await.unwrap(), WebhookOutcome::Applied(1));
    assert_eq!(r.links()[0].target_price, Some("77.00".parse().unwrap()));
    // The same delivery again: once only.
    assert_eq!(r.webhook("products/update", "w1", &signed(&b1), b1.as_bytes()).await.unwrap(), WebhookOutcome::Duplicate);
    // An older state arriving late never overwrites the newer one.
    let b0 = update("70.00", "2026-11-22T09:00:00Z");
    assert_eq!(r.webhook("products/update", "w0", &signed(&b0), b0.as_bytes()).await.unwrap(), WebhookOutcome::Ignored);
    assert_eq!(r.links()[0].target_price, Some("77.00".parse().unwrap()));
    let b2 = update("80.00", "2026-11-22T11:00:00Z");
    assert_eq!(r.webhook("products/update", "w2", &signed(&b2), b2.as_bytes()).await.unwrap(), WebhookOutcome::Applied(1));
    assert_eq!(r.links()[0].target_price, Some("80.00".parse().unwrap()));

    // Stock, in order too.
    let level = |n: i64, at: &str| json!({ "inventory_item_id": item_num, "location_id": 1, "available": n, "updated_at": at }).to_string();
    let s2 = level(4, "2026-11-22T12:00:00Z");
    let s1 = level(9, "2026-11-22T11:30:00Z");
    assert_eq!(r.webhook("inventory_levels/update", "i2", &signed(&s2), s2.as_bytes()).await.unwrap(), WebhookOutcome::Applied(1));
    assert_eq!(r.webhook("inventory_levels/update", "i1", &signed(&s1), s1.as_bytes()).await.unwrap(), WebhookOutcome::Ignored);
    assert_eq!(r.links()[0].target_stock, Some(4));
    // Kept across a restart.
    let again = Repricer::open(h.engine.clone(), accounts).await.unwrap();
    assert_eq!(again.links()[0].target_price, Some("80.00".parse().unwrap()));
    assert_eq!(again.links()[0].target_stock, Some(4));
}
