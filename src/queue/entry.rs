//! The on-disk format of one queue entry: everything needed to send one
//! enrollment later, in ONE file, so a rename makes it appear or vanish whole.
//!
//! ```text
//! enrolld-queue 2 <seq> <sealed_header_len> <sealed_jpeg_len>\n
//! <sealed header: 24-byte nonce, JSON header encrypted, 16-byte tag>
//! <sealed jpeg:   24-byte nonce, JPEG encrypted, 16-byte tag>
//! ```
//!
//! Both parts are sealed with XChaCha20-Poly1305 under the queue key
//! ([`super::key`]), each with its own random nonce. The associated data is
//! the first line plus the part's name, so a part cannot be moved to another
//! entry (the sequence number differs) or to the other slot, and any change
//! to the line, the lengths or the ciphertext fails authentication. The
//! header (username, verification id, times) is opened when the queue is
//! opened; the JPEG right before sending, so opening a full queue on an SD
//! card does not read hundreds of megabytes. An entry that fails either
//! check is never sent.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use super::key::QueueKey;

const MAGIC: &str = "enrolld-queue";
pub const FORMAT_VERSION: u32 = 2;
/// The first line is short; anything longer is not ours.
const MAX_FIRST_LINE: usize = 128;
/// Usernames and ids are bounded by the ticket rules; 16 KiB is generous.
pub const MAX_HEADER: usize = 16 * 1024;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// What sealing adds to a part.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;
const HEADER_PART: &[u8] = b"header";
const JPEG_PART: &[u8] = b"jpeg";

/// When an entry was made, recorded three ways because a board without a
/// real-time clock may not know the date (see [`super::clock`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// Wall clock, Unix seconds (may be wrong before NTP sync).
    pub unix: u64,
    /// The kernel's boot id: ages within one boot use `boottime_ms`.
    pub boot_id: String,
    /// CLOCK_BOOTTIME in milliseconds (monotonic, counts suspend).
    pub boottime_ms: u64,
}

/// The JSON header: who the enrollment is for, what is sent along with the
/// JPEG, and when the name was bound to the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Order of arrival; also the file name.
    pub seq: u64,
    pub username: String,
    /// None: create a verification when sending.
    pub verification_id: Option<String>,
    pub created: Created,
    /// The ticket this enrollment consumed: kept so it can go back to the
    /// front of the ticket list if nothing was registered (a retake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<crate::tickets::Ticket>,
    /// An operator sent this unknown delivery again (`enrolld queue resend`),
    /// accepting that it may register twice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resent: bool,
    /// IDMeta's answer as the client classified it, kept by a review record (`review/`, no
    /// image) so the operator can see what the watchlist screening matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<serde_json::Value>,
}

/// An entry ready to write: the prefix (first line and sealed header), then
/// the sealed JPEG, written as two parts of one atomic file.
pub struct Sealed {
    pub prefix: Vec<u8>,
    pub jpeg: Vec<u8>,
}

impl Sealed {
    pub fn file_len(&self) -> u64 {
        (self.prefix.len() + self.jpeg.len()) as u64
    }
}

fn cipher(key: &QueueKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.bytes().into())
}

/// The associated data of one part: the entry's first line and the part name.
fn aad(first_line: &[u8], part: &[u8]) -> Vec<u8> {
    [first_line, part].concat()
}

fn seal(cipher: &XChaCha20Poly1305, first_line: &[u8], part: &[u8], plain: &[u8]) -> Vec<u8> {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let aad = aad(first_line, part);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plain,
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 seals any length we store");
    [nonce.as_slice(), &sealed].concat()
}

fn open(
    cipher: &XChaCha20Poly1305,
    first_line: &[u8],
    part: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, String> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(format!("{} part too short", String::from_utf8_lossy(part)));
    }
    let (nonce, msg) = sealed.split_at(NONCE_LEN);
    let aad = aad(first_line, part);
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg, aad: &aad })
        .map_err(|_| {
            format!(
                "{} failed authentication (altered, moved from another entry, or sealed \
                 under another key)",
                String::from_utf8_lossy(part)
            )
        })
}

