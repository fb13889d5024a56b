//! A request message in, a control command out; a reply in, the response
//! message out. The checks of the fields are the control socket's
//! ([`crate::control::protocol::parse_fields`]); what is MQTT's own is here:
//! the payload's size and shape, and the `transaction`. Requests are answered
//! one at a time ([`answer`]), by the control socket's handler.

use std::sync::Arc;

use rumqttc::{AsyncClient, QoS};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::topics::Topics;
use crate::control::server::Handler;
use crate::control::{Command, Reply};
use crate::tickets::check_transaction;

/// Largest request payload read, in bytes (a control socket line's cap).
pub const MAX_PAYLOAD: usize = crate::control::MAX_LINE;

/// A request as read: the `transaction` to echo (when it was a usable
/// string), and the command or why there is none.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub transaction: Option<String>,
    pub command: Result<Command, String>,
}

/// Reads the payload of `request/<name>`.
pub fn parse(name: &str, payload: &[u8]) -> Request {
    let mut transaction = None;
    let command = read(name, payload, &mut transaction);
    Request {
        transaction,
        command,
    }
}

/// The answer to a request of `bytes` bytes, over [`MAX_PAYLOAD`].
pub fn too_large(bytes: usize) -> String {
    format!("request too large: {bytes} bytes (at most {MAX_PAYLOAD})")
}

fn read(name: &str, payload: &[u8], transaction: &mut Option<String>) -> Result<Command, String> {
    if payload.len() > MAX_PAYLOAD {
        return Err(too_large(payload.len()));
    }
    let text = std::str::from_utf8(payload).map_err(|_| "request is not valid UTF-8")?;
    let mut fields: Map<String, Value> = if text.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str(text) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(
                    "request must be one JSON object, for example {\"transaction\":\"42\"}"
                        .to_owned(),
                );
            }
        }
    };
    match fields.remove("transaction") {
        None => {}
        Some(Value::String(t)) => {
            check_transaction(&t).map_err(|e| format!("transaction: {e}"))?;
            *transaction = Some(t);
        }
        Some(_) => return Err("transaction: must be a string".to_owned()),
    }
    // Without a transaction a redelivered request could queue the person twice.
    if name == "enroll" && transaction.is_none() {
        return Err(
            "transaction: missing (\"enroll\" needs one, so a request delivered twice queues \
             the person once)"
                .to_owned(),
        );
    }
    if let Some(t) = transaction.as_deref() {
        fields.insert("transaction".into(), Value::String(t.to_owned()));
    }
    // On `enroll` the transaction goes into the ticket; the rest only echo it.
    crate::control::protocol::parse_fields(name, fields)
}

/// The response message: the reply with the transaction echoed, less what is for the
/// operator's eyes only (a review record's `answer`: whom IDMeta's watchlist screening matched;
/// its `last_answer` still says `registered_review`). A broker's readers are many.
pub fn response(transaction: Option<&str>, reply: Reply) -> Vec<u8> {
    let reply = match reply.get("records").and_then(Value::as_array) {
        Some(records) => {
            let records: Vec<Value> = records
                .iter()
                .cloned()
                .map(|mut r| {
                    if let Some(r) = r.as_object_mut() {
                        r.remove("answer");
                    }
                    r
                })
                .collect();
            reply.with("records", records)
        }
        None => reply,
    };
    let reply = match transaction {
        Some(t) => reply.with("transaction", t),
        None => reply,
    };
    let mut line = reply.to_line();
    line.pop();
    line
}

/// One request at a time, through the control socket's handler.
pub async fn answer<H: Handler>(
    client: AsyncClient,
    topics: Topics,
    mut requests: mpsc::Receiver<(String, Vec<u8>)>,
    handler: Arc<H>,
) {
    while let Some((name, payload)) = requests.recv().await {
        let request = parse(&name, &payload);
        let reply = match request.command {
            Ok(command) => handler.handle(command).await,
            Err(why) => refused(&name, why),
        };
        let _ = client
            .publish(
                topics.response(&name),
                QoS::AtLeastOnce,
                false,
                response(request.transaction.as_deref(), reply),
            )
            .await;
    }
}

/// A request that is not carried out: logged, and answered with why.
pub fn refused(name: &str, why: String) -> Reply {
    log::warn!(
        "MQTT: request/{} refused: {why}",
        crate::api::sanitize::clean_server_text(name)
    );
    Reply::error(why)
}

/// Answers at once, without waiting for the client's queue (busy, too large).
pub fn answer_now(
    client: &AsyncClient,
    topics: &Topics,
    name: &str,
    transaction: Option<&str>,
    reply: Reply,
) {
    let _ = client.try_publish(
        topics.response(name),
        QoS::AtLeastOnce,
        false,
        response(transaction, reply),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::Ticket;

    fn err(name: &str, payload: &[u8]) -> String {
        parse(name, payload).command.unwrap_err()
    }

    #[test]
    fn an_enroll_carries_its_transaction_into_the_ticket() {
        let r = parse("enroll", br#"{"username":"Ann","transaction":"t-1"}"#);
        let want = Ticket::new("Ann", None)
            .unwrap()
            .with_transaction(Some("t-1"))
            .unwrap();
        assert_eq!(r.command, Ok(Command::Enroll(want)));
        assert_eq!(r.transaction.as_deref(), Some("t-1"));
        assert_eq!(parse("trigger", b"").command, Ok(Command::Trigger));
        assert_eq!(
            parse("status", br#"{"transaction":"x"}"#).command,
            Ok(Command::Status)
        );
    }

    #[test]
    fn hostile_payloads_are_answered_by_field() {
        assert!(err("enroll", &vec![b'a'; 1 << 20]).starts_with("request too large"));
        assert_eq!(err("enroll", b"\xff\xfe"), "request is not valid UTF-8");
        assert!(err("enroll", b"[1,2]").starts_with("request must be one JSON object"));
        assert_eq!(
            err("enroll", br#"{"username":"Ann","transaction":5}"#),
            "transaction: must be a string"
        );
        assert!(err("enroll", br#"{"username":"Ann"}"#).starts_with("transaction: missing"));
        assert_eq!(
            err("enroll", br#"{"username":"","transaction":"t"}"#),
            "username: must not be empty"
        );
        assert!(err("enroll", br#"{"username":1,"transaction":"t"}"#).contains("username"));
        assert!(err("reboot", br#"{"transaction":"t"}"#).starts_with("unknown command `reboot`"));
        assert!(err("status", br#"{"cmd":"trigger"}"#).contains("`cmd`"));
        let r = parse("trigger", br#"{"transaction":"t","x":1}"#);
        assert_eq!(r.transaction.as_deref(), Some("t"));
        assert!(r.command.unwrap_err().contains("unknown field `x`"));
    }

    #[test]
    fn a_review_records_answer_stays_off_the_broker() {
        let record = serde_json::json!({"id": 7, "state": "review", "last_answer": "registered_review",
            "answer": {"screening": {"details": [{"name": "Jane Listed"}]}}});
        let r = response(None, Reply::ok().with("records", vec![record]));
        let text = String::from_utf8(r).unwrap();
        assert!(
            !text.contains("Jane") && !text.contains("\"answer\""),
            "{text}"
        );
        assert!(text.contains("registered_review"), "{text}");
    }

    #[test]
    fn responses_echo_the_transaction() {
        let r = response(Some("t-1"), Reply::ok().with("position", 1));
        let v: Value = serde_json::from_slice(&r).unwrap();
        assert_eq!(v["transaction"], "t-1");
        assert_eq!(v["ok"], true);
    }
}
