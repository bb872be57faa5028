//! What the built-in demo offers an admin ready-made: its fake Oxylabs and
//! Pop Mart accounts (Sources page, one button) and its fake Shopify store
//! (Repricing page, one button). The server configures these at start when
//! the demo runs; the engine, control layer, repricer and pages only see
//! offers with a label, never the demo itself.

use url::Url;

use crate::engine::{OfferedAccounts, OfferedKeys, OfferedLogin};
use crate::repricing::service::OfferedShop;

/// How the pages name the demo's offers.
const LABEL: &str = "the built-in demo";

/// The demo's Oxylabs and Pop Mart, served under `base`
/// ("http://127.0.0.1:3000/demo"); `product_ids` are a few of the demo
/// store's products, whose mirrored ASINs the note suggests.
pub fn accounts(base: &Url, product_ids: &[u64]) -> OfferedAccounts {
    let oxylabs_api = format!("{}/oxylabs", base.as_str().trim_end_matches('/'));
    let popmart_api = popmart_url(base);
    let asins: Vec<String> = product_ids
        .iter()
        .take(3)
        .map(|id| super::oxylabs::asin_of(*id))
        .collect();
    OfferedAccounts {
        label: LABEL.into(),
        oxylabs: Some(OfferedLogin {
            user: super::oxylabs::DEMO_USER.into(),
            password: super::oxylabs::DEMO_PASSWORD.into(),
            api: oxylabs_api,
        }),
        popmart: Some(OfferedKeys {
            client_key: super::popmart::DEMO_CLIENT_KEY.into(),
            salt: super::popmart::DEMO_SALT.into(),
            api: popmart_api.clone(),
        }),
        note: format!(
            "Amazon sources now read the demo's Oxylabs (its Amazon mirrors the demo store; try the ASINs {}), and Pop Mart sources the demo's Pop Mart at {popmart_api} (product ids 1159 to 1169).",
            asins.join(" ")
        ),
    }
}

/// The demo's Shopify store for repricing, served at `base`/shop.
pub fn shop(base: &Url) -> OfferedShop {
    OfferedShop {
        label: format!("{LABEL} shop"),
        url: format!("{}/shop", base.as_str().trim_end_matches('/')),
        token: super::admin::DEMO_TOKEN.into(),
    }
}

/// The demo's Pop Mart API: the demo's address under the name "localhost",
/// so that Pop Mart's slow politeness (1.5–4 s between requests) applies
/// to it alone, not to the demo store on the same port.
pub fn popmart_url(base: &Url) -> String {
    let mut u = base.clone();
    let _ = u.set_host(Some("localhost"));
    format!("{}/popmart", u.as_str().trim_end_matches('/'))
}
