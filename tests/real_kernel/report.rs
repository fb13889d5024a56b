//! Reading a guest's verdict from its serial log.
//!
//! The guest prints one `ENROLLD-RESULT <scenario> PASS|FAIL <detail>` line
//! per scenario, `ENROLLD-FILE <name> BEGIN` / base64 / `ENROLLD-FILE <name>
//! END <size> <sha256>` blocks for files it hands to the host, and
//! `ENROLLD-DONE` last. Anything else (kernel messages, diagnostics) is kept
//! only for showing the log's tail on failure.

use std::collections::BTreeMap;

use base64::Engine;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub passed: bool,
    pub detail: String,
}

/// A file the guest exported, with the size and sha256 it announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub bytes: Vec<u8>,
    pub size: usize,
    pub sha256: String,
}

#[derive(Debug, Default)]
pub struct GuestReport {
    pub results: BTreeMap<String, Outcome>,
    pub artifacts: BTreeMap<String, Artifact>,
    /// Problems in the log itself: duplicate results, broken file blocks.
    pub malformed: Vec<String>,
    pub done: bool,
    /// The log without file blocks, for showing its tail.
    pub text: Vec<String>,
}

impl GuestReport {
    pub fn parse(log: &str) -> GuestReport {
        let mut report = GuestReport::default();
        let mut file: Option<(String, String)> = None; // (name, base64 so far)
        for raw in log.lines() {
            let line = raw.trim_end_matches('\r');
            if let Some((name, b64)) = file.as_mut() {
                if let Some(rest) = line.strip_prefix(&format!("ENROLLD-FILE {name} END ")) {
                    let (name, b64) = file.take().expect("inside a file block");
                    report.finish_file(name, &b64, rest);
                } else {
                    b64.push_str(line.trim());
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix("ENROLLD-FILE ") {
                match rest.strip_suffix(" BEGIN") {
                    Some(name) => file = Some((name.to_owned(), String::new())),
                    None => report.malformed.push(format!("stray file marker: {line}")),
                }
                continue;
            }
            report.text.push(line.to_owned());
            if line == "ENROLLD-DONE" {
                report.done = true;
            } else if let Some(rest) = line.strip_prefix("ENROLLD-RESULT ") {
                report.add_result(rest);
            }
        }
        if let Some((name, _)) = file {
            report.malformed.push(format!("file {name}: no END marker"));
        }
        report
    }

    fn add_result(&mut self, rest: &str) {
        let mut parts = rest.splitn(3, ' ');
        let (name, status, detail) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let passed = match status {
            "PASS" => true,
            "FAIL" => false,
            _ => {
                self.malformed
                    .push(format!("result line without PASS/FAIL: {rest}"));
                return;
            }
        };
        let outcome = Outcome {
            passed,
            detail: detail.to_owned(),
        };
        if self.results.insert(name.to_owned(), outcome).is_some() {
            self.malformed
                .push(format!("scenario {name} reported twice"));
        }
    }

    fn finish_file(&mut self, name: String, b64: &str, trailer: &str) {
        let mut fields = trailer.split_whitespace();
        let size = fields.next().and_then(|s| s.parse::<usize>().ok());
        let sha256 = fields.next().map(str::to_owned);
        let (Some(size), Some(sha256)) = (size, sha256) else {
            self.malformed
                .push(format!("file {name}: bad END marker '{trailer}'"));
            return;
        };
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(bytes) if bytes.len() == size => {
                self.artifacts.insert(
                    name,
                    Artifact {
                        bytes,
                        size,
                        sha256,
                    },
                );
            }
            Ok(bytes) => self.malformed.push(format!(
                "file {name}: {} bytes arrived, the guest sent {size}",
                bytes.len()
            )),
            Err(e) => self
                .malformed
                .push(format!("file {name}: not base64 ({e})")),
        }
    }

    /// The last `n` lines of the log (file blocks left out).
    pub fn tail(&self, n: usize) -> String {
        let start = self.text.len().saturating_sub(n);
        self.text[start..].join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_files_and_done_are_read_and_noise_is_kept_for_the_tail() {
        let log = "[    1.0] noise\r\nENROLLD-RESULT a PASS all good here\r\n\
                   ENROLLD-FILE f BEGIN\r\naGVs\r\nbG8=\r\nENROLLD-FILE f END 5 abc\r\n\
                   ENROLLD-RESULT b FAIL no /dev/video0\r\nENROLLD-DONE\r\n";
        let r = GuestReport::parse(log);
        assert!(r.done);
        assert!(r.malformed.is_empty(), "{:?}", r.malformed);
        assert_eq!(
            r.results["a"],
            Outcome {
                passed: true,
                detail: "all good here".into()
            }
        );
        assert_eq!(
            r.results["b"],
            Outcome {
                passed: false,
                detail: "no /dev/video0".into()
            }
        );
        assert_eq!(r.artifacts["f"].bytes, b"hello");
        assert_eq!(r.artifacts["f"].sha256, "abc");
        assert!(!r.tail(10).contains("aGVs"));
        assert!(r.tail(10).starts_with("[    1.0] noise"));
    }

    #[test]
    fn a_log_cut_short_has_no_done_and_reports_the_open_file() {
        let r = GuestReport::parse("ENROLLD-RESULT a PASS x\nENROLLD-FILE f BEGIN\naGVs\n");
        assert!(!r.done);
        assert_eq!(r.malformed, vec!["file f: no END marker".to_string()]);
    }

    #[test]
    fn duplicates_bad_status_and_size_mismatch_are_malformed() {
        let r = GuestReport::parse(
            "ENROLLD-RESULT a PASS x\nENROLLD-RESULT a FAIL y\nENROLLD-RESULT c MAYBE z\n\
             ENROLLD-FILE f BEGIN\naGVsbG8=\nENROLLD-FILE f END 4 abc\nENROLLD-DONE\n",
        );
        assert_eq!(r.malformed.len(), 3, "{:?}", r.malformed);
        assert!(
            !r.results["a"].passed,
            "the later report is kept and the duplicate flagged"
        );
        assert!(!r.results.contains_key("c"));
        assert!(r.artifacts.is_empty());
    }
}
