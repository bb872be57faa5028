//! The product grid's filters and sorting, shared by the server (which pages
//! through every product) and the browser (which decides whether a live
//! update belongs on the page it shows). Filters travel in the page's URL
//! query, so a view can be bookmarked and shared.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ProductSummary;

/// Products per page of the grid.
pub const PAGE_SIZE: usize = 60;

/// How the grid is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Most recently changed first.
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
    /// Largest last price drop (in percent) first.
    BiggestDrop,
    /// Largest gap between the stores carrying the item first.
    Spread,
    /// Highest deal score first (see `model::deal`); unscored last.
    BestDeal,
}

impl Sort {
    pub const ALL: [Sort; 6] = [
        Sort::Newest,
        Sort::PriceAsc,
        Sort::PriceDesc,
        Sort::BiggestDrop,
        Sort::Spread,
        Sort::BestDeal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::BiggestDrop => "biggest_drop",
            Sort::Spread => "spread",
            Sort::BestDeal => "best_deal",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Newest => "Recently changed",
            Sort::PriceAsc => "Price: low to high",
            Sort::PriceDesc => "Price: high to low",
            Sort::BiggestDrop => "Biggest drop",
            Sort::Spread => "Biggest gap between stores",
            Sort::BestDeal => "Best deals",
        }
    }

    pub fn parse(s: &str) -> Sort {
        Sort::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .unwrap_or_default()
    }
}

/// What the user asked the grid to show. Empty fields filter nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductFilter {
    /// Words that must all appear in the title, brand or series (any case).
    pub q: String,
    pub brand: String,
    /// Series or collection (the product type).
    pub series: String,
    /// Source key.
    pub store: String,
    /// A size label: only products with that size in stock.
    #[serde(default)]
    pub size: String,
    pub in_stock: bool,
    /// Only products at or near (within 5 %) their lowest price ever seen.
    #[serde(default)]
    pub near_low: bool,
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
    pub sort: Sort,
    /// 1-based.
    pub page: usize,
}

impl ProductFilter {
    /// Reads the filter from URL query pairs (unknown keys and unreadable
    /// values are ignored, so a hand-edited URL never fails).
    pub fn from_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> ProductFilter {
        let mut f = ProductFilter::default();
        for (k, v) in pairs {
            let v = v.trim();
            match k {
                "q" => f.q = v.to_string(),
                "brand" => f.brand = v.to_string(),
                "series" => f.series = v.to_string(),
                "store" => f.store = v.to_string(),
                "size" => f.size = v.to_string(),
                "in_stock" => f.in_stock = matches!(v, "1" | "true" | "on" | "yes"),
                "near_low" => f.near_low = matches!(v, "1" | "true" | "on" | "yes"),
                "min" => f.min_price = v.parse().ok(),
                "max" => f.max_price = v.parse().ok(),
                "sort" => f.sort = Sort::parse(v),
                "page" => f.page = v.parse().unwrap_or(1),
                _ => {}
            }
        }
        f.page = f.page.max(1);
        f
    }

