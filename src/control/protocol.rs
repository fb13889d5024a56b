//! Requests and replies on the wire, and their checks.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::sanitize::clean_server_text;
use crate::tickets::Ticket;

/// A request as the client sends it (the server reads `Wire` and checks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Enroll {
        username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verification_id: Option<String>,
        /// The requester's id: a second request with it queues nobody.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transaction: Option<String>,
    },
    Trigger,
    Status,
    QueueList,
    QueueResend {
        id: u64,
    },
    QueueDrop {
        id: u64,
    },
    QueueResume,
    /// Stream what the screen shows, one JSON line per change, until the client closes.
    Watch,
    DisplayWake,
    DisplaySetup,
    DisplayNormal,
}

/// An operator's command on the records (`enrolld queue ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueCommand {
    /// Queued, in-flight and unknown records (never an image).
    List,
    /// Queue an unknown delivery again; the operator accepts a duplicate.
    Resend(u64),
    /// Delete a queued entry or an unknown delivery.
    Drop(u64),
    /// Resume paused deliveries.
    Resume,
}

/// A checked request, what the daemon's handler receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Queue a ticket for the next press.
    Enroll(Ticket),
    /// Same as a press of the button.
    Trigger,
    /// The live status.
    Status,
    Queue(QueueCommand),
    /// Stream the screen's events (served by the socket itself, never the daemon's loop).
    Watch,
    Display(DisplayCommand),
}

/// What the screen is asked (`enrolld display ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayCommand {
    /// Wake a screen that went to sleep after idle.
    Wake,
    /// The installer's setup view on (it turns itself off after ten minutes).
    Setup,
    /// Back to what a person sees.
    Normal,
}

/// The flat shape every request line must have. (serde's
/// `deny_unknown_fields` does not apply to the unit variants of a tagged
/// enum, so requests are read flat and checked by hand.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    cmd: String,
    username: Option<String>,
    verification_id: Option<String>,
    id: Option<u64>,
    /// Echoed by the MQTT side; on `enroll` it goes into the ticket.
    transaction: Option<String>,
}

const COMMANDS: &str = "\"enroll\", \"trigger\", \"status\", \"queue_list\", \"queue_resend\", \"queue_drop\", \"queue_resume\", \"watch\", \"display_wake\", \"display_setup\", \"display_normal\"";

/// The rule of each request field, for a value of the wrong JSON type.
fn field_rule(field: &str) -> Option<String> {
    use crate::tickets::{MAX_USERNAME_CHARS, MAX_VERIFICATION_ID_CHARS};
    Some(match field {
        "cmd" => format!("must be a string, one of {COMMANDS}"),
        "username" => format!(
            "must be a string of 1 to {MAX_USERNAME_CHARS} characters, without control \
             characters or leading or trailing spaces"
        ),
        "verification_id" => format!(
            "must be a string of 1 to {MAX_VERIFICATION_ID_CHARS} characters, without spaces or \
             control characters"
        ),
        "id" => "must be a whole number (an id from queue_list)".to_owned(),
        "transaction" => format!(
            "must be a string of 1 to {} characters, without control characters or leading \
             or trailing spaces",
            crate::tickets::MAX_TRANSACTION_CHARS
        ),
        _ => return None,
    })
}

fn expected() -> String {
    format!("expected one JSON object per line with \"cmd\" one of {COMMANDS}")
}

/// Why a line is not a `Wire`, in words: a field of the wrong type is named
/// with its rule; anything else gets serde's message without its position
/// (a request is one line), cleaned so the client's text cannot carry
/// newlines or escapes into the log, and capped.
fn wire_error(e: serde_path_to_error::Error<serde_json::Error>) -> String {
    use serde_json::error::Category;
    let at_root = e.path().iter().next().is_none();
    let field = e.path().to_string();
    let inner = e.into_inner();
    let position = format!(" at line {} column {}", inner.line(), inner.column());
    let text = inner.to_string();
    let message = clean_server_text(text.strip_suffix(&position).unwrap_or(&text));
    let expected = expected();
    match inner.classify() {
        Category::Data if at_root && message.starts_with("invalid type") => {
            format!("malformed request: must be a JSON object; {expected}")
        }
        Category::Data => match field_rule(&field) {
            Some(rule) => format!("{field}: {rule}"),
            None => format!("malformed request ({message}); {expected}"),
        },
        Category::Syntax | Category::Eof | Category::Io => {
            format!("malformed request: not valid JSON ({message}); {expected}")
        }
    }
}

