//! The rows of each export: what a CSV line (and a JSON element, where no
//! object of the API fits) holds. Each row's `COLUMNS` is its CSV header,
//! written before the first row so that an empty export still has one.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use model::{
    ChannelInfo, Condition, Event, PricePoint, Product, Rule, Scope, Source, StockPoint, Variant,
    VariantPrice, VariantStock,
};

use super::ExportKind;

/// The CSV header of an export.
pub(super) fn columns(kind: ExportKind) -> &'static [&'static str] {
    match kind {
        ExportKind::Products => ProductRow::COLUMNS,
        ExportKind::History => HistoryRow::COLUMNS,
        ExportKind::Events => EventRow::COLUMNS,
        ExportKind::Sources => SourceRow::COLUMNS,
        ExportKind::Rules => RuleRow::COLUMNS,
    }
}

/// One size of a product as it is now.
#[derive(Serialize)]
pub(super) struct ProductRow<'a> {
    product: &'a str,
    title: &'a str,
    brand: &'a str,
    series: &'a str,
    source: &'a str,
    url: &'a str,
    currency: &'a str,
    variant: &'a str,
    size: &'a str,
    sku: Option<&'a str>,
    /// Empty when the shop shows no price.
    price: Option<Decimal>,
    compare_at: Option<Decimal>,
    available: bool,
    updated: DateTime<Utc>,
}

impl<'a> ProductRow<'a> {
    const COLUMNS: &'static [&'static str] = &[
        "product",
        "title",
        "brand",
        "series",
        "source",
        "url",
        "currency",
        "variant",
        "size",
        "sku",
        "price",
        "compare_at",
        "available",
        "updated",
    ];

    pub(super) fn new(p: &'a Product, v: &'a Variant) -> ProductRow<'a> {
        ProductRow {
            product: &p.key,
            title: &p.title,
            brand: &p.brand,
            series: &p.product_type,
            source: &p.source,
            url: &p.url,
            currency: &p.currency,
            variant: &v.id,
            size: &v.size,
            sku: v.sku.as_deref(),
            price: v.price,
            compare_at: v.compare_at,
            available: v.available,
            updated: p.updated,
        }
    }
}

/// Which history a row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum HistoryKind {
    Price,
    Stock,
}

/// One size's price, or its availability, from a moment on.
#[derive(Serialize)]
pub(super) struct HistoryRow<'a> {
    product: &'a str,
    at: DateTime<Utc>,
    kind: HistoryKind,
    variant: &'a str,
    size: &'a str,
    price: Option<Decimal>,
    compare_at: Option<Decimal>,
    available: Option<bool>,
}

impl<'a> HistoryRow<'a> {
    const COLUMNS: &'static [&'static str] = &[
        "product",
        "at",
        "kind",
        "variant",
        "size",
        "price",
        "compare_at",
        "available",
    ];

    /// One product's history in time order (at the same moment, price first).
    pub(super) fn of(prices: &'a [PricePoint], stock: &'a [StockPoint]) -> Vec<HistoryRow<'a>> {
        let price = |p: &'a PricePoint, v: &'a VariantPrice| HistoryRow {
            product: &p.product,
            at: p.at,
            kind: HistoryKind::Price,
            variant: &v.variant,
            size: &v.size,
            price: Some(v.price),
            compare_at: v.compare_at,
            available: None,
        };
        let stocked = |p: &'a StockPoint, v: &'a VariantStock| HistoryRow {
            product: &p.product,
            at: p.at,
            kind: HistoryKind::Stock,
            variant: &v.variant,
            size: &v.size,
            price: None,
            compare_at: None,
            available: Some(v.available),
        };
        let mut rows: Vec<HistoryRow<'a>> = prices
            .iter()
            .flat_map(|p| p.variants.iter().map(move |v| price(p, v)))
            .chain(
                stock
                    .iter()
                    .flat_map(|p| p.variants.iter().map(move |v| stocked(p, v))),
            )
            .collect();
        rows.sort_by_key(|r| r.at);
        rows
    }
}

