//! The loop, driven through fakes of its ports: a scripted camera and
//! IDMeta, a recording LED, the real store on a temporary directory. What
//! is checked is what the loop carries out: requests made, records left on
//! disk, tickets, LED patterns, how it stops.

use std::collections::VecDeque;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::ports::{Camera, Indicator, Press, Registrar, Shot, ShotError, TriggerControl};
use super::{Devices, Setup};
use crate::api::{Finalized, Outcome};
use crate::machine::Pattern;
use crate::queue::{Now, Queue, QueueKey};
use crate::tickets::{Ticket, Tickets};

/// A camera that answers from a script; `Stall` blocks until released.
enum Take {
    Jpeg,
    Retake,
    /// No well-placed face before the face check's deadline.
    NoFace,
    /// A frame passed, then its JPEG could not be made (over the byte cap, say), after `delay`.
    PassedThenFailed(Duration),
    Stall(std::sync::mpsc::Receiver<()>),
}

struct FakeCamera(Arc<Mutex<VecDeque<Take>>>);

impl Camera for FakeCamera {
    fn shoot(
        &mut self,
        _: usize,
        _: Option<Duration>,
        _: &mut dyn FnMut(super::ports::Live),
        passed: &mut dyn FnMut(),
    ) -> Result<Shot, ShotError> {
        let take = self.0.lock().unwrap().pop_front().unwrap_or(Take::Jpeg);
        if matches!(take, Take::Jpeg | Take::PassedThenFailed(_)) {
            passed();
        }
        match take {
            Take::PassedThenFailed(delay) => {
                std::thread::sleep(delay);
                Err(ShotError::Failed(
                    "the JPEG does not fit the byte cap".into(),
                ))
            }
            Take::Jpeg => Ok(Shot {
                jpeg: b"\xff\xd8 a face \xff\xd9".to_vec(),
                width: 4,
                height: 4,
                format: crate::camera::PixelFormat::Mjpeg,
                quality: None,
                sharpness: 1.0,
                luma: 128.0,
                burst: 1,
                face_checks: 0,
                timings: Default::default(),
            }),
            Take::Retake => Err(ShotError::Retake("too dark".into())),
            Take::NoFace => Err(ShotError::NoFace {
                reason: crate::face::Refusal::OffCentre,
                checked: 12,
                detail: "no frame showed one well-placed face".into(),
            }),
            Take::Stall(release) => {
                let _ = release.recv();
                Err(ShotError::Failed("released".into()))
            }
        }
    }

    fn recover(&mut self) -> Result<(), crate::camera::CameraError> {
        Ok(())
    }
}

struct FakeLeds(Arc<Mutex<Vec<Pattern>>>);

impl Indicator for FakeLeds {
    fn show(&self, pattern: Pattern) {
        self.0.lock().unwrap().push(pattern);
    }
    fn fault(&self) -> Option<crate::gpio::GpioError> {
        None
    }
    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async {})
    }
}

struct NoTrigger;

impl TriggerControl for NoTrigger {
    fn enrollment_finished(&self) {}
    fn fault(&self) -> Option<crate::gpio::GpioError> {
        None
    }
}

/// IDMeta from a script of register answers (then `registered`), each
/// after `delay`; it records the usernames it was sent, counts the
/// verifications it created (each after `create_delay`) and records those
/// finalized.
#[derive(Default)]
struct FakeApi {
    answers: Mutex<VecDeque<Outcome>>,
    delay: Mutex<Duration>,
    create_delay: Mutex<Duration>,
    registered: Mutex<Vec<String>>,
    creates: AtomicUsize,
    finalized: Mutex<Vec<String>>,
}

impl FakeApi {
    /// Every call made, of any kind.
    fn calls(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
            + self.registered.lock().unwrap().len()
            + self.finalized.lock().unwrap().len()
    }
}

impl Registrar for FakeApi {
    fn create_verification(&self) -> Result<String, Outcome> {
        std::thread::sleep(*self.create_delay.lock().unwrap());
        let n = self.creates.fetch_add(1, Ordering::SeqCst);
        Ok(format!("v-{n}"))
    }

