//! The body of the `untrusted_numbers` fuzz target: numbers and headers that
//! arrive from outside, and the bounds Dropwatch promises for them.
//!
//! Shops, APIs, notification services and users can send any text as a
//! price, a `Retry-After`, a channel URL or an address. The parsers must
//! never panic, and what they accept must stay within the documented bounds:
//!
//! - waits (`monitor::bounds`): `Some(d)` is at most `cap.min(MAX_WAIT)`;
//! - prices (`model::money`, `monitor::normalise`, `sources::json_decimal`,
//!   `check_product`): `0 ..= MAX_PRICE` with at most `MAX_PRICE_DECIMALS`;
//! - markups (`Markup::apply`): a price at most `MAX_PRICE` (for a floor the
//!   engine accepts, see `markups`);
//! - links (`normalise::web_link`): only `http(s)` as the URL standard reads them;
//! - channels (`alerts::channel`): the shown form hides the secrets, an
//!   endpoint stays on its service's host, a push subscription reads back;
//! - addresses (`outbound`): a private IP literal in any spelling is refused.
//!
//! The file is compiled twice: as a module of the libFuzzer target
//! (`fuzz_targets/untrusted_numbers.rs`) and of the stable-Rust runner in CI
//! (`monitor/tests/hostile_fuzz.rs`), so it uses only crates both have
//! (`monitor`, `model`, `url`, `serde_json`, `chrono`, `tokio`).
//!
//! # Input format
//!
//! The input is split into lines at `\n` (at most `MAX_LINES`); bytes
//! that are not UTF-8 are replaced, so broken text still reaches the
//! parsers. Every line is fed on its own to every parser above. Lines that
//! read as decimals (text, or 13 raw bytes) also form a list of numbers:
//! consecutive numbers are paired for the percentages, and a window of
//! seven gives a markup (source price, percent, fixed, floor, ceiling, step
//! guard, current target price). A seed is therefore one value per line,
//! e.g. `19.99\n20\n2.50\n30\n100\n15\n60.00` for a markup.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use model::money::{self, MAX_PRICE, MAX_PRICE_DECIMALS};
use model::{Decimal, Markup, PriceMove, Priced, Product, Rounding, Variant};
use monitor::alerts::channel::{Channel, Endpoints};
use monitor::bounds::{self, MAX_WAIT};
use monitor::normalise::{self, ProductError, MAX_VARIANTS};
use monitor::outbound::{private_rule, Policy, Refused, Route};
use monitor::sources::json_decimal;
use serde_json::Value;
use url::{Host, Url};

/// Lines read from one input; more only slow each execution down.
const MAX_LINES: usize = 32;
/// Numbers kept for the pairwise and markup checks (quadratic-ish work).
const MAX_NUMBERS: usize = 32;

const ROUNDINGS: [Rounding; 4] = [
    Rounding::Cents,
    Rounding::To99,
    Rounding::To95,
    Rounding::Whole,
];
const KINDS: [&str; 7] = [
    "discord", "slack", "telegram", "ntfy", "json", "email", "webpush",
];

pub fn run(data: &[u8]) {
    let now = Utc::now();
    let at = Endpoints::default();
    let strict = Policy::strict();
    let open = Policy::open();
    let mut lines = Vec::new();
    let mut numbers = Vec::new();
    for bytes in data.split(|b| *b == b'\n').take(MAX_LINES) {
        let line = String::from_utf8_lossy(bytes);
        waits(&line, bytes, now);
        prices(&line);
        json_numbers(&line, bytes);
        links(&line);
        channels(&line, &at);
        addresses(&line, bytes, &strict, &open);
        numbers.extend(decimal_text(&line));
        numbers.extend(decimal_bits(bytes));
        lines.push(line.into_owned());
    }
    numbers.truncate(MAX_NUMBERS);
    for s in [
        f64::NAN,
        -0.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::MAX,
        3600.0,
        3600.000_000_001,
    ] {
        for cap in [Duration::ZERO, MAX_WAIT, Duration::MAX] {
            wait(s, cap);
        }
    }
    for d in numbers.iter().chain(extremes().iter()) {
        checked(*d);
    }
    for pair in numbers.windows(2) {
        percentages(pair[0], pair[1]);
    }
    for d in &numbers {
        for e in extremes() {
            percentages(*d, e);
        }
    }
    markups(&numbers);
    product(&lines, &numbers, now);
}

