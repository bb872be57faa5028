//! The demo store's own pages: a storefront index, product pages, a cart
//! page, and generated product pictures (SVG), so that every link Dropwatch
//! shows for a demo product leads somewhere real.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::{DemoProduct, DemoStore};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · Dropwatch demo store</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}img{{max-width:12rem}}li{{margin:.3rem 0}}</style></head><body>{}</body></html>",
        escape(title),
        body
    ))
}

pub(super) async fn index(State(store): State<Arc<DemoStore>>) -> Html<String> {
    let cat = store.catalogue.lock();
    let items: String = cat
        .products
        .iter()
        .take(500)
        .map(|p| {
            format!(
                "<li><a href=\"products/{}\">{}</a> — {}</li>",
                p.handle,
                escape(&p.title),
                escape(&p.vendor)
            )
        })
        .collect();
    page(
        "Demo store",
        &format!(
            "<h1>Dropwatch demo store</h1><p>A pretend shop with {} products whose prices and stock change by themselves. Its catalogue is at <a href=\"products.json\">products.json</a>.</p><ul>{items}</ul>",
            cat.products.len()
        ),
    )
}

pub(super) async fn product_page(
    State(store): State<Arc<DemoStore>>,
    Path(handle): Path<String>,
) -> Response {
    // Faults apply to product pages too (the "page" source's tests).
    let fault = store.fault.lock().clone();
    if let Some(f) = fault {
        return super::fault_response(f).await;
    }
    let cat = store.catalogue.lock();
    let Some(p) = cat.products.iter().find(|p| p.handle == handle) else {
        return (
            StatusCode::NOT_FOUND,
            page("Not found", "<h1>This product is not in the store.</h1>"),
        )
            .into_response();
    };
    let sizes: String = p
        .variants
        .iter()
        .map(|v| {
            let stock = if v.available {
                format!("<a href=\"../cart/add?id={}\">Add to cart</a>", v.id)
            } else {
                "Sold out".to_string()
            };
            format!("<li>{} — {} — {stock}</li>", escape(&v.title), v.price)
        })
        .collect();
    // schema.org data as shops publish it: a ProductGroup with one Product
    // per size (what the "page" source reads).
    let ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "ProductGroup",
        "name": p.title,
        "productGroupID": p.id.to_string(),
        "brand": { "@type": "Brand", "name": p.vendor },
        "image": format!("../images/{}.svg", p.id),
        "hasVariant": p.variants.iter().map(|v| serde_json::json!({
            "@type": "Product",
            "name": format!("{} - {}", p.title, v.title),
            "sku": format!("DW-{}", v.id),
            "size": v.title,
            "offers": {
                "@type": "Offer",
                "price": v.price.to_string(),
                "priceCurrency": "USD",
                "availability": if v.available { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" },
            }
        })).collect::<Vec<_>>(),
    })
    .to_string()
    .replace("</", "<\\/");
    page(
        &p.title,
        &format!(
            "<script type=\"application/ld+json\">{ld}</script><h1>{}</h1><p>{}</p><img src=\"../images/{}.svg\" alt=\"\"><ul>{sizes}</ul>",
            escape(&p.title),
            escape(&p.vendor),
            p.id
        ),
    )
    .into_response()
}

#[derive(Deserialize)]
pub(super) struct CartQuery {
    id: Option<u64>,
}

pub(super) async fn cart_add(
    State(store): State<Arc<DemoStore>>,
    Query(q): Query<CartQuery>,
) -> Html<String> {
    let cat = store.catalogue.lock();
    let found = q.id.and_then(|id| {
        cat.products
            .iter()
            .find_map(|p| p.variants.iter().find(|v| v.id == id).map(|v| (p, v)))
    });
    match found {
        Some((p, v)) if v.available => page(
            "Cart",
            &format!(
                "<h1>Added to your cart</h1><p>{} — {} at {}. (This is the demo store: nothing is bought.)</p>",
                escape(&p.title),
                escape(&v.title),
                v.price
            ),
        ),
        Some((p, v)) => page(
            "Cart",
            &format!(
                "<h1>Sold out</h1><p>{} — {} is sold out.</p>",
                escape(&p.title),
                escape(&v.title)
            ),
        ),
        None => page("Cart", "<h1>No such product</h1>"),
    }
}

/// A flat picture per product: a coloured tile with a shape for its kind and
/// its vendor's name.
fn picture(p: &DemoProduct) -> String {
    let shape = match p.product_type.as_str() {
        "Sneakers" => "<path d=\"M90 380 C 90 300 170 290 230 250 L 300 310 C 360 330 470 330 510 380 L 510 420 L 90 420 Z\" fill=\"#fff\" opacity=\".92\"/>",
        "Apparel" => "<path d=\"M210 170 L 270 150 C 285 180 315 180 330 150 L 390 170 L 450 240 L 400 270 L 390 250 L 390 450 L 210 450 L 210 250 L 200 270 L 150 240 Z\" fill=\"#fff\" opacity=\".92\"/>",
        _ => "<rect x=\"190\" y=\"170\" width=\"220\" height=\"260\" rx=\"18\" fill=\"#fff\" opacity=\".92\"/><circle cx=\"300\" cy=\"260\" r=\"48\" fill=\"currentColor\" opacity=\".5\"/>",
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"600\" viewBox=\"0 0 600 600\" color=\"hsl({h},55%,40%)\">\
         <rect width=\"600\" height=\"600\" fill=\"hsl({h},60%,62%)\"/>{shape}\
         <text x=\"300\" y=\"530\" font-family=\"sans-serif\" font-size=\"40\" text-anchor=\"middle\" fill=\"#fff\">{vendor}</text></svg>",
        h = p.hue,
        vendor = escape(&p.vendor)
    )
}

pub(super) async fn image(
    State(store): State<Arc<DemoStore>>,
    Path(file): Path<String>,
) -> Response {
    let id = file
        .strip_suffix(".svg")
        .and_then(|s| s.parse::<u64>().ok());
    let cat = store.catalogue.lock();
    match id.and_then(|id| cat.products.iter().find(|p| p.id == id)) {
        Some(p) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            picture(p),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
