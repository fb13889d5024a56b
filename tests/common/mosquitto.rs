//! Debian's mosquitto, started by the tests themselves on loopback with an
//! ephemeral port, a password file and an ACL that gives each terminal its
//! own topics; optionally TLS with a throw-away CA. The other side is
//! `mosquitto_sub` / `mosquitto_pub`, as an integrator would use them.
//!
//! Without mosquitto the tests fail (install it with `bash .ci/prereqs`), unless
//! `ENROLLD_SKIP=mqtt` asks to skip them, outside CI (see [`super::skip`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::daemon::wait_for;

/// The terminal the daemon harness configures (`terminal.id`).
pub const TERMINAL: &str = "test-terminal";
pub const TERMINAL_PASSWORD: &str = "term-Secret-pw";
/// Another terminal of the same site.
pub const OTHER: &str = "other-terminal";
pub const OTHER_PASSWORD: &str = "other-pw";
/// The reception app (and Home Assistant): may use every topic.
pub const APP: &str = "app";
pub const APP_PASSWORD: &str = "app-pw";

/// Whether the tools are there; `false` only when skipping deliberately.
pub fn available() -> bool {
    let found = [
        "mosquitto",
        "mosquitto_sub",
        "mosquitto_pub",
        "mosquitto_passwd",
        "mosquitto_ctrl",
    ]
    .iter()
    .all(|tool| {
        Command::new(tool)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    if !found {
        super::skip::or_fail(
            "mqtt",
            "mosquitto, mosquitto_sub, mosquitto_pub, mosquitto_passwd or mosquitto_ctrl not \
             found: install Debian's mosquitto and mosquitto-clients (`bash .ci/prereqs`)",
        );
    }
    found
}

/// A broker, or `None` when skipping deliberately (see [`available`]).
pub fn start(tls: bool) -> Option<Broker> {
    available().then(|| Broker::start(tls))
}

/// [`start`] with these access rules.
pub fn start_with(tls: bool, access: Access) -> Option<Broker> {
    available().then(|| Broker::start_with(tls, access))
}

/// A running (or stopped) broker.
pub struct Broker {
    dir: tempfile::TempDir,
    pub port: u16,
    pub tls: bool,
    child: Option<Child>,
}

/// A message as `mosquitto_sub` saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub retained: bool,
    pub topic: String,
    pub payload: Vec<u8>,
}

impl Message {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.topic, self.text()))
    }
}

/// Who may do what on a test broker.
#[derive(Debug, Clone)]
pub enum Access {
    /// mosquitto's password file and this ACL file (the usual setup; see [`site_acl`]).
    /// An ACL file never refuses a subscription: it filters what is delivered.
    AclFile(String),
    /// The dynamic security plugin, whose ACLs can refuse a subscription (a SUBACK failure):
    /// the same users, the app allowed everything, the terminal only these
    /// `(acltype, topic)` pairs (`mosquitto_ctrl dynsec addRoleACL`, all `allow`). Unlisted
    /// subscriptions and publishes are refused (the plugin's defaults).
    DynamicSecurity(Vec<(&'static str, String)>),
}

/// The site's ACL: each terminal its own topics, the app everything.
pub fn site_acl() -> String {
    format!(
        "user {TERMINAL}\ntopic readwrite enrolld/{TERMINAL}/#\n\
         topic write homeassistant/device/{TERMINAL}/config\n\
         topic read homeassistant/status\n\n\
         user {OTHER}\ntopic readwrite enrolld/{OTHER}/#\n\n\
         user {APP}\ntopic readwrite #\n"
    )
}

/// The users of every test broker.
const USERS: [(&str, &str); 3] = [
    (TERMINAL, TERMINAL_PASSWORD),
    (OTHER, OTHER_PASSWORD),
    (APP, APP_PASSWORD),
];

/// The dynamic security plugin's administrator (only on such brokers).
const DYNSEC_ADMIN: (&str, &str) = ("dynsec-admin", "dynsec-admin-pw");

impl Broker {
    /// A broker on a fresh loopback port with the site's ACL; `tls` makes it TLS-only.
    pub fn start(tls: bool) -> Broker {
        Broker::start_with(tls, Access::AclFile(site_acl()))
    }

    /// A broker on a fresh loopback port with these access rules.
    pub fn start_with(tls: bool, access: Access) -> Broker {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\n\
             log_dest file {}\nlog_type all\nconnection_messages true\n",
            dir.path().join("broker.log").display(),
        );
        match &access {
            Access::AclFile(acl) => {
                let passwd = dir.path().join("passwd");
                for (i, (user, pw)) in USERS.iter().enumerate() {
                    let mut cmd = Command::new("mosquitto_passwd");
                    cmd.arg("-b");
                    if i == 0 {
                        cmd.arg("-c");
                    }
                    let out = cmd.arg(&passwd).arg(user).arg(pw).output().unwrap();
                    assert!(out.status.success(), "mosquitto_passwd: {out:?}");
                }
                fs::write(dir.path().join("acl"), acl).unwrap();
                conf.push_str(&format!(
                    "password_file {}\nacl_file {}\n",
                    passwd.display(),
                    dir.path().join("acl").display()
                ));
            }
            Access::DynamicSecurity(_) => {
                let file = dir.path().join("dynsec.json");
                let (admin, admin_pw) = DYNSEC_ADMIN;
                let out = Command::new("mosquitto_ctrl")
                    .args(["dynsec", "init"])
                    .arg(&file)
                    .args([admin, admin_pw])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "mosquitto_ctrl dynsec init: {out:?}");
                conf.push_str(&format!(
                    "plugin {}\nplugin_opt_config_file {}\n",
                    dynamic_security_plugin().display(),
                    file.display()
                ));
            }
        }
        // Started as root, mosquitto would drop to its own user, which cannot
        // read this directory.
        if unsafe { libc::geteuid() } == 0 {
            conf.push_str("user root\n");
        }
        if tls {
            let pems = enrolld_standin::cert::make_pems(&["localhost".to_owned()]).unwrap();
            for (name, pem) in [
                ("ca.pem", &pems.ca),
                ("cert.pem", &pems.cert),
                ("key.pem", &pems.key),
            ] {
                fs::write(dir.path().join(name), pem).unwrap();
            }
            conf.push_str(&format!(
                "cafile {}\ncertfile {}\nkeyfile {}\n",
                dir.path().join("ca.pem").display(),
                dir.path().join("cert.pem").display(),
                dir.path().join("key.pem").display()
            ));
        }
        fs::write(dir.path().join("mosquitto.conf"), conf).unwrap();
        let mut broker = Broker {
            dir,
            port,
            tls,
            child: None,
        };
        broker.resume_service();
        if let Access::DynamicSecurity(terminal_acls) = access {
            broker.set_up_dynamic_security(&terminal_acls);
        }
        broker
    }

