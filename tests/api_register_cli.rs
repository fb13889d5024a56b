//! `enrolld register` as a process: real binary, temp config and token file,
//! the stand-in over real TLS. Checks stdout JSON, the exit status, and that
//! the token and the image never show up in the output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Env, TOKEN, jpeg};
use enrolld::api::ApiVersion;
use enrolld_standin::answer::BLOCKLISTED_NAME;
use enrolld_standin::{Behaviour, Endpoint};
use serde_json::Value;

struct Cli {
    env: Env,
    config: PathBuf,
    image: PathBuf,
}

impl Cli {
    fn new(behaviour: Behaviour, finalize: bool) -> Cli {
        Cli::speaking(ApiVersion::V1, behaviour, finalize)
    }

    fn speaking(version: ApiVersion, behaviour: Behaviour, finalize: bool) -> Cli {
        let env = Env::start_in(version, behaviour);
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

/// v3: the registration goes to biometrics-detection between v1's create and finalize; a
/// watchlist match is registered (exit 0, finalized) and flagged, the whole answer (whom it
/// matched included) printed for the operator who ran the command, and nothing on stderr.
#[test]
fn v3_registers_and_a_watchlist_match_is_printed_for_the_operator() {
    let cli = Cli::speaking(ApiVersion::V3, Behaviour::WatchlistMatch, true);
    let (code, json, stderr) = cli.run(&cli.image, &[]);
    assert_eq!(code, 0, "{json} {stderr}");
    assert_eq!(json["code"], "registered_review");
    assert_eq!(json["screening"]["matches"], 1);
    assert_eq!(json["screening"]["details"][0]["name"], BLOCKLISTED_NAME);
    assert_eq!(json["finalize"]["finalized"], true, "{json}");
    assert!(!stderr.contains(BLOCKLISTED_NAME), "{stderr}");
    let endpoints: Vec<_> = cli
        .env
        .server
        .records()
        .iter()
        .map(|r| r.endpoint)
        .collect();
    assert_eq!(
        endpoints,
        [
            Some(Endpoint::CreateVerification),
            Some(Endpoint::RegisterV3),
            Some(Endpoint::FinalizeVerification)
        ]
    );
}

/// `check-config`: `api.version` other than 1 or 3, and under 3 a trust flow id that is not a
/// whole number, are exit 78 naming the key and its line; a valid choice is explained.
#[test]
fn check_config_refuses_a_bad_api_version_or_trust_flow_and_explains_the_choice() {
    let cli = Cli::speaking(ApiVersion::V3, Behaviour::Ok, false);
    let check = |text: &str| {
        std::fs::write(&cli.config, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_enrolld"))
            .arg("--config")
            .arg(&cli.config)
            .arg("check-config")
            .env("ENROLLD_API_TOKEN", TOKEN)
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let good = std::fs::read_to_string(&cli.config).unwrap();
    assert!(good.contains("version = 3\n"), "{good}");
    let (code, text) = check(&good);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("# api version 3: POST /api/v3/verifications/biometrics-detection"),
        "{text}"
    );
    let (code, text) = check(&good.replace("version = 3", "version = 1"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("# api version 1: POST /api/v1/verification/biometricsregistration"));
    let (code, text) = check(&good.replace("version = 3", "version = 2"));
    assert_eq!(code, Some(78), "{text}");
    assert!(
        text.contains(":2: api.version: must be 1 (IDMeta's v1"),
        "{text}"
    );
    let (code, text) = check(&good.replace("template_id = \"129\"", "template_id = \"flow-a\""));
    assert_eq!(code, Some(78), "{text}");
    assert!(
        text.contains(":4: api.template_id: `flow-a` is not a whole number"),
        "{text}"
    );
}
