//! Server-provided text on its way to logs, the status file and terminals.
//!
//! A message from the network is untrusted: it may carry terminal escape
//! sequences, newlines that forge log lines, or be a whole echoed request
//! (with the image's base64). Before it goes anywhere it is stripped of
//! control characters, long unbroken runs are elided (base64 and tokens have
//! no spaces) and the whole is capped.

/// Longest message kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 200;
/// A "word" longer than this is not prose: elided.
const MAX_WORD_CHARS: usize = 64;

pub fn clean_server_text(raw: &str) -> String {
    let spaced: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = String::new();
    for word in spaced.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        if word.chars().count() > MAX_WORD_CHARS {
            out.push_str("[...]");
        } else {
            out.push_str(word);
        }
    }
    if out.chars().count() > MAX_MESSAGE_CHARS {
        out = out.chars().take(MAX_MESSAGE_CHARS).collect();
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_newlines_go() {
        assert_eq!(clean_server_text("a\nb\r\n\u{1b}[2Jc\t d"), "a b [2Jc d");
    }

    #[test]
    fn long_runs_are_elided_and_length_capped() {
        let b64 = "QUJD".repeat(100);
        assert_eq!(
            clean_server_text(&format!("bad image {b64} end")),
            "bad image [...] end"
        );
        let long = "word ".repeat(200);
        let cleaned = clean_server_text(&long);
        assert_eq!(cleaned.chars().count(), MAX_MESSAGE_CHARS + 3);
        assert!(cleaned.ends_with("..."));
    }

    #[test]
    fn multibyte_text_is_cut_on_a_character_boundary() {
        let s = "é".repeat(50) + " " + &"ü ".repeat(300);
        let c = clean_server_text(&s);
        assert!(c.chars().count() <= MAX_MESSAGE_CHARS + 3);
    }
}
