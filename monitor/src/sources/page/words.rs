//! Prices, stock phrases and challenge pages in a page's own words: "1.299,00 €",
//! "Sold out", "Just a moment...".

use rust_decimal::Decimal;

use model::PageSettings;

use super::json_ld::find_ci;
use super::Availability;

/// A price as pages write it: "129.99", 129.99, "1,299.00", "1.299,00",
/// "$ 1,299", "129,99 €". None for no digits or a negative amount.
pub fn price_in(raw: &str) -> Option<Decimal> {
    let start = raw.find(|c: char| c.is_ascii_digit())?;
    if raw[..start].trim_end().ends_with('-') {
        return None;
    }
    let body: String = raw[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | ' ' | '\u{a0}' | '\''))
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\''))
        .collect();
    let body = body.trim_end_matches(['.', ',']);
    let (last_dot, last_comma) = (body.rfind('.'), body.rfind(','));
    // The separator that comes last, followed by 1-2 digits, is the decimal one.
    let decimal_sep = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (Some(d), None) => (body.len() - d - 1 <= 2
            || body.matches('.').count() == 1 && body.len() - d - 1 != 3)
            .then_some('.'),
        (None, Some(c)) => (body.len() - c - 1 <= 2).then_some(','),
        (None, None) => None,
    };
    let normal: String = match decimal_sep {
        Some(sep) => {
            let (int, frac) = body.rsplit_once(sep)?;
            format!("{}.{frac}", int.replace(['.', ','], ""))
        }
        None => body.replace(['.', ','], ""),
    };
    normal
        .parse::<Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative())
}

const DEFAULT_OUT: &[&str] = &[
    "sold out",
    "out of stock",
    "currently unavailable",
    "unavailable",
    "notify me",
    "no longer available",
];
const DEFAULT_IN: &[&str] = &[
    "in stock",
    "add to cart",
    "add to bag",
    "add to basket",
    "buy now",
    "available",
];

/// The stock text against the phrases (sold-out phrases first: "not
/// available" must not read as "available").
pub fn stock_from_text(text: &str, settings: &PageSettings) -> Option<Availability> {
    let t = text.to_lowercase();
    let outs: Vec<String> = if settings.out_of_stock_phrases.is_empty() {
        DEFAULT_OUT.iter().map(|s| s.to_string()).collect()
    } else {
        settings
            .out_of_stock_phrases
            .iter()
            .map(|s| s.to_lowercase())
            .collect()
    };
    let ins: Vec<String> = if settings.in_stock_phrases.is_empty() {
        DEFAULT_IN.iter().map(|s| s.to_string()).collect()
    } else {
        settings
            .in_stock_phrases
            .iter()
            .map(|s| s.to_lowercase())
            .collect()
    };
    if outs.iter().any(|p| !p.is_empty() && t.contains(p.as_str())) {
        Some(Availability::OutOfStock)
    } else if ins.iter().any(|p| !p.is_empty() && t.contains(p.as_str())) {
        Some(Availability::InStock)
    } else {
        None
    }
}

/// Signs of a bot challenge instead of the page asked for.
pub fn challenge(html: &str) -> Option<&'static str> {
    const MARKERS: &[(&str, &str)] = &[
        ("cf-chl-", "a Cloudflare challenge"),
        ("challenge-platform", "a Cloudflare challenge"),
        ("just a moment...", "a Cloudflare challenge"),
        (
            "attention required! | cloudflare",
            "a Cloudflare block page",
        ),
        ("captcha-delivery.com", "a DataDome CAPTCHA"),
        ("px-captcha", "a PerimeterX CAPTCHA"),
        ("_incapsula_resource", "an Incapsula challenge"),
        ("/errors/validatecaptcha", "Amazon's robot check"),
        ("robot check", "a robot check"),
        ("are you a robot", "a robot check"),
        ("access denied", "an access-denied page"),
        ("g-recaptcha", "a CAPTCHA"),
        ("h-captcha", "a CAPTCHA"),
        ("captcha", "a CAPTCHA"),
    ];
    MARKERS
        .iter()
        .find(|(m, _)| find_ci(html, m).is_some())
        .map(|(_, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn prices_as_pages_write_them() {
        assert_eq!(price_in("129.99"), Some(d("129.99")));
        assert_eq!(price_in("$1,299.00"), Some(d("1299.00")));
        assert_eq!(price_in("1.299,00 €"), Some(d("1299.00")));
        assert_eq!(price_in("€ 12,50"), Some(d("12.50")));
        assert_eq!(price_in("1,299"), Some(d("1299")));
        assert_eq!(price_in("1.299"), Some(d("1299")));
        assert_eq!(price_in("CHF 1'299.90"), Some(d("1299.90")));
        assert_eq!(price_in("Now only 45"), Some(d("45")));
        assert_eq!(price_in("-5.00"), None);
        assert_eq!(price_in("free"), None);
    }

    #[test]
    fn schema_availability_with_or_without_prefix() {
        assert_eq!(
            Availability::from_schema("https://schema.org/InStock"),
            Some(Availability::InStock)
        );
        assert_eq!(
            Availability::from_schema("http://schema.org/OutOfStock"),
            Some(Availability::OutOfStock)
        );
        assert_eq!(
            Availability::from_schema("SoldOut"),
            Some(Availability::OutOfStock)
        );
        assert_eq!(
            Availability::from_schema("schema:PreOrder"),
            Some(Availability::Later)
        );
        assert_eq!(
            Availability::from_schema("in stock"),
            Some(Availability::InStock)
        );
        assert_eq!(Availability::from_schema("whatever"), None);
    }

    #[test]
    fn stock_phrases_read_sold_out_first() {
        let s = PageSettings::default();
        assert_eq!(
            stock_from_text("Currently unavailable.", &s),
            Some(Availability::OutOfStock)
        );
        assert_eq!(
            stock_from_text("  Add to Cart ", &s),
            Some(Availability::InStock)
        );
        assert_eq!(stock_from_text("Size guide", &s), None);
        let custom = PageSettings {
            in_stock_phrases: vec!["Versandbereit".into()],
            out_of_stock_phrases: vec!["Ausverkauft".into()],
            ..PageSettings::default()
        };
        assert_eq!(
            stock_from_text("AUSVERKAUFT", &custom),
            Some(Availability::OutOfStock)
        );
        assert_eq!(
            stock_from_text("versandbereit", &custom),
            Some(Availability::InStock)
        );
    }
}
