//! What the daemon's loop holds: the hardware, each enrollment's context,
//! the drivers' faults, and the `Daemon` itself. The files that carry out
//! behaviour (executor, inputs, faults, reload, status_view, worker) each add
//! methods to `Daemon` and use this file, never each other's types.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::budgets;
use super::delivery::Command as DeliveryCommand;
use super::messages::Input;
use super::notify::Notifier;
use super::ports::{Camera, Display, Indicator, Live, Registrar, TriggerControl};
use crate::api::Outcome;
use crate::config::Config;
use crate::machine::{Component, Event, Machine};
use crate::shutdown::Shutdown;
use crate::status::{BackgroundWriter, Status};
use crate::store::StoreHandle;

/// The hardware the executor drives.
pub(super) struct Hardware {
    pub trigger: Box<dyn TriggerControl>,
    pub indicator: Box<dyn Indicator>,
    pub camera: Box<dyn Camera>,
    pub display: Box<dyn Display>,
    pub initial_faults: Vec<(Component, String)>,
}

/// What the executor knows of one enrollment, for carrying out its actions
/// and for the log line that concludes it.
#[derive(Debug, Default)]
pub(super) struct Context {
    pub username: Option<String>,
    pub verification_id: Option<String>,
    /// Held from the capture until the request has been sent.
    pub jpeg: Option<Vec<u8>>,
    pub stages_ms: BTreeMap<String, u64>,
    pub started: Option<Instant>,
    /// The ticket's request `transaction`, when it came with one.
    pub transaction: Option<String>,
    /// IDMeta's answer, once there is one.
    pub outcome: Option<Outcome>,
    /// Why the capture or the storage failed, in words.
    pub problem: Option<String>,
    /// The face check's reason, when no frame passed it.
    pub face_reason: Option<crate::face::Refusal>,
    /// The press came from the presence sensor: no face means someone walked past, not a
    /// retake.
    pub from_sensor: bool,
}

impl Context {
    pub fn stage(&mut self, name: &str, took: Duration) {
        self.stages_ms.insert(
            name.to_owned(),
            u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        );
    }
}

pub(super) struct Daemon {
    pub config: Config,
    pub api: Arc<RwLock<Arc<dyn Registrar>>>,
    pub store: StoreHandle,
    pub machine: Machine,
    pub status: Status,
    pub status_file: BackgroundWriter,
    pub trigger: Box<dyn TriggerControl>,
    pub indicator: Option<Box<dyn Indicator>>,
    pub camera: Arc<Mutex<Box<dyn Camera>>>,
    pub display: Option<Box<dyn Display>>,
    /// What the screen shows, beyond the machine's state (`screen_view`).
    pub screen: ScreenState,
    pub inputs: mpsc::Sender<Input>,
    pub deliveries: mpsc::Sender<DeliveryCommand>,
    pub shutdown: Shutdown,
    pub notifier: Notifier,
    pub attempts: HashMap<u64, Context>,
    /// The kernel's timestamp of the press being handled, if it has one.
    pub press_edge: Option<u64>,
    /// Attempts whose record (and ticket) is being given back in the store.
    pub releasing: HashSet<u64>,
    pub faults: Faults,
    /// Status changes and finished enrollments for MQTT and the metrics file.
    pub fleet: crate::fleet::Feed,
    initial_faults: Vec<(Component, String)>,
    exit: bool,
}

