//! The topic layout, in one place (docs/fleet.md lists it for integrators).
//!
//! Everything of one terminal is under `<prefix>/<terminal id>/`, so a
//! broker's ACL can give each terminal exactly its own subtree
//! (`pattern readwrite enrolld/%c/#` in mosquitto).

/// The requests enrolld answers, as they appear after `request/`.
pub const REQUESTS: [&str; 7] = [
    "enroll",
    "trigger",
    "status",
    "queue_list",
    "queue_resend",
    "queue_drop",
    "queue_resume",
];

/// The request name of the terminal's own probe (`request/_probe`), published at every
/// connect to see that the broker delivers its requests to it; never answered.
pub const PROBE: &str = "_probe";

/// Home Assistant's own status topic (`online` after HA restarts).
pub const HA_STATUS: &str = "status";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    base: String,
    discovery_prefix: String,
    terminal_id: String,
}

impl Topics {
    pub fn new(prefix: &str, terminal_id: &str, discovery_prefix: &str) -> Topics {
        Topics {
            base: format!("{prefix}/{terminal_id}"),
            discovery_prefix: discovery_prefix.to_owned(),
            terminal_id: terminal_id.to_owned(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn availability(&self) -> String {
        format!("{}/availability", self.base)
    }

    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    pub fn event(&self) -> String {
        format!("{}/event", self.base)
    }

    /// What enrolld subscribes to for requests.
    pub fn requests_filter(&self) -> String {
        format!("{}/request/+", self.base)
    }

    /// The request's name, if `topic` is one of this terminal's request topics.
    pub fn request_name<'t>(&self, topic: &'t str) -> Option<&'t str> {
        topic
            .strip_prefix(self.base.as_str())?
            .strip_prefix("/request/")
    }

    /// Where the terminal's own probe goes ([`PROBE`]).
    pub fn probe(&self) -> String {
        format!("{}/request/{PROBE}", self.base)
    }

    /// What the terminal subscribes to, in the order of its SUBSCRIBE (and its SUBACK).
    pub fn subscriptions(&self) -> Vec<String> {
        let mut filters = vec![self.requests_filter(), self.availability()];
        filters.extend(self.ha_status());
        filters
    }

    pub fn response(&self, name: &str) -> String {
        format!("{}/response/{name}", self.base)
    }

    /// `None` when discovery is off.
    pub fn discovery_config(&self) -> Option<String> {
        self.discovery_on().then(|| {
            format!(
                "{}/device/{}/config",
                self.discovery_prefix, self.terminal_id
            )
        })
    }

    pub fn ha_status(&self) -> Option<String> {
        self.discovery_on()
            .then(|| format!("{}/{HA_STATUS}", self.discovery_prefix))
    }

    fn discovery_on(&self) -> bool {
        !self.discovery_prefix.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let t = Topics::new("enrolld", "t1", "homeassistant");
        assert_eq!(t.availability(), "enrolld/t1/availability");
        assert_eq!(t.requests_filter(), "enrolld/t1/request/+");
        assert_eq!(t.request_name("enrolld/t1/request/enroll"), Some("enroll"));
        assert_eq!(t.request_name("enrolld/t2/request/enroll"), None);
        assert_eq!(t.response("enroll"), "enrolld/t1/response/enroll");
        assert_eq!(t.request_name(&t.probe()), Some(PROBE));
        assert_eq!(
            t.subscriptions(),
            [
                "enrolld/t1/request/+",
                "enrolld/t1/availability",
                "homeassistant/status"
            ]
        );
        assert_eq!(
            t.discovery_config().as_deref(),
            Some("homeassistant/device/t1/config")
        );
        let off = Topics::new("enrolld", "t1", "");
        assert_eq!(off.discovery_config(), None);
        assert_eq!(off.ha_status(), None);
        assert_eq!(off.subscriptions().len(), 2);
    }
}
