//! Home Assistant's device discovery: one retained message under
//! `<discovery_prefix>/device/<terminal id>/config` that declares the
//! terminal as one device with its entities (`cmps`), all reading the
//! retained `status` and `event` topics and the shared `availability`.
//! Abbreviated keys (`stat_t`, `val_tpl`, ...) as Home Assistant documents
//! them; sent again whenever Home Assistant announces itself `online`.

use serde_json::{Value, json};

use super::topics::Topics;

/// Outcome codes an `event` may carry (the event entity declares them).
const EVENT_TYPES: [&str; 17] = [
    "registered",
    "already_registered",
    "retake",
    "rejected",
    "unauthorized",
    "rate_limited",
    "server_error",
    "wrong_endpoint",
    "bad_response",
    "not_sent",
    "unknown_delivery",
    "queued",
    "capture_failed",
    "camera_fault",
    "queue_full",
    "stopped",
    "failed",
];

/// The discovery message's payload.
pub fn config(topics: &Topics, terminal_id: &str) -> Vec<u8> {
    let version = env!("CARGO_PKG_VERSION");
    let uid = |what: &str| format!("enrolld_{terminal_id}_{what}");
    let status = topics.status();
    let sensor = |what: &str, name: &str, template: &str| {
        json!({
            "p": "sensor",
            "name": name,
            "unique_id": uid(what),
            "stat_t": status,
            "val_tpl": template,
        })
    };
    let mut queue_depth = sensor("queue_depth", "Queue depth", "{{ value_json.queue.depth }}");
    queue_depth["stat_cla"] = json!("measurement");
    let mut registered = sensor(
        "registered",
        "Registered",
        "{{ value_json.counters.registered | default(0) }}",
    );
    registered["stat_cla"] = json!("total_increasing");
    let mut unknown = sensor(
        "unknown_deliveries",
        "Unknown deliveries",
        "{{ value_json.queue.unknown_deliveries }}",
    );
    unknown["stat_cla"] = json!("measurement");
    let message = json!({
        "dev": {
            "ids": [uid("device")],
            "name": format!("Enrollment terminal {terminal_id}"),
            "mf": "enrolld",
            "mdl": "face-enrollment terminal",
            "sw": version,
        },
        "o": {
            "name": "enrolld",
            "sw": version,
        },
        "avty_t": topics.availability(),
        "qos": 1,
        "cmps": {
            "state": sensor("state", "State", "{{ value_json.state }}"),
            "queue_depth": queue_depth,
            "registered": registered,
            "unknown_deliveries": unknown,
            "last_outcome": sensor(
                "last_outcome",
                "Last outcome",
                "{{ value_json.last_outcome.code if value_json.last_outcome else 'none' }}",
            ),
            "fault": {
                "p": "binary_sensor",
                "name": "Fault",
                "unique_id": uid("fault"),
                "dev_cla": "problem",
                "stat_t": status,
                "val_tpl": "{{ 'OFF' if value_json.camera.ok and value_json.gpio.ok else 'ON' }}",
            },
            "trigger": {
                "p": "button",
                "name": "Enroll now",
                "unique_id": uid("trigger"),
                "cmd_t": format!("{}/request/trigger", topics.base()),
                "pl_prs": "{}",
            },
            "next_name": {
                "p": "text",
                "name": "Next name",
                "unique_id": uid("next_name"),
                "cmd_t": format!("{}/request/enroll", topics.base()),
                // A fresh transaction per entry: the terminal queues each once.
                "cmd_tpl": "{\"username\": {{ value | tojson }}, \"transaction\": \"ha-{{ now().timestamp() }}\"}",
                "max": crate::tickets::MAX_USERNAME_CHARS,
            },
            "outcome": {
                "p": "event",
                "name": "Enrollment",
                "unique_id": uid("outcome"),
                "stat_t": topics.event(),
                "evt_typ": EVENT_TYPES,
                "val_tpl": "{ \"event_type\": \"{{ value_json.outcome }}\" }",
            },
        },
    });
    serde_json::to_vec(&message).unwrap_or_else(|_| Value::Null.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_device_with_its_entities() {
        let t = Topics::new("enrolld", "t1", "homeassistant");
        let v: Value = serde_json::from_slice(&config(&t, "t1")).unwrap();
        assert_eq!(v["dev"]["ids"][0], "enrolld_t1_device");
        assert_eq!(v["avty_t"], "enrolld/t1/availability");
        let platforms: Vec<_> = v["cmps"]
            .as_object()
            .unwrap()
            .values()
            .map(|c| c["p"].as_str().unwrap())
            .collect();
        for p in ["sensor", "binary_sensor", "button", "text", "event"] {
            assert!(platforms.contains(&p), "{p} missing: {platforms:?}");
        }
        assert_eq!(v["cmps"]["trigger"]["cmd_t"], "enrolld/t1/request/trigger");
    }
}
