//! Where an enrollment's capture goes, and how an enrollment ends.

use std::time::Duration;

use super::fate::Fate;

/// Where a capture goes when it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Durable as "sending", then sent at once.
    Send,
    /// Queued, to be sent by the delivery worker, not before `not_before`.
    Queue { not_before: Option<Duration> },
}

/// How an enrollment ended, for the log, the counters and the status file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    /// A request was sent; this is its fate. `deadline_passed`: no answer
    /// came within the submit budget (the fate is then unknown).
    Sent { fate: Fate, deadline_passed: bool },
    /// Stored straight into the queue without a request.
    Queued(QueuedBecause),
    /// Nothing sent: the face was not usable, the person presses again.
    Retake,
    /// Nothing sent: the presence sensor fired but no face came before the deadline.
    Nobody,
    /// Nothing sent: no usable frame.
    CaptureFailed,
    /// Nothing sent: the camera is broken (or stuck past its deadline).
    CameraFault,
    /// Nothing sent: the record could not be written (disk full, ...).
    NotStored,
    /// Nothing sent: stopping cancelled the capture.
    Stopped,
}

/// Why an enrollment went to the queue without being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuedBecause {
    /// The wall clock is before the build date (TLS would fail).
    Clock,
    /// Deliveries are paused (token or URL refused).
    Paused,
    /// create-verification failed; the registration never left.
    CreateFailed,
    /// No verification id could be made ready (created later, when sent).
    NoVerification,
    /// The daemon is stopping: no new requests.
    Stopping,
}
