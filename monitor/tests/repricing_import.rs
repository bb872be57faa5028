//! Links in bulk from a CSV (issue 21), in the engine: a preview says what
//! each line will do and links nothing; the import links the good lines,
//! refuses the others with their reason, and audits each link; a second
//! import of the same file links nothing twice.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use model::{ImportState, Role};
use monitor::auth::{KeySource, LoginLimits, Vault};
use monitor::repricing::service::{RepriceError, Repricer};
use monitor::{Accounts, Identity};

const TOKEN: &str = "shpat_fake_admin_token_csv";

#[tokio::test]
async fn a_csv_is_previewed_then_imported_line_by_line() {
    // Ten products: the demo's apparel (products 5 to 7) share SKUs such
    // as DW-M or DW-DefaultTitle, so one source SKU is ambiguous.
    let h = common::Harness::new(10).await;
    h.check().await;
    let (admin, shop_url) = h.fake_admin(TOKEN, 10).await;
    let store = h.engine.store().clone();
    let vault = Vault::open(&KeySource::Ephemeral, &store).await.unwrap();
    let accounts = Arc::new(Accounts::new(store.clone(), vault, LoginLimits::default()));
    let root = Identity::system("root");
    for (name, role) in [("ed", Role::Editor), ("vic", Role::Viewer)] {
        accounts
            .create_user(&root, name, role, &format!("{name}-password-1"))
            .await
            .unwrap();
    }
    let (_, ed) = accounts.login("ed", "ed-password-1", None).await.unwrap();
    let (_, vic) = accounts.login("vic", "vic-password-1", None).await.unwrap();
    let r = Repricer::open(h.engine.clone(), accounts.clone())
        .await
        .unwrap();
    assert!(matches!(
        r.import_links(&ed, "A,B\n", true).await,
        Err(RepriceError::NotConnected)
    ));
    r.connect(&root, &shop_url, TOKEN).await.unwrap();

    // The tracked sizes and their SKUs.
    let mut sizes = vec![];
    let mut by_sku: HashMap<String, usize> = HashMap::new();
    for p in h.engine.products() {
        let p = h.engine.product(&p.key).unwrap();
        for v in &p.variants {
            let sku = v.sku.clone().expect("the demo's sizes have SKUs");
            *by_sku.entry(sku.to_lowercase()).or_default() += 1;
            sizes.push((p.key.clone(), v.id.clone(), v.size.clone(), sku));
        }
    }
    let ambiguous = by_sku
        .iter()
        .find(|(_, n)| **n > 1)
        .map(|(s, _)| s.clone())
        .expect("two tracked sizes share a SKU");
    let unique: Vec<_> = sizes
        .iter()
        .filter(|(_, _, _, sku)| by_sku[&sku.to_lowercase()] == 1)
        .collect();
    assert!(unique.len() >= 6, "{unique:?}");
    let (k0, v0, _, sku0) = unique[0].clone();
    let (k1, v1, _, _) = unique[1].clone();
    let (k2, v2, size2, _) = unique[2].clone();
    let (k3, v3, _, _) = unique[3].clone();
    let (k4, v4, _, _) = unique[4].clone();
    let csv = format!(
        "source_sku,store_sku,markup_percent\n\
         {sku0},DW-{v0},20\n\
         {k1},DW-{v1}\n\
         \"{k2}#{size2}\",sku:DW-{v2},15 %\n\
         NO-SUCH-SKU,DW-{v3},10\n\
         {ambiguous},DW-{v3}\n\
         {k3},DW-999999999\n\
         {k4},DW-{v4},lots\n\
         {k0},DW-{v0}\n\
         just-one-column\n"
    );

    // Viewers may not; the preview links nothing and spends no push.
    assert!(matches!(
        r.import_links(&vic, &csv, true).await,
        Err(RepriceError::Auth(_))
    ));
    let preview = r.import_links(&ed, &csv, true).await.unwrap();
    assert!(preview.preview);
    let states: Vec<ImportState> = preview.lines.iter().map(|l| l.state).collect();
    use ImportState::{Refused, WillLink};
    assert_eq!(
        states,
        vec![WillLink, WillLink, WillLink, Refused, Refused, Refused, Refused, Refused, Refused]
    );
    assert_eq!((preview.linked, preview.refused), (3, 6));
    assert!(r.links().is_empty(), "a preview links nothing");
    let line = |i: usize| preview.lines[i].clone();
    assert_eq!(line(0).line, 2);
    assert_eq!(line(0).source_product.as_deref(), Some(k0.as_str()));
    assert!(line(0).markup.unwrap().contains("+20 %"));
    assert_eq!(line(2).size.as_deref(), Some(size2.as_str()));
    assert_eq!(
        line(2).target_variant,
        Some(format!(
            "gid://shopify/ProductVariant/{}",
            9_000_000 + v2.parse::<u64>().unwrap()
        ))
    );
    let why = |i: usize| line(i).reason.unwrap_or_default();
    assert!(why(3).contains("no tracked product"), "{}", why(3));
    assert!(why(4).contains("ambiguous"), "{}", why(4));
    assert!(why(5).contains("no variant of your store"), "{}", why(5));
    assert!(why(6).contains("bad markup"), "{}", why(6));
    assert!(why(7).contains("line 2"), "{}", why(7));
    assert!(why(8).contains("2 or 3 columns"), "{}", why(8));

    // Imported: the good lines are linked (the unnamed markup follows the
    // store's), each audited like a single link.
    let done = r.import_links(&ed, &csv, false).await.unwrap();
    assert!(!done.preview);
    assert_eq!((done.linked, done.refused), (3, 6));
    let links = r.links();
    assert_eq!(links.len(), 3);
    for (i, l) in done.lines.iter().take(3).enumerate() {
        assert_eq!(l.state, ImportState::Linked, "line {i}: {l:?}");
        assert!(links.iter().any(|x| Some(&x.id) == l.link.as_ref()));
    }
    let by_line = |i: usize| {
        links
            .iter()
            .find(|x| Some(&x.id) == done.lines[i].link.as_ref())
            .unwrap()
            .clone()
    };
    assert_eq!(by_line(0).source_variant.as_deref(), Some(v0.as_str()));
    assert_eq!(by_line(0).markup.percent, 20.into());
    assert!(by_line(1).inherit && by_line(1).source_variant.is_none());
    assert_eq!(by_line(2).source_variant.as_deref(), Some(v2.as_str()));
    assert_eq!(by_line(2).markup.percent, 15.into());
    assert_eq!(admin.state.lock().updates, 0, "linking pushes nothing");
    let audit = accounts.audit_log(&root, None, 100).await.unwrap();
    assert_eq!(
        audit.iter().filter(|e| e.action == "reprice.link").count(),
        3
    );
    assert!(audit.iter().any(|e| e.action == "reprice.import"));

    // The same file again: nothing is linked twice.
    let again = r.import_links(&ed, &csv, false).await.unwrap();
    assert_eq!(again.linked, 0);
    assert!(again.lines[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("already fed by another link"));
    assert_eq!(r.links().len(), 3);
}
