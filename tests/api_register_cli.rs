//! `enrolld register` as a process: real binary, temp config and token file,
//! the stand-in over real TLS. Checks stdout JSON, the exit status, and that
//! the token and the image never show up in the output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Env, TOKEN, jpeg};
use enrolld_standin::{Behaviour, Endpoint};
use serde_json::Value;

struct Cli {
    env: Env,
    config: PathBuf,
    image: PathBuf,
}

impl Cli {
    fn new(behaviour: Behaviour, finalize: bool) -> Cli {
        let env = Env::start(behaviour);
        let config = env.write_cli_config(TOKEN, finalize, 2000);
        let dir = env.dir.path();
        let image = dir.join("face.jpg");
        std::fs::write(&image, jpeg()).unwrap();
        Cli { env, config, image }
    }

    fn run(&self, image: &Path, extra: &[&str]) -> (i32, Value, String) {
        let out: Output = Command::new(env!("CARGO_BIN_EXE_enrolld"))
            .arg("--config")
            .arg(&self.config)
            .arg("register")
            .arg("--image")
            .arg(image)
            .args(["--username", "Grace Hopper"])
            .args(extra)
            .env_remove("ENROLLD_API_TOKEN")
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        common::assert_no_secret_in(&stdout);
        common::assert_no_secret_in(&stderr);
        let json = if stdout.trim().is_empty() {
            Value::Null
        } else {
            let lines: Vec<&str> = stdout.lines().collect();
            assert_eq!(lines.len(), 1, "one JSON object on stdout: {stdout}");
            serde_json::from_str(lines[0]).unwrap()
        };
        (out.status.code().unwrap(), json, stderr)
    }
}

#[test]
fn registers_a_file_creating_and_finalizing_the_verification() {
    let cli = Cli::new(Behaviour::Ok, true);
    let (code, json, stderr) = cli.run(&cli.image, &[]);
    assert_eq!(code, 0, "{json} {stderr}");
    assert_eq!(json["code"], "registered");
    assert!(json["face_id"].as_str().unwrap().starts_with("face_"));
    assert_eq!(json["verification_created"], true);
    assert_eq!(json["finalize"]["finalized"], true);
    let records = cli.env.server.records();
    let endpoints: Vec<_> = records.iter().map(|r| r.endpoint).collect();
    assert_eq!(
        endpoints,
        [
            Some(Endpoint::CreateVerification),
            Some(Endpoint::Register),
            Some(Endpoint::FinalizeVerification)
        ]
    );
    assert!(records.iter().all(|r| r.problems.is_empty() && r.token_ok));
    assert_eq!(
        json["verification_id"],
        records[1].field("verification_id").unwrap()
    );
    assert_eq!(records[1].field("username"), Some("Grace Hopper"));
    assert_eq!(records[1].jpeg.as_deref(), Some(&jpeg()[..]));
}

#[test]
fn given_verification_id_is_used_as_is() {
    let cli = Cli::new(Behaviour::Ok, false);
    let (code, json, _) = cli.run(&cli.image, &["--verification-id", "ver-1"]);
    assert_eq!((code, &json["code"]), (0, &Value::from("registered")));
    assert_eq!(json["associated_verification_id"], "ver-1");
    assert_eq!(cli.env.server.records().len(), 1);
}

#[test]
fn failure_classes_have_their_exit_status() {
    let cli = Cli::new(Behaviour::parse("retake:multiple_faces").unwrap(), false);
    let (code, json, _) = cli.run(&cli.image, &["--verification-id", "v"]);
    assert_eq!(code, 10);
    assert_eq!(json["code"], "retake");
    assert_eq!(json["quality"], "multiple_faces");

    cli.env.server.set_behaviour(Behaviour::Unauthorized);
    let (code, json, _) = cli.run(&cli.image, &[]);
    assert_eq!((code, &json["code"]), (12, &Value::from("unauthorized")));
    assert_eq!(json["step"], "create_verification");

    cli.env.server.set_behaviour(Behaviour::Refuse);
    let (code, json, _) = cli.run(&cli.image, &["--verification-id", "v"]);
    assert_eq!((code, &json["code"]), (16, &Value::from("not_sent")));
}

#[test]
fn bad_input_is_refused_before_sending() {
    let cli = Cli::new(Behaviour::Ok, false);
    let (code, json, stderr) = cli.run(&cli.env.dir.path().join("missing.jpg"), &[]);
    assert_eq!(code, 66, "{stderr}");
    assert!(json.is_null() && stderr.contains("missing.jpg"), "{stderr}");

    let not_jpeg = cli.env.dir.path().join("notes.jpg");
    std::fs::write(&not_jpeg, "hello").unwrap();
    let (code, _, stderr) = cli.run(&not_jpeg, &[]);
    assert_eq!(code, 65);
    assert!(stderr.contains("notes.jpg is not a JPEG"), "{stderr}");

    let big = cli.env.dir.path().join("big.jpg");
    let mut bytes = jpeg();
    bytes.resize(1_600_000, 0);
    std::fs::write(&big, bytes).unwrap();
    let (code, _, stderr) = cli.run(&big, &[]);
    assert_eq!(code, 65);
    assert!(stderr.contains("max_image_bytes"), "{stderr}");
    assert!(cli.env.server.records().is_empty(), "nothing was sent");
}
