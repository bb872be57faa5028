//! Which kind of source an imported address becomes, when the file does not
//! say: a `…/products.json` address, or an address that is not a product's
//! (`/products/…`) and answers `products.json` below it as Shopify does, is
//! a Shopify store (watched as a whole catalogue); a `…/wp-json/wc/store/…`
//! address, or a front page whose shop answers the Store API, is a
//! WooCommerce shop; any other page is a product page, except a shop's bare
//! front page, which is no product. The requests made to tell go through
//! the engine's fetcher, so they keep the outbound policy and the shop's
//! politeness like every poll.

use url::Url;

use super::Candidate;
use crate::engine::Engine;
use crate::sources::{shopify, woocommerce};

/// Kinds a line may name; the others need settings a list cannot give.
const LIST_KINDS: [&str; 3] = [
    model::SOURCE_KIND_SHOPIFY,
    model::SOURCE_KIND_WOOCOMMERCE,
    model::SOURCE_KIND_PAGE,
];

/// Whether `url` is a bare front page.
fn is_front_page(url: &Url) -> bool {
    url.path().trim_end_matches('/').is_empty()
}

/// Whether the store at `url` answers its first catalogue page as Shopify does.
async fn answers_products_json(engine: &Engine, url: &Url) -> bool {
    let mut probe = shopify::page_url(url, 1);
    probe.set_query(Some("limit=1"));
    match engine.fetcher.get_json(&probe).await {
        Ok(body) => shopify::catalogue_size(&body).is_some(),
        Err(_) => false,
    }
}

/// A changedetection.io JSON watch: its mapping from one read of the
/// endpoint, or not imported with why.
async fn map_json(engine: &Engine, url: &Url, c: &mut Candidate) {
    let price = c.json_price.clone().unwrap_or_default();
    let answer = match engine.fetcher.get_json(url).await {
        Ok(body) => serde_json::from_slice::<serde_json::Value>(&body)
            .map_err(|e| format!("its answer is not JSON ({e})")),
        Err(e) => Err(format!("could not read it to map its fields ({e})")),
    };
    match answer.and_then(|a| super::json_map::mapping(&price, &a)) {
        Ok(m) => c.json = Some(m),
        Err(why) => c.not_imported = Some(format!("a JSON API watch: {why}")),
    }
}

/// Sets `c.kind` (and trims a `products.json` address to its store), or
/// refuses the candidate with what to do.
pub async fn settle(engine: &Engine, c: &mut Candidate) {
    let Ok(mut url) = Url::parse(c.url.trim()) else {
        // The engine's check words the refusal (it names what to type).
        c.kind.get_or_insert_with(|| model::SOURCE_KIND_PAGE.into());
        return;
    };
    let (store, product_page) = shopify::store_of(&url);
    if url.path().ends_with("/products.json") {
        c.url = store.as_str().trim_end_matches('/').to_string();
        url = store.clone();
        c.kind
            .get_or_insert_with(|| model::SOURCE_KIND_SHOPIFY.into());
    }
    if let Some(shop) = woocommerce::shop_of(&url) {
        c.url = shop.as_str().trim_end_matches('/').to_string();
        url = shop;
        c.kind
            .get_or_insert_with(|| model::SOURCE_KIND_WOOCOMMERCE.into());
    }
    match c.kind.as_deref() {
        Some(k) if LIST_KINDS.contains(&k) => {}
        Some(model::SOURCE_KIND_JSON) if c.json_price.is_some() => map_json(engine, &url, c).await,
        Some(k) if model::SOURCE_KINDS.contains(&k) => {
            c.not_imported = Some(format!(
                "a {k} source needs settings a list cannot give; add it on the Sources page"
            ));
        }
        Some(k) => {
            c.refused = Some(format!(
                "unknown kind {k:?}; a list may name shopify or page (or leave it out)"
            ));
        }
        None if product_page => c.kind = Some(model::SOURCE_KIND_PAGE.into()),
        None if answers_products_json(engine, &store).await => {
            c.kind = Some(model::SOURCE_KIND_SHOPIFY.into())
        }
        None if !is_front_page(&url) => c.kind = Some(model::SOURCE_KIND_PAGE.into()),
        None if woocommerce::answers_store_api(&engine.fetcher, &url).await => {
            c.kind = Some(model::SOURCE_KIND_WOOCOMMERCE.into())
        }
        None => {
            c.refused = Some(
                "a shop's front page that is not a Shopify store (no /products.json) nor a WooCommerce shop (no Store API); give a product page's address, or kind shopify/woocommerce/page".into(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_addresses_and_front_pages_are_told_apart() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(is_front_page(&u("https://kith.com")));
        assert!(is_front_page(&u("https://kith.com/")));
        assert!(!is_front_page(&u("https://kith.com/collections/sneakers")));
        let is_product = |s: &str| shopify::store_of(&u(s)).1;
        assert!(is_product("https://kith.com/products/dunk-low"));
        assert!(is_product(
            "https://kith.com/collections/sneakers/products/dunk-low"
        ));
        assert!(!is_product("https://shop.example.org/item/123"));
        let woo = |s: &str| woocommerce::shop_of(&u(s)).map(|u| u.to_string());
        assert_eq!(
            woo("https://shop.example/wp-json/wc/store/v1/products?per_page=5").as_deref(),
            Some("https://shop.example/")
        );
        assert_eq!(
            woo("https://shop.example/blog/wp-json/wc/store/products").as_deref(),
            Some("https://shop.example/blog/")
        );
        assert_eq!(woo("https://shop.example/product/tee/"), None);
    }
}
