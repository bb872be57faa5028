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
use monitor::repricing::service::{RepriceError, Repricer};
use monitor::{Accounts, Identity};
use rust_decimal::Decimal;
use serde_json::json;

const TOKEN: &str = "shpat_fake_admin_token_1";

#[tokio::test]
async fn a_price_change_is_proposed_approved_once_and_pushed_once() {
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

    // Only admins connect a store; a wrong token is refused and not kept.
    assert!(matches!(r.connect(&ed, &shop_url, TOKEN).await, Err(RepriceError::Auth(_))));
    assert!(matches!(r.connect(&root, &shop_url, "wrong").await, Err(RepriceError::Shopify(_))));
    assert!(accounts.vault.get(&store, "shopify/admin-token").await.unwrap().is_none());
    assert_eq!(r.connect(&root, &shop_url, TOKEN).await.unwrap(), SHOP_NAME);

    let (pid, vid, _) = h.variant(0, 0);
    let key = format!("{}:{pid}", h.source.key);
    let markup = Markup {
        percent: 20.into(),
        fixed: Decimal::ZERO,
        rounding: Rounding::Cents,
        floor: None,
        ceiling: None,
        max_step_percent: None,
        auto_approve: false,
    };
    let link = r
        .link_by_sku(&ed, &key, Some(vid.to_string()), &format!("DW-{vid}"), markup)
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
