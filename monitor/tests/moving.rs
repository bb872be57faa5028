//! Moving in and out (issue 19): a changedetection.io backup and a list of
//! URLs imported through `Control` (preview, import, import again), and a
//! backup of a polled store restored into a new database file.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use model::{Condition, EntryState, ExtraKind, Role, Rule, Scope};
use monitor::{Control, Engine, EngineConfig, Store};

use common::{alert_service, fake_discord, quick_config, Harness, TempDir};

const CDIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cdio/backup");

/// The cdio fixture folder as its Backup button zips it.
fn cdio_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let mut stack = vec![(Path::new(CDIO).to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = format!("{prefix}{}", p.file_name().unwrap().to_string_lossy());
            if p.is_dir() {
                stack.push((p, format!("{name}/")));
            } else {
                zip.start_file(name, opts).unwrap();
                zip.write_all(&std::fs::read(&p).unwrap()).unwrap();
            }
        }
    }
    zip.finish().unwrap().into_inner()
}

/// A 32-byte secret key, base64.
fn base64_key() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([7u8; 32])
}

/// A `Control` over `h`'s engine with alerts sent to `at`, and its admin.
async fn control(h: &Harness, at: monitor::alerts::Endpoints) -> (Control, monitor::Identity) {
    let (alerts, who) = alert_service(h, at).await;
    let accounts = alerts.accounts().clone();
    let repricing = monitor::repricing::service::Repricer::open(h.engine.clone(), accounts.clone())
        .await
        .unwrap();
    let c = Control {
        engine: h.engine.clone(),
        accounts,
        alerts,
        repricing,
    };
    (c, who)
}

fn local_endpoints(base: &str) -> monitor::alerts::Endpoints {
    let mut at = monitor::alerts::Endpoints {
        policy: monitor::outbound::Policy::open(),
        ..Default::default()
    };
    let u = |p: &str| url::Url::parse(&format!("{base}{p}")).unwrap();
    at.discord = u("/api/webhooks/");
    at.telegram = u("/");
    at.ntfy = u("/");
    at
}

