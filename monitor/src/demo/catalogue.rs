//! The demo store's catalogue: realistic sneakers, streetwear and blind boxes
//! whose prices and per-size stock change over time, from a seed.
//!
//! Vendors are deliberately spelled the messy ways real shops spell them
//! ("NIKE", "Nike Inc.", "Stussy") so that the demo exercises brand
//! normalisation, and every JSON field uses Shopify's real names and types.

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use serde_json::{json, Value};

/// (vendor spellings, models) per sneaker brand.
const SNEAKERS: &[(&[&str], &[&str])] = &[
    (
        &["Nike", "NIKE", "nike", "Nike Inc."],
        &[
            "Dunk Low",
            "Air Force 1 '07",
            "Air Max 1",
            "Air Max 90",
            "Vomero 5",
            "Cortez",
        ],
    ),
    (
        &["Jordan", "Air Jordan"],
        &[
            "Air Jordan 1 Retro High OG",
            "Air Jordan 4 Retro",
            "Air Jordan 3 Retro",
            "Air Jordan 11 Retro",
        ],
    ),
    (
        &["adidas", "ADIDAS", "adidas Originals"],
        &[
            "Samba OG",
            "Gazelle Indoor",
            "Campus 00s",
            "Handball Spezial",
            "SL 72",
        ],
    ),
    (
        &["New Balance", "NEW BALANCE"],
        &["990v6", "2002R", "550", "9060", "1906R"],
    ),
    (
        &["ASICS", "Asics"],
        &["GEL-1130", "GEL-Kayano 14", "GEL-NYC"],
    ),
    (&["Salomon"], &["XT-6", "ACS Pro"]),
];
const COLOURWAYS: &[&str] = &[
    "Panda",
    "Triple White",
    "Black/White",
    "Sail/Gum",
    "Bred",
    "University Blue",
    "Medium Olive",
    "Grey Fog",
    "Sea Salt",
    "Cream/Navy",
    "Chicago",
    "Phantom",
];
const SHOE_SIZES: &[&str] = &["7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "12"];
const SHOE_PRICES: &[&str] = &[
    "100.00", "110.00", "115.00", "120.00", "140.00", "160.00", "180.00", "210.00", "230.00",
];

const STREETWEAR: &[(&[&str], &[&str])] = &[
    (
        &["Supreme"],
        &[
            "Box Logo Hoodie",
            "Small Box Tee",
            "Nylon Track Jacket",
            "Camp Cap",
        ],
    ),
    (
        &["Stussy", "STÜSSY"],
        &[
            "8 Ball Fleece",
            "Basic Stock Tee",
            "Ripstop Cargo Pant",
            "Stock Bucket Hat",
        ],
    ),
    (
        &["Kith", "Kith Women"],
        &[
            "Williams III Hoodie",
            "Nelson Crewneck",
            "Wool Varsity Jacket",
        ],
    ),
    (
        &["Palace"],
        &["Tri-Ferg Hood", "Basically A Tee", "Shell Jacket"],
    ),
    (
        &["Fear of God Essentials", "ESSENTIALS"],
        &["Essentials Hoodie", "Essentials Sweatpant"],
    ),
];
const GARMENT_COLOURS: &[&str] = &[
    "Black",
    "Heather Grey",
    "Navy",
    "Olive",
    "Cream",
    "Washed Blue",
];
const GARMENT_SIZES: &[&str] = &["S", "M", "L", "XL"];
const GARMENT_PRICES: &[&str] = &[
    "48.00", "58.00", "90.00", "148.00", "168.00", "220.00", "395.00",
];

const BLIND_BOX_VENDORS: &[&str] = &["POP MART", "Pop Mart", "POPMART"];
const BLIND_BOX_SERIES: &[&str] = &[
    "LABUBU The Monsters Exciting Macaron",
    "SKULLPANDA The Sound",
    "MOLLY Carb-Lover",
    "DIMOO Retro Series",
    "HIRONO The Other One",
    "CRYBABY Crying Again",
    "Hacipupu Snuggle With You",
    "Twinkle Twinkle Be a Little Star",
];

/// One size (or box option) of a demo product.
#[derive(Clone, Debug)]
pub struct DemoVariant {
    pub id: u64,
    pub title: String,
    pub sku: String,
    pub price: Decimal,
    pub compare_at: Option<Decimal>,
    pub available: bool,
    pub grams: u32,
    pub updated_at: DateTime<Utc>,
}

/// One demo product.
#[derive(Debug)]
pub struct DemoProduct {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub vendor: String,
    pub product_type: String,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub option_name: &'static str,
    pub variants: Vec<DemoVariant>,
    /// Hue (0–359) of its generated picture.
    pub hue: u16,
    /// Its JSON as last sent and the store address it was made for; cleared
    /// by every change. A 10,000-product catalogue is served many times a
    /// minute in tests and benchmarks, and the store should not be the slow part.
    json: Mutex<Option<(String, String)>>,
}

/// The whole catalogue, ordered by id as Shopify pages it.
pub struct Catalogue {
    pub products: Vec<DemoProduct>,
    rng: StdRng,
}

fn price(s: &str) -> Decimal {
    s.parse().expect("demo prices are valid decimals")
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn handle_of(title: &str, id: u64) -> String {
    format!("{}-{}", crate::engine::slug_text(title), id % 100_000)
}

impl Catalogue {
    /// `n` products from `seed`: half sneakers, 30% streetwear, 20% blind boxes.
    pub fn generate(n: usize, seed: u64) -> Catalogue {
        let mut rng = StdRng::seed_from_u64(seed);
        let start = Utc::now() - Duration::days(30);
        let products = (0..n)
            .map(|i| {
                let id = 8_100_000_000_000 + i as u64;
                let created = start + Duration::minutes(i as i64);
                let (title, vendor, product_type, option_name, sizes, base, tags): (
                    String,
                    String,
                    &str,
                    &'static str,
                    Vec<&str>,
                    Decimal,
                    Vec<String>,
                ) = match i % 10 {
                    0..=4 => {
                        let (vendors, models) = pick(&mut rng, SNEAKERS);
                        let model = pick(&mut rng, models);
                        let colour = pick(&mut rng, COLOURWAYS);
                        let style = format!(
                            "{}{}{:04}-{:03}",
                            (b'A' + rng.random_range(0..26)) as char,
                            (b'A' + rng.random_range(0..26)) as char,
                            rng.random_range(1000..9999),
                            rng.random_range(1..999)
                        );
                        (
                            format!("{model} '{colour}'"),
                            pick(&mut rng, vendors).to_string(),
                            "Sneakers",
                            "Size",
                            SHOE_SIZES.to_vec(),
                            price(pick::<&str>(&mut rng, SHOE_PRICES)),
                            vec!["sneakers".into(), style],
                        )
                    }
                    5..=7 => {
                        let (vendors, items) = pick(&mut rng, STREETWEAR);
                        let item = pick(&mut rng, items);
                        let colour = pick(&mut rng, GARMENT_COLOURS);
                        let one_size = item.contains("Cap") || item.contains("Hat");
                        (
                            format!("{item} - {colour}"),
                            pick(&mut rng, vendors).to_string(),
                            "Apparel",
                            "Size",
                            if one_size {
                                vec!["Default Title"]
                            } else {
                                GARMENT_SIZES.to_vec()
                            },
                            price(pick::<&str>(&mut rng, GARMENT_PRICES)),
                            vec!["apparel".into()],
                        )
                    }
                    _ => {
                        let series = pick(&mut rng, BLIND_BOX_SERIES);
                        (
                            format!("{series} Blind Box"),
                            pick(&mut rng, BLIND_BOX_VENDORS).to_string(),
                            "Blind Box",
                            "Style",
                            vec!["Single Box", "Whole Set (6 boxes)"],
                            price("19.99"),
                            vec!["blind-box".into(), series.to_string()],
                        )
                    }
                };
                let on_sale = rng.random_bool(0.15);
                let variants = sizes
                    .iter()
                    .enumerate()
                    .map(|(j, size)| {
                        let p = if size.starts_with("Whole Set") {
                            base * Decimal::from(6)
                        } else {
                            base
                        };
                        DemoVariant {
                            id: 45_000_000_000_000 + i as u64 * 100 + j as u64,
                            title: size.to_string(),
                            sku: format!(
                                "{}-{}",
                                tags.get(1).map(String::as_str).unwrap_or("DW"),
                                size
                            )
                            .replace(' ', ""),
                            price: p,
                            compare_at: on_sale.then(|| (p * price("1.25")).round_dp(0)),
                            available: rng.random_bool(0.7),
                            grams: 900,
                            updated_at: created,
                        }
                    })
                    .collect();
                DemoProduct {
                    id,
                    handle: handle_of(&title, id),
                    title,
                    vendor,
                    product_type: product_type.to_string(),
                    tags,
                    created_at: created,
                    updated_at: created,
                    option_name,
                    variants,
                    hue: rng.random_range(0..360),
                    json: Mutex::new(None),
                }
            })
            .collect();
        Catalogue { products, rng }
    }

    /// Applies `change` to a variant and stamps it updated; false if there is no such variant.
    fn update_variant(&mut self, variant_id: u64, change: impl FnOnce(&mut DemoVariant)) -> bool {
        let now = Utc::now();
        for p in &mut self.products {
            if let Some(v) = p.variants.iter_mut().find(|v| v.id == variant_id) {
                change(v);
                v.updated_at = now;
                p.updated_at = now;
                *p.json.get_mut() = None;
                return true;
            }
        }
        false
    }

    /// Sets a variant's price; false if there is no such variant.
    pub fn set_price(&mut self, variant_id: u64, new: Decimal) -> bool {
        self.update_variant(variant_id, |v| v.price = new)
    }

    /// Sets a variant's availability; false if there is no such variant.
    pub fn set_available(&mut self, variant_id: u64, available: bool) -> bool {
        self.update_variant(variant_id, |v| v.available = available)
    }

    /// Takes a product off the catalogue; false if there is none with that id.
    pub fn remove_product(&mut self, product_id: u64) -> bool {
        let before = self.products.len();
        self.products.retain(|p| p.id != product_id);
        self.products.len() != before
    }

    /// Makes `count` random changes (a price moves 5–20%, or a size sells out
    /// or restocks) and describes them.
    pub fn tick(&mut self, count: usize) -> Vec<String> {
        let mut done = Vec::new();
        if self.products.is_empty() {
            return done;
        }
        for _ in 0..count {
            let i = self.rng.random_range(0..self.products.len());
            let j = self.rng.random_range(0..self.products[i].variants.len());
            let id = self.products[i].variants[j].id;
            if self.rng.random_bool(0.5) {
                let old = self.products[i].variants[j].price;
                let pct = Decimal::from(self.rng.random_range(80..=110u32)) / Decimal::from(100);
                // Checked: the control API may have set any price.
                let new = old
                    .checked_mul(pct)
                    .unwrap_or(old)
                    .round_dp(0)
                    .max(Decimal::ONE);
                if new != old {
                    self.set_price(id, new);
                    done.push(format!(
                        "{} {}: price {old} -> {new}",
                        self.products[i].title, id
                    ));
                }
            } else {
                let now = !self.products[i].variants[j].available;
                self.set_available(id, now);
                done.push(format!(
                    "{} {}: available {now}",
                    self.products[i].title, id
                ));
            }
        }
        done
    }

    /// A `products.json` page exactly as Shopify sends it, as JSON text.
    /// `base` is the store's public address (images and links point there).
    pub fn page(&self, page: usize, limit: usize, base: &str) -> String {
        let start = page.saturating_sub(1).saturating_mul(limit);
        let mut out = String::from("{\"products\":[");
        for (i, p) in self.products.iter().skip(start).take(limit).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut cached = p.json.lock();
            match cached.as_ref() {
                Some((for_base, json)) if for_base == base => out.push_str(json),
                _ => {
                    let json = product_json(p, base).to_string();
                    out.push_str(&json);
                    *cached = Some((base.to_string(), json));
                }
            }
        }
        out.push_str("]}");
        out
    }
}

fn shop_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S-00:00").to_string()
}

