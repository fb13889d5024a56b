//! The on-disk format of one queue entry: everything needed to send one
//! enrollment later, in ONE file, so a rename makes it appear or vanish whole.
//!
//! ```text
//! enrolld-queue 1 <header_len> <jpeg_len> <header_crc32> <jpeg_crc32>\n
//! <header: header_len bytes of JSON>
//! <jpeg: jpeg_len bytes>
//! ```
//!
//! The first line is the format version plus lengths and CRC-32s: a file cut
//! short (lengths do not add up) or overwritten with garbage (a CRC differs) is
//! recognised and never sent. The header is checked when the queue is opened;
//! the JPEG's CRC is checked right before sending, so opening a full queue on
//! an SD card does not read hundreds of megabytes.

use serde::{Deserialize, Serialize};

const MAGIC: &str = "enrolld-queue";
pub const FORMAT_VERSION: u32 = 1;
/// The first line is short; anything longer is not ours.
const MAX_FIRST_LINE: usize = 128;
/// Usernames and ids are bounded by the ticket rules; 16 KiB is generous.
const MAX_HEADER: usize = 16 * 1024;

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

/// The JSON header: what is sent along with the JPEG, and when it was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Order of arrival; also the file name.
    pub seq: u64,
    pub username: String,
    /// None: create a verification when sending.
    pub verification_id: Option<String>,
    pub created: Created,
}

/// Encodes an entry as the prefix (first line + header) to write before the JPEG.
pub fn encode_prefix(header: &Header, jpeg: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("queue header serializes");
    let mut out = format!(
        "{MAGIC} {FORMAT_VERSION} {} {} {:08x} {:08x}\n",
        json.len(),
        jpeg.len(),
        crc32fast::hash(&json),
        crc32fast::hash(jpeg)
    )
    .into_bytes();
    out.extend_from_slice(&json);
    out
}

/// What the first line and header say, before the JPEG is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub header: Header,
    /// Where the JPEG starts in the file.
    pub jpeg_offset: usize,
    pub jpeg_len: usize,
    pub jpeg_crc: u32,
}

/// Decodes the prefix of an entry file of `file_len` bytes from its first
/// bytes (`start` must hold at least the first line and the header when the
/// file is that long). Errors say what is wrong in words for the log.
pub fn decode_prefix(start: &[u8], file_len: u64) -> Result<Decoded, String> {
    let nl = start
        .iter()
        .take(MAX_FIRST_LINE)
        .position(|&b| b == b'\n')
        .ok_or("no header line (truncated or not a queue entry)")?;
    let line = std::str::from_utf8(&start[..nl]).map_err(|_| "header line is not text")?;
    let fields: Vec<&str> = line.split(' ').collect();
    let [magic, version, hlen, jlen, hcrc, jcrc] = fields[..] else {
        return Err("header line malformed".to_owned());
    };
    if magic != MAGIC {
        return Err("not a queue entry".to_owned());
    }
    if version != FORMAT_VERSION.to_string() {
        return Err(format!("unknown format version {version:?}"));
    }
    let num = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| "header line malformed".to_owned())
    };
    let crc = |s: &str| u32::from_str_radix(s, 16).map_err(|_| "header line malformed".to_owned());
    let (hlen, jlen, hcrc, jcrc) = (num(hlen)?, num(jlen)?, crc(hcrc)?, crc(jcrc)?);
    if hlen > MAX_HEADER {
        return Err("header too large".to_owned());
    }
    let expected = (nl + 1 + hlen) as u64 + jlen as u64;
    if file_len != expected {
        return Err(format!(
            "size {file_len} bytes, expected {expected} (truncated or extended)"
        ));
    }
    let json = start.get(nl + 1..nl + 1 + hlen).ok_or("header cut short")?;
    if crc32fast::hash(json) != hcrc {
        return Err("header checksum mismatch".to_owned());
    }
    let header: Header =
        serde_json::from_slice(json).map_err(|e| format!("header unreadable: {e}"))?;
    Ok(Decoded {
        header,
        jpeg_offset: nl + 1 + hlen,
        jpeg_len: jlen,
        jpeg_crc: jcrc,
    })
}

/// How many leading bytes [`decode_prefix`] may need.
pub const PREFIX_READ: usize = MAX_FIRST_LINE + MAX_HEADER;

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
        };
        (h, vec![0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])
    }

    fn file(h: &Header, jpeg: &[u8]) -> Vec<u8> {
        let mut f = encode_prefix(h, jpeg);
        f.extend_from_slice(jpeg);
        f
    }

    #[test]
    fn round_trips() {
        let (h, jpeg) = sample();
        let f = file(&h, &jpeg);
        let d = decode_prefix(&f, f.len() as u64).unwrap();
        assert_eq!(d.header, h);
        assert_eq!(&f[d.jpeg_offset..], &jpeg[..]);
        assert_eq!(d.jpeg_crc, crc32fast::hash(&jpeg));
    }

    #[test]
    fn detects_truncation_garbage_and_foreign_files() {
        let (h, jpeg) = sample();
        let f = file(&h, &jpeg);
        for cut in [0, 5, 40, f.len() - 1] {
            assert!(decode_prefix(&f[..cut], cut as u64).is_err(), "cut {cut}");
        }
        let mut g = f.clone();
        let at = g.iter().position(|&b| b == b'{').unwrap() + 3;
        g[at] ^= 0x20;
        assert_eq!(
            decode_prefix(&g, g.len() as u64).unwrap_err(),
            "header checksum mismatch"
        );
        assert_eq!(
            decode_prefix(b"\xff\xd8 hello\n", 9).unwrap_err(),
            "header line is not text"
        );
        assert!(decode_prefix(&[0u8; 300], 300).is_err());
    }
}