#[tokio::test]
async fn a_changedetection_backup_is_previewed_then_imported_with_channels_rules_and_history() {
    let h = Harness::new(2).await;
    let (_, at) = fake_discord(Duration::ZERO).await;
    let base = at.discord.origin().ascii_serialization();
    let (c, admin) = control(&h, local_endpoints(&base)).await;
    let zip = cdio_zip();

    // A viewer may not import.
    let viewer = monitor::Identity::anonymous(Role::Viewer);
    assert!(c.import_sources(&viewer, &zip, true).await.is_err());

    let preview = c.import_sources(&admin, &zip, true).await.unwrap();
    assert!(preview.preview);
    assert_eq!(preview.format, "changedetection.io backup");
    let count =
        |r: &model::SourceImport, s: EntryState| r.sources.iter().filter(|e| e.state == s).count();
    assert_eq!(
        count(&preview, EntryState::WillAdd),
        4,
        "{:#?}",
        preview.sources
    );
    assert_eq!(count(&preview, EntryState::NotImported), 2);
    assert_eq!(count(&preview, EntryState::Refused), 1);
    let refused = preview
        .sources
        .iter()
        .find(|e| e.state == EntryState::Refused)
        .unwrap();
    assert!(
        refused.reason.as_deref().unwrap().contains("not a URL")
            || refused.reason.as_deref().unwrap().contains("web address"),
        "{refused:?}"
    );
    assert!(preview.summary().contains("Nothing is changed"));
    assert_eq!(h.engine.sources().len(), 1, "a preview adds nothing");
    assert!(c.alerts.channels().is_empty() && c.alerts.rules().is_empty());
    // The JSON API watch's Pushover address is a service Dropwatch does not speak.
    let pover = preview
        .extras
        .iter()
        .find(|x| x.kind == ExtraKind::Channel && x.what.starts_with("pover"))
        .unwrap();
    assert_eq!(pover.state, EntryState::NotImported);
    // A restock watch whose only address Dropwatch cannot send to: the
    // channel and its rules are listed as not imported, with why.
    let lone = br#"{"watching": {"u1": {"url": "https://shop.example.com/products/x",
        "processor": "restock_diff", "notification_urls": ["pover://user@token"]}}}"#;
    let r = c.import_sources(&admin, lone, true).await.unwrap();
    assert_eq!(r.sources[0].state, EntryState::WillAdd);
    let ch = r
        .extras
        .iter()
        .find(|x| x.kind == ExtraKind::Channel)
        .unwrap();
    assert_eq!(
        (ch.what.as_str(), ch.state),
        ("pover://…", EntryState::NotImported)
    );
    let rule = r.extras.iter().find(|x| x.kind == ExtraKind::Rule).unwrap();
    assert_eq!(rule.state, EntryState::NotImported);
    assert!(rule
        .reason
        .as_deref()
        .unwrap()
        .contains("no notification address"));

    let done = c.import_sources(&admin, &zip, false).await.unwrap();
    assert_eq!(count(&done, EntryState::Added), 4, "{:#?}", done.sources);
    let sources = h.engine.sources();
    let find = |url: &str| {
        sources
            .iter()
            .find(|s| s.url == url)
            .unwrap_or_else(|| panic!("no {url} in {sources:#?}"))
            .clone()
    };
    let grinder = find("https://shop.example.com/products/espresso-grinder-eg2");
    assert_eq!(
        (
            grinder.kind(),
            grinder.name.as_str(),
            grinder.currency.as_str()
        ),
        ("page", "Espresso grinder", "USD")
    );
    assert_eq!(grinder.interval_secs, 3 * 3600);
    let kettle = find("https://store.example.org/item/4711-kettle");
    assert!(!kettle.enabled, "paused in changedetection.io, paused here");
    assert_eq!(kettle.interval_secs, 23_400);
    assert_eq!(kettle.currency, "EUR");
    assert_eq!(find("https://shop.example.com").kind(), "shopify");
    assert_eq!(
        find("https://store.example.org/p/trail-runner-3").tags,
        vec!["Outdoor", "Deals"]
    );

    // Channels it speaks were added (sealed; only the masked form shows).
    let channels = c.alerts.channels();
    let kinds: Vec<&str> = channels.iter().map(|c| c.kind.as_str()).collect();
    for k in ["discord", "telegram", "ntfy"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert!(channels.iter().all(|c| !c
        .redacted
        .contains("AbCdEf-GhIjKl_MnOpQrStUvWxYz0123456789")));
    // The grinder's conditions became rules on its source, to its Discord channel.
    let discord = channels.iter().find(|c| c.kind == "discord").unwrap();
    let mut mine: Vec<Rule> = c
        .alerts
        .rules()
        .into_iter()
        .filter(|r| r.scope.source.as_deref() == Some(grinder.key.as_str()))
        .collect();
    mine.sort_by_key(|r| r.name.clone());
    let conds: Vec<&Condition> = mine.iter().map(|r| &r.condition).collect();
    assert_eq!(conds.len(), 3, "{mine:#?}");
    assert!(conds.contains(&&Condition::DropPercent { percent: 5.into() }));
    assert!(conds.contains(&&Condition::PriceAtOrBelow { price: 125.into() }));
    assert!(conds.contains(&&Condition::Restocked));
    assert!(mine.iter().all(|r| r.channels == vec![discord.id.clone()]));
    // The kettle's rules are paused like the watch.
    assert!(c
        .alerts
        .rules()
        .iter()
        .filter(|r| r.scope.source.as_deref() == Some(kettle.key.as_str()))
        .all(|r| r.paused));

    // Its price history starts the chart: 129.99, 119.99, 99.5 sold out, back.
    let product = format!("{}:espresso-grinder-eg2", grinder.key);
    let prices = h.engine.store().price_history(&product).await.unwrap();
    let stock = h.engine.store().stock_history(&product).await.unwrap();
    assert_eq!(prices.len(), 4);
    assert_eq!(prices[0].variants[0].price.to_string(), "129.99");
    assert_eq!(prices[0].at.timestamp(), 1_717_236_000);
    assert_eq!(
        stock
            .iter()
            .map(|s| s.variants[0].available)
            .collect::<Vec<_>>(),
        vec![true, true, false, true]
    );
    let entry = done
        .sources
        .iter()
        .find(|e| e.url.ends_with("espresso-grinder-eg2"))
        .unwrap();
    assert_eq!(entry.history_points, 4);

    // Importing again adds nothing: every source and channel is already here.
    let rules_before = c.alerts.rules().len();
    let again = c.import_sources(&admin, &zip, false).await.unwrap();
    assert_eq!(count(&again, EntryState::Added), 0);
    assert_eq!(count(&again, EntryState::Duplicate), 4);
    assert_eq!(c.alerts.rules().len(), rules_before);
    assert_eq!(c.alerts.channels().len(), channels.len());
    assert_eq!(
        h.engine
            .store()
            .price_history(&product)
            .await
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn a_list_of_urls_detects_shopify_stores_and_refuses_bad_lines_without_stopping() {
    let h = Harness::new(3).await;
    let (c, admin) = control(&h, Default::default()).await;
    // Another server that is not a Shopify store.
    let plain = axum::Router::new().fallback(|| async { "<html>hello</html>" });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, plain).await.unwrap() });

    let shop = format!("http://{}", h.addr);
    let list = format!(
        "url,kind,interval,name,tags\n\
         http://{other}/,,60,Not a shop,\n\
         {shop}/collections/all/products/dunk,,5m,Dunk,nike;sb\n\
         ftp://files.example.com/list,,,,\n\
         https://another.example/p/1,amazon,,,\n\
         https://another.example/p/2,,every now and then,,\n\
         {shop},,,,\n"
    );
    let r = c
        .import_sources(&admin, list.as_bytes(), false)
        .await
        .unwrap();
    assert_eq!(r.format, "list");
    let by_at = |at: &str| {
        r.sources
            .iter()
            .find(|e| e.at == at)
            .unwrap_or_else(|| panic!("{at} in {:#?}", r.sources))
    };
    let not_shop = by_at("line 2");
    assert_eq!(not_shop.state, EntryState::Refused);
    assert!(not_shop
        .reason
        .as_deref()
        .unwrap()
        .contains("not a Shopify store"));
    let dunk = by_at("line 3");
    assert_eq!(
        (dunk.state, dunk.kind.as_deref()),
        (EntryState::Added, Some("page"))
    );
    assert_eq!(dunk.tags, vec!["nike", "sb"]);
    assert_eq!(dunk.interval_secs, Some(300));
    assert_eq!(
        by_at("line 4").state,
        EntryState::Refused,
        "ftp is not a web address"
    );
    assert_eq!(
        by_at("line 5").state,
        EntryState::NotImported,
        "amazon needs ASINs"
    );
    assert!(by_at("line 6")
        .reason
        .as_deref()
        .unwrap()
        .contains("interval"));
    // The demo store answers products.json: it is the Shopify source already here.
    let store_line = by_at("line 7");
    assert_eq!(store_line.kind.as_deref(), Some("shopify"));
    assert_eq!(store_line.state, EntryState::Duplicate);
    assert_eq!(store_line.source.as_deref(), Some(h.source.key.as_str()));
    assert_eq!(h.engine.sources().len(), 2);

    // Not a list, not a backup: a clear error, nothing changed.
    let err = c
        .import_sources(&admin, &[0xff, 0xfe, 0x00, 0x01], false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("neither a zip nor text"), "{err}");
    let err = c
        .import_sources(&admin, b"{\"watching\": 3", false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    assert_eq!(h.engine.sources().len(), 2);
}