/// Numbers at the edges of `Decimal` and of the price bounds.
fn extremes() -> [Decimal; 11] {
    [
        Decimal::ZERO,
        Decimal::ONE,
        Decimal::NEGATIVE_ONE,
        Decimal::MAX,
        Decimal::MIN,
        MAX_PRICE,
        Decimal::new(100_000_000_001, 2),
        Decimal::new(1, 28),
        Decimal::new(-1, 28),
        Decimal::new(1, 4),
        Decimal::new(1, 5),
    ]
}

/// A line as a decimal, the way a form or an API would write it.
fn decimal_text(line: &str) -> Option<Decimal> {
    let t = line.trim();
    t.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(t).ok())
}

/// Thirteen raw bytes as a decimal: any mantissa, sign and scale (libFuzzer
/// finds these faster than their text).
fn decimal_bits(bytes: &[u8]) -> Option<Decimal> {
    let word = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let flags = *bytes.get(12)?;
    // from_parts asserts the scale is at most 28.
    Some(Decimal::from_parts(
        word(0)?,
        word(4)?,
        word(8)?,
        flags & 0x80 != 0,
        u32::from(flags & 0x7f) % 29,
    ))
}

fn in_bounds(d: Decimal, what: &str, input: &str) {
    assert!(
        (Decimal::ZERO..=MAX_PRICE).contains(&d) && d.scale() <= MAX_PRICE_DECIMALS && !d.is_sign_negative(),
        "{what}({input:?}) kept {d} (scale {}), outside 0 ..= {MAX_PRICE} with at most {MAX_PRICE_DECIMALS} decimals",
        d.scale()
    );
}

/// `Retry-After` values and JSON waits against several caps and clocks
/// (the extremes of `DateTime` catch overflowing date arithmetic).
fn waits(line: &str, bytes: &[u8], now: DateTime<Utc>) {
    let mut caps = vec![
        Duration::ZERO,
        Duration::from_nanos(1),
        MAX_WAIT,
        MAX_WAIT + Duration::from_nanos(1),
        Duration::MAX,
    ];
    caps.extend(line.trim().parse::<u64>().ok().map(Duration::from_secs));
    if let (Some(secs), Some(nanos)) = (bytes.first_chunk::<8>(), bytes.get(8..12)) {
        let nanos = u32::from_le_bytes(nanos.try_into().unwrap_or_default());
        // Below a second, so Duration::new cannot carry into the seconds and overflow.
        caps.push(Duration::new(
            u64::from_le_bytes(*secs),
            nanos % 1_000_000_000,
        ));
    }
    let nows = [
        now,
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::UNIX_EPOCH,
    ];
    let mut secs: Vec<f64> = line.trim().parse::<f64>().into_iter().collect();
    secs.extend(bytes.first_chunk::<8>().map(|b| f64::from_le_bytes(*b)));
    for cap in caps {
        for at in nows {
            if let Some(d) = bounds::retry_after(line, at, cap) {
                assert!(
                    d <= cap.min(MAX_WAIT),
                    "retry_after({line:?}, {at}, {cap:?}) = {d:?}, above the cap"
                );
                deadlines(d);
            }
        }
        for s in &secs {
            wait(*s, cap);
        }
    }
}

fn wait(secs: f64, cap: Duration) {
    let got = bounds::wait_secs(secs, cap);
    assert_eq!(
        got.is_some(),
        secs >= 0.0,
        "wait_secs({secs:?}, {cap:?}) = {got:?}: only NaN and negatives say nothing"
    );
    if let Some(d) = got {
        assert!(
            d <= cap.min(MAX_WAIT),
            "wait_secs({secs:?}, {cap:?}) = {d:?}, above the cap"
        );
        deadlines(d);
    }
}