    /// The filter as URL query pairs (defaults left out), for links.
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        let mut push = |k, v: &str| {
            if !v.is_empty() {
                out.push((k, v.to_string()));
            }
        };
        push("q", &self.q);
        push("brand", &self.brand);
        push("series", &self.series);
        push("store", &self.store);
        push("size", &self.size);
        if self.in_stock {
            push("in_stock", "1");
        }
        if self.near_low {
            push("near_low", "1");
        }
        push(
            "min",
            &self.min_price.map(|d| d.to_string()).unwrap_or_default(),
        );
        push(
            "max",
            &self.max_price.map(|d| d.to_string()).unwrap_or_default(),
        );
        if self.sort != Sort::Newest {
            push("sort", self.sort.as_str());
        }
        if self.page > 1 {
            push("page", &self.page.to_string());
        }
        out
    }

    /// Whether a product belongs in the grid under this filter.
    pub fn matches(&self, p: &ProductSummary) -> bool {
        if p.removed {
            return false;
        }
        let eq = |want: &str, have: &str| want.is_empty() || want.eq_ignore_ascii_case(have);
        if !eq(&self.brand, &p.brand)
            || !eq(&self.series, &p.product_type)
            || !eq(&self.store, &p.source)
        {
            return false;
        }
        if self.in_stock && p.sizes_in_stock.is_empty() {
            return false;
        }
        if !self.size.is_empty()
            && !p
                .sizes_in_stock
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&self.size))
        {
            return false;
        }
        if self.near_low && !p.deal.as_ref().is_some_and(|d| d.near_low) {
            return false;
        }
        // A price bound leaves out products whose price is not shown.
        if self
            .min_price
            .is_some_and(|m| p.min_price.is_none_or(|x| x < m))
            || self
                .max_price
                .is_some_and(|m| p.min_price.is_none_or(|x| x > m))
        {
            return false;
        }
        if !self.q.is_empty() {
            let hay = format!("{} {} {}", p.title, p.brand, p.product_type).to_lowercase();
            if !self
                .q
                .to_lowercase()
                .split_whitespace()
                .all(|w| hay.contains(w))
            {
                return false;
            }
        }
        true
    }

    /// Orders products for the grid; ties go by title, then key, so pages are stable.
    pub fn sort(&self, products: &mut [ProductSummary]) {
        let drop = |p: &ProductSummary| {
            p.change
                .as_ref()
                .filter(|c| c.is_drop())
                .and_then(|c| c.percent())
                .unwrap_or(Decimal::MAX)
        };
        // Items in one store only come last.
        let spread =
            |p: &ProductSummary| p.spread.as_ref().map(|s| s.percent).unwrap_or(Decimal::MIN);
        // Unscored products come last.
        let deal = |p: &ProductSummary| p.deal.as_ref().and_then(|d| d.score).map_or(-1, i16::from);
        // Products whose price is not shown come last either way.
        let price = |p: &ProductSummary, unknown| p.min_price.unwrap_or(unknown);
        products.sort_by(|a, b| {
            let primary = match self.sort {
                Sort::Newest => b.updated.cmp(&a.updated),
                Sort::PriceAsc => price(a, Decimal::MAX).cmp(&price(b, Decimal::MAX)),
                Sort::PriceDesc => price(b, Decimal::MIN).cmp(&price(a, Decimal::MIN)),
                Sort::BiggestDrop => drop(a).cmp(&drop(b)),
                Sort::Spread => spread(b).cmp(&spread(a)),
                Sort::BestDeal => deal(b).cmp(&deal(a)),
            };
            primary
                .then_with(|| a.title.cmp(&b.title))
                .then_with(|| a.key.cmp(&b.key))
        });
    }

    /// Filters, sorts and cuts out the requested page.
    pub fn apply(&self, mut all: Vec<ProductSummary>) -> ProductPage {
        all.retain(|p| self.matches(p));
        self.sort(&mut all);
        let matched = all.len();
        let pages = matched.div_ceil(PAGE_SIZE).max(1);
        let page = self.page.clamp(1, pages);
        let products = all
            .into_iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .collect();
        ProductPage {
            matched,
            page,
            pages,
            products,
        }
    }
}

/// The sizes to filter by: every size some product has in stock, numbers
/// first (7, 7.5, ... 12), then letter sizes in their order (XS ... XXL),
/// then the rest ("One size", "Single Box") alphabetically.
pub fn size_choices(products: &[ProductSummary]) -> Vec<String> {
    let mut sizes: Vec<&str> = products
        .iter()
        .flat_map(|p| p.sizes_in_stock.iter().map(String::as_str))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    const LETTERS: [&str; 7] = ["XXS", "XS", "S", "M", "L", "XL", "XXL"];
    let rank = |s: &str| -> (u8, Decimal, usize, String) {
        if let Ok(n) = s.parse::<Decimal>() {
            return (0, n, 0, String::new());
        }
        match LETTERS.iter().position(|l| l.eq_ignore_ascii_case(s)) {
            Some(i) => (1, Decimal::ZERO, i, String::new()),
            None => (2, Decimal::ZERO, 0, s.to_lowercase()),
        }
    };
    sizes.sort_by_cached_key(|s| rank(s));
    sizes.into_iter().map(str::to_string).collect()
}

