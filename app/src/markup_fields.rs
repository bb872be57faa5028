//! The markup inputs (percent, fixed amount, rounding, floor, ceiling,
//! step guard, conversion rate, push without asking), shared by the
//! Repricing page's link and markup forms and a link's edit form; each
//! refused field's message shows next to it.

use leptos::prelude::*;
use rust_decimal::Decimal;

use model::{Markup, Rounding};

use crate::api::FormResult;
use crate::sources::field_error;

/// The markup inputs, shared by the link form, the markup form and a
/// link's edit form (which starts from the link's markup, `initial`).
/// `came_back`: the (field, error) a JavaScript-less post came back with.
#[component]
pub(crate) fn MarkupFields(
    result: Signal<Option<Result<FormResult, ServerFnError>>>,
    #[prop(into)] prefix: String,
    #[prop(default = None)] initial: Option<Markup>,
    #[prop(default = None)] came_back: Option<(String, String)>,
) -> impl IntoView {
    let err = {
        let prefix = prefix.clone();
        move |f: &'static str| {
            let back = came_back
                .as_ref()
                .filter(|(field, _)| field == f)
                .map(|(_, e)| e.clone());
            field_error(result, f, format!("{prefix}-{f}-error"), back)
        }
    };
    let m = initial.unwrap_or_default();
    let text = |d: Option<Decimal>| d.map(|d| d.normalize().to_string()).unwrap_or_default();
    let percent = if m.percent.is_zero() && m.fixed.is_zero() {
        String::new()
    } else {
        text(Some(m.percent))
    };
    let fixed = text(Some(m.fixed).filter(|f| !f.is_zero()));
    let (floor, ceiling, guard, rate) = (
        text(m.floor),
        text(m.ceiling),
        text(m.max_step_percent),
        text(m.rate),
    );
    let rounding = m.rounding;
    let described = |f: &str| format!("{prefix}-{f}-error");
    view! {
        <fieldset class="markup">
            <legend>"Markup"</legend>
            <label>"Percent " <input type="text" name="percent" size="6" inputmode="decimal" placeholder="20" value=percent aria-describedby=described("percent")/></label>
            {err("percent")}
            <label>"Plus a fixed amount " <input type="text" name="fixed" size="6" inputmode="decimal" placeholder="0" value=fixed/></label>
            {err("fixed")}
            <label>"Round "
                <select name="rounding">
                    <option value="cents" selected={rounding == Rounding::Cents}>"to the cent"</option>
                    <option value="to99" selected={rounding == Rounding::To99}>"up to .99"</option>
                    <option value="to95" selected={rounding == Rounding::To95}>"up to .95"</option>
                    <option value="whole" selected={rounding == Rounding::Whole}>"up to whole units"</option>
                </select>
            </label>
            <label>"Floor " <input type="text" name="floor" size="6" inputmode="decimal" value=floor/></label>
            {err("floor")}
            <label>"Ceiling " <input type="text" name="ceiling" size="6" inputmode="decimal" value=ceiling/></label>
            {err("ceiling")}
            <label>"Hold changes larger than " <input type="text" name="guard" size="4" inputmode="decimal" placeholder="15" value=guard/> " % for approval"</label>
            {err("guard")}
            <label>"Conversion rate " <span class="hint">"(only for a source in another currency than your store: your store's units per unit of the source's, e.g. 0.92)"</span>
                <input type="text" name="rate" size="8" inputmode="decimal" value=rate aria-describedby=described("rate")/></label>
            {err("rate")}
            <label class="check"><input type="checkbox" name="auto" checked=m.auto_approve/> " Push without asking (within the guard)"</label>
        </fieldset>
    }
}
