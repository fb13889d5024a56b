//! The indicator task: plays the latest [`Pattern`] on a [`LedDriver`].
//!
//! Callers never wait: [`IndicatorHandle::show`] only replaces the value in a
//! `tokio::sync::watch` channel, and the task switches at once, mid-step
//! (holding a line dark for a moment where the new pattern's first flash would
//! come too soon after the old one's last: `flash_limit.rs`).
//! The LEDs end dark on every exit path: [`IndicatorHandle::shutdown`]
//! switches them off and waits for it; dropping the handle makes the task do
//! the same; and if the runtime itself is torn down (the daemon leaving on an
//! error), dropping the task drops the driver, whose `Drop` switches its
//! lines off (see `led_lines.rs`).

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::error::GpioError;
use super::flash_limit::FlashLimit;
use super::patterns::{Layout, Levels, OFF, Pattern, Repeat};

/// What drives the LED lines. `levels` has meaning for the first
/// `layout.width()` entries; `true` is lit.
pub trait LedDriver: Send + 'static {
    fn set(&mut self, levels: Levels) -> Result<(), GpioError>;
    /// Tries to get the lines back after a failed `set` (chip reappeared...).
    fn recover(&mut self) -> Result<(), GpioError> {
        Ok(())
    }
}

/// How often a failed driver is asked to recover.
const RECOVER_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Show { pattern: Pattern, then: Pattern },
    Shutdown,
}

/// The daemon's side of the indicator. Cheap to call from anywhere.
pub struct IndicatorHandle {
    commands: Option<watch::Sender<Command>>,
    task: Option<JoinHandle<()>>,
    fault: watch::Receiver<Option<GpioError>>,
}

impl IndicatorHandle {
    /// An indicator with no LEDs (`kind = "none"`): every call does nothing.
    pub fn disabled() -> Self {
        let (_, fault) = watch::channel(None);
        IndicatorHandle {
            commands: None,
            task: None,
            fault,
        }
    }

    /// Shows `pattern`; a 3-second pattern then returns to `Off`.
    pub fn show(&self, pattern: Pattern) {
        self.show_then(pattern, Pattern::Off);
    }

    /// Shows `pattern`; a 3-second pattern then continues with `then`
    /// (e.g. `Queued` while the terminal is still offline).
    pub fn show_then(&self, pattern: Pattern, then: Pattern) {
        if let Some(tx) = &self.commands {
            tx.send_replace(Command::Show { pattern, then });
        }
    }

    /// The last error driving the lines, `None` while they work.
    pub fn fault(&self) -> Option<GpioError> {
        self.fault.borrow().clone()
    }

    /// Switches the LEDs off and waits until they are.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.commands.take() {
            tx.send_replace(Command::Shutdown);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Starts the task on the current tokio runtime, showing `Off`.
pub fn spawn<D: LedDriver>(driver: D, layout: Layout) -> IndicatorHandle {
    let (tx, rx) = watch::channel(Command::Show {
        pattern: Pattern::Off,
        then: Pattern::Off,
    });
    let (fault_tx, fault) = watch::channel(None);
    let player = Player {
        driver,
        layout,
        shown: None,
        failed_at: None,
        fault: fault_tx,
        flashes: FlashLimit::default(),
    };
    let task = tokio::spawn(player.run(rx));
    IndicatorHandle {
        commands: Some(tx),
        task: Some(task),
        fault,
    }
}

struct Player<D> {
    driver: D,
    layout: Layout,
    /// What the lines show now, to write only changes.
    shown: Option<Levels>,
    /// When the driver last failed, to pace recovery attempts.
    failed_at: Option<Instant>,
    fault: watch::Sender<Option<GpioError>>,
    /// At most three flashes a second, also across a switch of pattern.
    flashes: FlashLimit,
}

enum Played {
    /// A once-program ran to its end.
    Finished,
    /// A new command arrived.
    Replaced,
    /// The handle is gone.
    Closed,
}

impl<D: LedDriver> Player<D> {
    async fn run(mut self, mut rx: watch::Receiver<Command>) {
        'commands: loop {
            let (mut pattern, then) = match *rx.borrow_and_update() {
                Command::Show { pattern, then } => (pattern, then),
                Command::Shutdown => break,
            };
            loop {
                match self.play(pattern, &mut rx).await {
                    Played::Finished => pattern = then,
                    Played::Replaced => continue 'commands,
                    Played::Closed => break 'commands,
                }
            }
        }
        // Dark on the way out, even while the driver is in its recovery pause.
        if self.shown != Some(OFF)
            && let Err(e) = self.driver.set(OFF)
        {
            log::warn!("indicator: cannot switch the LEDs off: {e}");
        }
    }

