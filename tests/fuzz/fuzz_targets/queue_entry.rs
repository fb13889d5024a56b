//! Any bytes as a queue entry file: refused with a reason, never accepted
//! (nothing but our own sealing can make an entry authenticate). And any
//! header and image sealed by us opens to exactly what went in.
#![no_main]

use enrolld::queue::QueueKey;
use enrolld::queue::entry::{Created, Header, decode_prefix, open_jpeg, seal_entry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = QueueKey::from_bytes([0x5a; 32]);
    // Hostile file, with a claimed length near the real one.
    let claimed = data.len() as u64 ^ u64::from(data.first().copied().unwrap_or(0) & 1);
    if let Ok(d) = decode_prefix(data, claimed, &key) {
        panic!("forged entry accepted: seq {}", d.header.seq);
    }
    // Round trip of fuzzer-chosen content.
    let split = data.len() / 3;
    let (name, jpeg) = data.split_at(split);
    let header = Header {
        seq: u64::from(data.len() as u32),
        username: String::from_utf8_lossy(name).into_owned(),
        verification_id: (split % 2 == 1).then(|| "v-1".to_owned()),
        created: Created {
            unix: 1_800_000_000,
            boot_id: "boot".to_owned(),
            boottime_ms: 42,
        },
        ticket: None,
        resent: split % 3 == 0,
        answer: None,
    };
    let Ok(sealed) = seal_entry(&key, &header, jpeg) else {
        // Refused as too large to read back: nothing written, nothing lost.
        return;
    };
    let file = [sealed.prefix.as_slice(), &sealed.jpeg].concat();
    let d = decode_prefix(&file, file.len() as u64, &key).expect("own entry decodes");
    assert_eq!(d.header, header);
    let opened = open_jpeg(&key, &d, &file[d.jpeg_offset..]).expect("own image opens");
    assert_eq!(opened, jpeg);
});