/// A clamped wait added to the clocks, as the politeness gate and the
/// status page do.
fn deadlines(d: Duration) {
    let start = tokio::time::Instant::now();
    let until = bounds::later(start, d);
    assert!(until >= start, "later({d:?}) went back in time");
    if d <= MAX_WAIT {
        assert_eq!(
            until.duration_since(start),
            d,
            "later() changed a bounded wait"
        );
    }
    let before = Utc::now();
    let at = bounds::utc_in(d);
    assert!(
        at >= before - TimeDelta::minutes(1),
        "utc_in({d:?}) = {at}, in the past"
    );
    let _ = bounds::later(start, Duration::MAX);
}

/// Prices written as text, and the JSON-number reading of the same text.
fn prices(line: &str) {
    let text = money::parse_price(line);
    if let Ok(d) = text {
        in_bounds(d, "parse_price", line);
        assert_eq!(
            money::parse_number_price(line),
            Ok(d),
            "a price without an exponent reads the same as a JSON number"
        );
    }
    if let Ok(d) = money::parse_number_price(line) {
        in_bounds(d, "parse_number_price", line);
    }
    // Connectors read amounts unbounded (never negative); the engine's gate
    // (check_product) keeps exactly those a bounded parse would.
    let amount = normalise::parse_price(line);
    assert_eq!(
        amount,
        money::parse_amount(line),
        "normalise::parse_price({line:?}) disagrees with model::money"
    );
    if let Some(d) = amount {
        assert!(
            !d.is_sign_negative(),
            "parse_price({line:?}) kept the negative {d}"
        );
        assert_eq!(
            money::check_price(d).is_ok(),
            money::parse_number_price(line).is_ok(),
            "{line:?}"
        );
    }
}

/// Exactly the numbers inside the bounds are prices.
fn checked(d: Decimal) {
    let got = money::check_price(d);
    let keepable =
        (Decimal::ZERO..=MAX_PRICE).contains(&d) && d.normalize().scale() <= MAX_PRICE_DECIMALS;
    assert_eq!(got.is_ok(), keepable, "check_price({d}) = {got:?}");
    if let Ok(p) = got {
        in_bounds(p, "check_price", &d.to_string());
        assert_eq!(p, d, "check_price changed the value of {d}");
        assert_eq!(money::check_price(p), Ok(p), "a checked price passes again");
    }
}

fn percentages(a: Decimal, b: Decimal) {
    for (x, y) in [(a, b), (b, a)] {
        let change = money::percent_change(x, y);
        let share = money::percent_of(x, y);
        if x.is_zero() {
            assert_eq!(change, None, "percent_change from zero");
        }
        if y.is_zero() {
            assert_eq!(share, None, "percent_of zero");
        }
        for p in [change, share].into_iter().flatten() {
            assert!(
                p.scale() <= 1,
                "percentages of {x} and {y} have one decimal, got {p}"
            );
        }
    }
}

/// A line as an API's JSON (the value, and each item or field of an array
/// or object), as a string, and as a number.
fn json_numbers(line: &str, bytes: &[u8]) {
    assert_eq!(json_decimal(None), None);
    let mut values = vec![Value::String(line.to_string())];
    if let Ok(v) = serde_json::from_str::<Value>(line) {
        match &v {
            Value::Array(items) => values.extend(items.iter().cloned()),
            Value::Object(fields) => values.extend(fields.values().cloned()),
            _ => {}
        }
        values.push(v);
    }
    let mut floats: Vec<f64> = line.trim().parse::<f64>().into_iter().collect();
    if let Some(b) = bytes.first_chunk::<8>() {
        floats.push(f64::from_le_bytes(*b));
        values.push(Value::from(i64::from_le_bytes(*b)));
        values.push(Value::from(u64::from_le_bytes(*b)));
    }
    values.extend(
        floats
            .into_iter()
            .filter_map(serde_json::Number::from_f64)
            .map(Value::Number),
    );
    for v in &values {
        // Unbounded (the gate bounds it), but never negative.
        if let Some(d) = json_decimal(Some(v)) {
            assert!(
                !d.is_sign_negative(),
                "json_decimal({v}) kept the negative {d}"
            );
        }
    }
}