#[tokio::test]
async fn a_list_of_urls_detects_woocommerce_shops() {
    let h = Harness::new(3).await;
    let (c, admin) = control(&h, Default::default()).await;
    // A WooCommerce shop: no products.json, a Store API (empty for now).
    let woo = axum::Router::new()
        .route(
            "/wp-json/wc/store/v1/products",
            axum::routing::get(|| async { ([("content-type", "application/json")], "[]") }),
        )
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "<html>404</html>") });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, woo).await.unwrap() });
    let shop = format!("http://{}", h.addr);
    let list = format!(
        "url,name\n\
         http://{other}/,Front page\n\
         {shop}/wp-json/wc/store/v1/products?per_page=20,Store API\n"
    );
    let r = c
        .import_sources(&admin, list.as_bytes(), false)
        .await
        .unwrap();
    let kinds: Vec<(Option<&str>, EntryState)> = r
        .sources
        .iter()
        .map(|e| (e.kind.as_deref(), e.state))
        .collect();
    assert_eq!(
        kinds,
        [
            (Some("woocommerce"), EntryState::Added),
            (Some("woocommerce"), EntryState::Added)
        ],
        "{:#?}",
        r.sources
    );
    let added: Vec<model::Source> = h
        .engine
        .sources()
        .into_iter()
        .filter(|s| s.kind() == "woocommerce")
        .collect();
    assert!(
        added.iter().any(|s| s.url == shop),
        "a Store API address is its shop: {added:?}"
    );
}

