//! `enrolld-standin`: the IDMeta stand-in as a process, for the QEMU guests
//! (which run the board build of enrolld, without the stand-in) or a manual
//! session. Prints its URL, writes its CA certificate for `api.ca_file`, and
//! serves until killed. Behaviour can be switched while it runs with `POST
//! /_standin/behaviour` (body: a behaviour name, or `refuse-for:MS`), or
//! through `--behaviour-file`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use enrolld_standin::{Behaviour, Expectations, StandIn, StandInOptions, cert};

/// Exit statuses, as enrolld's own (sysexits.h).
const FAILURE: i32 = 1;
const USAGE: i32 = 2;
const NO_INPUT: i32 = 66;

/// The IDMeta stand-in HTTPS server (tests, QEMU guests).
#[derive(Debug, Parser)]
#[command(name = "enrolld-standin", version)]
pub struct StandinArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Where to write the CA certificate (PEM) clients must trust.
    #[arg(long, value_name = "FILE")]
    pub ca_out: PathBuf,
    /// Append every request seen as one JSON line (token and image left out).
    #[arg(long, value_name = "FILE")]
    pub records: Option<PathBuf>,
    /// Initial behaviour (see `enrolld_standin::Behaviour::parse`).
    #[arg(long, value_name = "NAME", default_value = "ok")]
    pub behaviour: String,
    /// Accept only the token in this file (default: any non-empty token).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Accept only this template_id (default: any).
    #[arg(long, value_name = "ID")]
    pub template_id: Option<String>,
    /// Re-read this file every 100 ms and switch to the behaviour it names
    /// when its content changes (`refuse` closes the port, `ok` reopens it):
    /// for a harness without an HTTPS client, such as a busybox guest.
    #[arg(long, value_name = "FILE")]
    pub behaviour_file: Option<PathBuf>,
    /// Save each registration's decoded JPEG here as `<seq>.jpg` (test
    /// guests check the image on the host; never point it at real faces).
    #[arg(long, value_name = "DIR")]
    pub jpeg_dir: Option<PathBuf>,
    /// Extra certificate name (DNS or IP); repeatable. localhost and 127.0.0.1 are always in.
    #[arg(long = "cert-name", value_name = "NAME")]
    pub cert_names: Vec<String>,
}

fn main() {
    std::process::exit(run(&StandinArgs::parse()));
}

/// The token an IDMeta client sends: non-empty, no whitespace (as enrolld's own check).
fn read_token(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.trim();
    if token.is_empty() || token.chars().any(char::is_whitespace) {
        return Err("the token must be one word, not empty".into());
    }
    Ok(token.to_owned())
}

fn run(args: &StandinArgs) -> i32 {
    let behaviour = match Behaviour::parse(&args.behaviour) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("enrolld-standin: {e}");
            return USAGE;
        }
    };
    let token = match &args.token_file {
        None => None,
        Some(path) => match read_token(path) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("enrolld-standin: token file {}: {e}", path.display());
                return NO_INPUT;
            }
        },
    };
    let mut cert_names = cert::default_names();
    cert_names.extend(args.cert_names.iter().cloned());
    if !args.listen.ip().is_unspecified() && !args.listen.ip().is_loopback() {
        cert_names.push(args.listen.ip().to_string());
    }
    let options = StandInOptions {
        listen: args.listen,
        cert_names,
        expect: Expectations {
            token,
            template_id: args.template_id.clone(),
        },
        behaviour,
        records_file: args.records.clone(),
        plain_http: false,
        expired_cert: false,
    };
    let server = match StandIn::start_with(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("enrolld-standin: {e}");
            return FAILURE;
        }
    };
    if let Err(e) = write_atomically(&args.ca_out, server.ca_pem().as_bytes()) {
        eprintln!(
            "enrolld-standin: cannot write {}: {e}",
            args.ca_out.display()
        );
        return FAILURE;
    }
    // One line a harness can wait for; the CA file is complete before it.
    println!("enrolld-standin: listening on {}", server.url());
    // Serves on its own threads until the process is killed.
    if args.behaviour_file.is_none() && args.jpeg_dir.is_none() {
        loop {
            std::thread::park();
        }
    }
    let mut seen_behaviour = String::new();
    let mut saved = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Some(path) = &args.behaviour_file {
            follow_behaviour_file(&server, path, &mut seen_behaviour);
        }
        if let Some(dir) = &args.jpeg_dir {
            saved = save_new_jpegs(&server, dir, saved);
        }
    }
}

/// Applies a new content of `path` as the behaviour; a name that does not
/// parse is reported and the current behaviour kept.
fn follow_behaviour_file(server: &StandIn, path: &Path, seen: &mut String) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let name = text.trim();
    if name.is_empty() || name == seen.as_str() {
        return;
    }
    name.clone_into(seen);
    match Behaviour::parse(name) {
        Ok(b) => {
            server.set_behaviour(b);
            println!("enrolld-standin: behaviour is now {name}");
        }
        Err(e) => eprintln!("enrolld-standin: {}: {e}", path.display()),
    }
}

/// Writes the JPEGs of records after the first `saved`; returns the new count.
fn save_new_jpegs(server: &StandIn, dir: &Path, saved: usize) -> usize {
    let records = server.records();
    for r in records.iter().skip(saved) {
        if let Some(jpeg) = &r.jpeg
            && let Err(e) = write_atomically(&dir.join(format!("{}.jpg", r.seq)), jpeg)
        {
            eprintln!("enrolld-standin: cannot save JPEG {}: {e}", r.seq);
        }
    }
    records.len()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
