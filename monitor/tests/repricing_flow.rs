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
use monitor::repricing::service::{
    target_spec, RepriceError, Repricer, TargetSpec, WebhookOutcome,
};
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
    let (admin, shop_url) = h.fake_admin(TOKEN, 5).await;
    let store = h.engine.store().clone();
    let vault = Vault::open(&KeySource::Ephemeral, &store).await.unwrap();
    let accounts = Arc::new(Accounts::new(store.clone(), vault, LoginLimits::default()));
    let root = Identity::system("root");
    accounts
        .create_user(&root, "ed", Role::Editor, "editor-password")
        .await
        .unwrap();
    let (_, ed) = accounts.login("ed", "editor-password", None).await.unwrap();
    let r = Repricer::open(h.engine.clone(), accounts.clone())
        .await
        .unwrap();
    Setup {
        h,
        admin,
        shop_url,
        accounts,
        store,
        root,
        ed,
        r,
    }
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
        rate: None,
    }
}

#[tokio::test]
async fn a_price_change_is_proposed_approved_once_and_pushed_once() {
    let Setup {
        h,
        admin,
        shop_url,
        accounts,
        store,
        root,
        ed,
        r,
    } = setup().await;

    // Only admins connect a store; a wrong token is refused and not kept.
    assert!(matches!(
        r.connect(&ed, &shop_url, TOKEN).await,
        Err(RepriceError::Auth(_))
    ));
    assert!(matches!(
        r.connect(&root, &shop_url, "wrong").await,
        Err(RepriceError::Shopify(_))
    ));
    assert!(accounts
        .vault
        .get(&store, "shopify/admin-token")
        .await
        .unwrap()
        .is_none());
    assert_eq!(r.connect(&root, &shop_url, TOKEN).await.unwrap(), SHOP_NAME);

    let (pid, vid, _) = h.variant(0, 0);
    let key = format!("{}:{pid}", h.source.key);
    let link = r
        .link_by_sku(
            &ed,
            &key,
            Some(vid.to_string()),
            &format!("DW-{vid}"),
            markup(),
        )
        .await
        .unwrap();
    let target = link.target_variant.clone();
    assert_eq!(
        Some(admin.state.lock().variants[&target].price),
        link.target_price
    );
    r.start();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The source gets cheaper: a proposal at +20 %.
    assert_eq!(
        h.control("price", json!({ "variant_id": vid, "price": "50.00" }))
            .await,
        204
    );
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
    let (a, b) = tokio::join!(
        r.approve(&ed, &p.id, p.version),
        r.approve(&ed, &p.id, p.version)
    );
    let done = match (a, b) {
        (Ok(d), Err(RepriceError::Conflict)) | (Err(RepriceError::Conflict), Ok(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(done.state, ProposalState::Done);
    assert_eq!(
        done.pushed_price,
        Some("60.00".parse().unwrap()),
        "read back"
    );
    assert_eq!(admin.state.lock().updates, 1);
    assert_eq!(
        admin.state.lock().variants[&target].price,
        "60.00".parse::<Decimal>().unwrap()
    );
    assert_eq!(r.links()[0].target_price, Some("60.00".parse().unwrap()));
    let audit = accounts.audit_log(&root, None, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "reprice.push" && e.actor == "ed"),
        "{audit:?}"
    );
    assert!(!serde_json::to_string(&audit).unwrap().contains(TOKEN));

    // Claimed, then the process stopped before the call: the next start
    // pushes it, once.
    let link = r.links()[0].clone();
    let p2 = r
        .propose(&link, 9_001, "40.00".parse().unwrap(), "USD")
        .await
        .unwrap();
    let mut claimed = p2.clone();
    claimed.state = ProposalState::Pushing;
    claimed.version += 1;
    store
        .advance_proposal(&claimed, p2.version)
        .await
        .unwrap()
        .unwrap();
    drop(r);
    let r = Repricer::open(h.engine.clone(), accounts.clone())
        .await
        .unwrap();
    assert_eq!(r.resume().await.unwrap(), 1);
    assert_eq!(r.resume().await.unwrap(), 0, "nothing left");
    let p2 = store.proposal(&p2.id).await.unwrap().unwrap();
    assert_eq!(p2.state, ProposalState::Done);
    assert_eq!(admin.state.lock().updates, 2);
    assert_eq!(
        admin.state.lock().variants[&target].price,
        "48.00".parse::<Decimal>().unwrap()
    );

    // A 502 is retried; the push still happens once.
    let p3 = r
        .propose(&link, 9_002, "45.00".parse().unwrap(), "USD")
        .await
        .unwrap();
    reqwest::Client::new()
        .post(format!("{shop_url}/admin-control/fail"))
        .json(&json!({ "status": 502 }))
        .send()
        .await
        .unwrap();
    let p3 = r.approve(&ed, &p3.id, p3.version).await.unwrap();
    assert_eq!((p3.state, p3.attempts), (ProposalState::Done, 2));
    assert_eq!(admin.state.lock().updates, 3);

    // Another currency cannot be priced; nothing to approve.
    let p4 = r
        .propose(&link, 9_003, "45.00".parse().unwrap(), "EUR")
        .await
        .unwrap();
    assert_eq!(p4.state, ProposalState::CannotPrice);
    assert!(p4.note.unwrap().contains("EUR"));
    assert!(matches!(
        r.approve(&ed, &p4.id, p4.version).await,
        Err(RepriceError::Conflict)
    ));
}

#[tokio::test]
async fn shop_webhooks_are_verified_deduplicated_and_applied_in_order() {
    let Setup {
        h,
        shop_url,
        root,
        ed,
        r,
        accounts,
        ..
    } = setup().await;
    r.connect(&root, &shop_url, TOKEN).await.unwrap();
    let (pid, vid, _) = h.variant(1, 0);
    let link = r
        .link_by_sku(
            &ed,
            &format!("{}:{pid}", h.source.key),
            Some(vid.to_string()),
            &format!("DW-{vid}"),
            markup(),
        )
        .await
        .unwrap();
    let variant_num: u64 = link
        .target_variant
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let item = link
        .target_inventory_item
        .clone()
        .expect("read with the SKU lookup");
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
    assert!(matches!(
        r.webhook("products/update", "w1", &signed(&b1), b1.as_bytes())
            .await,
        Err(RepriceError::BadSignature)
    ));
    assert!(matches!(
        r.set_webhook_secret(&ed, secret).await,
        Err(RepriceError::Auth(_))
    ));
    r.set_webhook_secret(&root, secret).await.unwrap();
    // A wrong signature, or a body changed after signing: refused, nothing kept.
    let forged = webhook::sign(b"another-secret-12345", b1.as_bytes());
    assert!(matches!(
        r.webhook("products/update", "w1", &forged, b1.as_bytes())
            .await,
        Err(RepriceError::BadSignature)
    ));
    let b1x = update("1.00", "2026-11-22T10:00:00Z");
    assert!(matches!(
        r.webhook("products/update", "w1", &signed(&b1), b1x.as_bytes())
            .await,
        Err(RepriceError::BadSignature)
    ));
    assert_eq!(r.links()[0].target_price, link.target_price);

    assert_eq!(
        r.webhook("products/update", "w1", &signed(&b1), b1.as_bytes())
            .await
            .unwrap(),
        WebhookOutcome::Applied(1)
    );
    assert_eq!(r.links()[0].target_price, Some("77.00".parse().unwrap()));
    // The same delivery again: once only.
    assert_eq!(
        r.webhook("products/update", "w1", &signed(&b1), b1.as_bytes())
            .await
            .unwrap(),
        WebhookOutcome::Duplicate
    );
    // An older state arriving late never overwrites the newer one.
    let b0 = update("70.00", "2026-11-22T09:00:00Z");
    assert_eq!(
        r.webhook("products/update", "w0", &signed(&b0), b0.as_bytes())
            .await
            .unwrap(),
        WebhookOutcome::Ignored
    );
    assert_eq!(r.links()[0].target_price, Some("77.00".parse().unwrap()));
    let b2 = update("80.00", "2026-11-22T11:00:00Z");
    assert_eq!(
        r.webhook("products/update", "w2", &signed(&b2), b2.as_bytes())
            .await
            .unwrap(),
        WebhookOutcome::Applied(1)
    );
    assert_eq!(r.links()[0].target_price, Some("80.00".parse().unwrap()));

    // Stock, in order too.
    let level = |n: i64, at: &str| {
        json!({ "inventory_item_id": item_num, "location_id": 1, "available": n, "updated_at": at })
            .to_string()
    };
    let s2 = level(4, "2026-11-22T12:00:00Z");
    let s1 = level(9, "2026-11-22T11:30:00Z");
    assert_eq!(
        r.webhook("inventory_levels/update", "i2", &signed(&s2), s2.as_bytes())
            .await
            .unwrap(),
        WebhookOutcome::Applied(1)
    );
    assert_eq!(
        r.webhook("inventory_levels/update", "i1", &signed(&s1), s1.as_bytes())
            .await
            .unwrap(),
        WebhookOutcome::Ignored
    );
    assert_eq!(r.links()[0].target_stock, Some(4));
    // Kept across a restart.
    let again = Repricer::open(h.engine.clone(), accounts).await.unwrap();
    assert_eq!(
        again.links()[0].target_price,
        Some("80.00".parse().unwrap())
    );
    assert_eq!(again.links()[0].target_stock, Some(4));
}

#[tokio::test]
async fn links_by_admin_url_store_and_tag_markups_auto_approve_and_live_events() {
    let Setup {
        h,
        admin,
        shop_url,
        accounts,
        store,
        root,
        ed,
        r,
    } = setup().await;
    // Nothing to link to before a store is connected.
    let (pid, vid, _) = h.variant(2, 0);
    let key = format!("{}:{pid}", h.source.key);
    assert!(matches!(
        r.link_by_sku(&ed, &key, None, &format!("DW-{vid}"), markup())
            .await,
        Err(RepriceError::NotConnected)
    ));
    r.connect(&root, &shop_url, TOKEN).await.unwrap();
    assert_eq!(r.status().name.as_deref(), Some(SHOP_NAME));

    // The "your variant" field: an admin URL, a gid or a SKU.
    let gid = format!("gid://shopify/ProductVariant/{}", 9_000_000 + vid);
    for (raw, want) in [
        (
            format!(
                "https://admin.shopify.com/store/my-shop/products/9000123/variants/{}",
                9_000_000 + vid
            ),
            TargetSpec::Variant(gid.clone()),
        ),
        (
            format!(
                "https://my-shop.myshopify.com/admin/products/1/variants/{}?x=1",
                9_000_000 + vid
            ),
            TargetSpec::Variant(gid.clone()),
        ),
        (gid.clone(), TargetSpec::Variant(gid.clone())),
        (
            format!("sku:DW-{vid}"),
            TargetSpec::Sku(format!("DW-{vid}")),
        ),
        (format!(" DW-{vid} "), TargetSpec::Sku(format!("DW-{vid}"))),
    ] {
        assert_eq!(target_spec(&raw), Ok(want), "{raw}");
    }
    assert!(
        target_spec("https://admin.shopify.com/store/my-shop/products/9000123")
            .unwrap_err()
            .contains("names no variant")
    );
    assert!(target_spec("  ").is_err());

    // Search, as "Find in your store" does; viewers may not spend the points.
    let title = h.demo.catalogue.lock().products[2].title.clone();
    let first_word = title.split_whitespace().next().unwrap().to_string();
    let found = r
        .search_targets(&ed, &format!("{first_word} DW-{vid}"))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        vec![gid.as_str()]
    );
    let viewer = {
        accounts
            .create_user(&root, "vic", Role::Viewer, "viewer-password")
            .await
            .unwrap();
        accounts
            .login("vic", "viewer-password", None)
            .await
            .unwrap()
            .1
    };
    assert!(matches!(
        r.search_targets(&viewer, "DW").await,
        Err(RepriceError::Auth(_))
    ));

    // Linked by admin URL to a variant that does not exist: said so.
    let nowhere = TargetSpec::Variant("gid://shopify/ProductVariant/1".into());
    match r.link(&ed, &key, None, &nowhere, markup(), false).await {
        Err(RepriceError::Invalid(why)) => assert!(why.contains("no variant"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Linked, following the store's markups (a tag of the product, else the
    // store default).
    let link = r
        .link(
            &ed,
            &key,
            Some(vid.to_string()),
            &target_spec(&gid).unwrap(),
            markup(),
            true,
        )
        .await
        .unwrap();
    assert_eq!(link.target_variant, gid);
    // One target is fed by one link.
    assert!(matches!(
        r.link(
            &ed,
            &key,
            None,
            &TargetSpec::Sku(format!("DW-{vid}")),
            markup(),
            false
        )
        .await,
        Err(RepriceError::Invalid(_))
    ));
    let tag = h.engine.product(&key).unwrap().tags[0].clone();
    let mut store_default = markup();
    store_default.percent = 10.into();
    let mut by_tag = markup();
    by_tag.percent = 50.into();
    by_tag.rounding = Rounding::To99;
    by_tag.auto_approve = true;
    assert!(matches!(
        r.set_markup_rules(&viewer, vec![]).await,
        Err(RepriceError::Auth(_))
    ));
    let dup = vec![
        model::MarkupRule {
            tag: Some("X".into()),
            markup: markup(),
        },
        model::MarkupRule {
            tag: Some("x".into()),
            markup: markup(),
        },
    ];
    assert!(matches!(
        r.set_markup_rules(&ed, dup).await,
        Err(RepriceError::Invalid(_))
    ));
    r.set_markup_rules(
        &ed,
        vec![model::MarkupRule {
            tag: None,
            markup: store_default.clone(),
        }],
    )
    .await
    .unwrap();
    assert!(
        r.effective_markup(&link)
            .1
            .starts_with("store default (+10 %"),
        "{}",
        r.effective_markup(&link).1
    );
    r.set_markup_rules(
        &ed,
        vec![
            model::MarkupRule {
                tag: None,
                markup: store_default,
            },
            model::MarkupRule {
                tag: Some(tag.to_uppercase()),
                markup: by_tag,
            },
        ],
    )
    .await
    .unwrap();
    // Kept across restarts, tag rules first.
    let r2 = Repricer::open(h.engine.clone(), accounts.clone())
        .await
        .unwrap();
    assert_eq!(r2.markup_rules(), r.markup_rules());
    assert!(r2.markup_rules()[0].tag.is_some());
    drop(r2);

    // The source price changes: the tag's markup (+50 %, .99, auto-approve)
    // proposes and pushes without anyone approving; the live feed says so.
    let mut feed = h.engine.feed(store.last_seq());
    r.start();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        h.control("price", json!({ "variant_id": vid, "price": "40.00" }))
            .await,
        204
    );
    h.check().await;
    let mut kinds = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !kinds.contains(&model::EventKind::RepricePushed) {
        let e = tokio::time::timeout_at(deadline, feed.next())
            .await
            .expect("events in time")
            .unwrap()
            .unwrap();
        if e.kind.is_repricing() {
            assert_eq!(e.product.as_ref().unwrap().key, key);
            kinds.push(e.kind);
        }
    }
    assert_eq!(
        kinds,
        vec![
            model::EventKind::RepriceProposed,
            model::EventKind::RepricePushed
        ]
    );
    assert_eq!(
        admin.state.lock().variants[&gid].price,
        "60.99".parse::<Decimal>().unwrap()
    );
    let p = store.proposals(1).await.unwrap().remove(0);
    assert_eq!(
        (p.state, p.approved_by.as_deref()),
        (ProposalState::Done, Some("auto-approve"))
    );
    assert!(
        p.rule.starts_with(&format!("tag {:?}", tag.to_uppercase())),
        "{}",
        p.rule
    );

    // A waiting proposal is replaced by a newer one for the same link.
    r.set_markup_rules(&ed, vec![]).await.unwrap();
    let p1 = r.propose_now(&ed, &link.id).await.unwrap();
    assert_eq!(p1.state, ProposalState::Proposed);
    assert!(p1.rule.starts_with("this link (+20 %"), "{}", p1.rule);
    let p2 = r
        .propose(&r.links()[0], 99_999, "41.00".parse().unwrap(), "USD")
        .await
        .unwrap();
    assert_eq!(
        store.proposal(&p1.id).await.unwrap().unwrap().state,
        ProposalState::Superseded
    );
    assert!(matches!(
        r.approve(&ed, &p1.id, p1.version).await,
        Err(RepriceError::Conflict)
    ));
    // Bulk approval: the one waiting is pushed, the replaced one is refused.
    let out = r
        .approve_many(
            &ed,
            &[(p2.id.clone(), p2.version), (p1.id.clone(), p1.version)],
        )
        .await;
    assert_eq!(out[0].1.as_ref().unwrap().state, ProposalState::Done);
    assert!(matches!(out[1].1, Err(RepriceError::Conflict)));

    // Two sizes of one shop product approved together: one call.
    let (_, vid2, _) = h.variant(2, 1);
    let second = r
        .link_by_sku(
            &ed,
            &key,
            Some(vid2.to_string()),
            &format!("DW-{vid2}"),
            markup(),
        )
        .await
        .unwrap();
    assert_eq!(second.target_product, r.links()[0].target_product);
    let a = r
        .propose(&r.links()[0], 99_998, "43.00".parse().unwrap(), "USD")
        .await
        .unwrap();
    let b = r
        .propose(&second, 99_998, "44.00".parse().unwrap(), "USD")
        .await
        .unwrap();
    let calls = admin.state.lock().updates;
    let out = r
        .approve_many(&ed, &[(a.id.clone(), a.version), (b.id.clone(), b.version)])
        .await;
    assert_eq!(
        admin.state.lock().updates,
        calls + 1,
        "one productVariantsBulkUpdate"
    );
    assert_eq!(
        out.iter()
            .map(|(id, r)| (id.clone(), r.as_ref().unwrap().state))
            .collect::<Vec<_>>(),
        vec![
            (a.id.clone(), ProposalState::Done),
            (b.id.clone(), ProposalState::Done)
        ]
    );
    assert_eq!(
        admin.state.lock().variants[&second.target_variant].price,
        "52.80".parse::<Decimal>().unwrap()
    );
    r.unlink(&ed, &second.id).await.unwrap();

    // A push the shop refuses fails with its words, live too.
    let mut feed = h.engine.feed(store.last_seq());
    admin
        .state
        .lock()
        .variants
        .get_mut(&gid)
        .unwrap()
        .product_id = "gid://shopify/Product/elsewhere".into();
    let p3 = r
        .propose(&r.links()[0], 100_000, "42.00".parse().unwrap(), "USD")
        .await
        .unwrap();
    let failed = r.approve(&ed, &p3.id, p3.version).await.unwrap();
    assert_eq!(failed.state, ProposalState::Failed);
    assert!(
        failed.error.as_deref().unwrap().contains("does not exist"),
        "{failed:?}"
    );
    let mut last = None;
    while let Ok(Ok(Some(e))) = tokio::time::timeout(Duration::from_millis(500), feed.next()).await
    {
        last = Some(e);
    }
    let last = last.unwrap();
    assert_eq!(last.kind, model::EventKind::RepriceFailed);
    assert!(
        last.describe().contains("does not exist"),
        "{}",
        last.describe()
    );

    // Unlinked: its price changes propose nothing more.
    r.unlink(&ed, &link.id).await.unwrap();
    assert!(r.links().is_empty());
    assert!(matches!(
        r.unlink(&ed, &link.id).await,
        Err(RepriceError::NotFound(_))
    ));
    let audit = accounts.audit_log(&root, None, 100).await.unwrap();
    for action in [
        "reprice.link",
        "reprice.rules",
        "reprice.unlink",
        "reprice.push",
        "reprice.push_failed",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
}
