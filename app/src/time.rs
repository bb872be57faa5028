//! Times as people read them. Storage and the wire speak UTC (RFC 3339);
//! the pages show the reader's local time, with the zone and the UTC time in
//! the element's `title`, and the live feed says "5 min ago".
//!
//! The server cannot know the reader's time zone, so it renders every time
//! in UTC, saying so ("14:03:07 UTC"): that is what a page shows before its
//! wasm loads, or without JavaScript. The browser's first render, which
//! hydrates that HTML, must produce the same text (hydration keeps the
//! server's text nodes as they are), so each time switches to local time
//! only in an effect, which runs in the browser alone, after hydration
//! ([`use_local_zone`]). Relative times follow one ticking signal the app
//! shell provides ([`provide_ticker`]), and are worked out from the
//! browser's clock at each tick.
//!
//! Times are formatted by hand: chrono's strftime machinery is a sizeable
//! part of the wasm bundle, and a few fixed layouts are all the pages need.

use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat, Timelike, Utc};
use leptos::prelude::*;

/// How a time is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeStyle {
    /// "23:03:07": when something is due today (a host's back-off).
    Clock,
    /// "2026-11-22 23:03:07".
    #[default]
    DateTime,
    /// "Nov 22 23:03": chart axes.
    Short,
    /// "5 min ago", kept current: the live feed.
    Relative,
}

/// How often relative times are worked out again.
pub const TICK: Duration = Duration::from_secs(30);

/// The shared tick that relative times follow (see [`provide_ticker`]).
#[derive(Clone, Copy)]
pub struct Ticker(RwSignal<u64>);

/// Provides the tick to the whole app; it counts every [`TICK`] in the
/// browser (effects never run on the server).
pub fn provide_ticker() {
    let tick = RwSignal::new(0u64);
    provide_context(Ticker(tick));
    Effect::new(move |_| {
        let handle = set_interval_with_handle(move || tick.update(|t| *t += 1), TICK).ok();
        on_cleanup(move || {
            if let Some(h) = handle {
                h.clear();
            }
        });
    });
}

/// Whether the calling component may show the browser's local time yet:
/// `false` on the server and in the render that hydrates the server's HTML,
/// `true` from the effect that follows it.
pub fn use_local_zone() -> ReadSignal<bool> {
    let (local, set_local) = signal(false);
    Effect::new(move |_| set_local.set(true));
    local
}

/// A time: `<time datetime="2026-11-22T14:03:07.120Z">`, in UTC as
/// rendered by the server, in the reader's zone once the page runs in the
/// browser, with the zone and the UTC time in its `title`.
#[component]
pub fn LocalTime(at: DateTime<Utc>, #[prop(optional)] style: TimeStyle) -> impl IntoView {
    let local = use_local_zone();
    let ticker = use_context::<Ticker>();
    let texts = Memo::new(move |_| {
        if !local.get() {
            return (utc_text(&at, style), utc_text(&at, TimeStyle::DateTime));
        }
        if style == TimeStyle::Relative {
            if let Some(Ticker(tick)) = ticker {
                tick.track();
            }
        }
        browser_texts(&at, style)
    });
    view! {
        <time datetime=at.to_rfc3339_opts(SecondsFormat::Millis, true) title=move || texts.get().1>
            {move || texts.get().0}
        </time>
    }
}

/// The text for `at`: in UTC (`local` false), or in the browser's zone.
/// For texts outside a `<time>` element, e.g. the chart's labels; `local`
/// comes from [`use_local_zone`].
pub fn time_text(at: &DateTime<Utc>, style: TimeStyle, local: bool) -> String {
    if local {
        browser_texts(at, style).0
    } else {
        utc_text(at, style)
    }
}

/// What the server renders: UTC, and saying so. A relative time is shown
/// as the time of day until the browser knows what "now" is.
pub fn utc_text(at: &DateTime<Utc>, style: TimeStyle) -> String {
    match style {
        TimeStyle::Clock | TimeStyle::Relative => format!("{} UTC", clock(at)),
        TimeStyle::DateTime => format!("{} {} UTC", date(at), clock(at)),
        TimeStyle::Short => format!("{} UTC", short(at)),
    }
}

/// The text and the title for `at` in a zone `offset` ahead of UTC, named
/// `zone`, at the moment `now`.
pub fn local_texts(
    at: &DateTime<Utc>,
    style: TimeStyle,
    offset: FixedOffset,
    zone: &str,
    now: &DateTime<Utc>,
) -> (String, String) {
    let t = at.with_timezone(&offset);
    let text = match style {
        TimeStyle::Clock => clock(&t),
        TimeStyle::DateTime => format!("{} {}", date(&t), clock(&t)),
        TimeStyle::Short => short(&t),
        TimeStyle::Relative => relative_words((*now - *at).num_seconds()),
    };
    let title = format!(
        "{} {} {zone} ({}) · {}",
        date(&t),
        clock(&t),
        offset_label(offset),
        utc_text(at, TimeStyle::DateTime)
    );
    (text, title)
}