/// A kept link is what the URL standard makes of the text, written out,
/// and it is `http(s)`.
fn links(line: &str) {
    let Some(kept) = normalise::web_link(line) else {
        return;
    };
    // Kept as the URL standard writes it out, so the text itself starts
    // with the scheme a browser will use.
    let url = Url::parse(&kept)
        .unwrap_or_else(|e| panic!("web_link kept {kept:?}, which does not parse: {e}"));
    assert!(
        matches!(url.scheme(), "http" | "https"),
        "web_link kept {kept:?}: {}",
        url.scheme()
    );
    assert_eq!(url.as_str(), kept, "web_link keeps the written-out form");
    assert!(
        kept.starts_with("http://") || kept.starts_with("https://"),
        "web_link kept {kept:?}"
    );
}

/// The same secret with every character the mask hides changed (a secret of
/// more than 8 characters shows its last 4).
fn decoy(secret: &str) -> String {
    let n = secret.chars().count();
    let hidden = if n > 8 { n - 4 } else { n };
    secret
        .chars()
        .enumerate()
        .map(|(k, c)| {
            if k >= hidden {
                c
            } else if c == 'x' {
                'y'
            } else {
                'x'
            }
        })
        .collect()
}

fn channels(line: &str, at: &Endpoints) {
    for channel in [Channel::parse(line), Channel::web_push(line)]
        .into_iter()
        .flatten()
    {
        let shown = channel.redacted();
        assert_eq!(format!("{channel:?}"), shown, "Debug is the redacted form");
        assert!(
            KINDS.contains(&channel.kind()),
            "unknown kind {}",
            channel.kind()
        );
        // The shown form must not depend on the hidden part of any secret.
        let mut other = channel.clone();
        let service = match &mut other {
            Channel::Discord { token, .. } => {
                *token = decoy(token);
                Some(&at.discord)
            }
            Channel::Slack { path } => {
                path[2] = decoy(&path[2]);
                Some(&at.slack)
            }
            Channel::Telegram { bot_token, .. } => {
                *bot_token = decoy(bot_token);
                Some(&at.telegram)
            }
            Channel::Ntfy { topic, .. } => {
                *topic = decoy(topic);
                None
            }
            Channel::Email { password, .. } => {
                *password = decoy(password);
                None
            }
            Channel::WebPush { p256dh, auth, .. } => {
                *p256dh = decoy(p256dh);
                *auth = decoy(auth);
                None
            }
            Channel::Json { .. } => None,
        };
        assert_eq!(
            other.redacted(),
            shown,
            "the shown form of a {} channel reveals a secret",
            channel.kind()
        );
        let endpoint = channel.endpoint(at);
        // A token or topic cannot move the post to another host (the
        // request carries the user's secrets).
        let base = match &channel {
            Channel::Ntfy { server, .. } => Some(if *server == Endpoints::default().ntfy {
                &at.ntfy
            } else {
                server
            }),
            _ => service,
        };
        if let (Some(base), Some(url)) = (base, &endpoint) {
            assert_eq!(
                (url.scheme(), url.host_str(), url.port_or_known_default()),
                (base.scheme(), base.host_str(), base.port_or_known_default()),
                "{shown}: its endpoint left the service"
            );
        }
        match &channel {
            Channel::Json { url } => {
                assert!(matches!(url.scheme(), "http" | "https"), "{shown}");
                assert_eq!(endpoint.as_ref(), Some(url));
            }
            Channel::WebPush { endpoint: push, .. } => {
                assert!(matches!(push.scheme(), "http" | "https"), "{shown}")
            }
            Channel::Email { .. } => assert_eq!(endpoint, None, "email has no HTTP endpoint"),
            _ => {}
        }
        // The vault keeps a subscription in this form and reads it back.
        if let Some(sealed) = channel.web_push_address() {
            assert_eq!(
                Channel::parse(&sealed),
                Ok(channel.clone()),
                "a push subscription does not read back from {sealed:?}"
            );
        }
    }
}

/// The line as a URL (also as a host in `http://` and in brackets), and as
/// an IP address in text or raw bytes, against the outbound policy.
fn addresses(line: &str, bytes: &[u8], strict: &Policy, open: &Policy) {
    let t = line.trim();
    for candidate in [
        t.to_string(),
        format!("http://{t}/"),
        format!("https://[{t}]/"),
    ] {
        if let Ok(url) = Url::parse(&candidate) {
            route(&url, strict, open);
        }
    }
    let mut ips: Vec<IpAddr> = t.parse::<IpAddr>().into_iter().collect();
    ips.extend(t.parse::<SocketAddr>().map(|a| a.ip()));
    ips.extend(
        bytes
            .first_chunk::<4>()
            .map(|b| IpAddr::from(Ipv4Addr::from(*b))),
    );
    ips.extend(
        bytes
            .first_chunk::<16>()
            .map(|b| IpAddr::from(Ipv6Addr::from(*b))),
    );
    for ip in ips {
        address(ip, strict);
    }
}

