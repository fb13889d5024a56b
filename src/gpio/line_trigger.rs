//! The real trigger line: a gpiocdev v2 request with edge detection on both
//! edges, bias, active-low and the kernel debounce period.
//!
//! Deliberately thin: everything that decides lives in `rules.rs` and the
//! loop in `trigger.rs`. This file cannot be exercised on a machine without a
//! GPIO chip; it is proven under QEMU with gpio-sim (see the real-kernel tests).

use std::time::Duration;

use gpiocdev::Request;
use gpiocdev::line::{EdgeDetection, EdgeKind};

use super::config::{BiasSetting, LineSpec, TriggerConfig};
use super::error::GpioError;
use super::resolve::{self, ResolvedLine};
use super::rules::Edge;
use super::trigger::{EdgeSource, Opened};
use crate::time::monotonic_ns;

/// The consumer name `gpioinfo` shows for the trigger line.
pub const CONSUMER: &str = "enrolld-trigger";

/// Most edges read in one wake-up, so a flood cannot starve the stop check.
const MAX_EDGES_PER_WAKE: usize = 64;

/// Kernel-side edge queue (default 16 per line): room for a bounce storm
/// when the kernel cannot debounce and every bounce reaches us.
const KERNEL_EVENT_BUFFER: u32 = 256;

pub(crate) struct LineEdges {
    chip: Option<String>,
    line: LineSpec,
    active_low: bool,
    bias: BiasSetting,
    debounce: Duration,
    open: Option<(ResolvedLine, Request)>,
    /// The kernel's per-line sequence number of the last edge read.
    last_seqno: Option<u32>,
}

impl LineEdges {
    pub fn new(cfg: &TriggerConfig, line: LineSpec) -> Self {
        LineEdges {
            chip: cfg.chip.clone(),
            line,
            active_low: cfg.effective_active_low(),
            bias: cfg.effective_bias(),
            debounce: cfg.effective_debounce(),
            open: None,
            last_seqno: None,
        }
    }

    fn request(&self, at: &ResolvedLine, debounce: Option<Duration>) -> gpiocdev::Result<Request> {
        let mut b = Request::builder();
        b.on_chip(&at.chip.path)
            .with_consumer(CONSUMER)
            .with_kernel_event_buffer_size(KERNEL_EVENT_BUFFER)
            .with_line(at.offset)
            .as_input()
            .with_edge_detection(EdgeDetection::BothEdges)
            .with_bias(self.bias.to_gpiocdev());
        if self.active_low {
            b.as_active_low();
        }
        if let Some(d) = debounce {
            b.with_debounce_period(d);
        }
        b.request()
    }
}

impl EdgeSource for LineEdges {
    fn open(&mut self) -> Result<Opened, GpioError> {
        self.open = None;
        self.last_seqno = None;
        // Resolve again on every open: a chip that went away may come back
        // under another number; its label and line names stay.
        let at = resolve::resolve_line(self.chip.as_deref(), &self.line)?;
        let request_err = |source| GpioError::Request {
            chip: at.chip.to_string(),
            line: self.line.to_string(),
            source,
        };
        let (req, kernel_debounce) = if self.debounce.is_zero() {
            (self.request(&at, None).map_err(request_err)?, false)
        } else {
            // A kernel or driver that refuses the debounce attribute fails the
            // whole request; the same request without it tells the two apart.
            match self.request(&at, Some(self.debounce)) {
                Ok(r) => (r, true),
                Err(with_debounce) => match self.request(&at, None) {
                    Ok(r) => (r, false),
                    Err(_) => return Err(request_err(with_debounce)),
                },
            }
        };
        let active = req
            .lone_value()
            .map(bool::from)
            .map_err(|source| GpioError::Read {
                chip: at.chip.to_string(),
                line: self.line.to_string(),
                source,
            })?;
        log::info!("trigger: watching {at}");
        self.open = Some((at, req));
        Ok(Opened {
            active,
            kernel_debounce,
        })
    }

    fn wait(&mut self, timeout: Duration, edges: &mut Vec<Edge>) -> Result<(), GpioError> {
        let Some((at, req)) = &self.open else {
            std::thread::sleep(timeout);
            return Ok(());
        };
        let read_err = |source| GpioError::Read {
            chip: at.chip.to_string(),
            line: self.line.to_string(),
            source,
        };
        // A removed chip makes poll report HUP/ERR (so this returns true) and
        // the read below fail with ENODEV: that is how a vanished chip shows up.
        if !req.wait_edge_event(timeout).map_err(read_err)? {
            return Ok(());
        }
        let mut lost = false;
        for _ in 0..MAX_EDGES_PER_WAKE {
            let e = req.read_edge_event().map_err(read_err)?;
            lost |= self
                .last_seqno
                .is_some_and(|prev| e.line_seqno != prev.wrapping_add(1));
            self.last_seqno = Some(e.line_seqno);
            edges.push(Edge {
                at_ns: e.timestamp_ns,
                active: e.kind == EdgeKind::Rising,
            });
            if !req.has_edge_event().map_err(read_err)? {
                break;
            }
        }
        if lost {
            // The kernel queue overflowed: the last edge we saw may not be
            // the line's level. Resynchronise on the level read now.
            let active = req.lone_value().map(bool::from).map_err(read_err)?;
            log::warn!("trigger: edges lost (kernel queue full); resynchronised");
            edges.push(Edge {
                at_ns: monotonic_ns(),
                active,
            });
        }
        Ok(())
    }

    fn close(&mut self) {
        self.open = None;
    }
}
