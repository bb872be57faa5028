//! `/api/v1` routes for what Dropwatch works out across products: a
//! product's related products (same model family, watched together in
//! rules, same series, same brand; the product page's "Related") and the
//! caller's own picks ("For you" on the dashboard), with a way to forget
//! what picks learned. A product's deal, restock outlook, forecast and its
//! store's rhythm are in `GET /api/v1/products/{key}` (`products.rs`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use model::picks::ForYou;
use model::related::RelatedItem;
use model::Role;
use monitor::Identity;

use crate::problem::Problem;
use crate::serve::AppState;

use super::{allow, store_error, ApiResult, Who};

/// Up to 12 products related to this one, strongest reason first, each
/// with why ("same_family", "watched_together", "same_series",
/// "same_brand") and its deal badge. The same item in other stores is
/// not here (see `/matches`).
#[utoipa::path(get, path = "/api/v1/products/{key}/related", params(("key" = String, Path)),
    responses((status = 200, body = [RelatedItem]), (status = 404, body = Problem)))]
pub(super) async fn product_related(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<RelatedItem>>> {
    allow(&who, Role::Viewer)?;
    if state.engine.product(&key).is_none() {
        return Err(Problem::not_found(&format!("product {key:?}")));
    }
    let rules = state.control.alerts.rules();
    Ok(Json(state.engine.related(
        &key,
        &rules,
        model::related::MAX_RELATED,
    )))
}

/// The caller's user, whom picks are about (a token's is the user who made it).
fn user_of(who: &Identity) -> ApiResult<String> {
    who.viewer.user.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "Picks are per user",
            "Sign in, or use an API token a user made: visitors without an account have no picks.",
        )
    })
}

/// The caller's picks: products in stock they do not watch yet that match
/// what they watch, open and filter, ranked with the deal score, each with
/// the reason; and how many signals are kept about them.
#[utoipa::path(get, path = "/api/v1/me/picks",
    responses((status = 200, body = ForYou), (status = 401, body = Problem)))]
pub(super) async fn my_picks(
    State(state): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<ForYou>> {
    allow(&who, Role::Viewer)?;
    let user = user_of(&who)?;
    let rules = state.control.alerts.rules();
    let picks = state
        .engine
        .picks(&user, &rules, model::picks::MAX_PICKS)
        .await
        .map_err(store_error)?;
    Ok(Json(picks))
}

/// What forgetting the caller's signals removed.
#[derive(Serialize, ToSchema)]
pub(super) struct Forgot {
    /// Signals deleted (products opened, grid filters, rules made).
    forgot: usize,
}

/// Forgets everything picks learned about the caller (the dashboard's
/// "Clear what Dropwatch learned").
#[utoipa::path(delete, path = "/api/v1/me/picks",
    responses((status = 200, body = Forgot), (status = 401, body = Problem)))]
pub(super) async fn forget_my_picks(
    State(state): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<Forgot>> {
    allow(&who, Role::Viewer)?;
    let user = user_of(&who)?;
    let forgot = state
        .engine
        .forget_signals(&user)
        .await
        .map_err(store_error)?;
    Ok(Json(Forgot { forgot }))
}