fn route(url: &Url, strict: &Policy, open: &Policy) {
    let checked = strict.check(url);
    if !matches!(url.scheme(), "http" | "https") {
        assert!(
            matches!(checked, Err(Refused::Scheme { .. })),
            "{url}: {checked:?}"
        );
        return;
    }
    assert_eq!(
        open.check(url),
        Ok(Route::Trusted),
        "{url}: an open policy trusts every web address"
    );
    assert_ne!(
        checked,
        Ok(Route::Trusted),
        "{url}: a strict policy trusts nothing it was not told to"
    );
    let rule = match url.host() {
        Some(Host::Ipv4(ip)) => private_rule(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => private_rule(IpAddr::V6(ip)),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            let local = d == "localhost" || d.ends_with(".localhost");
            assert_eq!(checked.is_ok(), !local, "{url}: {checked:?}");
            return;
        }
        None => return,
    };
    match rule {
        None => assert_eq!(
            checked,
            Ok(Route::Public),
            "{url}: a public address literal"
        ),
        Some(rule) => assert!(
            matches!(&checked, Err(Refused::Private { rule: r, .. }) if *r == rule),
            "{url} is {rule}, yet check() = {checked:?}"
        ),
    }
}

fn address(ip: IpAddr, strict: &Policy) {
    let rule = private_rule(ip);
    let literal = match ip {
        IpAddr::V4(v4) => format!("http://{v4}/"),
        IpAddr::V6(v6) => format!("http://[{v6}]/"),
    };
    if let Ok(url) = Url::parse(&literal) {
        assert_eq!(
            strict.check(&url).is_ok(),
            rule.is_none(),
            "{literal}: private_rule says {rule:?}"
        );
    }
    // A private IPv4 address stays private inside IPv6 (mapped, compatible, NAT64).
    if let (IpAddr::V4(v4), Some(rule)) = (ip, rule) {
        let [a, b, c, d] = v4.octets();
        let nat64 = Ipv6Addr::new(
            0x64,
            0xff9b,
            0,
            0,
            0,
            0,
            u16::from_be_bytes([a, b]),
            u16::from_be_bytes([c, d]),
        );
        for v6 in [v4.to_ipv6_mapped(), v4.to_ipv6_compatible(), nat64] {
            assert!(
                private_rule(IpAddr::V6(v6)).is_some(),
                "{v4} is {rule}, but {v6} is public"
            );
        }
    }
}

/// A markup from each window of seven numbers, with every rounding and the
/// optional parts switched on and off across windows.
fn markups(numbers: &[Decimal]) {
    if numbers.is_empty() {
        return;
    }
    let n = |k: usize| numbers[k % numbers.len()];
    for i in 0..numbers.len() {
        for (r, rounding) in ROUNDINGS.into_iter().enumerate() {
            let bits = i + r;
            let markup = Markup {
                percent: n(i + 1),
                fixed: n(i + 2),
                rounding,
                floor: (bits & 1 == 1).then(|| n(i + 3)),
                ceiling: (bits & 2 == 2).then(|| n(i + 4)),
                max_step_percent: (bits & 4 == 4).then(|| n(i + 5)),
                auto_approve: bits & 8 == 0,
                rate: (bits & 16 == 16).then(|| n(i + 7)),
            };
            let current = (bits % 3 != 0).then(|| n(i + 6));
            let _ = markup.describe();
            let source = n(i);
            match markup.apply(source, "USD", "usd", current) {
                Priced::Price { price, auto, .. } => {
                    // The floor is applied after the bound; the engine refuses
                    // floors above MAX_PRICE (repricing's check_markup), so
                    // only a floor it accepts is held to the bound.
                    if markup.floor.is_none_or(|f| f <= MAX_PRICE) {
                        assert!(
                            price <= MAX_PRICE,
                            "{markup:?} on {source} (current {current:?}) priced {price}"
                        );
                        assert_eq!(
                            price.scale(),
                            2,
                            "{markup:?} on {source}: {price} is not in cents"
                        );
                    }
                    assert!(
                        !auto || markup.auto_approve,
                        "{markup:?} on {source}: auto-approved without auto-approve"
                    );
                }
                Priced::CannotPrice(why) => assert!(!why.is_empty()),
            }
            // Another currency: converted at the rate (any number), or not
            // priced; never beyond the largest price, never a panic.
            match markup.apply(source, "USD", "EUR", current) {
                Priced::Price { price, rate, .. } => {
                    assert!(
                        rate.is_some(),
                        "{markup:?}: priced another currency without a rate"
                    );
                    if markup.floor.is_none_or(|f| f <= MAX_PRICE) {
                        assert!(price <= MAX_PRICE, "{markup:?} on {source} priced {price}");
                    }
                }
                Priced::CannotPrice(why) => assert!(!why.is_empty()),
            }
        }
    }
}

