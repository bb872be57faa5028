//! Picks ("For you") and related products over a real engine reading the
//! demo store: what a user does is kept per user in SurrealDB (`mem://`,
//! and a file for the restart), a repeat counts up rather than adding a
//! row, a user's rows stay bounded, and clearing forgets them; a rule made
//! by a signed-in user is theirs, teaches their picks and ties products
//! together on the product page.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;

use common::Harness;
use model::picks::{Signal, MAX_PICKS, MAX_SIGNALS};
use model::related::{Relation, MAX_RELATED};
use model::{Condition, Product, ProductFilter, Rule, Scope};

/// Every product read from the demo store.
fn products(h: &Harness) -> Vec<Product> {
    let mut all: Vec<Product> = h
        .engine
        .products()
        .into_iter()
        .filter_map(|s| h.engine.product(&s.key))
        .collect();
    all.sort_by(|a, b| a.key.cmp(&b.key));
    all
}

/// The brand with the most products that have a size in stock.
fn busiest_brand(all: &[Product]) -> String {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for p in all.iter().filter(|p| p.lowest_in_stock().is_some()) {
        *count.entry(p.brand.as_str()).or_default() += 1;
    }
    let (brand, n) = count
        .into_iter()
        .max_by_key(|(b, n)| (*n, *b))
        .expect("the demo has products in stock");
    assert!(n >= 5, "{brand} has {n} products in stock");
    brand.to_string()
}