    /// The users, the app's role (everything) and the terminal's (`terminal_acls`), through
    /// the plugin's own control topic, as a site's administrator would.
    fn set_up_dynamic_security(&self, terminal_acls: &[(&'static str, String)]) {
        let mut commands: Vec<Vec<String>> = Vec::new();
        let mut add = |args: &[&str]| commands.push(args.iter().map(|a| a.to_string()).collect());
        for (user, pw) in USERS {
            add(&["createClient", user, "-p", pw]);
            add(&["createRole", user]);
            add(&["addClientRole", user, user]);
        }
        for acltype in ["publishClientSend", "subscribePattern"] {
            add(&["addRoleACL", APP, acltype, "#", "allow"]);
        }
        for (acltype, topic) in terminal_acls {
            add(&["addRoleACL", TERMINAL, acltype, topic, "allow"]);
        }
        let (admin, admin_pw) = DYNSEC_ADMIN;
        for args in commands {
            let mut cmd = Command::new("mosquitto_ctrl");
            cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-u", admin, "-P", admin_pw, "dynsec"])
                .args(&args);
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "mosquitto_ctrl dynsec {args:?}: {out:?}"
            );
        }
    }

    /// The CA a client must trust (TLS brokers).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// `mqtt.url` for this broker.
    pub fn url(&self) -> String {
        if self.tls {
            format!("mqtts://localhost:{}", self.port)
        } else {
            format!("mqtt://127.0.0.1:{}", self.port)
        }
    }

    /// The broker's own log (`log_type all`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default()
    }

    /// Starts the broker (again, on the same port) and waits until it listens.
    pub fn resume_service(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(self.dir.path().join("stderr.log")).unwrap())
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        let port = self.port;
        let up = wait_for(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        assert!(
            up.is_some(),
            "mosquitto did not listen on {port}: {}",
            fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
        );
    }

    /// Stops the broker (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// SIGSTOP / SIGCONT: a broker that accepted the connection and stalls.
    pub fn freeze(&self, frozen: bool) {
        let child = self.child.as_ref().expect("broker running");
        let sig = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    }

    fn client_args(&self, cmd: &mut Command, user: &str, password: &str) {
        cmd.args(["-h", if self.tls { "localhost" } else { "127.0.0.1" }])
            .args(["-p", &self.port.to_string()])
            .args(["-u", user, "-P", password, "-V", "mqttv311"]);
        if self.tls {
            cmd.arg("--cafile").arg(self.ca_file());
        }
    }

    /// Publishes `payload` (QoS 1) as `user`; waits until the broker took it.
    pub fn publish_as(
        &self,
        user: &str,
        password: &str,
        topic: &str,
        payload: &[u8],
        retain: bool,
    ) {
        let file = self
            .dir
            .path()
            .join(format!("payload-{}", fastrand::u64(..)));
        fs::write(&file, payload).unwrap();
        let mut cmd = Command::new("mosquitto_pub");
        self.client_args(&mut cmd, user, password);
        cmd.args(["-q", "1", "-t", topic]).arg("-f").arg(&file);
        if retain {
            cmd.arg("-r");
        }
        let out = cmd.output().unwrap();
        let _ = fs::remove_file(&file);
        assert!(out.status.success(), "mosquitto_pub {topic}: {out:?}");
    }