/// One page of the filtered, sorted grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductPage {
    /// How many products match the filter in all.
    pub matched: usize,
    pub page: usize,
    pub pages: usize,
    pub products: Vec<ProductSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn p(key: &str, brand: &str, price: &str, in_stock: bool, minute: u32) -> ProductSummary {
        ProductSummary {
            key: key.into(),
            source: "demo".into(),
            title: format!("{brand} {key} Low"),
            brand: brand.into(),
            product_type: "Sneakers".into(),
            url: String::new(),
            image: None,
            currency: "USD".into(),
            min_price: Some(price.parse().unwrap()),
            max_price: Some(price.parse().unwrap()),
            compare_at: None,
            sizes_in_stock: if in_stock { vec!["9".into()] } else { vec![] },
            variant_count: 1,
            removed: false,
            updated: Utc.with_ymd_and_hms(2026, 11, 1, 0, minute, 0).unwrap(),
            change: None,
            spread: None,
            deal: None,
        }
    }

    #[test]
    fn query_round_trips_and_ignores_junk() {
        let f = ProductFilter::from_query([
            ("q", "dunk low"),
            ("brand", "Nike"),
            ("in_stock", "1"),
            ("min", "50"),
            ("max", "oops"),
            ("sort", "price_asc"),
            ("page", "3"),
            ("utm", "x"),
        ]);
        assert_eq!(f.max_price, None);
        assert_eq!(f.sort, Sort::PriceAsc);
        let q = f.to_query();
        let back = ProductFilter::from_query(q.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(back, f);
    }

    #[test]
    fn filters_combine_and_pages_are_cut() {
        let mut all: Vec<ProductSummary> = (0..130)
            .map(|i| p(&format!("n{i}"), "Nike", "100", i % 2 == 0, i % 60))
            .collect();
        all.push(p("a1", "Adidas", "80", true, 0));
        let f = ProductFilter {
            brand: "nike".into(),
            in_stock: true,
            page: 2,
            ..Default::default()
        };
        let page = f.apply(all.clone());
        assert_eq!(page.matched, 65);
        assert_eq!((page.page, page.pages, page.products.len()), (2, 2, 5));
        let f = ProductFilter {
            q: "ADIDAS low".into(),
            ..Default::default()
        };
        assert_eq!(f.apply(all.clone()).products[0].key, "a1");
        let f = ProductFilter {
            max_price: Some("90".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(f.apply(all.clone()).matched, 1);
        // A size: only products with it in stock.
        let f = ProductFilter::from_query([("size", "9")]);
        assert_eq!(f.to_query(), [("size", "9".to_string())]);
        assert_eq!(f.apply(all.clone()).matched, 66);
        let f = ProductFilter::from_query([("size", "12")]);
        assert_eq!(f.apply(all).matched, 0);
    }

    #[test]
    fn sizes_to_choose_from_read_in_order() {
        let mut a = p("a", "Nike", "1", true, 0);
        a.sizes_in_stock = vec!["10".into(), "9.5".into(), "M".into()];
        let mut b = p("b", "Nike", "1", true, 0);
        b.sizes_in_stock = vec!["Single Box".into(), "XL".into(), "7".into(), "S".into()];
        assert_eq!(
            size_choices(&[a, b]),
            ["7", "9.5", "10", "S", "M", "XL", "Single Box"]
        );
    }

    #[test]
    fn best_deals_sort_by_score_and_near_low_keeps_only_lows() {
        let badge = |score: Option<u8>, near_low| {
            Some(crate::deal::DealBadge {
                score,
                label: String::new(),
                near_low,
            })
        };
        let mut a = p("a", "Nike", "90", true, 0);
        a.deal = badge(Some(40), false);
        let mut b = p("b", "Nike", "90", true, 0);
        b.deal = badge(Some(95), true);
        let mut c = p("c", "Nike", "90", true, 0);
        c.deal = badge(None, false);
        let d = p("d", "Nike", "90", true, 0);
        let f = ProductFilter {
            sort: Sort::BestDeal,
            ..Default::default()
        };
        let keys = |page: ProductPage| -> Vec<String> {
            page.products.into_iter().map(|p| p.key).collect()
        };
        let all = vec![a, c, d, b];
        assert_eq!(keys(f.apply(all.clone())), ["b", "a", "c", "d"]);
        let f = ProductFilter::from_query([("near_low", "1"), ("sort", "best_deal")]);
        assert_eq!(keys(f.apply(all)), ["b"]);
        assert_eq!(
            f.to_query(),
            [
                ("near_low", "1".to_string()),
                ("sort", "best_deal".to_string())
            ]
        );
    }

    #[test]
    fn biggest_drop_sorts_drops_first_and_rises_last() {
        let at = Utc::now();
        let mv = |old: &str, new: &str| {
            Some(crate::PriceMove {
                old: old.parse().unwrap(),
                new: new.parse().unwrap(),
                at,
            })
        };
        let mut a = p("a", "Nike", "90", true, 0);
        a.change = mv("100", "90");
        let mut b = p("b", "Nike", "50", true, 0);
        b.change = mv("100", "50");
        let mut c = p("c", "Nike", "120", true, 0);
        c.change = mv("100", "120");
        let d = p("d", "Nike", "70", true, 0);
        let f = ProductFilter {
            sort: Sort::BiggestDrop,
            ..Default::default()
        };
        let keys: Vec<String> = f
            .apply(vec![c, d, a, b])
            .products
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(keys, ["b", "a", "c", "d"]);
        assert_eq!(
            mv("100", "50").unwrap().percent().unwrap().to_string(),
            "-50"
        );
        assert_eq!(
            mv("129.99", "119.99")
                .unwrap()
                .percent()
                .unwrap()
                .to_string(),
            "-7.7"
        );
    }
}
