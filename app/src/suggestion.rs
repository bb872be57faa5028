//! One product suggested to the user, with why: an entry of a product
//! page's "Related" list and of the dashboard's "For you". Its title links
//! to its page; its price, deal badge and reasons sit under it.

use leptos::prelude::*;

use model::ProductSummary;

use crate::ui::{product_href, DealBadge};

#[component]
pub fn Suggestion(
    product: ProductSummary,
    /// The reasons in words.
    why: String,
    /// `data-testid` of the entry ("related", "pick").
    testid: &'static str,
) -> impl IntoView {
    let p = product;
    view! {
        <li class="suggestion" data-testid=testid data-key=p.key.clone()>
            {p.image.clone().map(|src| view! { <img src=src alt="" loading="lazy" width="56" height="56"/> })}
            <div class="suggestion-body">
                <a href=product_href(&p.key)>{p.title.clone()}</a>
                <p class="brand">
                    {p.brand.clone()}
                    {(!p.product_type.is_empty()).then(|| format!(" · {}", p.product_type))}
                    " · " {p.source.clone()}
                </p>
                <p class="price">{p.price_label()} " " <DealBadge deal=p.deal.clone()/></p>
                <p class="why" data-testid="why">{why}</p>
            </div>
        </li>
    }
}
