//! `enrolld standin` as a process (how a QEMU guest runs it): it prints its
//! URL, writes its CA, records requests as JSON lines without the token or
//! the image, and switches behaviour through its control path.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{TEMPLATE_ID, TOKEN, api_config, assert_no_secret_in, client_for, jpeg};
use enrolld::api::Outcome;

/// Kills the stand-in process when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `POST /_standin/behaviour` through ureq's own TLS setup, trusting the CA.
fn set_behaviour(url: &str, ca_pem: &str, name: &str) {
    let cert = ureq::tls::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
        .build();
    let agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .build()
        .new_agent();
    let response = agent
        .post(format!("{url}/_standin/behaviour"))
        .send(name)
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{name}");
}

#[test]
fn standin_process_serves_records_and_switches_behaviour() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, records, token) = (
        dir.path().join("ca.pem"),
        dir.path().join("records.jsonl"),
        dir.path().join("token"),
    );
    std::fs::write(&token, TOKEN).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_enrolld"))
        .args([
            "standin",
            "--listen",
            "127.0.0.1:0",
            "--template-id",
            TEMPLATE_ID,
        ])
        .arg("--ca-out")
        .arg(&ca)
        .arg("--records")
        .arg(&records)
        .arg("--token-file")
        .arg(&token)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the stand-in announces its URL");
    let url = line
        .trim()
        .strip_prefix("enrolld standin: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    let ca_pem = std::fs::read_to_string(&ca).unwrap();

    let config = api_config(&url, &ca);
    let client = client_for(&config, TOKEN);
    let register = || client.register(&jpeg(), "Katherine Johnson", "v-1");
    assert!(matches!(register(), Outcome::Registered { .. }));

    set_behaviour(&url, &ca_pem, "status:503");
    assert_eq!(
        register(),
        Outcome::ServerError {
            status: 503,
            retry_after_s: None
        }
    );

    set_behaviour(&url, &ca_pem, "refuse-for:500");
    assert!(matches!(register(), Outcome::NotSent { .. }));
    // Back on the same port once the outage is over.
    let addr = url.trim_start_matches("https://").to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the port never reopened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    set_behaviour(&url, &ca_pem, "ok");
    assert!(matches!(register(), Outcome::Registered { .. }));

    let text = std::fs::read_to_string(&records).unwrap();
    assert_no_secret_in(&text);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "control calls are not recorded: {text}");
    for l in &lines {
        assert_eq!(l["token_ok"], true);
        assert_eq!(l["problems"].as_array().unwrap().len(), 0, "{l}");
        assert_eq!(l["jpeg_len"], jpeg().len());
        assert_eq!(l["body"]["username"], "Katherine Johnson");
    }
    assert_eq!(lines[1]["behaviour"], "status:503");
}