impl Daemon {
    pub fn new(
        config: Config,
        api: Arc<dyn Registrar>,
        store: StoreHandle,
        hw: Hardware,
        inputs: mpsc::Sender<Input>,
        deliveries: mpsc::Sender<DeliveryCommand>,
        shutdown: Shutdown,
    ) -> Daemon {
        let now = Instant::now();
        let mut status = Status::starting(&config.terminal.effective_id(), crate::time::unix_now());
        status.face = config.face.enabled.then(crate::status::FaceStatus::default);
        let mut machine = Machine::new(now, budgets::budgets(&config));
        machine.set_see_reception(config.terminal.see_reception);
        Daemon {
            status,
            status_file: BackgroundWriter::spawn(&config.status),
            machine,
            config,
            api: Arc::new(RwLock::new(api)),
            store,
            trigger: hw.trigger,
            indicator: Some(hw.indicator),
            camera: Arc::new(Mutex::new(hw.camera)),
            display: Some(hw.display),
            screen: ScreenState::default(),
            inputs,
            deliveries,
            shutdown,
            notifier: Notifier::from_env(),
            attempts: HashMap::new(),
            press_edge: None,
            releasing: HashSet::new(),
            faults: Faults::default(),
            fleet: crate::fleet::Feed::default(),
            initial_faults: hw.initial_faults,
            exit: false,
        }
    }

    /// Faults known at start, then ready.
    pub fn start(&mut self) {
        for (component, detail) in std::mem::take(&mut self.initial_faults) {
            self.raise_fault(component, detail);
        }
        self.handle(Event::Ready);
        self.notifier.ready(&self.summary());
        log::info!(
            "enrolld {} ready: terminal {}, state {}",
            env!("CARGO_PKG_VERSION"),
            self.status.terminal_id,
            self.machine.state().name()
        );
    }

    pub fn exit(&self) -> bool {
        self.exit
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.machine.deadline()
    }

    /// The loop ends after this turn (the machine said so, or the stop's grace ran out).
    pub fn end_loop(&mut self) {
        self.exit = true;
    }
}

/// What the screen shows beyond the machine's state, held between events. Frames are faces:
/// each is let go as soon as the screen stops showing it (at rest at the latest).
#[derive(Debug)]
pub(super) struct ScreenState {
    /// The latest frame the face check looked at, and the attempt it belongs to (0: the setup
    /// view's preview).
    pub live: Option<(u64, Live)>,
    /// The capture's own frame, shown while sending and with the result.
    pub still: Option<Arc<crate::camera::Frame>>,
    /// When the face check of the capture in progress gives up (the countdown's end).
    pub capture_deadline: Option<Instant>,
    /// What the result screen says, kept when the enrollment's context goes: the reason to
    /// try again and the name (only with `display.show_name`).
    pub reason: Option<crate::prompt::PromptKey>,
    pub name: Option<String>,
    /// The setup view is on until then.
    pub setup_until: Option<Instant>,
    pub preview: Preview,
    /// When the latest checked frames came (frames per second in the setup view).
    pub checked_at: std::collections::VecDeque<Instant>,
    /// The last scene handed to the display and the watchers.
    pub last: Option<crate::screen::Scene>,
    /// The watchers' channel: the last scene as an `enrolld watch` line.
    pub events: tokio::sync::watch::Sender<Arc<str>>,
}

impl Default for ScreenState {
    fn default() -> Self {
        ScreenState {
            live: None,
            still: None,
            capture_deadline: None,
            reason: None,
            name: None,
            setup_until: None,
            preview: Preview::default(),
            checked_at: std::collections::VecDeque::new(),
            last: None,
            events: tokio::sync::watch::channel(Arc::<str>::from("")).0,
        }
    }
}

/// The setup view's camera preview, run on a blocking thread while the terminal is idle.
#[derive(Debug, Default)]
pub(super) struct Preview {
    pub running: bool,
    /// Set to end it (a press, the view turned off).
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    /// After a failure: not again before then.
    pub not_before: Option<Instant>,
}

/// The drivers' faults, and the camera's recovery ([`super::faults`] acts on them).
#[derive(Debug, Default)]
pub(super) struct Faults {
    pub camera: Option<String>,
    pub gpio: Option<String>,
    pub recovery: Recovery,
}

#[derive(Debug, Default)]
pub(super) struct Recovery {
    pub running: bool,
    pub next_try: Option<Instant>,
    pub backoff: Duration,
}
