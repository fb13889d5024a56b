//! `enrolld run`: the loop that carries out the machine's decisions.
//!
//! Everything that decides lives in [`crate::machine`] (pure, tested as
//! tables); this module only carries out its actions and feeds back what
//! happened. The loop itself never blocks: captures and HTTPS calls run on
//! blocking threads, file writes on the store's thread ([`crate::store`]),
//! and all of them come back as `Input`s, so presses, control commands,
//! signals and the watchdog are always served.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | start-up, the loop, the stop |
//! | `state.rs` | what the loop holds: the `Daemon`, the hardware, each enrollment's context, the drivers' faults |
//! | `messages.rs` | what comes back into the loop (`Input`), and why a store step or a reload failed |
//! | `executor.rs` | one machine action each: bind, capture, store, post, settle |
//! | `inputs.rs` | handling what comes back: shots, answers, store results, control commands |
//! | `faults.rs` | driver health, camera recovery, the watchdog ping |
//! | `reload.rs` | SIGHUP |
//! | `reports.rs` | log lines and counters for conclusions and deliveries |
//! | `status_view.rs` | the status file and systemd's STATUS= line |
//! | `screen_view.rs` | the screen's scene from the same state (and the live frames), for the display and `enrolld watch`; the setup view's camera preview |
//! | `delivery.rs`, `worker.rs` | the offline queue's worker, and its wiring to the current client |
//! | `submit.rs` | one registration (register, then finalize if configured), for the live path and the queue alike |
//! | `budgets.rs` | every deadline, derived from the configuration |
//! | `ports.rs`, `devices.rs` | hardware and IDMeta behind small traits; the real and simulated hardware behind them |
//! | `bridge.rs` | the control socket's handler: forwards each command into the loop and waits for its reply |
//! | `notify.rs` | the systemd notification protocol (ready, status, reloading, stopping, the watchdog) |
//! | `tests.rs` | the loop driven through fakes of its ports |
//!
//! `state.rs` and `messages.rs` hold what the other files share; the files that
//! carry out behaviour (each adds methods to `Daemon`) use them, never each
//! other's types, so uses inside the folder run one way.

mod bridge;
pub mod budgets;
pub mod delivery;
pub mod devices;
mod executor;
mod faults;
mod inputs;
mod messages;
pub mod notify;
pub mod ports;
mod reload;
mod reports;
mod screen_view;
mod state;
mod status_view;
pub mod submit;
#[cfg(test)]
mod tests;
mod worker;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use self::ports::{Camera, Display, Indicator, Press, Registrar, TriggerControl};
use self::state::{Daemon, Hardware};
use crate::config::Config;
use crate::control;
use crate::machine::{Component, Event};
use crate::shutdown;
use crate::store::{Store, StoreError, StoreHandle};

pub(crate) use messages::Input;

/// How often the loop checks driver health and pings the watchdog.
const TICK: Duration = Duration::from_secs(1);

/// The hardware, real or simulated.
pub struct Devices {
    pub presses: mpsc::Receiver<Press>,
    pub trigger: Box<dyn TriggerControl>,
    pub indicator: Box<dyn Indicator>,
    pub camera: Box<dyn Camera>,
    /// The person's screen (or none).
    pub display: Box<dyn Display>,
    /// Faults already known at start (a camera that would not open, say):
    /// the daemon starts in `fault` and recovers by itself.
    pub initial_faults: Vec<(Component, String)>,
}

/// Everything `run` needs besides the hardware.
pub struct Setup {
    pub config: Config,
    /// IDMeta: the HTTPS client, or a fake in tests.
    pub api: Arc<dyn Registrar>,
    /// Re-read on SIGHUP; `None` (the demo) means there is nothing to reload.
    pub config_path: Option<PathBuf>,
}

