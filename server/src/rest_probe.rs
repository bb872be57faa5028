//! `POST /api/v1/probe`: what Dropwatch would read at a URL (editors), the
//! REST twin of the Sources page's "Test this URL". It goes through the
//! engine ([`monitor::Engine::probe_with`]), so the server's outbound policy
//! applies: a private address is refused (422) unless the operator allows
//! it (`--allow-private-networks`, `--trust-url`).

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use model::{PageSettings, Probe, Role};
use monitor::probe::ProbeRequest;

use crate::problem::Problem;
use crate::rest::Who;
use crate::serve::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/probe", post(probe))
}

/// The address to read, and how to read a product page.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeBody {
    /// A product page, a Shopify store or a JSON API.
    url: String,
    /// The currency of prices the shop does not label (default USD).
    #[serde(default)]
    currency: Option<String>,
    /// A product page's CSS selectors and stock phrases, as a page source has.
    #[serde(default)]
    page: PageSettings,
}

/// Reads one URL as Dropwatch would and answers what it would track, where
/// each value came from and why anything is missing, without adding a
/// source (editor). An answer that could not be read is still a 200: its
/// `verdict` and `error` say why. A URL that is not one, or that the
/// server's outbound policy refuses, is a 422.
#[utoipa::path(post, path = "/api/v1/probe", request_body = ProbeBody,
    responses((status = 200, body = Probe), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn probe(
    State(state): State<AppState>,
    Who(who): Who,
    body: Bytes,
) -> Result<Json<Probe>, Problem> {
    // The role first: a viewer is refused whatever they sent.
    who.require(Role::Editor).map_err(Problem::from)?;
    let b: ProbeBody = serde_json::from_slice(&body).map_err(|e| {
        Problem::invalid(format!(
            "the body must be JSON like {{\"url\": \"https://shop.example/products/x\", \"currency\": \"EUR\"}}: {e}"
        ))
    })?;
    let request = ProbeRequest {
        url: b.url,
        currency: b.currency,
        page: b.page,
    };
    Ok(Json(state.engine.probe_with(request).await?))
}
