//! Pieces every page uses: the header with navigation and the connection
//! badge, feed items, change badges, and error text.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use model::{Event, EventKind, PriceMove, ProductSummary, Role};

use crate::live::{Connection, Live};
use crate::time::{LocalTime, TimeStyle};

/// The header: name, navigation (the current page marked), live state.
#[component]
pub fn Header() -> impl IntoView {
    let location = use_location();
    let live = use_context::<Live>();
    let link = move |href: &'static str, label: &'static str| {
        let current = move || {
            let path = location.pathname.get();
            let here = if href == "/" {
                path == "/" || path.starts_with("/product/")
            } else {
                path.starts_with(href)
            };
            here.then_some("page")
        };
        view! { <a href=href aria-current=current>{label}</a> }
    };
    let me = Resource::new(|| (), |_| crate::access::whoami());
    let may_read = move || me.get().map(|r| matches!(r, Ok(Some(_))));
    // The live socket opens on every page a reader sees, whether or not the
    // page follows events, so that the badge always tells the truth.
    if let Some(live) = live {
        Effect::new(move |_| {
            if may_read() == Some(true) {
                live.start();
            }
        });
    }
    view! {
        <header class="top">
            <a class="logo" href="/">"Dropwatch"</a>
            <nav aria-label="Main">
                {link("/", "Dashboard")}
                {link("/trending", "Trending")}
                {link("/sources", "Sources")}
                {link("/alerts", "Alerts")}
                {link("/repricing", "Repricing")}
                {link("/status", "Status")}
                <Suspense fallback=|| ()>
                    {move || me.get().map(|r| match r.ok().flatten() {
                        Some(v) => view! {
                            {v.can(Role::Admin).then(|| view! {
                                {link("/admin/users", "Users")}
                                {link("/admin/audit", "Audit")}
                            })}
                            <a href="/account" class="me" data-testid="who" aria-current=move || location.pathname.get().starts_with("/account").then_some("page")>
                                {v.user.clone().unwrap_or_else(|| "Guest".into())}
                                <span class="visually-hidden">" (" {v.role.as_str()} ")"</span>
                            </a>
                        }.into_any(),
                        None => view! { <a href="/login" data-testid="who">"Sign in"</a> }.into_any(),
                    })}
                </Suspense>
            </nav>
            // Nobody to be live for on the sign-in page.
            <Suspense fallback=|| ()>
                {move || may_read().map(|yes| live.filter(|_| yes).map(|l| view! { <ConnectionBadge state=l.state/> }))}
            </Suspense>
        </header>
    }
}

/// The live connection's state, in words and as `data-state`.
#[component]
fn ConnectionBadge(state: RwSignal<Connection>) -> impl IntoView {
    view! {
        <p class="connection" data-state=move || state.get().as_str() role="status" aria-live="polite">
            {move || state.get().label()}
        </p>
    }
}

/// "−7.7%" / "+3%" for a price move ("" when it cannot be said: from zero).
pub fn percent_label(m: &PriceMove) -> String {
    let Some(p) = m.percent() else {
        return String::new();
    };
    if p.is_sign_negative() {
        format!("−{}%", p.abs())
    } else {
        format!("+{p}%")
    }
}

/// A change badge: an arrow and a word as well as a colour.
#[component]
pub fn ChangeBadge(change: Option<PriceMove>) -> impl IntoView {
    change.map(|c| {
        let (class, arrow, word) = if c.is_drop() {
            ("badge drop", "▼", "Price drop")
        } else {
            ("badge rise", "▲", "Price rise")
        };
        let title = format!("{word}: {} → {}", c.old, c.new);
        view! {
            <span class=class title=title.clone() data-testid="change">
                <span aria-hidden="true">{arrow}" "</span>
                <span class="visually-hidden">{word}" "</span>
                {percent_label(&c)}
            </span>
        }
    })
}

/// A deal badge: the score and its label in words ("Deal 83 · Lowest in
/// 90 days"), or what stands in for a score ("New: 5 of 14 days of
/// history"). Colour only repeats what the words say.
#[component]
pub fn DealBadge(deal: Option<model::deal::DealBadge>) -> impl IntoView {
    deal.map(|d| {
        let class = match d.score {
            Some(s) if s >= 70 => "deal good",
            Some(s) if s <= 30 => "deal poor",
            Some(_) => "deal fair",
            None => "deal none",
        };
        let text = match d.score {
            Some(s) => format!("Deal {s} · {}", d.label),
            None => d.label.clone(),
        };
        view! {
            <span class=class data-testid="deal" title="Deal score: 100 means never cheaper in 90 days, 50 its typical price">
                {text}
                {d.near_low.then(|| view! { " " <span class="near-low">"· near all-time low"</span> })}
            </span>
        }
    })
}

/// What a feed item says, as a short tag.
pub fn event_tag(e: &Event) -> &'static str {
    match e.kind {
        EventKind::NewProduct => "New",
        EventKind::PriceChanged => match (e.old_price, e.new_price) {
            (Some(o), Some(n)) if n < o => "Price drop",
            _ => "Price rise",
        },
        EventKind::Restocked => "Restock",
        EventKind::SoldOut => "Sold out",
        EventKind::Removed => "Removed",
        EventKind::Blocked => "Blocked",
        EventKind::Unblocked => "Back online",
        EventKind::RepriceProposed => "Proposed",
        EventKind::RepricePushed => "Repriced",
        EventKind::RepriceFailed => "Push failed",
    }
}

/// One event in a feed: tag, what happened (old -> new and % for prices),
/// and when.
#[component]
pub fn FeedItem(e: Event) -> impl IntoView {
    let kind = e.kind.as_str();
    let tag = event_tag(&e);
    let pct = e.price_move().map(|m| percent_label(&m));
    let href = e.product.as_ref().map(|p| product_href(&p.key));
    let what = e.describe();
    view! {
        <li class="event" data-kind=kind data-seq=e.seq>
            <span class="tag">{tag}</span>
            " "
            {match href {
                Some(h) => view! { <a class="what" href=h>{what}</a> }.into_any(),
                None => view! { <span class="what">{what}</span> }.into_any(),
            }}
            {pct.map(|p| view! { " " <span class="pct">"("{p}")"</span> })}
            " "
            <LocalTime at=e.at style=TimeStyle::Relative/>
        </li>
    }
}

/// The product page's address.
pub fn product_href(key: &str) -> String {
    format!("/product/{}", encode_segment(key))
}

/// Percent-encodes what a path segment may not hold as is.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// "In stock: 9, 9.5" or "Sold out".
pub fn sizes_label(p: &ProductSummary) -> String {
    if p.sizes_in_stock.is_empty() {
        "Sold out".to_string()
    } else {
        format!("In stock: {}", p.sizes_in_stock.join(", "))
    }
}

/// An error from the server, in words, with what the user can do.
#[component]
pub fn ErrorText(what: &'static str, error: String) -> impl IntoView {
    view! {
        <p class="error" role="alert">
            {what} ": " {error} ". Reload the page to try again."
        </p>
    }
}