/// Seals an entry for writing. Refuses (with the header's size) a header
/// that [`decode_prefix`] would not read back: an entry is never written
/// that could only end up in `corrupt/`.
pub fn seal_entry(key: &QueueKey, header: &Header, jpeg: &[u8]) -> Result<Sealed, usize> {
    let json =
        zeroize::Zeroizing::new(serde_json::to_vec(header).expect("queue header serializes"));
    if json.len() > MAX_HEADER {
        return Err(json.len());
    }
    let first_line = format!(
        "{MAGIC} {FORMAT_VERSION} {} {} {}\n",
        header.seq,
        json.len() + SEAL_OVERHEAD,
        jpeg.len() + SEAL_OVERHEAD,
    )
    .into_bytes();
    let cipher = cipher(key);
    let sealed_header = seal(&cipher, &first_line, HEADER_PART, &json);
    let sealed_jpeg = seal(&cipher, &first_line, JPEG_PART, jpeg);
    let mut prefix = first_line;
    prefix.extend_from_slice(&sealed_header);
    Ok(Sealed {
        prefix,
        jpeg: sealed_jpeg,
    })
}

/// What the first line and the opened header say, before the JPEG is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub header: Header,
    /// Where the sealed JPEG starts in the file.
    pub jpeg_offset: usize,
    /// Length of the sealed JPEG (nonce and tag included).
    pub jpeg_len: usize,
    /// The first line, the associated data of both parts.
    first_line: Vec<u8>,
}

/// Decodes and authenticates the prefix of an entry file of `file_len` bytes
/// from its first bytes (`start` must hold at least the first line and the
/// sealed header when the file is that long). Errors say what is wrong in
/// words for the log, never what the entry holds.
pub fn decode_prefix(start: &[u8], file_len: u64, key: &QueueKey) -> Result<Decoded, String> {
    decode(start, Some(file_len), key)
}

/// The authenticated header of a damaged entry, whatever its size: the
/// header is sealed on its own, so a record whose image was cut short or
/// altered still says who it was for.
pub fn header_of_damaged(start: &[u8], key: &QueueKey) -> Option<Header> {
    decode(start, None, key).ok().map(|d| d.header)
}

/// [`decode_prefix`]; the size is checked only when `file_len` is given.
fn decode(start: &[u8], file_len: Option<u64>, key: &QueueKey) -> Result<Decoded, String> {
    let nl = start
        .iter()
        .take(MAX_FIRST_LINE)
        .position(|&b| b == b'\n')
        .ok_or("no header line (truncated or not a queue entry)")?;
    let line = std::str::from_utf8(&start[..nl]).map_err(|_| "header line is not text")?;
    let fields: Vec<&str> = line.split(' ').collect();
    if fields[0] != MAGIC {
        return Err("not a queue entry".to_owned());
    }
    let [_, version, seq, hlen, jlen] = fields[..] else {
        return Err("header line malformed".to_owned());
    };
    if version != FORMAT_VERSION.to_string() {
        return Err(format!("unknown format version {version:?}"));
    }
    let num = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| "header line malformed".to_owned())
    };
    let (seq, hlen, jlen) = (num(seq)?, num(hlen)?, num(jlen)?);
    if hlen > (MAX_HEADER + SEAL_OVERHEAD) as u64 {
        return Err("header too large".to_owned());
    }
    let expected = (nl as u64 + 1 + hlen).checked_add(jlen);
    if let Some(file_len) = file_len
        && expected != Some(file_len)
    {
        return Err(format!(
            "size {file_len} bytes, expected {} (truncated or extended)",
            expected.map_or_else(|| "more than 2^64".to_owned(), |e| e.to_string())
        ));
    }
    let (hlen, jlen) = (
        hlen as usize,
        usize::try_from(jlen).map_err(|_| "image too large")?,
    );
    let first_line = &start[..=nl];
    let sealed = start.get(nl + 1..nl + 1 + hlen).ok_or("header cut short")?;
    let json = zeroize::Zeroizing::new(open(&cipher(key), first_line, HEADER_PART, sealed)?);
    let header: Header =
        serde_json::from_slice(&json).map_err(|e| format!("header unreadable: {e}"))?;
    if header.seq != seq {
        return Err("sequence number in the header differs from the first line".to_owned());
    }
    Ok(Decoded {
        header,
        jpeg_offset: nl + 1 + hlen,
        jpeg_len: jlen,
        first_line: first_line.to_vec(),
    })
}

/// Opens the sealed JPEG of a decoded entry (`sealed` is the file from
/// `jpeg_offset` on).
pub fn open_jpeg(key: &QueueKey, decoded: &Decoded, sealed: &[u8]) -> Result<Vec<u8>, String> {
    if sealed.len() != decoded.jpeg_len {
        return Err("image cut short".to_owned());
    }
    open(&cipher(key), &decoded.first_line, JPEG_PART, sealed)
}

