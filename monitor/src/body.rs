//! A response body as the connection gave it: its chunks, not yet copied
//! into one buffer.
//!
//! Most checks read a page or a catalogue page byte for byte the same as
//! last time (see `unchanged.rs`): its digest is taken over the chunks as
//! they arrived, so such a body is never copied into one buffer nor checked
//! for UTF-8. Copying a 450 KB page into a fresh buffer (with the kernel
//! clearing its pages) was a sixth of an unchanged check (issue 17).

use bytes::Bytes;

use crate::unchanged::Digest;

/// A body within the fetcher's cap.
#[derive(Default)]
pub struct Body {
    chunks: Vec<Bytes>,
    len: usize,
}

impl Body {
    /// Adds the next chunk.
    pub fn push(&mut self, chunk: Bytes) {
        self.len = self.len.saturating_add(chunk.len());
        self.chunks.push(chunk);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of the body and what it is read with (the same as
    /// [`crate::unchanged::digest`] of the whole body).
    pub(crate) fn digest(&self, read_with: &[&[u8]]) -> Digest {
        crate::unchanged::digest_parts(self.chunks.iter().map(|c| c.as_ref()), read_with)
    }

    /// The body in one buffer (no copy when it came in one chunk).
    pub fn into_vec(mut self) -> Vec<u8> {
        if self.chunks.len() == 1 {
            if let Some(one) = self.chunks.pop() {
                return Vec::from(one);
            }
        }
        let mut out = Vec::with_capacity(self.len);
        for c in &self.chunks {
            out.extend_from_slice(c);
        }
        out
    }

    /// The body as text: valid UTF-8 (nearly every page) as it is, anything
    /// else with its invalid bytes replaced.
    pub fn into_text(self) -> String {
        String::from_utf8(self.into_vec())
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_as_the_whole_body() {
        let whole = "prix: 12,50 € – épuisé".as_bytes();
        // Split inside a character: the text is whole all the same.
        let mut body = Body::default();
        for part in [&whole[..9], &whole[9..15], &whole[15..]] {
            body.push(Bytes::copy_from_slice(part));
        }
        assert_eq!(body.len(), whole.len());
        assert_eq!(
            body.digest(&[b"EUR"]),
            crate::unchanged::digest(whole, &[b"EUR"])
        );
        assert_ne!(body.digest(&[b"USD"]), body.digest(&[b"EUR"]));
        assert_eq!(body.into_text(), "prix: 12,50 € – épuisé");
        let mut one = Body::default();
        one.push(Bytes::from_static(b"{}"));
        assert_eq!(one.into_vec(), b"{}");
        let mut bad = Body::default();
        bad.push(Bytes::from_static(b"caf\xe9"));
        assert_eq!(bad.into_text(), "caf\u{fffd}");
        assert!(Body::default().is_empty());
    }
}