/// Parses and checks one request line; the error is the reply's text.
pub fn parse_line(line: &[u8]) -> Result<Command, String> {
    let text = std::str::from_utf8(line).map_err(|_| "request is not valid UTF-8".to_owned())?;
    let text = text.trim_end_matches('\r');
    // serde reads a struct from an array too (fields by position): refused
    // before it gets the chance, as any other value that is not an object.
    if text.trim_start().starts_with('[') {
        return Err(format!(
            "malformed request: must be a JSON object; {}",
            expected()
        ));
    }
    let mut json = serde_json::Deserializer::from_str(text);
    let wire: Wire = serde_path_to_error::deserialize(&mut json).map_err(wire_error)?;
    json.end().map_err(|_| {
        "malformed request: more than one JSON value on the line; one request per line".to_owned()
    })?;
    check(wire)
}

/// Checks a request whose command came apart from its fields (an MQTT
/// request: the command is the topic's last level, the fields its JSON
/// object), under the same rules as a request line.
pub fn parse_fields(cmd: &str, mut fields: Map<String, Value>) -> Result<Command, String> {
    if fields.contains_key("cmd") {
        return Err("unknown field `cmd` (the topic names the request)".to_owned());
    }
    fields.insert("cmd".to_owned(), Value::String(cmd.to_owned()));
    check(serde_path_to_error::deserialize(Value::Object(fields)).map_err(wire_error)?)
}

fn check(wire: Wire) -> Result<Command, String> {
    let no_arguments = |cmd: Command| match (&wire.username, &wire.verification_id, wire.id) {
        (None, None, None) => Ok(cmd),
        _ => Err(format!("\"{}\" takes no arguments", wire.cmd)),
    };
    let id_only =
        |cmd: fn(u64) -> QueueCommand| match (&wire.username, &wire.verification_id, wire.id) {
            (None, None, Some(id)) => Ok(Command::Queue(cmd(id))),
            (_, _, None) => Err(format!(
                "\"{}\" needs \"id\" (a number from queue_list)",
                wire.cmd
            )),
            _ => Err(format!("\"{}\" takes only \"id\"", wire.cmd)),
        };
    match wire.cmd.as_str() {
        "enroll" if wire.id.is_some() => Err("\"enroll\" takes no \"id\"".to_owned()),
        "enroll" => {
            let username = wire
                .username
                .as_deref()
                .ok_or("\"enroll\" needs \"username\"")?;
            let ticket = Ticket::new(username, wire.verification_id.as_deref())
                .and_then(|t| t.with_transaction(wire.transaction.as_deref()))
                .map_err(|e| e.to_string())?;
            Ok(Command::Enroll(ticket))
        }
        "trigger" => no_arguments(Command::Trigger),
        "status" => no_arguments(Command::Status),
        "queue_list" => no_arguments(Command::Queue(QueueCommand::List)),
        "queue_resume" => no_arguments(Command::Queue(QueueCommand::Resume)),
        "watch" => no_arguments(Command::Watch),
        "display_wake" => no_arguments(Command::Display(DisplayCommand::Wake)),
        "display_setup" => no_arguments(Command::Display(DisplayCommand::Setup)),
        "display_normal" => no_arguments(Command::Display(DisplayCommand::Normal)),
        "queue_resend" => id_only(QueueCommand::Resend),
        "queue_drop" => id_only(QueueCommand::Drop),
        other => Err(format!(
            "unknown command `{}`; known: {COMMANDS}",
            clean_server_text(other).escape_debug()
        )),
    }
}

/// A reply: a JSON object with `ok` and, on failure, `error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply(Map<String, Value>);

impl Reply {
    pub fn ok() -> Reply {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        Reply(m)
    }