    /// Publishes as the app.
    pub fn publish(&self, topic: &str, payload: &[u8]) {
        self.publish_as(APP, APP_PASSWORD, topic, payload, false);
    }

    /// Subscribes as the app to `filter`, until dropped.
    pub fn subscribe(&self, filter: &str) -> Subscriber {
        let out = self
            .dir
            .path()
            .join(format!("sub-{}.txt", fastrand::u64(..)));
        // Subscribed once the broker logged its SUBSCRIBE for this filter: counted before the
        // client starts, since it may subscribe before this thread reads the log again.
        let log_has = || self.log().matches(&format!("{filter} (QoS 1)")).count();
        let before = log_has();
        let mut cmd = Command::new("mosquitto_sub");
        self.client_args(&mut cmd, APP, APP_PASSWORD);
        // Retain flag, topic and the payload in hex: one line per message,
        // whatever the payload holds.
        cmd.args(["-q", "1", "-t", filter, "-F", "%r %t %x"])
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(Stdio::null());
        let sub = Subscriber {
            child: cmd.spawn().expect("mosquitto_sub starts"),
            out,
        };
        wait_for(Duration::from_secs(10), || {
            (log_has() > before).then_some(())
        })
        .unwrap_or_else(|| {
            panic!(
                "mosquitto_sub never subscribed to {filter}:\n{}",
                self.log()
            )
        });
        sub
    }

    /// The retained message on `topic`, if any (as the app sees it now).
    pub fn retained(&self, topic: &str) -> Option<Message> {
        let mut cmd = Command::new("mosquitto_sub");
        self.client_args(&mut cmd, APP, APP_PASSWORD);
        cmd.args([
            "-t",
            topic,
            "-F",
            "%r %t %x",
            "--retained-only",
            "-C",
            "1",
            "-W",
            "2",
        ]);
        let out = cmd.output().unwrap();
        parse_lines(&String::from_utf8_lossy(&out.stdout))
            .into_iter()
            .next()
    }

    /// Waits until the retained message on `topic` satisfies `pred`.
    pub fn wait_retained(&self, topic: &str, pred: impl Fn(&Message) -> bool) -> Message {
        let mut last = None;
        wait_for(Duration::from_secs(20), || {
            last = self.retained(topic);
            last.clone().filter(|m| pred(m))
        })
        .unwrap_or_else(|| panic!("retained {topic} never as expected; last: {last:?}"))
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A frozen broker would not see SIGTERM.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGCONT) };
        }
        self.stop();
    }
}

/// A live `mosquitto_sub`.
pub struct Subscriber {
    child: Child,
    out: PathBuf,
}

impl Subscriber {
    pub fn messages(&self) -> Vec<Message> {
        parse_lines(&fs::read_to_string(&self.out).unwrap_or_default())
    }

    /// Waits until `count` messages on `topic` have arrived; returns them.
    pub fn wait_on(&self, topic: &str, count: usize) -> Vec<Message> {
        let on = || -> Vec<Message> {
            self.messages()
                .into_iter()
                .filter(|m| m.topic == topic)
                .collect()
        };
        wait_for(Duration::from_secs(20), || {
            let got = on();
            (got.len() >= count).then_some(got)
        })
        .unwrap_or_else(|| panic!("{count} messages on {topic} never came; got {:?}", on()))
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_lines(text: &str) -> Vec<Message> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            let retained = parts.next()? == "1";
            let topic = parts.next()?.to_owned();
            let hex = parts.next().unwrap_or("");
            let payload = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect();
            Some(Message {
                retained,
                topic,
                payload,
            })
        })
        .collect()
}

/// Debian's dynamic security plugin (in mosquitto's package, under the multiarch directory).
fn dynamic_security_plugin() -> PathBuf {
    let found = fs::read_dir("/usr/lib").ok().and_then(|dirs| {
        dirs.flatten()
            .map(|d| d.path().join("mosquitto_dynamic_security.so"))
            .find(|p| p.exists())
    });
    found.expect("mosquitto_dynamic_security.so is not under /usr/lib/*/ (Debian's mosquitto)")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `[mqtt]` lines for this broker with the terminal's credentials.
pub fn mqtt_section(broker: &Broker, password_file: &Path, extra: &str) -> String {
    let ca = if broker.tls {
        format!("ca_file = \"{}\"\n", broker.ca_file().display())
    } else {
        String::new()
    };
    format!(
        "\n[mqtt]\nurl = \"{}\"\nusername = \"{TERMINAL}\"\npassword_file = \"{}\"\n{ca}\
         reconnect_min_ms = 200\nreconnect_max_ms = 1600\n{extra}",
        broker.url(),
        password_file.display()
    )
}