    async fn play(&mut self, pattern: Pattern, rx: &mut watch::Receiver<Command>) -> Played {
        let program = pattern.program(self.layout);
        // A steady pattern needs no timer: set it and wait for the next command.
        if program.repeat == Repeat::Forever
            && program
                .steps
                .iter()
                .all(|s| s.levels == program.steps[0].levels)
        {
            return self.hold(program.steps[0].levels, None, rx).await;
        }
        loop {
            for step in &program.steps {
                match self.hold(step.levels, Some(step.duration), rx).await {
                    Played::Finished => {}
                    other => return other,
                }
            }
            if program.repeat == Repeat::Once {
                return Played::Finished;
            }
        }
    }

    /// Shows `levels` for `duration` (until a command if `None`). A flash the limit does not
    /// allow yet waits in the dark, and the step then runs its whole length: a pattern cutting
    /// into another starts up to a third of a second late rather than losing a flash. While the
    /// driver fails, the lines are retried every [`RECOVER_EVERY`].
    async fn hold(
        &mut self,
        levels: Levels,
        duration: Option<Duration>,
        rx: &mut watch::Receiver<Command>,
    ) -> Played {
        loop {
            let (allowed, ask_again) = self.flashes.admit(levels, Instant::now());
            self.set(allowed);
            let Some(at) = ask_again else { break };
            match self.wait_for_command(rx, Some(at)).await {
                Played::Finished => {}
                other => return other,
            }
        }
        let end = duration.map(|d| Instant::now() + d);
        loop {
            let retry = self.failed_at.map(|_| Instant::now() + RECOVER_EVERY);
            let wake = [end, retry].into_iter().flatten().min();
            match self.wait_for_command(rx, wake).await {
                Played::Finished if end.is_none_or(|e| Instant::now() < e) => self.set(levels),
                other => return other,
            }
        }
    }

    /// Waits until `deadline` (forever if `None`) unless a command arrives first.
    async fn wait_for_command(
        &mut self,
        rx: &mut watch::Receiver<Command>,
        deadline: Option<Instant>,
    ) -> Played {
        let changed = async {
            match rx.changed().await {
                Ok(()) => Played::Replaced,
                Err(_) => Played::Closed,
            }
        };
        match deadline {
            None => changed.await,
            Some(at) => tokio::select! {
                played = changed => played,
                () = tokio::time::sleep_until(at) => Played::Finished,
            },
        }
    }

    fn set(&mut self, levels: Levels) {
        if self.shown == Some(levels) {
            return;
        }
        if let Some(at) = self.failed_at {
            if at.elapsed() < RECOVER_EVERY {
                return;
            }
            if let Err(e) = self.driver.recover() {
                self.failed(e);
                return;
            }
        }
        match self.driver.set(levels) {
            Ok(()) => {
                self.shown = Some(levels);
                if self.failed_at.take().is_some() {
                    log::info!("indicator: LED lines work again");
                    self.fault.send_replace(None);
                }
            }
            Err(e) => self.failed(e),
        }
    }

    fn failed(&mut self, e: GpioError) {
        self.shown = None;
        self.failed_at = Some(Instant::now());
        // Log each distinct error once, not at the blink rate.
        if self.fault.borrow().as_ref() != Some(&e) {
            log::warn!("indicator: {e}");
            self.fault.send_replace(Some(e));
        }
    }
}
