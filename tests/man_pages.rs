//! The man pages shipped in the .deb: docs/man/enrolld.8 is generated from
//! the clap definitions the binary parses (so it cannot drift from `--help`),
//! docs/man/enrolld.toml.5 is written by hand.
//!
//! After changing the command line, regenerate the page with
//! `ENROLLD_WRITE_MAN=1 cargo test --test man_pages` and commit it.

use std::path::PathBuf;
use std::process::Command;

use clap::CommandFactory;
use enrolld::exit;

fn man_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/man")
}

/// enrolld(8): clap's sections, then what clap does not know.
fn enrolld_8() -> String {
    let man = clap_mangen::Man::new(enrolld::cli::Cli::command())
        .section("8")
        .manual("System Administration")
        .date("2026");
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    let mut page = String::from_utf8(out).unwrap();
    page.push_str(&commands_section(&enrolld::cli::Cli::command()));
    page.push_str(&format!(
        r#".SH "EXIT STATUS"
.TP
{ok}
Success (for \fBregister\fR: registered or already registered).
.TP
{failure}
An error that is none of those below.
.TP
{usage}
Command-line usage error.
.TP
{data}
Bad input data, e.g. \fB\-\-image\fR is not a JPEG or is over the size cap.
.TP
{no_input}
A file could not be read.
.TP
{cant_create}
The state or runtime directory cannot be written (the unit does not restart on it).
.TP
{config}
Configuration error, including a missing or invalid token (the unit does not restart on it).
.TP
{retake}\-{unknown}
\fBregister\fR only: retake {retake}, rejected {rejected}, unauthorized {unauthorized}, rate limited {rate_limited}, server error {server_error}, bad response {bad_response}, not sent {not_sent}, unknown delivery {unknown}.
.SH FILES
.TP
/etc/enrolld/enrolld.toml
The configuration, see \fBenrolld.toml\fR(5).
.TP
/etc/enrolld/api\-token
The IDMeta token, passed by the unit as the systemd credential \fBapi\-token\fR.
.TP
/run/enrolld/status.json
The status file.
.TP
/run/enrolld/control.sock
The control socket used by \fBenroll\fR, \fBtrigger\fR and \fBstatus\fR.
.TP
/var/lib/enrolld/queue
Enrollments waiting to be delivered.
.SH ENVIRONMENT
.TP
ENROLLD_API_TOKEN
The token, when neither the credential nor \fBapi.token_file\fR gives one.
.SH NOTES
Board packages are built without the \fBdemo\fR command and the stand-in.
.SH "SEE ALSO"
\fBenrolld.toml\fR(5), \fBsystemctl\fR(1), \fBjournalctl\fR(1)
"#,
        ok = exit::OK,
        failure = exit::FAILURE,
        usage = exit::USAGE,
        data = exit::DATA,
        no_input = exit::NO_INPUT,
        cant_create = exit::CANT_CREATE,
        config = exit::CONFIG,
        retake = exit::outcome::RETAKE,
        rejected = exit::outcome::REJECTED,
        unauthorized = exit::outcome::UNAUTHORIZED,
        rate_limited = exit::outcome::RATE_LIMITED,
        server_error = exit::outcome::SERVER_ERROR,
        bad_response = exit::outcome::BAD_RESPONSE,
        not_sent = exit::outcome::NOT_SENT,
        unknown = exit::outcome::UNKNOWN_DELIVERY,
    ));
    page
}

/// Escapes text for roff: backslashes and hyphens, and a leading dot or quote.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// COMMANDS: every visible subcommand with its options, on this one page
/// (clap_mangen would point at an enrolld-<command>(8) page per command).
fn commands_section(cli: &clap::Command) -> String {
    let mut out = String::from(".SH COMMANDS\n");
    for command in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
        out.push_str(&format!(
            ".TP\n\\fBenrolld {}\\fR\n{}\n",
            roff(command.get_name()),
            roff(
                &command
                    .get_about()
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            )
        ));
        let args: Vec<_> = command
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
            .filter(|a| a.get_id() != "help")
            .collect();
        if args.is_empty() {
            continue;
        }
        out.push_str(".RS\n");
        for arg in args {
            let mut names = Vec::new();
            if let Some(short) = arg.get_short() {
                names.push(format!("\\fB\\-{short}\\fR"));
            }
            if let Some(long) = arg.get_long() {
                names.push(format!("\\fB\\-\\-{}\\fR", roff(long)));
            }
            let value = arg
                .get_value_names()
                .map(|v| format!(" \\fI{}\\fR", roff(v[0].as_str())))
                .filter(|_| arg.get_action().takes_values())
                .unwrap_or_default();
            if names.is_empty() {
                names.push(format!("\\fI{}\\fR", roff(arg.get_id().as_str())));
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            out.push_str(&format!(
                ".TP\n{}{value}\n{}\n",
                names.join(", "),
                roff(&help)
            ));
        }
        out.push_str(".RE\n");
    }
    out
}

#[test]
fn enrolld_8_is_generated_from_the_command_line() {
    let path = man_dir().join("enrolld.8");
    let page = enrolld_8();
    if std::env::var_os("ENROLLD_WRITE_MAN").is_some() {
        std::fs::write(&path, &page).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "{} is out of date with the command line: run \
         `ENROLLD_WRITE_MAN=1 cargo test --test man_pages` and commit it",
        path.display()
    );
    let plain = page.replace("\\-", "-");
    for command in [
        "run",
        "check-config",
        "register",
        "probe",
        "enroll",
        "status",
    ] {
        assert!(
            plain.contains(&format!("enrolld {command}")),
            "{command} missing from enrolld(8)"
        );
    }
}

/// groff's own warnings (`-ww`) are what lintian's manpage-has-errors-from-man
/// reports; checked when groff is installed (it is on Debian with man-db).
#[test]
fn man_pages_render_without_warnings() {
    for page in ["enrolld.8", "enrolld.toml.5"] {
        let path = man_dir().join(page);
        assert!(path.exists(), "{} is missing", path.display());
        let Ok(out) = Command::new("groff")
            .args(["-man", "-ww", "-z", "-Tutf8"])
            .arg(&path)
            .output()
        else {
            eprintln!("groff not installed: {page} not rendered");
            continue;
        };
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.trim().is_empty(),
            "{page}: {warnings}"
        );
    }
}
