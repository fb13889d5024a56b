//! Any bytes as the persisted tickets file: read or refused with a reason;
//! a file that reads holds only tickets that pass the ticket rules.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = enrolld::tickets::check_file(data);
});
