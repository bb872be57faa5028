//! The Shopify Admin client against the local fake of the user's store
//! (monitor/src/demo/admin.rs): test connection, SKU lookup, price push with
//! the new prices read back, userErrors as failures with Shopify's words,
//! throttling answered with 200 and with 429, the client pacing itself by
//! the cost bucket, and a 5xx as a transient failure.

use std::sync::Arc;

use monitor::demo::admin::{FakeAdmin, SHOP_NAME};
use monitor::demo::Catalogue;
use monitor::repricing::admin::{endpoint_for, AdminError, AdminShop};
use rust_decimal::Decimal;

async fn fake() -> (Arc<FakeAdmin>, String) {
    let admin = FakeAdmin::new("shpat_test_token", &Catalogue::generate(5, 7), 5);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let app = admin.router();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (admin, format!("http://{addr}"))
}

fn shop(base: &str, token: &str) -> AdminShop {
    AdminShop::new(endpoint_for(base).unwrap(), token, reqwest::Client::new())
}

async fn control(base: &str, path: &str, body: serde_json::Value) {
    reqwest::Client::new()
        .post(format!("{base}/admin-control/{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn connects_finds_by_sku_and_sets_prices() {
    let (admin, base) = fake().await;
    assert_eq!(
        shop(&base, "wrong").shop_name().await,
        Err(AdminError::Unauthorized(401))
    );
    let s = shop(&base, "shpat_test_token");
    assert_eq!(s.shop_name().await.unwrap(), SHOP_NAME);
    assert!(!format!("{s:?}").contains("shpat_test_token"));

    let target = admin.state.lock().variants.values().next().unwrap().clone();
    let found = s.variants_by_sku(&target.sku).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].id.as_str(), found[0].product_id.as_str()),
        (target.id.as_str(), target.product_id.as_str())
    );
    assert_eq!(found[0].price, target.price);
    assert!(s.variants_by_sku("NO-SUCH-SKU").await.unwrap().is_empty());

    let new: Decimal = "123.45".parse().unwrap();
    let after = s
        .set_prices(&target.product_id, &[(target.id.clone(), new)])
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].price, new, "read back");
    assert_eq!(admin.state.lock().variants[&target.id].price, new);
}

#[tokio::test]
async fn refusals_carry_shopifys_words_and_change_nothing() {
    let (admin, base) = fake().await;
    let s = shop(&base, "shpat_test_token");
    let target = admin.state.lock().variants.values().next().unwrap().clone();
    match s
        .set_prices(
            &target.product_id,
            &[(target.id.clone(), "-1".parse().unwrap())],
        )
        .await
    {
        Err(AdminError::UserErrors(e)) => {
            assert_eq!(e[0].code.as_deref(), Some("NEGATIVE_PRICE_VALUE"));
            assert!(e[0].message.contains("greater than or equal to 0"));
        }
        other => panic!("{other:?}"),
    }
    match s
        .set_prices(
            &target.product_id,
            &[(
                "gid://shopify/ProductVariant/1".into(),
                "5".parse().unwrap(),
            )],
        )
        .await
    {
        Err(e @ AdminError::UserErrors(_)) => {
            assert!(
                e.to_string().contains("Product variant does not exist"),
                "{e}"
            );
            assert!(!e.is_transient());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(admin.state.lock().variants[&target.id].price, target.price);
    control(&base, "fail", serde_json::json!({ "status": 502 })).await;
    let e = s.shop_name().await.unwrap_err();
    assert!(
        matches!(e, AdminError::Http { status: 502, .. }) && e.is_transient(),
        "{e:?}"
    );
}

#[tokio::test]
async fn throttled_with_200_and_429_and_paced_by_the_cost_bucket() {
    let (admin, base) = fake().await;
    let target = admin.state.lock().variants.values().next().unwrap().clone();
    let price = |p: &str| vec![(target.id.clone(), p.parse::<Decimal>().unwrap())];
    // An almost empty bucket: the first push is throttled (HTTP 200), and
    // says to wait (10 - 5) / 10 = 0.5 s; the next one gets a 429.
    control(
        &base,
        "bucket",
        serde_json::json!({ "maximum": 100, "available": 5, "restore_rate": 10 }),
    )
    .await;
    let fresh = shop(&base, "shpat_test_token");
    match fresh.set_prices(&target.product_id, &price("10")).await {
        Err(AdminError::Throttled(wait)) => {
            assert!(
                wait.as_millis() >= 400 && wait.as_millis() <= 500,
                "{wait:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        fresh.set_prices(&target.product_id, &price("10")).await,
        Err(AdminError::Throttled(_))
    ));
    assert_eq!(admin.state.lock().throttled, 2);

    // The Standard plan's rate, a small bucket: a client that reads the cost
    // block waits instead of being throttled.
    control(
        &base,
        "bucket",
        serde_json::json!({ "maximum": 40, "available": 40, "restore_rate": 100 }),
    )
    .await;
    let s = shop(&base, "shpat_test_token");
    for i in 0..12 {
        s.set_prices(&target.product_id, &price(&format!("{}.00", 20 + i)))
            .await
            .unwrap_or_else(|e| panic!("push {i}: {e}"));
    }
    assert_eq!(admin.state.lock().throttled, 2, "no more throttled answers");
    assert_eq!(
        admin.state.lock().variants[&target.id].price,
        "31.00".parse::<Decimal>().unwrap()
    );
}