    pub fn error(message: impl Into<String>) -> Reply {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(false));
        m.insert("error".into(), Value::String(message.into()));
        Reply(m)
    }

    /// Adds a field (`position`, `status`, ...).
    pub fn with(mut self, key: &str, value: impl Serialize) -> Reply {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.0.insert(key.to_owned(), value);
        self
    }

    pub fn is_ok(&self) -> bool {
        self.0.get("ok") == Some(&Value::Bool(true))
    }

    pub fn error_message(&self) -> Option<&str> {
        self.0.get("error").and_then(Value::as_str)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// One line of JSON, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(&self.0).expect("reply serializes");
        line.push(b'\n');
        line
    }

    /// Parses a reply line; `None` if it is not a JSON object with a boolean `ok`.
    pub fn from_line(line: &[u8]) -> Option<Reply> {
        let map: Map<String, Value> = serde_json::from_slice(line).ok()?;
        map.get("ok")?.as_bool()?;
        Some(Reply(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(parse_line(br#"{"cmd":"trigger"}"#), Ok(Command::Trigger));
        assert_eq!(
            parse_line(br#"{"cmd":"queue_resend","id":42}"#),
            Ok(Command::Queue(QueueCommand::Resend(42)))
        );
        assert_eq!(
            parse_line(br#"{"cmd":"queue_list"}"#),
            Ok(Command::Queue(QueueCommand::List))
        );
        assert_eq!(parse_line(b"{\"cmd\":\"status\"}\r"), Ok(Command::Status));
        assert_eq!(parse_line(br#"{"cmd":"watch"}"#), Ok(Command::Watch));
        assert_eq!(
            parse_line(br#"{"cmd":"display_setup"}"#),
            Ok(Command::Display(DisplayCommand::Setup))
        );
        assert_eq!(
            parse_line(br#"{"cmd":"enroll","username":"Ann","verification_id":"v1"}"#),
            Ok(Command::Enroll(Ticket::new("Ann", Some("v1")).unwrap()))
        );
    }

    #[test]
    fn quoted_client_text_cannot_break_the_log_line() {
        // Found by the `control_line` fuzz target: an unknown field named
        // with an escaped newline came back in the error, newline and all.
        let e = parse_line(b"{\"cmd\":\"enroll\",\"zs\\nroll\\u001b[2J\":1}").unwrap_err();
        assert!(!e.chars().any(char::is_control), "{e:?}");
        assert!(e.contains("unknown field"), "{e}");
        let long = format!("{{\"{}\":1}}", "f".repeat(3000));
        assert!(parse_line(long.as_bytes()).unwrap_err().len() < 400);
        // Found by the fuzzer too: an unknown command came back whole.
        let long = format!("{{\"cmd\":\"{}\"}}", "e".repeat(3000));
        let e = parse_line(long.as_bytes()).unwrap_err();
        assert!(e.starts_with("unknown command `[...]`"), "{e}");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |l: &[u8]| parse_line(l).unwrap_err();
        assert!(err(b"hello").starts_with("malformed request: not valid JSON (expected value)"));
        assert_eq!(
            err(br#"{"cmd":"enroll","username":5}"#),
            "username: must be a string of 1 to 128 characters, without control characters or \
             leading or trailing spaces"
        );
        assert_eq!(
            err(br#"{"cmd":"queue_drop","id":"7"}"#),
            "id: must be a whole number (an id from queue_list)"
        );
        assert!(err(b"[1]").starts_with("malformed request: must be a JSON object;"));
        assert!(err(br#"{"cmd":"status"} {}"#).contains("more than one JSON value"));
        assert_eq!(
            err(br#"{"cmd":"reboot"}"#),
            r#"unknown command `reboot`; known: "enroll", "trigger", "status", "queue_list", "queue_resend", "queue_drop", "queue_resume", "watch", "display_wake", "display_setup", "display_normal""#
        );
        assert_eq!(
            err(br#"{"cmd":"queue_drop"}"#),
            r#""queue_drop" needs "id" (a number from queue_list)"#
        );
        assert_eq!(
            err(br#"{"cmd":"queue_list","id":3}"#),
            r#""queue_list" takes no arguments"#
        );
        assert_eq!(err(br#"{"cmd":"enroll"}"#), r#""enroll" needs "username""#);
        assert!(err(br#"{"cmd":"trigger","x":1}"#).contains("unknown field `x`"));
        assert_eq!(
            err(br#"{"cmd":"trigger","username":"a"}"#),
            r#""trigger" takes no arguments"#
        );
        assert!(err(br#"{"username":"a"}"#).contains("missing field `cmd`"));
        assert_eq!(err(b"\xff\xfe"), "request is not valid UTF-8");
        assert_eq!(
            err(br#"{"cmd":"enroll","username":""}"#),
            "username: must not be empty"
        );
    }

    #[test]
    fn replies_round_trip() {
        let r = Reply::ok().with("position", 2);
        assert_eq!(r.to_line(), b"{\"ok\":true,\"position\":2}\n");
        assert_eq!(Reply::from_line(&r.to_line()), Some(r));
        let e = Reply::error("no");
        assert_eq!(
            Reply::from_line(&e.to_line()).unwrap().error_message(),
            Some("no")
        );
        assert_eq!(Reply::from_line(b"[1]"), None);
    }
}
