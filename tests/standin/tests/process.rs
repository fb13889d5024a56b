//! `enrolld-standin` as a process (how the QEMU guests run it): it prints its URL, writes its
//! CA, checks and records requests as JSON lines without the token or the image, answers per
//! its behaviour, and switches behaviour through its control path and its behaviour file.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use enrolld_standin::documented::{JPEG_DATA_URI_PREFIX, REGISTRATION_PATH};

const TOKEN: &str = "42|t0ken-Secret-xyz";
const TEMPLATE_ID: &str = "129";

/// Kills the stand-in process when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTTPS client trusting only the stand-in's CA; answers of any status are returned.
fn agent(ca_pem: &str) -> ureq::Agent {
    let cert = ureq::tls::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

/// A real (tiny) JPEG: SOI, a comment, EOI is not enough for the stand-in's check.
fn jpeg() -> Vec<u8> {
    let img = image_bytes();
    assert_eq!(&img[..2], &[0xff, 0xd8]);
    img
}

/// An 8x8 grey baseline JPEG, written out byte by byte once (no encoder in this crate).
fn image_bytes() -> Vec<u8> {
    let b64 = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAAIAAgBAREA/8QAFQABAQAAAAAAAAAAAAAAAAAAAAj/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/9oACAEBAAA/AJ//2Q==";
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn register(agent: &ureq::Agent, url: &str) -> u16 {
    let image = format!(
        "{JPEG_DATA_URI_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg())
    );
    let body = serde_json::json!({
        "image": image,
        "username": "Katherine Johnson",
        "template_id": TEMPLATE_ID,
        "verification_id": "v-1",
    });
    match agent
        .post(format!("{url}{REGISTRATION_PATH}"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .send(body.to_string())
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0, // not answered: refused, reset
    }
}

fn set_behaviour(agent: &ureq::Agent, url: &str, name: &str) {
    let response = agent
        .post(format!("{url}/_standin/behaviour"))
        .send(name)
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{name}");
}

fn start(dir: &Path, extra: &[&str]) -> (Running, String, String) {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_enrolld-standin"))
        .args(["--listen", "127.0.0.1:0", "--template-id", TEMPLATE_ID])
        .arg("--ca-out")
        .arg(dir.join("ca.pem"))
        .arg("--records")
        .arg(dir.join("records.jsonl"))
        .arg("--token-file")
        .arg(dir.join("token"))
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the stand-in announces its URL");
    let url = line
        .trim()
        .strip_prefix("enrolld-standin: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    let ca = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    (running, url, ca)
}

#[test]
fn the_process_serves_records_and_switches_behaviour() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, url, ca) = start(dir.path(), &[]);
    let agent = agent(&ca);
    assert_eq!(register(&agent, &url), 200);

    set_behaviour(&agent, &url, "status:503");
    assert_eq!(register(&agent, &url), 503);

    set_behaviour(&agent, &url, "refuse-for:500");
    assert_eq!(register(&agent, &url), 0, "the port is closed");
    // Back on the same port once the outage is over.
    let addr = url.trim_start_matches("https://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "the port never reopened");
        std::thread::sleep(Duration::from_millis(50));
    }
    set_behaviour(&agent, &url, "ok");
    assert_eq!(register(&agent, &url), 200);

    let text = std::fs::read_to_string(dir.path().join("records.jsonl")).unwrap();
    assert!(
        !text.contains("t0ken-Secret"),
        "the token was recorded: {text}"
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(jpeg());
    assert!(!text.contains(&b64[..24]), "the image was recorded: {text}");
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

#[test]
fn the_behaviour_file_switches_it_without_an_https_client() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("behaviour");
    std::fs::write(&file, "ok").unwrap();
    let (_running, url, ca) = start(dir.path(), &["--behaviour-file", file.to_str().unwrap()]);
    let agent = agent(&ca);
    assert_eq!(register(&agent, &url), 200);
    std::fs::write(&file, "status:429").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while register(&agent, &url) != 429 {
        assert!(
            Instant::now() < deadline,
            "the behaviour file was not followed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_bad_token_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "two words").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_enrolld-standin"))
        .arg("--ca-out")
        .arg(dir.path().join("ca.pem"))
        .arg("--token-file")
        .arg(&token)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(66));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("token file") && err.contains(token.to_str().unwrap()),
        "{err}"
    );
}
