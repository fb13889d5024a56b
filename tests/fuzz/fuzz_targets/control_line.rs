//! Any bytes as one control-socket request line: a checked command, or an
//! error that is one short line of text without control characters (it
//! goes back to the client and into the log).
#![no_main]

use enrolld::control::protocol::{Command, Reply, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_line(data) {
        Ok(Command::Enroll(ticket)) => ticket.check().expect("accepted ticket passes the rules"),
        Ok(_) => {}
        Err(message) => {
            assert!(
                !message.chars().any(char::is_control),
                "control character in error {message:?}"
            );
            assert!(message.len() <= 1024, "{} byte error", message.len());
            let line = Reply::error(message).to_line();
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        }
    }
});