/// One product made of the lines (texts, links) and the numbers (prices),
/// through the gate every product passes on its way to the store.
fn product(lines: &[String], numbers: &[Decimal], now: DateTime<Utc>) {
    if lines.is_empty() {
        return;
    }
    let text = |k: usize| lines[k % lines.len()].clone();
    let price = |k: usize| {
        if numbers.is_empty() {
            Decimal::ZERO
        } else {
            numbers[k % numbers.len()]
        }
    };
    let variants: Vec<Variant> = (0..lines.len())
        .map(|k| Variant {
            id: k.to_string(),
            size: text(k),
            sku: Some(text(k + 1)),
            // Every fifth size's price not shown (a sold-out page).
            price: (k % 5 != 4).then(|| price(k)),
            compare_at: (k % 2 == 1).then(|| price(k + 1)),
            available: k % 3 == 0,
            cart_url: Some(text(k + 2)),
        })
        .collect();
    let original: Vec<Decimal> = variants.iter().filter_map(|v| v.price).collect();
    let mut p = Product {
        key: "fuzz:1".into(),
        source: "fuzz".into(),
        external_id: "1".into(),
        title: lines.join(" "),
        brand: text(1),
        product_type: text(2),
        tags: lines.to_vec(),
        url: text(0),
        image: Some(text(1)),
        currency: "USD".into(),
        variants,
        first_seen: now,
        updated: now,
        removed: false,
        last_change: Some(PriceMove {
            old: price(0),
            new: price(1),
            at: now,
        }),
        facts: lines
            .iter()
            .enumerate()
            .map(|(k, l)| (k.to_string(), l.clone()))
            .collect::<BTreeMap<_, _>>(),
    };
    if let Some(m) = &p.last_change {
        let _ = (m.percent(), m.is_drop());
    }
    let all_prices = original.iter().all(|d| money::check_price(*d).is_ok());
    match normalise::check_product(&mut p) {
        Ok(()) => {
            assert!(
                all_prices,
                "check_product kept one of the prices {original:?}"
            );
            for v in &p.variants {
                if let Some(price) = v.price {
                    in_bounds(price, "check_product", &v.id);
                }
                if let Some(c) = v.compare_at {
                    in_bounds(c, "check_product (compare_at)", &v.id);
                }
                if let Some(link) = &v.cart_url {
                    assert_eq!(
                        normalise::web_link(link).as_ref(),
                        Some(link),
                        "cart link {link:?}"
                    );
                }
            }
            assert!(
                p.url.is_empty() || normalise::web_link(&p.url).as_ref() == Some(&p.url),
                "product link {:?}",
                p.url
            );
            if let Some(image) = &p.image {
                assert_eq!(
                    normalise::web_link(image).as_ref(),
                    Some(image),
                    "image link {image:?}"
                );
            }
            let _ = p.summary();
        }
        Err(ProductError::Price { .. }) => {
            assert!(!all_prices, "check_product refused the prices {original:?}")
        }
        Err(ProductError::TooManySizes { count, .. }) => assert!(count > MAX_VARIANTS),
    }
}
