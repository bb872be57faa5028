//! What a source's last read looked like, so that a body byte for byte the
//! same as the one read before costs a hash, not a parse and a diff.
//!
//! A product page is one body; a Shopify catalogue is one body per page
//! (250 products). Between two polls most catalogue pages are unchanged (a
//! shop changes a few products a minute), so parsing and diffing them again
//! was most of a steady cycle. A digest covers the body and everything it is
//! read with (the address, the currency, a page's settings); what could
//! change the reading of the same bytes (a brand alias) forgets the digests.
//! A page replayed from its digest is checked against the engine's state
//! (every product still there, none marked removed), and read in full if not.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// A page source's last body read and what reading it noticed.
pub(crate) struct PageSeen {
    pub digest: Digest,
    /// The page's notes (a price that is not its product's offer), repeated
    /// in every run that reads the same body.
    pub notes: Vec<String>,
}

/// XXH3's 128 bits: a page's digest is compared only with the same
/// source's last one, so a shop that made two bodies collide would only
/// hide its own change from itself; XXH3 reads a page several times faster
/// than a cryptographic hash (BLAKE3 was a twentieth of an unchanged check).
pub(crate) type Digest = [u8; 16];

/// A catalogue page read and saved: its digest and its products.
#[derive(Clone)]
pub(crate) struct CataloguePage {
    pub digest: Digest,
    pub replay: Replay,
}

/// The products of a page replayed from its digest.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Replay {
    /// Every product the page listed (what tells one page from the next).
    pub listed: Arc<Vec<String>>,
    /// Those of them that are watched and stored (the source's keyword
    /// filter left the others out).
    pub kept: Arc<Vec<String>>,
}

/// The last pages of a source's catalogue that were read and saved, by
/// page number.
#[derive(Default)]
pub(crate) struct CataloguePages(Mutex<HashMap<u32, CataloguePage>>);

impl CataloguePages {
    /// The products of page `page` when its body is the one saved last time.
    pub fn same_as_last(&self, page: u32, digest: &Digest) -> Option<Replay> {
        let pages = self.0.lock();
        let p = pages.get(&page)?;
        (&p.digest == digest).then(|| p.replay.clone())
    }

    /// Page `page` was read from `digest` and its products saved.
    pub fn saved(&self, page: u32, digest: Digest, replay: Replay) {
        self.0.lock().insert(page, CataloguePage { digest, replay });
    }

    /// Forgets page `page` (about to be saved anew, or not saved).
    pub fn forget(&self, page: u32) {
        self.0.lock().remove(&page);
    }

    /// Forgets every page, and those after a catalogue's end.
    pub fn forget_all(&self) {
        self.0.lock().clear();
    }

    pub fn forget_after(&self, last: u32) {
        self.0.lock().retain(|&p, _| p <= last);
    }
}

/// The digest of a body and what it is read with.
pub(crate) fn digest(body: &[u8], read_with: &[&[u8]]) -> Digest {
    digest_parts([body], read_with)
}

/// The digest of a body that came in `parts`, and what it is read with:
/// the same as [`digest`] of the parts joined.
pub(crate) fn digest_parts<'a>(
    parts: impl IntoIterator<Item = &'a [u8]>,
    read_with: &[&[u8]],
) -> Digest {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for part in parts {
        h.update(part);
    }
    for part in read_with {
        // Lengths keep ("ab", "c") and ("a", "bc") apart.
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.digest128().to_le_bytes()
}

/// What makes a page source's read what it is: the body and how it is read.
pub(crate) fn page_digest(
    body: &crate::body::Body,
    settings: &model::PageSettings,
    currency: &str,
) -> Digest {
    let settings = serde_json::to_vec(settings).unwrap_or_default();
    body.digest(&[&settings, currency.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_the_same_only_with_the_same_bytes_and_reading() {
        let pages = CataloguePages::default();
        let d = digest(b"{\"products\":[]}", &[b"USD", b"http://s.example/"]);
        assert_ne!(
            d,
            digest(b"{\"products\":[]}", &[b"EUR", b"http://s.example/"])
        );
        assert_ne!(digest(b"x", &[b"ab", b"c"]), digest(b"x", &[b"a", b"bc"]));
        assert!(pages.same_as_last(1, &d).is_none());
        let one = Arc::new(vec!["s:1".to_string()]);
        let replay = Replay {
            listed: one.clone(),
            kept: one,
        };
        pages.saved(1, d, replay.clone());
        assert_eq!(pages.same_as_last(1, &d), Some(replay.clone()));
        assert!(pages.same_as_last(2, &d).is_none(), "another page number");
        pages.saved(2, d, replay);
        pages.forget_after(1);
        assert!(pages.same_as_last(2, &d).is_none());
        pages.forget(1);
        assert!(pages.same_as_last(1, &d).is_none());
    }
}