#[tokio::test]
async fn what_a_user_opens_makes_their_picks_kept_bounded_and_cleared() {
    let h = Harness::new(80).await;
    h.check().await;
    let all = products(&h);
    let brand = busiest_brand(&all);
    let opened: Vec<&Product> = all
        .iter()
        .filter(|p| p.brand == brand && p.lowest_in_stock().is_some())
        .take(3)
        .collect();
    for p in &opened {
        h.engine
            .note_signal("pat", &Signal::opened(p))
            .await
            .unwrap();
    }

    let mine = h.engine.picks("pat", &[], MAX_PICKS).await.unwrap();
    assert_eq!(mine.signals, 3);
    let first = mine
        .picks
        .first()
        .expect("picks after three products opened");
    assert_eq!(first.product.brand, brand, "{:?}", mine.picks);
    assert!(first.said().contains(&brand), "{}", first.said());
    assert!(mine.picks.len() <= MAX_PICKS);
    for p in &mine.picks {
        assert!(
            opened.iter().all(|o| o.key != p.product.key),
            "a product opened is no pick"
        );
        assert!(!p.product.sizes_in_stock.is_empty(), "picks are in stock");
    }

    // Opened again: the kept signal counts up, no second row.
    h.engine
        .note_signal("pat", &Signal::opened(opened[0]))
        .await
        .unwrap();
    let kept = h.engine.store().signals("pat").await.unwrap();
    assert_eq!(kept.len(), 3);
    assert_eq!(kept[0].times, 2, "newest first: the one opened again");

    // Someone else: nothing learned, no picks.
    let sam = h.engine.picks("sam", &[], MAX_PICKS).await.unwrap();
    assert_eq!((sam.signals, sam.picks.len()), (0, 0));

    // Bounded: the newest MAX_SIGNALS stay, the oldest (the products
    // opened) go; a signal past the age limit is forgotten on the next write.
    let start = Utc::now();
    for i in 0..MAX_SIGNALS + 10 {
        let f = ProductFilter::from_query([("min", i.to_string().as_str())]);
        let at = start + chrono::Duration::seconds(i as i64);
        h.engine
            .store()
            .note_signal("pat", &Signal::filtered(&f).unwrap(), at)
            .await
            .unwrap();
    }
    let kept = h.engine.store().signals("pat").await.unwrap();
    assert_eq!(kept.len(), MAX_SIGNALS);
    assert!(kept
        .iter()
        .all(|n| !matches!(n.signal, Signal::Opened { .. })));
    let ancient = Signal::filtered(&ProductFilter::from_query([("brand", "Ancient")])).unwrap();
    let store = h.engine.store();
    store
        .note_signal("sam", &ancient, start - chrono::Duration::days(200))
        .await
        .unwrap();
    let recent = Signal::filtered(&ProductFilter::from_query([("brand", "Nike")])).unwrap();
    store.note_signal("sam", &recent, start).await.unwrap();
    let sams = store.signals("sam").await.unwrap();
    assert_eq!(sams.len(), 1);
    assert_eq!(sams[0].signal, recent);

    // Cleared: forgotten, and the picks are gone; Sam's are Sam's.
    assert_eq!(h.engine.forget_signals("pat").await.unwrap(), MAX_SIGNALS);
    let mine = h.engine.picks("pat", &[], MAX_PICKS).await.unwrap();
    assert_eq!((mine.signals, mine.picks.len()), (0, 0));
    assert_eq!(store.signals("sam").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_users_rules_are_theirs_teach_their_picks_and_survive_a_restart() {
    let dir = common::TempDir::new("picks");
    let db = format!("surrealkv://{}/db", dir.0.display());
    let h = Harness::with(60, &db, common::quick_config()).await;
    h.check().await;
    let all = products(&h);
    let brand = busiest_brand(&all);
    let watched = all
        .iter()
        .find(|p| p.brand == brand)
        .expect("a product of the brand");
    // One of another brand and series: only the rules tie it to the first.
    let other = all
        .iter()
        .find(|p| p.brand != brand && p.product_type != watched.product_type)
        .expect("a product of another kind");

    let (_, at) = common::fake_discord(Duration::ZERO).await;
    let (alerts, root) = common::alert_service(&h, at).await;
    let channel = alerts
        .add_channel(&root, "mine", "discord://1/token-abcdefgh")
        .await
        .unwrap();
    let rule = |product: &str| Rule {
        // Whoever a caller says made it, the server says who did.
        owner: Some("mallory".into()),
        ..common::rule(
            "",
            Scope {
                product: Some(product.to_string()),
                ..Scope::default()
            },
            Condition::DropOrRestock,
            vec![channel.id.clone()],
        )
    };
    let saved = alerts.save_rule(&root, rule(&watched.key)).await.unwrap();
    assert_eq!(saved.owner.as_deref(), Some("root"));
    // An edit keeps the owner.
    let edited = alerts
        .save_rule(
            &root,
            Rule {
                name: "renamed".into(),
                owner: None,
                ..saved.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.owner.as_deref(), Some("root"));

    // The watch teaches the picks; the product watched is no pick.
    let mine = h
        .engine
        .picks("root", &alerts.rules(), MAX_PICKS)
        .await
        .unwrap();
    assert_eq!(mine.signals, 1, "one signal per rule made, none per edit");
    let first = mine.picks.first().expect("picks from a watch");
    assert!(first.said().contains(&brand), "{}", first.said());
    assert!(mine.picks.iter().all(|p| p.product.key != watched.key));

    // People who watch this also watch: a second rule of the same user
    // ties the two on the product page.
    alerts.save_rule(&root, rule(&other.key)).await.unwrap();
    let rules = alerts.rules();
    let related = h.engine.related(&watched.key, &rules, MAX_RELATED);
    assert!(!related.is_empty() && related.len() <= MAX_RELATED);
    let related = h.engine.related(&watched.key, &rules, usize::MAX);
    assert!(related.iter().all(|r| r.product.key != watched.key));
    let tied = related
        .iter()
        .find(|r| r.product.key == other.key)
        .expect("the product watched by the same user is related");
    assert_eq!(tied.why, vec![Relation::WatchedTogether { rules: 1 }]);
    assert_eq!(tied.said(), "Watched together in 1 rule");
    assert!(related
        .iter()
        .filter(|r| r.product.key != other.key)
        .all(|r| r.why.contains(&Relation::SameSeries) || r.why.contains(&Relation::SameBrand)));

    // A restart: the signals and the owners are still there.
    let (demo, addr) = (h.demo.clone(), h.addr);
    drop(alerts);
    drop(h);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h = Harness::attach(demo, addr, &db, common::quick_config()).await;
    let store = h.engine.store();
    assert_eq!(store.signals("root").await.unwrap().len(), 2);
    let owners: Vec<Option<String>> = store
        .rules()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.owner)
        .collect();
    assert_eq!(owners, [Some("root".to_string()), Some("root".to_string())]);
}
