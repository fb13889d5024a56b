//! Status changes and events from the [`Feed`](super::Feed) onto the broker, handed to the
//! client with `try_publish`: never waiting for the broker, a full client queue (as during
//! an outage) drops an event and counts it. What a broker's many readers may see is decided
//! here: no face id, no image, no token; the enrolled person's name only when the site opted
//! in (`mqtt.publish_usernames`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use rumqttc::{AsyncClient, QoS};

use super::topics::Topics;
use super::{Counters, EnrollmentEvent, Update, Updates};

/// Status changes and events onto the broker, never waiting for it. While
/// disconnected a status is only kept (the latest goes out after the
/// ConnAck), so the client's queue holds events for afterwards.
pub async fn publish_updates(
    client: AsyncClient,
    topics: Topics,
    mut updates: Updates,
    latest_status: Arc<Mutex<Option<Vec<u8>>>>,
    counters: Arc<Counters>,
    publish_usernames: bool,
) {
    while let Some(update) = updates.next().await {
        match update {
            Update::Status(status) => {
                let payload = crate::status::render(&for_the_broker(&status, publish_usernames));
                *latest_status.lock().expect("not poisoned") = Some(payload.clone());
                let connected = counters
                    .mqtt
                    .lock()
                    .expect("not poisoned")
                    .as_ref()
                    .is_some_and(|h| h.connected);
                if connected {
                    let _ = client.try_publish(topics.status(), QoS::AtLeastOnce, true, payload);
                }
            }
            Update::Event(event) => {
                let payload = event_payload(&event, publish_usernames);
                if client
                    .try_publish(topics.event(), QoS::AtLeastOnce, false, payload)
                    .is_err()
                {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// The status document as the broker gets it: the file's, less the face id
/// and (unless the site opted in) the name of the last person enrolled; the
/// file is 0640 for those, a broker's readers are many.
fn for_the_broker(
    status: &crate::status::Status,
    publish_usernames: bool,
) -> crate::status::Status {
    let mut status = status.clone();
    if let Some(last) = &mut status.last_outcome {
        last.face_id = None;
        if !publish_usernames {
            last.username.clear();
        }
    }
    status
}

/// The `event` message: no image, token or face id; the name only when
/// the site opted in.
fn event_payload(event: &EnrollmentEvent, publish_usernames: bool) -> Vec<u8> {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if publish_usernames {
        value["username"] = serde_json::Value::String(event.username.clone());
    }
    serde_json::to_vec(&value).unwrap_or_default()
}
