//! Finding a token or an image where it must never be: output, logs, the
//! status file, queue files, error texts, panic messages.
//!
//! A leak is any piece of the secret long enough to be no accident: a
//! [`TOKEN_PIECE`]-byte piece of the token (so a token cut short by a length
//! cap still counts), or an [`IMAGE_PIECE`]-byte piece of the image as raw
//! bytes, as base64 (standard or URL-safe, at any of the three alignments, so
//! a piece cut from the middle of a data URI counts), as hex, or as Rust's
//! `Debug` of a byte slice. Reusable by whole-daemon tests: build
//! [`Secrets`] once, scan as many haystacks as needed.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

pub const TOKEN_PIECE: usize = 12;
pub const IMAGE_PIECE: usize = 24;
/// `Debug` of bytes is wordy (`255, 216, `): a longer piece is needed.
const DEBUG_PIECE: usize = 48;

/// Rolling (Rabin-Karp) hashes of every window, so scanning a file is one
/// pass however many pieces there are; a hash hit is confirmed byte by byte.
const BASE: u64 = 0x100_0000_01b3;

/// The rolling hashes are already mixed: use them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The pieces of one length, by rolling hash.
struct Pieces {
    len: usize,
    what: &'static str,
    by_hash: HashMap<u64, HashSet<Vec<u8>>, BuildHasherDefault<Identity>>,
}

impl Pieces {
    fn new(len: usize, what: &'static str) -> Pieces {
        Pieces {
            len,
            what,
            by_hash: HashMap::default(),
        }
    }

    fn add(&mut self, text: &[u8]) {
        let len = self.len;
        let mut found = Vec::new();
        rolling(text, len, |at, h| found.push((at, h)));
        for (at, h) in found {
            self.by_hash
                .entry(h)
                .or_default()
                .insert(text[at..at + len].to_vec());
        }
    }

    fn find(&self, haystack: &[u8]) -> Option<usize> {
        let mut hit = None;
        rolling(haystack, self.len, |at, h| {
            if hit.is_none()
                && self
                    .by_hash
                    .get(&h)
                    .is_some_and(|set| set.contains(&haystack[at..at + self.len]))
            {
                hit = Some(at);
            }
        });
        hit
    }
}

/// Calls `f(offset, hash)` for every window of `len` bytes.
fn rolling(text: &[u8], len: usize, mut f: impl FnMut(usize, u64)) {
    if text.len() < len || len == 0 {
        return;
    }
    let top = (1..len).fold(1u64, |p, _| p.wrapping_mul(BASE));
    let mut h = text[..len].iter().fold(0u64, |h, &b| {
        h.wrapping_mul(BASE).wrapping_add(u64::from(b))
    });
    f(0, h);
    for at in 1..=text.len() - len {
        h = h
            .wrapping_sub(u64::from(text[at - 1]).wrapping_mul(top))
            .wrapping_mul(BASE)
            .wrapping_add(u64::from(text[at + len - 1]));
        f(at, h);
    }
}

/// The pieces of one token and one image, ready for scanning.
pub struct Secrets {
    pieces: [Pieces; 3],
}

impl Secrets {
    pub fn new(token: &str, image: &[u8]) -> Secrets {
        assert!(token.len() >= TOKEN_PIECE && image.len() >= IMAGE_PIECE);
        let mut token_pieces = Pieces::new(TOKEN_PIECE, "the token");
        token_pieces.add(token.as_bytes());
        let mut image_pieces = Pieces::new(IMAGE_PIECE, "the image");
        image_pieces.add(image);
        for skip in 0..3 {
            for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                image_pieces.add(engine.encode(&image[skip..]).as_bytes());
            }
        }
        let hex: String = image.iter().map(|b| format!("{b:02x}")).collect();
        image_pieces.add(hex.as_bytes());
        image_pieces.add(hex.to_uppercase().as_bytes());
        let mut debug_pieces = Pieces::new(DEBUG_PIECE, "the image (Debug)");
        debug_pieces.add(format!("{image:?}").as_bytes());
        Secrets {
            pieces: [token_pieces, image_pieces, debug_pieces],
        }
    }

    /// What leaked where in `haystack`, if anything (never the secret itself).
    pub fn find(&self, haystack: &[u8]) -> Option<String> {
        self.pieces.iter().find_map(|p| {
            p.find(haystack)
                .map(|at| format!("a {}-byte piece of {} at byte {at}", p.len, p.what))
        })
    }

    /// Panics naming `place` and the kind of leak.
    pub fn assert_absent(&self, haystack: &[u8], place: &str) {
        if let Some(leak) = self.find(haystack) {
            panic!("{place}: {leak} ({} bytes scanned)", haystack.len());
        }
    }
}

/// One-off check: neither `token` nor `image`, in any form, is in `haystack`.
pub fn assert_no_secret(haystack: &[u8], token: &str, image: &[u8]) {
    Secrets::new(token, image).assert_absent(haystack, "output");
}