#[tokio::test]
async fn a_backup_of_a_polled_store_restores_into_a_new_database_identical() {
    let dir = TempDir::new("backup");
    let db = format!("surrealkv://{}", dir.0.join("live").display());
    let demo = monitor::demo::DemoStore::new(&common::demo_config(20));
    let addr = demo.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let h = Harness::attach(demo, addr, &db, quick_config()).await;
    h.check().await;
    h.control("tick", serde_json::json!({"changes": 8})).await;
    h.check().await;
    // Secrets sealed with a key the operator keeps (as --secret-key).
    let key = monitor::auth::KeySource::Given(base64_key());
    let store = h.engine.store().clone();
    let vault = monitor::auth::Vault::open(&key, &store).await.unwrap();
    let accounts = Arc::new(monitor::Accounts::new(store, vault, Default::default()));
    accounts
        .ensure_admin("root", "root-password-1")
        .await
        .unwrap();
    let (_, admin) = accounts
        .login("root", "root-password-1", None)
        .await
        .unwrap();
    let alerts = monitor::alerts::AlertService::open(
        accounts,
        local_endpoints("http://127.0.0.1:9"),
        "mailto:a@example.com",
    )
    .await
    .unwrap();
    let ch = alerts
        .add_channel(&admin, "team", "discord://1/secret-token-xyz")
        .await
        .unwrap();
    let rule = alerts
        .save_rule(
            &admin,
            Rule {
                cooldown_secs: 60,
                ..common::rule(
                    "drops",
                    Scope {
                        source: Some(h.source.key.clone()),
                        ..Scope::default()
                    },
                    Condition::DropPercent { percent: 10.into() },
                    vec![ch.id.clone()],
                )
            },
        )
        .await
        .unwrap();

    // Backed up while the engine is open, as from a running server.
    let file = dir.0.join("backup.surql");
    let mut out = std::fs::File::create(&file).unwrap();
    let mut chunks = h.engine.store().backup().await.unwrap();
    while let Some(c) = chunks.next().await {
        out.write_all(&c.unwrap()).unwrap();
    }
    drop(out);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("OPTION IMPORT") && text.contains("secret"),
        "an export of every table"
    );
    assert!(
        !text.contains("secret-token-xyz"),
        "secrets stay sealed in a backup"
    );

    let restored_db = format!("surrealkv://{}", dir.0.join("restored").display());
    let r = monitor::store::restore(&restored_db, &file, Default::default())
        .await
        .unwrap();
    assert_eq!(r.sources, 1);
    assert_eq!(r.products, 20);
    assert_eq!(r.last_event, h.engine.store().last_seq());
    // (Restoring over a database with data is refused: tests/moving.rs of
    // the server, one process per command as users run it.)
    let junk = dir.0.join("junk.txt");
    std::fs::write(&junk, "hello").unwrap();
    let fresh = format!("surrealkv://{}", dir.0.join("fresh").display());
    assert!(monitor::store::restore(&fresh, &junk, Default::default())
        .await
        .unwrap_err()
        .to_string()
        .contains("not a Dropwatch backup"));

    // The restored database opens as a server would and shows the same.
    let engine = Engine::open(reopen(&restored_db).await, EngineConfig::default())
        .await
        .unwrap();
    assert_eq!(
        engine.products(),
        h.engine.products(),
        "the dashboard is the same"
    );
    let pkey = &h.engine.products()[0].key;
    assert_eq!(
        engine.store().price_history(pkey).await.unwrap(),
        h.engine.store().price_history(pkey).await.unwrap()
    );
    assert_eq!(
        engine.store().events_since(0, 1000).await.unwrap(),
        h.engine.store().events_since(0, 1000).await.unwrap()
    );
    let store = engine.store().clone();
    // Sealed secrets open only with the same key (the README says so).
    let other = monitor::auth::Vault::open(&monitor::auth::KeySource::Ephemeral, &store).await;
    assert!(
        matches!(other, Err(monitor::auth::VaultError::WrongKey)),
        "{:?}",
        other.err()
    );
    let vault = monitor::auth::Vault::open(&key, &store).await.unwrap();
    let accounts = Arc::new(monitor::Accounts::new(store, vault, Default::default()));
    let restored_alerts =
        monitor::alerts::AlertService::open(accounts, Default::default(), "mailto:a@example.com")
            .await
            .unwrap();
    assert_eq!(restored_alerts.rules(), vec![rule]);
    assert_eq!(restored_alerts.channels(), vec![ch]);
}

