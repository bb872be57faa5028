//! A source's keyword filter over a real catalogue: only the products it
//! admits are stored; a product that comes to match arrives as new, one that
//! stops matching is removed; unchanged pages are still not read again.

mod common;

use std::time::Duration;

use common::{kinds, Harness};
use model::{EventKind, KeywordFilter};
use monitor::{NewSource, SourceEdit};

/// Titles of the demo catalogue that satisfy `keep`.
fn titles(h: &Harness, keep: impl Fn(&str) -> bool) -> usize {
    let cat = h.demo.catalogue.lock();
    cat.products.iter().filter(|p| keep(&p.title)).count()
}

async fn set(h: &Harness, include: &str, exclude: &str) {
    h.engine
        .change_source(
            &h.source.key,
            SourceEdit {
                keywords: Some(KeywordFilter::from_text(include, exclude)),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("the filter is saved");
}

#[tokio::test]
async fn only_what_the_keywords_admit_is_watched() {
    let h = Harness::new(300).await;
    // Leave out the colour of the first Dunk ("Dunk Low 'Black/White'").
    let colour = {
        let cat = h.demo.catalogue.lock();
        let dunk = cat
            .products
            .iter()
            .find(|p| p.title.contains("Dunk"))
            .unwrap();
        let quoted = dunk.title.split('\'').nth(1).unwrap().to_string();
        quoted.split([' ', '/']).next().unwrap().to_string()
    };
    set(&h, "Dunk, samba", &colour.to_uppercase()).await;
    let wanted = |t: &str| t.contains("Dunk") || t.contains("Samba");
    let kept = titles(&h, |t| wanted(t) && !t.contains(colour.as_str()));
    let left_out = titles(&h, |t| wanted(t) && t.contains(colour.as_str()));
    let dunks = titles(&h, |t| t.contains("Dunk"));
    assert!(
        kept > 3 && left_out > 0 && dunks > 0,
        "{kept} {left_out} {dunks}"
    );

    let run = h.check().await;
    assert!(run.complete, "{run:?}");
    assert_eq!(run.pages, 2, "every page of the catalogue is read");
    let stored = h.engine.products();
    assert_eq!(stored.len(), kept);
    assert!(stored
        .iter()
        .all(|p| wanted(&p.title) && !p.title.contains(colour.as_str())));
    let events = h.events().await;
    assert_eq!(events.len(), kept);
    assert!(events.iter().all(|e| e.kind == EventKind::NewProduct));

    // Nothing changed: both pages are replayed, nothing is read or removed.
    let unchanged = h.engine.metrics().unchanged_pages;
    let run = h.check().await;
    assert_eq!((run.complete, run.changes), (true, 0), "{run:?}");
    assert_eq!(h.engine.metrics().unchanged_pages, unchanged + 2);

    // Leaving nothing out: the products of that colour arrive as new at once.
    let before = h.engine.store().last_seq();
    set(&h, "dunk, samba", "").await;
    h.check().await;
    let events = h.events_after(before).await;
    assert_eq!(events.len(), left_out, "{:?}", kinds(&events));
    assert!(events.iter().all(|e| e.kind == EventKind::NewProduct
        && e.product.as_ref().unwrap().title.contains(colour.as_str())));

    // Only Sambas now: the Dunks are removed (a large drop is confirmed by
    // the next read before it counts).
    let before = h.engine.store().last_seq();
    set(&h, "samba", "").await;
    h.check().await;
    h.check().await;
    let events = h.events_after(before).await;
    assert_eq!(kinds(&events), vec![EventKind::Removed; dunks]);
    assert!(h
        .engine
        .products()
        .iter()
        .all(|p| p.removed == !p.title.contains("Samba")));
    let card = h
        .engine
        .sources()
        .into_iter()
        .find(|s| s.key == h.source.key)
        .unwrap();
    assert_eq!(card.keywords.describe(), "samba");
}

#[tokio::test]
async fn keywords_are_for_catalogues_and_bounded() {
    let h = Harness::new(3).await;
    let page = h
        .engine
        .add_source(NewSource {
            keywords: KeywordFilter::from_text("dunk", ""),
            ..NewSource::new(
                model::SOURCE_KIND_PAGE,
                &format!("http://{}/products/x", h.addr),
                Duration::from_secs(60),
            )
        })
        .await
        .unwrap_err();
    assert!(page.to_string().contains("keywords"), "{page}");
    let long = "x".repeat(100);
    let err = h
        .engine
        .change_source(
            &h.source.key,
            SourceEdit {
                keywords: Some(KeywordFilter::from_text(&long, "")),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("longer than"), "{err}");
    assert!(
        h.engine.sources()[0].keywords.is_empty(),
        "nothing was changed"
    );
}