    fn register(&self, _: &[u8], username: &str, _: &str) -> Outcome {
        std::thread::sleep(*self.delay.lock().unwrap());
        self.registered.lock().unwrap().push(username.to_owned());
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Outcome::Registered {
                face_id: "face".into(),
                associated_verification_id: None,
                image_url: None,
                timestamp: None,
            })
    }

    fn finalize(&self, verification_id: &str) -> Result<Finalized, Outcome> {
        self.finalized
            .lock()
            .unwrap()
            .push(verification_id.to_owned());
        Ok(Finalized {
            finalized: Some(true),
            status: Some("4".into()),
            status_message: Some("INCOMPLETE".into()),
        })
    }
}

struct Terminal {
    dir: tempfile::TempDir,
    api: Arc<FakeApi>,
    takes: Arc<Mutex<VecDeque<Take>>>,
    leds: Arc<Mutex<Vec<Pattern>>>,
    presses: mpsc::Sender<Press>,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<Result<(), super::DaemonError>>>,
}

/// The unit terminal's configuration with `trigger` as its `[trigger]` lines (the trigger
/// itself is a fake: only the kind matters to the loop).
fn config_with_trigger(dir: &Path, template: bool, trigger: &str) -> String {
    let d = dir.display();
    let template = if template {
        "username_template = \"t-{seq}\"\n"
    } else {
        ""
    };
    format!(
        r#"[terminal]
id = "unit"
{template}
[api]
base_url = "https://idmeta.invalid"
template_id = "tpl"
request_timeout_ms = 1000
connect_timeout_ms = 500

[trigger]
{trigger}

[camera]
source = "simulated"
dequeue_timeout_ms = 100
warmup_frames = 0
burst = 1

[status]
path = "{d}/status.json"

[queue]
dir = "{d}/queue"
backoff_base_ms = 100
backoff_max_ms = 200

[control]
socket = "{d}/control.sock"
tickets_file = "{d}/tickets.json"
"#
    )
}

impl Terminal {
    async fn start(template: bool, tickets: &[&str]) -> Terminal {
        Terminal::start_with(template, tickets, "kind = \"none\"").await
    }