#[derive(Serialize)]
pub(super) struct EventRow<'a> {
    seq: u64,
    at: DateTime<Utc>,
    kind: &'static str,
    source: &'a str,
    product: Option<&'a str>,
    title: Option<&'a str>,
    variant: Option<&'a str>,
    size: Option<&'a str>,
    currency: Option<&'a str>,
    old_price: Option<Decimal>,
    new_price: Option<Decimal>,
    available: Option<bool>,
    reason: Option<&'a str>,
}

impl<'a> EventRow<'a> {
    const COLUMNS: &'static [&'static str] = &[
        "seq",
        "at",
        "kind",
        "source",
        "product",
        "title",
        "variant",
        "size",
        "currency",
        "old_price",
        "new_price",
        "available",
        "reason",
    ];

    pub(super) fn new(e: &'a Event) -> EventRow<'a> {
        let p = e.product.as_ref();
        let v = e.variant.as_ref();
        EventRow {
            seq: e.seq,
            at: e.at,
            kind: e.kind.as_str(),
            source: &e.source,
            product: p.map(|p| p.key.as_str()),
            title: p.map(|p| p.title.as_str()),
            variant: v.map(|v| v.id.as_str()),
            size: v.map(|v| v.size.as_str()),
            currency: p.map(|p| p.currency.as_str()),
            old_price: e.old_price,
            new_price: e.new_price,
            available: v.map(|v| v.available),
            reason: e.reason.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub(super) struct SourceRow<'a> {
    key: &'a str,
    kind: &'a str,
    name: &'a str,
    url: &'a str,
    currency: &'a str,
    interval_secs: u64,
    enabled: bool,
    blocked: bool,
    created: DateTime<Utc>,
    /// Separated by ";", as a list of URLs to import reads them.
    tags: String,
}

impl<'a> SourceRow<'a> {
    const COLUMNS: &'static [&'static str] = &[
        "key",
        "kind",
        "name",
        "url",
        "currency",
        "interval_secs",
        "enabled",
        "blocked",
        "created",
        "tags",
    ];

    pub(super) fn new(s: &'a Source) -> SourceRow<'a> {
        SourceRow {
            key: &s.key,
            kind: s.kind(),
            name: &s.name,
            url: &s.url,
            currency: &s.currency,
            interval_secs: s.interval_secs,
            enabled: s.enabled,
            blocked: s.blocked,
            created: s.created,
            tags: s.tags.join(";"),
        }
    }
}

/// A rule in a CSV row: its scope spread over columns, its channels by
/// name and redacted address.
#[derive(Serialize)]
pub(super) struct RuleRow<'a> {
    id: &'a str,
    name: &'a str,
    condition: &'static str,
    /// The condition's price, percent or amount, when it has one.
    threshold: Option<Decimal>,
    scope: String,
    keywords: String,
    brand: Option<&'a str>,
    series: Option<&'a str>,
    source: Option<&'a str>,
    product: Option<&'a str>,
    sizes: String,
    channels: String,
    cooldown_secs: u64,
    paused: bool,
    created: DateTime<Utc>,
    /// Who made it (empty: no signed-in user, or before rules had owners).
    owner: Option<&'a str>,
}

impl<'a> RuleRow<'a> {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "condition",
        "threshold",
        "scope",
        "keywords",
        "brand",
        "series",
        "source",
        "product",
        "sizes",
        "channels",
        "cooldown_secs",
        "paused",
        "created",
        "owner",
    ];

    pub(super) fn new(r: &'a Rule, channels: &[&ChannelInfo]) -> RuleRow<'a> {
        let (condition, threshold) = match &r.condition {
            Condition::PriceAtOrBelow { price } => ("price_at_or_below", Some(*price)),
            Condition::DropPercent { percent } => ("drop_percent", Some(*percent)),
            Condition::DropAmount { amount } => ("drop_amount", Some(*amount)),
            Condition::Restocked => ("restocked", None),
            Condition::SoldOut => ("sold_out", None),
            Condition::NewArrival => ("new_arrival", None),
            Condition::BackOnline => ("back_online", None),
            Condition::DropOrRestock => ("drop_or_restock", None),
            Condition::DealScoreAtLeast { score } => ("deal_score_at_least", Some((*score).into())),
            Condition::LowestInDays { days } => ("lowest_in_days", Some((*days).into())),
        };
        let channels: Vec<String> = channels
            .iter()
            .map(|c| format!("{} <{}>", c.name, c.redacted))
            .collect();
        RuleRow {
            id: &r.id,
            name: &r.name,
            condition,
            threshold,
            scope: r.scope.describe(),
            keywords: r.scope.keywords.join(" "),
            brand: r.scope.brand.as_deref(),
            series: r.scope.series.as_deref(),
            source: r.scope.source.as_deref(),
            product: r.scope.product.as_deref(),
            sizes: r.scope.sizes.join(" "),
            channels: channels.join("; "),
            cooldown_secs: r.cooldown_secs,
            paused: r.paused,
            created: r.created,
            owner: r.owner.as_deref(),
        }
    }
}

/// A rule in JSON: as `/api/v1/rules` has it, but with each channel shown
/// (redacted) instead of its id.
#[derive(Serialize)]
pub(super) struct RuleObject<'a> {
    id: &'a str,
    name: &'a str,
    scope: &'a Scope,
    condition: &'a Condition,
    channels: Vec<&'a ChannelInfo>,
    cooldown_secs: u64,
    paused: bool,
    created: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
}