/// How many leading bytes [`decode_prefix`] may need.
pub const PREFIX_READ: usize = MAX_FIRST_LINE + MAX_HEADER + SEAL_OVERHEAD;

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Header, Vec<u8>) {
        let h = Header {
            seq: 7,
            username: "ann".into(),
            verification_id: Some("v-1".into()),
            created: Created {
                unix: 1_800_000_000,
                boot_id: "b".into(),
                boottime_ms: 5,
            },
            ticket: None,
            resent: false,
            answer: None,
        };
        (h, vec![0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])
    }

    fn file(key: &QueueKey, h: &Header, jpeg: &[u8]) -> Vec<u8> {
        let sealed = seal_entry(key, h, jpeg).unwrap();
        [sealed.prefix, sealed.jpeg].concat()
    }

    fn whole(key: &QueueKey, f: &[u8]) -> Result<(Header, Vec<u8>), String> {
        let d = decode_prefix(f, f.len() as u64, key)?;
        let jpeg = open_jpeg(key, &d, &f[d.jpeg_offset..])?;
        Ok((d.header, jpeg))
    }

    #[test]
    fn round_trips_and_hides_the_content() {
        let key = QueueKey::random();
        let (h, jpeg) = sample();
        let f = file(&key, &h, &jpeg);
        assert_eq!(whole(&key, &f).unwrap(), (h.clone(), jpeg.clone()));
        let find = |needle: &[u8]| f.windows(needle.len()).any(|w| w == needle);
        assert!(!find(b"ann") && !find(b"v-1") && !find(&jpeg[..4]));
        // A fresh nonce each time: the same entry never seals the same way.
        assert_ne!(file(&key, &h, &jpeg), f);
    }

    #[test]
    fn any_change_swap_or_other_key_fails() {
        let key = QueueKey::random();
        let (h, jpeg) = sample();
        let f = file(&key, &h, &jpeg);
        for at in 0..f.len() {
            let mut g = f.clone();
            g[at] ^= 0x01;
            assert!(whole(&key, &g).is_err(), "flip at {at} accepted");
        }
        assert!(
            whole(&QueueKey::random(), &f)
                .unwrap_err()
                .contains("failed authentication")
        );
        // The JPEG of entry 8 spliced onto entry 7 (same lengths).
        let other = file(
            &key,
            &Header {
                seq: 8,
                ..h.clone()
            },
            &jpeg,
        );
        let d7 = decode_prefix(&f, f.len() as u64, &key).unwrap();
        let d8 = decode_prefix(&other, other.len() as u64, &key).unwrap();
        let spliced = [&f[..d7.jpeg_offset], &other[d8.jpeg_offset..]].concat();
        assert!(
            whole(&key, &spliced)
                .unwrap_err()
                .starts_with("jpeg failed")
        );
    }

    #[test]
    fn a_header_too_large_to_read_back_is_not_sealed() {
        // Found by the queue_entry fuzz target: 3000 NUL characters grow to
        // 18 kB of JSON escapes, over what decoding accepts.
        let (mut h, jpeg) = sample();
        h.username = "\0".repeat(3000);
        assert_eq!(
            seal_entry(&QueueKey::random(), &h, &jpeg).err(),
            Some(18_107)
        );
    }

    #[test]
    fn detects_truncation_and_foreign_files() {
        let key = QueueKey::random();
        let (h, jpeg) = sample();
        let f = file(&key, &h, &jpeg);
        for cut in [0, 5, 40, f.len() - 1] {
            assert!(
                decode_prefix(&f[..cut], cut as u64, &key).is_err(),
                "cut {cut}"
            );
        }
        assert_eq!(
            decode_prefix(b"\xff\xd8 hello\n", 9, &key).unwrap_err(),
            "header line is not text"
        );
        assert_eq!(
            decode_prefix(b"enrolld-queue 1 1 2 3 4\n", 24, &key).unwrap_err(),
            "header line malformed"
        );
        let huge = format!("enrolld-queue 2 1 100 {}\n", u64::MAX);
        assert!(
            decode_prefix(huge.as_bytes(), 100, &key)
                .unwrap_err()
                .contains("expected more")
        );
        assert!(decode_prefix(&[0u8; 300], 300, &key).is_err());
    }
}
