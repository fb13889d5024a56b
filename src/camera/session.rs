//! The capture loop shared by the real and the simulated camera: open on
//! demand or keep streaming, warm up, take a burst of fresh frames, and on a
//! timeout or an error drop the stream and reopen with backoff.
//!
//! A [`FrameSource`] only knows how to open a stream and hand out the next
//! frame within a timeout; every policy lives here so that the simulated
//! camera exercises exactly the logic the V4L2 one runs.

use std::time::Duration;

use super::Camera;
use super::config::{CameraConfig, CaptureMode};
use super::error::CameraError;
use super::frame::{Frame, PixelFormat};

/// Reopens after a fault within one capture, before the fault is reported.
pub const REOPEN_ATTEMPTS: u32 = 3;
/// First pause before a reopen; doubled after each failed attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Frames skipped at most, in streaming mode, looking for one newer than the request.
const MAX_STALE_FRAMES: u32 = 32;

/// A stream of frames: the only part that differs between a real and a
/// simulated camera.
pub trait FrameSource: Send {
    /// Opens the device and negotiates the format; streaming starts with the
    /// first [`next_frame`](FrameSource::next_frame).
    fn open(&mut self) -> Result<PixelFormat, CameraError>;
    /// The next frame, or `Timeout` when none comes within `timeout`. After
    /// any error the source must be closed and reopened before the next frame.
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError>;
    /// Stops streaming and releases the device. Closing a closed source is a no-op.
    fn close(&mut self);
    /// For messages: the device path or a description.
    fn name(&self) -> String;
}

/// Warm-up, burst and fault policy around a [`FrameSource`].
pub struct Session<S> {
    source: S,
    warmup_frames: u32,
    burst: u32,
    mode: CaptureMode,
    timeout: Duration,
    format: Option<PixelFormat>,
    opens: u32,
    sleep: fn(Duration),
}

impl<S: FrameSource> Session<S> {
    pub fn new(source: S, config: &CameraConfig) -> Self {
        Session {
            source,
            warmup_frames: config.warmup_frames,
            burst: config.burst,
            mode: config.mode,
            timeout: config.dequeue_timeout(),
            format: None,
            opens: 0,
            sleep: std::thread::sleep,
        }
    }

    /// How many times the source has been opened (for tests and the status file).
    pub fn opens(&self) -> u32 {
        self.opens
    }

    /// The wrapped source (tests inspect the simulated camera through it).
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Replaces the backoff sleep (tests run without waiting).
    pub fn with_sleep(mut self, sleep: fn(Duration)) -> Self {
        self.sleep = sleep;
        self
    }

    fn close(&mut self) {
        self.source.close();
        self.format = None;
    }

    fn ensure_open(&mut self) -> Result<(), CameraError> {
        if self.format.is_some() {
            return Ok(());
        }
        let format = self.source.open()?;
        self.opens += 1;
        self.format = Some(format);
        for _ in 0..self.warmup_frames {
            self.source.next_frame(self.timeout)?;
        }
        Ok(())
    }

    fn try_burst(&mut self, requested_at: Duration, count: u32) -> Result<Vec<Frame>, CameraError> {
        self.ensure_open()?;
        let mut frames = Vec::with_capacity(count as usize);
        let mut stale = 0;
        while frames.len() < count as usize {
            let frame = self.source.next_frame(self.timeout)?;
            // A running stream holds frames queued before the press; they
            // show whoever stood there before. Skip them (bounded, in case
            // the driver's clock is not the one we read). A frame that came
            // in between the press's edge and this call is taken: the
            // person was already there.
            let old = frame.captured_at.is_some_and(|t| t < requested_at);
            if self.mode == CaptureMode::Streaming && old && stale < MAX_STALE_FRAMES {
                stale += 1;
                continue;
            }
            frames.push(frame);
        }
        Ok(frames)
    }
}

impl<S: FrameSource> Camera for Session<S> {
    fn frames_since(
        &mut self,
        requested_at: Duration,
        count: Option<u32>,
    ) -> Result<Vec<Frame>, CameraError> {
        let count = count.unwrap_or(self.burst).max(1);
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            match self.try_burst(requested_at, count) {
                Ok(frames) => return Ok(frames),
                Err(e) => {
                    // Never touch a stream again after a timeout or an error:
                    // v4l 0.14 would re-queue a buffer the kernel still owns.
                    self.close();
                    if !e.is_transient() || attempt >= REOPEN_ATTEMPTS {
                        return Err(e);
                    }
                    log::warn!("camera fault, reopening in {} ms: {e}", backoff.as_millis());
                    (self.sleep)(backoff);
                    backoff *= 2;
                    attempt += 1;
                }
            }
        }
    }

    fn release(&mut self) {
        if self.mode == CaptureMode::OnDemand {
            self.close();
        }
    }

    fn name(&self) -> String {
        self.source.name()
    }

    fn shutdown(&mut self) {
        self.close();
    }
}