    async fn start_with(template: bool, tickets: &[&str], trigger: &str) -> Terminal {
        let dir = tempfile::tempdir().unwrap();
        let text = config_with_trigger(dir.path(), template, trigger);
        let config = crate::config::parse(&text, Path::new("t.toml")).expect("test config");
        let mut t = Tickets::open(&config.control.tickets_file, 10).unwrap();
        for name in tickets {
            t.push(Ticket::new(name, None).unwrap()).unwrap();
        }
        let api = Arc::new(FakeApi::default());
        let takes = Arc::new(Mutex::new(VecDeque::new()));
        let leds = Arc::new(Mutex::new(Vec::new()));
        let (presses, rx) = mpsc::channel(4);
        let devices = Devices {
            presses: rx,
            trigger: Box::new(NoTrigger),
            indicator: Box::new(FakeLeds(leds.clone())),
            camera: Box::new(FakeCamera(takes.clone())),
            display: Box::new(super::devices::NoScreen),
            initial_faults: Vec::new(),
        };
        let setup = Setup {
            config,
            api: api.clone(),
            config_path: None,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(super::run(setup, devices, async move {
            let _ = stopped.await;
        }));
        let term = Terminal {
            dir,
            api,
            takes,
            leds,
            presses,
            stop: Some(stop),
            done: Some(done),
        };
        term.until("ready", |t| t.state() == "idle").await;
        term
    }

    fn status(&self) -> serde_json::Value {
        std::fs::read(self.dir.path().join("status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn state(&self) -> String {
        self.status()["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn counter(&self, code: &str) -> u64 {
        self.status()["counters"][code].as_u64().unwrap_or(0)
    }

    async fn until(&self, what: &str, done: impl Fn(&Terminal) -> bool) {
        for _ in 0..400 {
            if done(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}; status {}", self.status());
    }

    async fn press(&self) {
        self.presses.send(Press::injected()).await.unwrap();
    }

    async fn stop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.done.take().unwrap().await.unwrap().unwrap();
    }

    /// The records on disk, read as `enrolld queue list` would once stopped.
    fn records(&self) -> Vec<crate::queue::Listed> {
        let key = std::fs::read(self.dir.path().join("queue/queue.key")).unwrap();
        let key = QueueKey::from_bytes(key.try_into().expect("a 32-byte key"));
        let cfg = crate::queue::QueueConfig {
            dir: self.dir.path().join("queue"),
            ..Default::default()
        };
        Queue::open_with_key(&cfg, key).unwrap().list(&Now::read())
    }

    fn tickets(&self) -> Vec<String> {
        Tickets::open(&self.dir.path().join("tickets.json"), 10)
            .unwrap()
            .iter()
            .map(|t| t.username.clone())
            .collect()
    }
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_press_registers_once_under_the_ticket_s_name() {
    multi_thread().block_on(async {
        let mut t = Terminal::start(false, &["ann"]).await;
        t.press().await;
        t.until("registered", |t| t.counter("registered") == 1)
            .await;
        t.stop().await;
        assert_eq!(*t.api.registered.lock().unwrap(), ["ann"]);
        assert!(t.records().is_empty(), "nothing left on disk");
        assert!(t.tickets().is_empty(), "the ticket was used");
        let leds = t.leds.lock().unwrap().clone();
        assert!(
            leds.contains(&Pattern::Busy) && leds.contains(&Pattern::Success),
            "{leds:?}"
        );
        assert_eq!(leds.last(), Some(&Pattern::Off));
    });
}

#[test]
fn a_gateway_timeout_is_recorded_as_unknown_and_never_sent_again() {
    multi_thread().block_on(async {
        let mut t = Terminal::start(false, &["ann", "bob"]).await;
        t.api
            .answers
            .lock()
            .unwrap()
            .push_back(Outcome::ServerError {
                status: 504,
                retry_after_s: None,
            });
        t.press().await;
        t.until("unknown", |t| t.counter("unknown_delivery") == 1)
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        t.stop().await;
        assert_eq!(*t.api.registered.lock().unwrap(), ["ann"], "sent once");
        let records = t.records();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].username, "ann");
        assert_eq!(records[0].state, crate::queue::ListedState::Unknown);
        assert_eq!(t.tickets(), ["bob"], "ann's name is never bound again");
    });
}

#[test]
fn a_retake_gives_the_ticket_back_to_the_same_person() {
    multi_thread().block_on(async {
        let mut t = Terminal::start(false, &["ann", "bob"]).await;
        t.takes.lock().unwrap().push_back(Take::Retake);
        t.press().await;
        t.until("retake", |t| t.counter("retake") == 1).await;
        assert_eq!(t.tickets(), ["ann", "bob"]);
        t.until("idle again", |t| t.state() == "idle").await;
        t.press().await;
        t.until("registered", |t| t.counter("registered") == 1)
            .await;
        t.stop().await;
        assert_eq!(*t.api.registered.lock().unwrap(), ["ann"]);
        assert_eq!(t.tickets(), ["bob"]);
    });
}

#[test]
fn no_face_after_the_presence_sensor_goes_back_to_rest_quietly() {
    multi_thread().block_on(async {
        let trigger = "kind = \"presence\"\nline = \"presence\"";
        let mut t = Terminal::start_with(false, &["ann"], trigger).await;
        t.takes.lock().unwrap().push_back(Take::NoFace);
        // From the sensor's line (kernel timestamps), not pushed in.
        t.presses.send(Press::from_line(1, 2)).await.unwrap();
        t.until("nobody", |t| t.counter("nobody") == 1).await;
        t.until("idle", |t| t.state() == "idle").await;
        let status = t.status();
        assert_eq!(status["face"]["refused"]["off_centre"], 1, "{status}");
        assert_eq!(status["face"]["frames_checked"], 12, "{status}");
        assert_eq!(t.counter("retake"), 0);
        // A control-socket trigger is someone asking: no face is then a retake.
        t.takes.lock().unwrap().push_back(Take::NoFace);
        t.press().await;
        t.until("retake", |t| t.counter("retake") == 1).await;
        t.stop().await;
        assert!(t.api.registered.lock().unwrap().is_empty(), "nothing sent");
        assert_eq!(t.tickets(), ["ann"], "the ticket waits for its person");
        let leds = t.leds.lock().unwrap().clone();
        let retakes = leds.iter().filter(|p| **p == Pattern::Retake).count();
        assert_eq!(retakes, 1, "only the asked press shows a retake: {leds:?}");
    });
}

#[test]
fn a_refused_token_pauses_and_later_presses_are_queued_without_a_request() {
    multi_thread().block_on(async {
        let mut t = Terminal::start(true, &[]).await;
        t.api
            .answers
            .lock()
            .unwrap()
            .push_back(Outcome::Unauthorized { status: 401 });
        t.press().await;
        t.until("paused", |t| t.status()["queue"]["paused"] == true)
            .await;
        t.until("paused at rest", |t| t.state() == "paused").await;
        t.press().await;
        t.until("two queued", |t| t.status()["queue"]["depth"] == 2)
            .await;
        t.stop().await;
        assert_eq!(
            t.api.registered.lock().unwrap().len(),
            1,
            "one request only"
        );
        let names: Vec<String> = t.records().into_iter().map(|r| r.username).collect();
        assert_eq!(names.len(), 2);
        assert_ne!(names[0], names[1]);
    });
}

#[test]
fn stopping_waits_for_the_request_on_the_wire_and_settles_it() {
    multi_thread().block_on(async {
        let mut t = Terminal::start(true, &[]).await;
        *t.api.delay.lock().unwrap() = Duration::from_millis(700);
        t.press().await;
        t.until("submitting", |t| t.state() == "submitting").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        t.stop().await;
        assert_eq!(t.api.registered.lock().unwrap().len(), 1);
        assert!(t.records().is_empty(), "registered, so nothing is left");
        assert_eq!(t.counter("registered"), 1);
    });
}

#[test]
fn a_capture_stuck_past_its_deadline_is_a_camera_fault_and_the_ticket_returns() {
    multi_thread().block_on(async {
        let mut t = Terminal::start(false, &["ann"]).await;
        let (release, stuck) = std::sync::mpsc::channel();
        t.takes.lock().unwrap().push_back(Take::Stall(stuck));
        t.press().await;
        t.until("fault", |t| t.state() == "fault").await;
        assert_eq!(t.status()["camera"]["ok"], false);
        let detail = t.status()["camera"]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(detail.contains("did not finish within"), "{detail}");
        t.until("ticket back", |t| t.tickets() == ["ann"]).await;
        assert!(t.api.registered.lock().unwrap().is_empty());
        release.send(()).unwrap();
        t.stop().await;
    });
}

/// A press or a presence wake in which no frame passed makes no call of any kind: no
/// create-verification (the press has no ticket: the terminal would make its own), no
/// registration, no finalize.
#[test]
fn no_passing_frame_no_call_to_idmeta_of_any_kind() {
    multi_thread().block_on(async {
        let trigger = "kind = \"presence\"\nline = \"presence\"";
        let mut t = Terminal::start_with(true, &[], trigger).await;
        t.takes
            .lock()
            .unwrap()
            .extend([Take::NoFace, Take::NoFace, Take::Retake]);
        t.presses.send(Press::from_line(1, 2)).await.unwrap();
        t.until("nobody", |t| t.counter("nobody") == 1).await;
        t.until("idle", |t| t.state() == "idle").await;
        t.press().await;
        t.until("retake", |t| t.counter("retake") == 1).await;
        t.until("idle", |t| t.state() == "idle").await;
        t.press().await;
        t.until("second retake", |t| t.counter("retake") == 2).await;
        t.stop().await;
        assert_eq!(t.api.calls(), 0, "IDMeta was called");
        assert!(t.records().is_empty());
    });
}

/// A frame passed (so the verification was asked for) but its JPEG could not be made: the
/// verification is finalized, whether it came back before the capture failed or after, and a
/// stop waits for that.
#[test]
fn a_verification_no_request_will_use_is_finalized() {
    multi_thread().block_on(async {
        for create_delay in [Duration::ZERO, Duration::from_millis(400)] {
            let mut t = Terminal::start(true, &[]).await;
            *t.api.create_delay.lock().unwrap() = create_delay;
            t.takes
                .lock()
                .unwrap()
                .push_back(Take::PassedThenFailed(Duration::from_millis(100)));
            t.press().await;
            t.until("failed", |t| t.counter("capture_failed") == 1)
                .await;
            // Stopped at once: the finalize of the late one is waited for.
            t.stop().await;
            assert_eq!(t.api.creates.load(Ordering::SeqCst), 1);
            assert_eq!(
                *t.api.finalized.lock().unwrap(),
                ["v-0"],
                "{create_delay:?}"
            );
            assert!(t.api.registered.lock().unwrap().is_empty());
        }
    });
}

/// A press with a passing frame: one create-verification, the registration under it, no
/// finalize (api.finalize is off).
#[test]
fn a_passing_frame_makes_one_verification_that_the_registration_uses() {
    multi_thread().block_on(async {
        let mut t = Terminal::start(true, &[]).await;
        t.press().await;
        t.until("registered", |t| t.counter("registered") == 1)
            .await;
        t.stop().await;
        assert_eq!(t.api.creates.load(Ordering::SeqCst), 1);
        assert_eq!(t.api.calls(), 2);
    });
}
