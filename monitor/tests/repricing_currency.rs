//! The shop's currency in repricing (issue 21): the fake Shopify store sells
//! in EUR while the source is priced in USD. Nothing is priced, let alone
//! pushed, until the link's markup names a conversion rate, and the refusal
//! says why; with a rate the proposal is priced with it and says so; a
//! price computed in EUR is not pushed once the shop sells in another
//! currency, which it reads before each push.

mod common;

use std::sync::Arc;
use std::time::Duration;

use model::{Markup, ProposalState, Role};
use monitor::auth::{KeySource, LoginLimits, Vault};
use monitor::repricing::service::{RepriceError, Repricer};
use monitor::{Accounts, Identity};
use rust_decimal::Decimal;
use serde_json::json;

const TOKEN: &str = "shpat_fake_admin_token_eur";

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_store_in_eur_is_not_pushed_usd_prices_unless_the_markup_names_a_rate() {
    let h = common::Harness::new(5).await;
    h.check().await;
    let (admin, shop_url) = h.fake_admin(TOKEN, 5).await;
    admin.set_currency("EUR");
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

    // Connecting reads the shop's currency and keeps it with its status.
    r.connect(&root, &shop_url, TOKEN).await.unwrap();
    assert_eq!(r.status().currency.as_deref(), Some("EUR"));

    // A USD size linked with +20 % and auto-approve: were it priced, it
    // would be pushed at once.
    let (pid, vid, _) = h.variant(0, 0);
    let key = format!("{}:{pid}", h.source.key);
    assert_eq!(h.engine.product(&key).unwrap().currency, "USD");
    let mut markup = Markup {
        percent: 20.into(),
        auto_approve: true,
        ..Markup::default()
    };
    let link = r
        .link_by_sku(
            &ed,
            &key,
            Some(vid.to_string()),
            &format!("DW-{vid}"),
            markup.clone(),
        )
        .await
        .unwrap();
    assert_eq!(link.target_currency, "EUR");
    let shop_price = admin.state.lock().variants[&link.target_variant].price;
    r.start();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The source price changes: the proposal cannot be priced, in words,
    // and nothing reaches the shop.
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
    assert_eq!(p.state, ProposalState::CannotPrice);
    assert_eq!(p.proposed, None);
    let why = p.note.clone().unwrap();
    assert!(
        why.contains("USD") && why.contains("EUR") && why.contains("conversion rate"),
        "{why}"
    );
    assert!(matches!(
        r.approve(&ed, &p.id, p.version).await,
        Err(RepriceError::Conflict)
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(admin.state.lock().updates, 0, "nothing pushed");
    assert_eq!(
        admin.state.lock().variants[&link.target_variant].price,
        shop_price
    );

    // A rate that is no rate is refused, and the link stays as it was.
    for bad in ["0", "-0.9", "2000000"] {
        markup.rate = Some(d(bad));
        match r.edit_link(&ed, &link.id, markup.clone(), false).await {
            Err(RepriceError::Invalid(why)) => assert!(why.contains("rate"), "{why}"),
            other => panic!("a rate of {bad}: {other:?}"),
        }
    }
    assert_eq!(r.links()[0].markup.rate, None);

    // With 0.9 EUR per USD: 50 USD is 45 EUR, +20 % = 54.00 EUR, pushed.
    markup.rate = Some(d("0.9"));
    let edited = r
        .edit_link(&ed, &link.id, markup.clone(), false)
        .await
        .unwrap();
    assert_eq!(edited.markup.rate, Some(d("0.9")));
    let p = r.propose_now(&ed, &link.id).await.unwrap();
    assert_eq!(p.state, ProposalState::Done, "{p:?}");
    assert_eq!(p.proposed, Some(d("54.00")));
    assert_eq!(p.rate, Some(d("0.9")));
    assert_eq!(p.target_currency.as_deref(), Some("EUR"));
    assert_eq!(p.source_currency, "USD");
    assert!(p.rule.contains("converted at 0.9"), "{}", p.rule);
    assert_eq!(admin.state.lock().updates, 1);
    assert_eq!(
        admin.state.lock().variants[&link.target_variant].price,
        d("54.00")
    );

    // The merchant switches the shop to GBP between the proposal and the
    // push: the EUR price is not pushed, and the push says why.
    markup.auto_approve = false;
    r.edit_link(&ed, &link.id, markup.clone(), false)
        .await
        .unwrap();
    let waiting = r
        .propose(&r.links()[0], 777_001, d("60.00"), "USD")
        .await
        .unwrap();
    assert_eq!(
        (waiting.state, waiting.proposed),
        (ProposalState::Proposed, Some(d("64.80")))
    );
    admin.set_currency("GBP");
    let failed = r.approve(&ed, &waiting.id, waiting.version).await.unwrap();
    assert_eq!(failed.state, ProposalState::Failed);
    let why = failed.error.unwrap();
    assert!(why.contains("GBP") && why.contains("EUR"), "{why}");
    assert_eq!(admin.state.lock().updates, 1, "nothing more pushed");
    assert_eq!(r.status().currency.as_deref(), Some("GBP"));

    // The currency read is kept across restarts; proposals now price in it.
    let again = Repricer::open(h.engine.clone(), accounts.clone())
        .await
        .unwrap();
    assert_eq!(again.status().currency.as_deref(), Some("GBP"));
    let gbp = r
        .propose(&r.links()[0], 777_002, d("60.00"), "USD")
        .await
        .unwrap();
    assert_eq!(gbp.target_currency.as_deref(), Some("GBP"));
    assert_eq!(gbp.rate, Some(d("0.9")), "the rate the user entered");

    let audit = accounts.audit_log(&root, None, 100).await.unwrap();
    let edit = audit
        .iter()
        .find(|e| e.action == "reprice.link_edit")
        .expect("the markup edit is audited");
    assert_eq!(edit.actor, "ed");
}
