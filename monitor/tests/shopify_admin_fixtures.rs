//! Captured Shopify Admin GraphQL answers (fixtures/shopify-admin)
//! read as the repricing client reads them: data with the cost block, and
//! errors without data or extensions.

use std::path::PathBuf;

use monitor::repricing::admin::{read_answer, AdminError};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let dir = std::env::var("DROPWATCH_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures"));
    let path = dir.join("shopify-admin").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("fixture {} is missing ({e}); they are in the repository under fixtures/, or set DROPWATCH_FIXTURES", path.display())
    })
}

#[test]
fn an_answer_with_its_cost_block() {
    let a = read_answer(200, None, &fixture("gql-shop-products-with-cost.json")).unwrap();
    assert_eq!(
        a.data
            .pointer("/shop/products/edges/1/node/handle")
            .and_then(Value::as_str),
        Some("bacon")
    );
    assert_eq!(
        a.data
            .pointer("/shop/products/edges/0/node/id")
            .and_then(Value::as_str),
        Some("gid://shopify/Product/285561393")
    );
    let c = a.cost.expect("the cost block is read");
    assert_eq!(
        (
            c.requested,
            c.actual,
            c.available,
            c.maximum,
            c.restore_rate
        ),
        (5.0, Some(5.0), 995.0, 1000.0, 50.0)
    );
}

#[test]
fn errors_without_data_or_extensions() {
    match read_answer(200, None, &fixture("gql-error-no-extensions.json")) {
        Err(AdminError::GraphQl(msgs)) => {
            assert_eq!(msgs, ["Field 'productz' doesn't exist on type 'Shop'"]);
        }
        other => panic!("{other:?}"),
    }
}
