//! The MQTT client id: `mqtt.client_id`, or by default the terminal id and a suffix of this
//! machine's own.
//!
//! A broker keeps one connection per client id and closes the older one when another client
//! connects with the same id, so two terminals with one id take it from each other for as
//! long as both run. Cloned SD cards share their host name (the terminal id's default), never
//! their machine id: systemd writes a new `/etc/machine-id` at the first boot of an image
//! shipped with it empty, which is how Raspberry Pi OS and Debian's images ship. The suffix is
//! an HMAC of the machine id under this application's key, the way systemd's
//! `sd_id128_get_machine_app_specific()` derives ids, so the broker (and its log, which many
//! can read) never sees the machine id, nor anything that links this id to another
//! application's.
//!
//! Without a usable machine id (the file missing, empty or `uninitialized`, as in a container
//! or an image whose first boot has not finished setting it up) the suffix is random, new at
//! every start: unique still, which is what the broker needs, and said in the journal with
//! the fix (`mqtt.client_id`) for a site whose broker must know the id in advance.

use std::io;
use std::path::Path;

use super::config::MqttConfig;

/// Where systemd keeps the machine id (machine-id(5)).
pub const MACHINE_ID: &str = "/etc/machine-id";
/// The application key of the HMAC: fixed, so the id is the same at every start.
const APP_KEY: &[u8] = b"enrolld mqtt client id v1";
/// Hex digits of the suffix: 48 bits, so a site's terminals that share a host name do not
/// share a suffix either.
const SUFFIX_HEX: usize = 12;

/// A client id, and why it is random when it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId {
    pub id: String,
    /// `Some`: the id is random, new at every start; why, and the fix.
    pub note: Option<String>,
}

/// The client id of the terminal `terminal_id` on this machine.
pub fn of(config: &MqttConfig, terminal_id: &str) -> ClientId {
    if let Some(id) = &config.client_id {
        return ClientId {
            id: id.clone(),
            note: None,
        };
    }
    let default = derive(
        terminal_id,
        Path::new(MACHINE_ID),
        std::fs::read_to_string(MACHINE_ID),
    );
    ClientId {
        note: default.random_because.map(|why| {
            format!(
                "random, new at every start: {why}; set mqtt.client_id for an id the broker \
                 can know in advance"
            )
        }),
        id: default.id,
    }
}

/// A default client id, and why its suffix is random when it is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DefaultId {
    id: String,
    random_because: Option<String>,
}

/// [`default_for`] from the machine id file's content (or the error reading it).
fn derive(terminal_id: &str, path: &Path, machine_id: io::Result<String>) -> DefaultId {
    let usable = match &machine_id {
        Ok(text) => check(text.trim()).map_err(|why| format!("{} {why}", path.display())),
        Err(e) => Err(format!(
            "{} cannot be read ({})",
            path.display(),
            crate::fsutil::describe(e)
        )),
    };
    match usable {
        Ok(id) => DefaultId {
            id: format!("{terminal_id}-{}", suffix_of(id)),
            random_because: None,
        },
        Err(why) => DefaultId {
            id: format!(
                "{terminal_id}-{:0width$x}",
                fastrand::u64(..1 << (4 * SUFFIX_HEX)),
                width = SUFFIX_HEX
            ),
            random_because: Some(why),
        },
    }
}

/// A machine id is 32 lowercase hex digits (machine-id(5)).
fn check(text: &str) -> Result<&str, &'static str> {
    if text.is_empty() {
        return Err("is empty (the first boot of a cloned image had not set it yet?)");
    }
    if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("holds no machine id (32 hex digits)");
    }
    Ok(text)
}

fn suffix_of(machine_id: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, machine_id.as_bytes());
    let tag = ring::hmac::sign(&key, APP_KEY);
    tag.as_ref()[..SUFFIX_HEX / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/etc/machine-id";

    fn from(text: &str) -> DefaultId {
        derive("lobby", Path::new(PATH), Ok(text.to_owned()))
    }

    #[test]
    fn a_configured_id_is_used_as_it_is() {
        let config = MqttConfig {
            client_id: Some("desk-7".into()),
            ..Default::default()
        };
        assert_eq!(
            of(&config, "lobby"),
            ClientId {
                id: "desk-7".into(),
                note: None
            }
        );
    }

    #[test]
    fn one_machine_one_id_and_the_machine_id_is_not_in_it() {
        let a = from("3d1219c7c4c5404aaa1f6d2a48adfda4\n");
        assert_eq!(a, from("3d1219c7c4c5404aaa1f6d2a48adfda4"));
        assert_eq!(a.random_because, None);
        let suffix = a.id.strip_prefix("lobby-").unwrap();
        assert_eq!(suffix.len(), SUFFIX_HEX);
        assert!(!"3d1219c7c4c5404aaa1f6d2a48adfda4".contains(suffix));
        // Another machine with the same host name: another id.
        let b = from("7e8f0c2b9a6d4e1f8c3b5a7d9e0f1a2b");
        assert_ne!(a.id, b.id);
        assert!(b.id.starts_with("lobby-"));
    }

    #[test]
    fn without_a_machine_id_the_suffix_is_random_and_the_reason_named() {
        for (text, why) in [
            ("", "is empty"),
            ("\n", "is empty"),
            ("uninitialized\n", "holds no machine id"),
        ] {
            let a = from(text);
            let b = from(text);
            assert_ne!(a.id, b.id, "{text:?}");
            assert_eq!(a.id.len(), "lobby-".len() + SUFFIX_HEX);
            let said = a.random_because.unwrap();
            assert!(said.starts_with(PATH) && said.contains(why), "{said}");
        }
        let missing = derive(
            "lobby",
            Path::new(PATH),
            Err(io::ErrorKind::NotFound.into()),
        );
        let said = missing.random_because.unwrap();
        assert!(said.contains("cannot be read"), "{said}");
    }
}