/// A database written by an earlier version (its backup, kept in
/// `fixtures/backups/`: a demo store, a WooCommerce source, a product page
/// with selectors, a JSON API with a mapping and keywords, Amazon ASINs and
/// a Pop Mart watch) restores and opens with every source's kind and
/// settings as they were.
#[tokio::test]
async fn a_database_written_by_an_earlier_version_opens_with_every_source_as_it_was() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backups/2026-12-01.surql");
    let dir = TempDir::new("earlier");
    let db = format!("surrealkv://{}", dir.0.join("db").display());
    let r = monitor::store::restore(&db, &file, Default::default())
        .await
        .expect("the earlier backup restores");
    assert_eq!((r.sources, r.products), (6, 10), "{r:?}");
    let engine = Engine::open(reopen(&db).await, quick_config())
        .await
        .unwrap();
    let sources = engine.sources();
    let by_kind = |kind: &str| {
        sources
            .iter()
            .find(|s| s.kind() == kind)
            .unwrap_or_else(|| panic!("a {kind} source in {sources:#?}"))
    };
    use model::SourceSettings as S;
    assert_eq!(by_kind("shopify").settings, S::Shopify);
    assert_eq!(by_kind("woocommerce").settings, S::WooCommerce);
    let page = by_kind("page").settings.page().unwrap();
    assert_eq!(page.price_selector.as_deref(), Some(".price"));
    assert_eq!(page.out_of_stock_phrases, ["sold out"]);
    let json = by_kind("json");
    assert_eq!(json.settings.json().unwrap().items, "/products");
    assert_eq!(json.keywords.include, ["dunk"]);
    assert_eq!(
        by_kind("amazon").settings.amazon().unwrap().asins,
        ["B00JTX7SH2"]
    );
    let pm = by_kind("popmart").settings.popmart().unwrap();
    assert_eq!((pm.region.as_str(), pm.watch.as_str()), ("HK", "new"));
    assert_eq!(
        engine.products().len(),
        10,
        "the demo's 5 and the same 5 through WooCommerce"
    );
}

/// A restored database, opened as a server would (the restore's own handle
/// lets go of its files shortly).
async fn reopen(db: &str) -> Store {
    for _ in 0..50 {
        match Store::open(db).await {
            Ok(s) => return s,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the restored database {db} does not open")
}
