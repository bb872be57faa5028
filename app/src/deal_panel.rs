//! "Is it a deal?" on the product page: the deal score with its reason, the
//! 30/90/365-day windows it was judged on (lowest, typical range, highest,
//! how often it was cheaper), a cheaper store when there is one, and each
//! size's own score. Without enough history it says so instead.

use leptos::prelude::*;

use model::deal::Deal;

use crate::ui::{product_href, DealBadge};

#[component]
pub fn DealPanel(deal: Option<Deal>, currency: String) -> impl IntoView {
    let Some(d) = deal else {
        return view! {
            <section aria-labelledby="deal-heading" data-testid="deal-panel">
                <h2 id="deal-heading">"Is it a deal?"</h2>
                <p class="hint">"Not assessed yet: scores are worked out a moment after the product is first read."</p>
            </section>
        }
        .into_any();
    };
    let windows = d.windows.clone();
    let money = move |x: model::Decimal| format!("{x} {currency}");
    let money2 = money.clone();
    let scored_sizes: Vec<_> = d
        .sizes
        .iter()
        .filter(|s| s.score.is_some())
        .cloned()
        .collect();
    view! {
        <section aria-labelledby="deal-heading" data-testid="deal-panel">
            <h2 id="deal-heading">"Is it a deal?"</h2>
            <p><DealBadge deal=Some(d.badge())/></p>
            <p data-testid="deal-reason">{d.reason.clone()}</p>
            {d.cheaper_elsewhere.clone().map(|e| view! {
                <p data-testid="deal-elsewhere">
                    "Cheaper at " <a href=product_href(&e.product)>{e.store_name.clone()}</a>
                    {format!(": {} ({}% less).", money2(e.price), e.percent.round_dp(1).normalize())}
                </p>
            })}
            {(!windows.is_empty()).then(|| view! {
                <div class="table-scroll"><table class="deal-windows" data-testid="deal-windows">
                    <caption class="visually-hidden">"Lowest in-stock price over time"</caption>
                    <thead><tr>
                        <th scope="col">"Last"</th><th scope="col">"Lowest"</th>
                        <th scope="col">"Typical"</th><th scope="col">"Highest"</th>
                        <th scope="col">"Cheaper than now"</th>
                    </tr></thead>
                    <tbody>
                        {windows.into_iter().map(|w| view! {
                            <tr>
                                <th scope="row">{format!("{} days", w.days)}</th>
                                <td>{money(w.low)}</td>
                                <td>{format!("{}–{}", w.typical_low, w.typical_high)}</td>
                                <td>{money(w.high)}</td>
                                <td>{format!("{}% of the time", w.cheaper_percent)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table></div>
            })}
            {(!scored_sizes.is_empty()).then(|| view! {
                <details class="deal-sizes">
                    <summary>"Each size in stock"</summary>
                    <ul data-testid="deal-sizes">
                        {scored_sizes.into_iter().map(|s| view! {
                            <li>{format!("Size {}: {} — deal {} · {}", s.size, s.price, s.score.unwrap_or_default(), s.label)}</li>
                        }).collect_view()}
                    </ul>
                </details>
            })}
        </section>
    }
    .into_any()
}