fn product_json(p: &DemoProduct, base: &str) -> Value {
    let image_id = p.id + 30_000_000_000_000;
    let variants: Vec<Value> = p
        .variants
        .iter()
        .enumerate()
        .map(|(j, v)| {
            json!({
                "id": v.id,
                "title": v.title,
                "option1": v.title,
                "option2": null,
                "option3": null,
                "sku": v.sku,
                "requires_shipping": true,
                "taxable": true,
                "featured_image": null,
                "available": v.available,
                "price": format!("{:.2}", v.price),
                "grams": v.grams,
                "compare_at_price": v.compare_at.map(|c| format!("{c:.2}")),
                "position": j + 1,
                "product_id": p.id,
                "created_at": shop_time(p.created_at),
                "updated_at": shop_time(v.updated_at),
            })
        })
        .collect();
    let values: Vec<&str> = p.variants.iter().map(|v| v.title.as_str()).collect();
    json!({
        "id": p.id,
        "title": p.title,
        "handle": p.handle,
        "body_html": format!("<p>{} by {}.</p>", p.title, p.vendor),
        "published_at": shop_time(p.created_at),
        "created_at": shop_time(p.created_at),
        "updated_at": shop_time(p.updated_at),
        "vendor": p.vendor,
        "product_type": p.product_type,
        "tags": p.tags,
        "variants": variants,
        "images": [{
            "id": image_id,
            "created_at": shop_time(p.created_at),
            "position": 1,
            "updated_at": shop_time(p.created_at),
            "product_id": p.id,
            "variant_ids": [],
            "src": format!("{base}/images/{}.svg", p.id),
            "width": 600,
            "height": 600,
        }],
        "options": [{ "name": p.option_name, "position": 1, "values": values }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_catalogue_and_pages_cover_it_once() {
        let a = Catalogue::generate(600, 7);
        let b = Catalogue::generate(600, 7);
        assert_eq!(a.products[123].title, b.products[123].title);
        let mut ids = vec![];
        for page in 1.. {
            let v: Value = serde_json::from_str(&a.page(page, 250, "http://x")).unwrap();
            let items = v["products"].as_array().unwrap();
            if items.is_empty() {
                break;
            }
            ids.extend(items.iter().map(|p| p["id"].as_u64().unwrap()));
        }
        assert_eq!(ids.len(), 600);
        let one: Value = serde_json::from_str(&a.page(1, 1, "http://x")).unwrap();
        let first = &one["products"][0]["variants"][0];
        assert!(first["price"].is_string());
    }

    #[test]
    fn ticks_change_something() {
        let mut c = Catalogue::generate(50, 1);
        assert!(!c.tick(5).is_empty());
    }
}