impl<'a> RuleObject<'a> {
    pub(super) fn new(r: &'a Rule, channels: Vec<&'a ChannelInfo>) -> RuleObject<'a> {
        RuleObject {
            id: &r.id,
            name: &r.name,
            scope: &r.scope,
            condition: &r.condition,
            channels,
            cooldown_secs: r.cooldown_secs,
            paused: r.paused,
            created: r.created,
            owner: r.owner.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header written up front is the one serde would write: the
    /// columns and the fields cannot drift apart.
    fn header_of<T: Serialize>(row: &T) -> String {
        let mut w = csv::Writer::from_writer(vec![]);
        w.serialize(row).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        text.lines().next().unwrap().to_string()
    }

    #[test]
    fn columns_match_the_rows() {
        let now = Utc::now();
        let event = Event {
            seq: 1,
            kind: model::EventKind::Blocked,
            at: now,
            source: "demo".into(),
            product: None,
            variant: None,
            old_price: None,
            new_price: None,
            reason: Some("a password page".into()),
        };
        let variant = Variant {
            id: "1".into(),
            size: "9".into(),
            sku: None,
            price: Some(Decimal::ONE),
            compare_at: None,
            available: true,
            cart_url: None,
        };
        let prices = [PricePoint {
            product: "demo:1".into(),
            at: now,
            ts: 0,
            variants: vec![VariantPrice {
                variant: "1".into(),
                size: "9".into(),
                price: Decimal::ONE,
                compare_at: None,
            }],
        }];
        let rule = Rule {
            id: "r1".into(),
            name: "any".into(),
            scope: Scope::default(),
            condition: Condition::Restocked,
            channels: vec![],
            cooldown_secs: 0,
            paused: false,
            created: now,
            owner: None,
        };
        let source: Source = serde_json::from_value(serde_json::json!({
            "key": "demo", "kind": "shopify", "name": "Demo", "url": "http://x/",
            "currency": "USD", "interval_secs": 60, "enabled": true, "created": now,
        }))
        .unwrap();
        let product: Product = serde_json::from_value(serde_json::json!({
            "key": "demo:1", "source": "demo", "external_id": "1", "title": "T",
            "brand": "B", "url": "", "currency": "USD", "variants": [variant],
            "first_seen": now, "updated": now,
        }))
        .unwrap();
        let join = |c: &[&str]| c.join(",");
        assert_eq!(
            header_of(&ProductRow::new(&product, &product.variants[0])),
            join(ProductRow::COLUMNS)
        );
        assert_eq!(
            header_of(&HistoryRow::of(&prices, &[])[0]),
            join(HistoryRow::COLUMNS)
        );
        assert_eq!(header_of(&EventRow::new(&event)), join(EventRow::COLUMNS));
        assert_eq!(
            header_of(&SourceRow::new(&source)),
            join(SourceRow::COLUMNS)
        );
        assert_eq!(header_of(&RuleRow::new(&rule, &[])), join(RuleRow::COLUMNS));
    }
}
