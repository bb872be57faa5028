//! The product page's "Related": other tracked products of the same model
//! family, watched together in rules, or of the same series or brand, each
//! saying why (see `model::related`). The same item in other stores is not
//! here: the comparison above shows it.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use model::related::RelatedItem;

use crate::suggestion::Suggestion;
use crate::ui::ErrorText;

#[server(input = Json)]
pub async fn load_related(key: String) -> Result<Vec<RelatedItem>, ServerFnError> {
    crate::api::caller(model::Role::Viewer)?;
    let control = crate::api::control()?;
    let rules = control.alerts.rules();
    Ok(control
        .engine
        .related(&key, &rules, model::related::MAX_RELATED))
}

#[component]
pub fn RelatedProducts(key: String) -> impl IntoView {
    let data = Resource::new(move || key.clone(), load_related);
    view! {
        <Transition fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(items) if items.is_empty() => ().into_any(),
                Ok(items) => view! { <RelatedList items/> }.into_any(),
                Err(e) => view! { <ErrorText what="Could not load related products" error=e.to_string()/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn RelatedList(items: Vec<RelatedItem>) -> impl IntoView {
    view! {
        <section aria-labelledby="related-heading" data-testid="related-list">
            <h2 id="related-heading">"Related"</h2>
            <ul class="suggestions">
                {items.into_iter().map(|i| {
                    let why = i.said();
                    view! { <Suggestion product=i.product why testid="related"/> }
                }).collect_view()}
            </ul>
        </section>
    }
}