/// Why the daemon could not start. Once running, it does not fail: errors
/// become faults, outcomes and log lines.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("state: {0}")]
    Store(#[from] StoreError),
    #[error("control socket: {0}")]
    Control(#[from] control::server::BindError),
    #[error(transparent)]
    Status(#[from] crate::status::StatusError),
    #[error("metrics.textfile: {0}")]
    Metrics(crate::fsutil::FsError),
    #[error("cannot listen for signals: {0}")]
    Signals(String),
}

/// Runs the daemon until SIGTERM/SIGINT or until `stop` completes.
pub async fn run(
    setup: Setup,
    devices: Devices,
    stop: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let signal_err = |e: std::io::Error| DaemonError::Signals(e.to_string());
    let mut sigterm = signal(SignalKind::terminate()).map_err(signal_err)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(signal_err)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(signal_err)?;

    let Setup {
        config,
        api,
        config_path,
    } = setup;
    // Every path written at run time is proven writable before the daemon
    // says it is ready: the store (queue, tickets) and the socket below, the
    // status file and the metrics textfile here.
    crate::status::StatusWriter::new(&config.status).check()?;
    // The textfile's directory is node_exporter's: not created here (a missing
    // one means a wrong path or no node_exporter).
    if let Some(path) = &config.metrics.textfile {
        crate::fsutil::check_can_write(path).map_err(DaemonError::Metrics)?;
    }
    let (queue_config, control_config) = (config.queue.clone(), config.control.clone());
    let (store, opened) = tokio::task::spawn_blocking(move || {
        Store::open(
            &queue_config,
            &control_config.tickets_file,
            control_config.max_tickets,
        )
    })
    .await
    .expect("opening the store panicked")?;
    reports::log_store_opened(&store, &opened);
    let store = StoreHandle::spawn(store);
    let listener = control::server::bind(&config.control)?;

    let (stopper, shutdown) = shutdown::channel();
    let (inputs_tx, mut inputs) = mpsc::channel::<Input>(64);
    let (deliveries, delivery_commands) = mpsc::channel::<delivery::Command>(16);
    // What the screen shows, as `enrolld watch` lines: the latest one, for every watcher.
    let (screen_events, watchers) = tokio::sync::watch::channel(Arc::<str>::from(""));
    let control_task = tokio::spawn(control::server::run(
        listener,
        Arc::new(bridge::Bridge {
            inputs: inputs_tx.clone(),
            watchers: Some(watchers),
        }),
        shutdown.clone(),
    ));
    // MQTT requests go through the same bridge as the control socket's.
    let (feed, fleet_tasks) = crate::fleet::start(
        &config.mqtt,
        &config.metrics,
        &config.terminal.effective_id(),
        Arc::new(bridge::Bridge {
            inputs: inputs_tx.clone(),
            watchers: None,
        }),
        shutdown.clone(),
    );
    let grace = budgets::stop_grace(&config);
    let Devices {
        mut presses,
        trigger,
        indicator,
        camera,
        display,
        initial_faults,
    } = devices;
    let mut d = Daemon::new(
        config,
        api,
        store.clone(),
        Hardware {
            trigger,
            indicator,
            camera,
            display,
            initial_faults,
        },
        inputs_tx,
        deliveries,
        shutdown.clone(),
    );
    d.fleet = feed;
    d.screen.events = screen_events;
    let delivery_task = tokio::spawn(d.delivery_worker(delivery_commands));
    d.start();

    let mut tick = tokio::time::interval(d.tick_interval(TICK));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    // Set at SIGTERM: past it, what is still on the wire is left to be
    // recorded as unknown, and the daemon exits.
    let mut stop_by: Option<tokio::time::Instant> = None;
    let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
    while !d.exit() {
        let deadline = d.deadline().map(tokio::time::Instant::from_std);
        let countdown = d.screen_tick().map(tokio::time::Instant::from_std);
        tokio::select! {
            _ = sigterm.recv(), if stop_by.is_none() => stop_by = Some(d.begin_stop("SIGTERM", grace)),
            _ = sigint.recv(), if stop_by.is_none() => stop_by = Some(d.begin_stop("SIGINT", grace)),
            _ = &mut stop, if stop_by.is_none() => stop_by = Some(d.begin_stop("stop request", grace)),
            _ = tokio::time::sleep_until(stop_by.unwrap_or(far)), if stop_by.is_some() => d.give_up_waiting(),
            _ = sighup.recv() => d.reload(config_path.as_deref()),
            Some(press) = presses.recv() => drop(d.press(press)),
            Some(input) = inputs.recv() => d.input(input),
            _ = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => drop(d.handle(Event::TimerExpired)),
            _ = tokio::time::sleep_until(countdown.unwrap_or(far)), if countdown.is_some() => d.show_scene(),
            _ = tick.tick() => d.tick(),
        }
    }

    // The workers stop now (the delivery worker between deliveries). What
    // is left of the grace bounds the wait for a send in progress; whatever
    // is still in flight then becomes an unknown delivery, recorded now
    // rather than found at the next start.
    stopper.stop();
    let _ = control_task.await;
    // The MQTT client says `offline` within its own bound.
    for task in fleet_tasks {
        let _ = task.await;
    }
    let give_up = stop_by.unwrap_or_else(|| tokio::time::Instant::now() + grace);
    if tokio::time::timeout_at(give_up, delivery_task)
        .await
        .is_err()
    {
        log::warn!("the queue's delivery in progress did not finish in time");
    }
    let unknown = store
        .run(|s| s.queue_mut().in_flight_to_unknown("stopped"))
        .await;
    reports::log_stopped_in_flight(unknown);
    store.close().await;
    d.finish().await;
    Ok(())
}
