//! `/api/v1` routes for products: the dashboard's grid (filtered, sorted,
//! paged), one product with its sizes, its deal score and when its sold-out
//! sizes are expected back, the same item in other stores, and a product's
//! price and stock history.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use model::{PricePoint, Product, ProductFilter, ProductPage, Role, StockPoint};

use crate::problem::Problem;
use crate::serve::AppState;

use super::{allow, store_error, ApiResult, Who};

/// Products, filtered, sorted and paged as in the dashboard's grid (60 a page).
#[utoipa::path(get, path = "/api/v1/products",
    params(("q" = Option<String>, Query, description = "words in the title, brand or series"),
           ("brand" = Option<String>, Query), ("series" = Option<String>, Query), ("store" = Option<String>, Query, description = "source key"),
           ("min" = Option<String>, Query, description = "lowest price"), ("max" = Option<String>, Query, description = "highest price"),
           ("in_stock" = Option<bool>, Query, description = "only products with a size in stock"),
           ("near_low" = Option<bool>, Query, description = "only products at or within 5 % of their lowest price seen"),
           ("sort" = Option<String>, Query, description = "newest, price_asc, price_desc, biggest_drop, spread, best_deal"),
           ("page" = Option<usize>, Query, description = "1-based")),
    responses((status = 200, body = ProductPage), (status = 401, body = Problem)))]
pub(super) async fn list_products(
    State(state): State<AppState>,
    Who(who): Who,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<ProductPage>> {
    allow(&who, Role::Viewer)?;
    let q = q.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect();
    let filter = ProductFilter::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Ok(Json(filter.apply(state.engine.products_compared())))
}

/// A product with what Dropwatch works out of its history.
#[derive(Serialize, ToSchema)]
pub(super) struct ProductBody {
    #[serde(flatten)]
    product: Product,
    /// Where today's lowest in-stock price stands against its history and
    /// other stores; absent until first assessed (a second after it is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    deal: Option<model::deal::Deal>,
    /// Each size: when a sold-out one is expected back, or why not.
    restock: Vec<model::restock::SizeOutlook>,
    /// The lowest price's forecast for the next 14 days with its band and
    /// measured error, or why there is none; absent until first assessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    forecast: Option<model::forecast::PriceForecast>,
    /// When its store usually restocks (weekday, hour), from every product
    /// of the store over the last 90 days; absent with too few restocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    store_rhythm: Option<model::rhythm::StoreRhythm>,
}

/// One product with every variant (size), its deal score, its sizes'
/// restock outlook and its price forecast.
#[utoipa::path(get, path = "/api/v1/products/{key}", params(("key" = String, Path, description = "percent-encode the '/' in a key")),
    responses((status = 200, body = ProductBody), (status = 404, body = Problem)))]
pub(super) async fn get_product(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<Json<ProductBody>> {
    allow(&who, Role::Viewer)?;
    let product = state
        .engine
        .product(&key)
        .ok_or_else(|| Problem::not_found(&format!("product {key:?}")))?;
    let insight = state.engine.insight(&key);
    let store_rhythm = state.engine.store_rhythm(&product.source);
    let mut restock = insight
        .as_ref()
        .map(|i| i.restock.clone())
        .unwrap_or_default();
    model::restock::with_rhythm(&mut restock, store_rhythm.as_ref());
    Ok(Json(ProductBody {
        product,
        deal: insight.as_ref().map(|i| i.deal.clone()),
        restock,
        forecast: insight.map(|i| i.forecast.clone()),
        store_rhythm,
    }))
}

/// The same item in another store.
#[derive(Serialize, ToSchema)]
pub(super) struct SameItem {
    key: String,
    source: String,
    title: String,
    url: String,
    currency: String,
    /// The lowest price of a size in stock; none when sold out.
    #[schema(value_type = Option<String>)]
    in_stock_from: Option<model::Decimal>,
    sizes_in_stock: Vec<String>,
    matched_by: model::MatchedBy,
}

/// The same item in the other watched stores (cross-store comparison): by
/// GTIN, style code, brand and model name, or a user's confirmation; pairs a
/// user split are left out.
#[utoipa::path(get, path = "/api/v1/products/{key}/matches", params(("key" = String, Path)),
    responses((status = 200, body = [SameItem]), (status = 404, body = Problem)))]
pub(super) async fn product_matches(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<SameItem>>> {
    allow(&who, Role::Viewer)?;
    if state.engine.product(&key).is_none() {
        return Err(Problem::not_found(&format!("product {key:?}")));
    }
    Ok(Json(
        state
            .engine
            .same_items(&key)
            .into_iter()
            .map(|(p, why)| SameItem {
                in_stock_from: p.lowest_in_stock(),
                sizes_in_stock: p.sizes_in_stock(),
                key: p.key,
                source: p.source,
                title: p.title,
                url: p.url,
                currency: p.currency,
                matched_by: why,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub(super) struct History {
    /// Oldest first.
    prices: Vec<PricePoint>,
    stock: Vec<StockPoint>,
}

/// A product's price and stock history.
#[utoipa::path(get, path = "/api/v1/products/{key}/history", params(("key" = String, Path)),
    responses((status = 200, body = History), (status = 404, body = Problem)))]
pub(super) async fn product_history(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<Json<History>> {
    allow(&who, Role::Viewer)?;
    if state.engine.product(&key).is_none() {
        return Err(Problem::not_found(&format!("product {key:?}")));
    }
    let store = state.engine.store();
    Ok(Json(History {
        prices: store.price_history(&key).await.map_err(store_error)?,
        stock: store.stock_history(&key).await.map_err(store_error)?,
    }))
}