/// "just now", "5 min ago", "3 h ago", "2 d ago". A time slightly ahead of
/// the browser's clock (the clocks differ) is "just now".
pub fn relative_words(seconds: i64) -> String {
    match seconds {
        s if s < 45 => "just now".into(),
        s if s < 3600 => format!("{} min ago", (s / 60).max(1)),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

/// "UTC+09:00", "UTC-05:00".
pub fn offset_label(offset: FixedOffset) -> String {
    let secs = offset.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let mins = secs.abs() / 60;
    format!("UTC{sign}{:02}:{:02}", mins / 60, mins % 60)
}

fn clock(t: &impl Timelike) -> String {
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

fn date(t: &impl Datelike) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

fn short<T: Datelike + Timelike>(t: &T) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {:02} {:02}:{:02}",
        MONTHS[t.month0() as usize],
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// [`local_texts`] with the browser's zone and clock.
#[cfg(feature = "hydrate")]
fn browser_texts(at: &DateTime<Utc>, style: TimeStyle) -> (String, String) {
    local_texts(
        at,
        style,
        browser::offset_at(at),
        &browser::zone_name(),
        &browser::now(),
    )
}

/// Never called off the browser (`use_local_zone` stays false there); the
/// server's own zone would be meaningless to the reader, so this is UTC.
#[cfg(not(feature = "hydrate"))]
fn browser_texts(at: &DateTime<Utc>, style: TimeStyle) -> (String, String) {
    use chrono::Offset;
    local_texts(at, style, Utc.fix(), "UTC", &Utc::now())
}

/// The browser's zone and clock, from JavaScript: chrono cannot name the
/// zone, and its view of "local" in wasm depends on its build features.
#[cfg(feature = "hydrate")]
mod browser {
    use chrono::{DateTime, FixedOffset, Offset, Utc};
    use wasm_bindgen::JsValue;
    use web_sys::js_sys;

    /// The zone's offset at `at` (it changes with daylight saving time).
    pub fn offset_at(at: &DateTime<Utc>) -> FixedOffset {
        let date = js_sys::Date::new(&JsValue::from_f64(at.timestamp_millis() as f64));
        // Minutes *behind* UTC: -540 in Tokyo.
        let behind = date.get_timezone_offset();
        FixedOffset::west_opt((behind * 60.0).round() as i32).unwrap_or_else(|| Utc.fix())
    }

    /// The IANA name of the browser's zone ("Asia/Tokyo"), read once.
    pub fn zone_name() -> String {
        thread_local! {
            static NAME: String = read_zone_name();
        }
        NAME.with(String::clone)
    }

    fn read_zone_name() -> String {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
                .resolved_options();
        js_sys::Reflect::get(&options, &JsValue::from_str("timeZone"))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| "local time".into())
    }

    pub fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T14:03:07.120Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_server_renders_utc_and_says_so() {
        assert_eq!(utc_text(&at(), TimeStyle::Clock), "14:03:07 UTC");
        assert_eq!(
            utc_text(&at(), TimeStyle::DateTime),
            "2026-11-22 14:03:07 UTC"
        );
        assert_eq!(utc_text(&at(), TimeStyle::Short), "Nov 22 14:03 UTC");
        assert_eq!(utc_text(&at(), TimeStyle::Relative), "14:03:07 UTC");
        // Without the browser, the "local" text is UTC too.
        assert_eq!(time_text(&at(), TimeStyle::Clock, false), "14:03:07 UTC");
    }

    #[test]
    fn local_time_carries_the_zone_and_utc_in_its_title() {
        let tokyo = FixedOffset::east_opt(9 * 3600).unwrap();
        let now = at() + chrono::Duration::minutes(5);
        let (text, title) = local_texts(&at(), TimeStyle::DateTime, tokyo, "Asia/Tokyo", &now);
        assert_eq!(text, "2026-11-22 23:03:07");
        assert_eq!(
            title,
            "2026-11-22 23:03:07 Asia/Tokyo (UTC+09:00) · 2026-11-22 14:03:07 UTC"
        );
        let (clock, _) = local_texts(&at(), TimeStyle::Clock, tokyo, "Asia/Tokyo", &now);
        assert_eq!(clock, "23:03:07");
        let ny = FixedOffset::west_opt(5 * 3600).unwrap();
        let (short, _) = local_texts(&at(), TimeStyle::Short, ny, "America/New_York", &now);
        assert_eq!(short, "Nov 22 09:03");
        // Across midnight, the date moves too.
        let kiritimati = FixedOffset::east_opt(14 * 3600).unwrap();
        let (next_day, _) = local_texts(
            &at(),
            TimeStyle::DateTime,
            kiritimati,
            "Pacific/Kiritimati",
            &now,
        );
        assert_eq!(next_day, "2026-11-23 04:03:07");
        let (ago, _) = local_texts(&at(), TimeStyle::Relative, tokyo, "Asia/Tokyo", &now);
        assert_eq!(ago, "5 min ago");
    }

    #[test]
    fn relative_times_read_as_people_say_them() {
        assert_eq!(relative_words(-3), "just now");
        assert_eq!(relative_words(10), "just now");
        assert_eq!(relative_words(50), "1 min ago");
        assert_eq!(relative_words(5 * 60 + 3), "5 min ago");
        assert_eq!(relative_words(2 * 3600 + 59), "2 h ago");
        assert_eq!(relative_words(3 * 86_400), "3 d ago");
    }

    #[test]
    fn offsets_are_labelled_with_their_sign() {
        assert_eq!(
            offset_label(FixedOffset::east_opt(9 * 3600).unwrap()),
            "UTC+09:00"
        );
        assert_eq!(
            offset_label(FixedOffset::west_opt(5 * 3600 + 1800).unwrap()),
            "UTC-05:30"
        );
        assert_eq!(offset_label(FixedOffset::east_opt(0).unwrap()), "UTC+00:00");
    }
}
