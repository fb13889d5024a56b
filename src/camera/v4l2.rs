//! The real camera: a V4L2 capture device through the `v4l` crate (0.14),
//! MMAP streaming. Deliberately thin: the policy (warm-up, burst, timeouts,
//! reopen) is in `session.rs` and is tested through the simulated camera.
//!
//! Two traps of v4l 0.14 shape this file: `Stream::next()` after a timed-out
//! dequeue re-queues a buffer the kernel still owns, so any error closes the
//! stream here and the next frame needs a fresh open; and the stream's `Drop`
//! panics when `VIDIOC_STREAMOFF` fails (other than with ENODEV), so the
//! stream is stopped explicitly first and, if that fails, leaked rather than
//! dropped, and the camera reports itself stuck.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use v4l::buffer::{Flags as BufFlags, Type};
use v4l::io::mmap::Stream;
use v4l::io::traits::{CaptureStream, Stream as _};
use v4l::video::Capture;
use v4l::{Device, Format, FourCC};

use super::config::{CameraConfig, FormatChoice};
use super::error::CameraError;
use super::frame::{Frame, PixelFormat, negotiate};
use super::session::FrameSource;

/// `V4L2_CAP_VIDEO_CAPTURE` in `device_caps`.
pub const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
/// What v4l2loopback calls itself in `VIDIOC_QUERYCAP`.
const LOOPBACK_DRIVER: &str = "v4l2 loopback";
/// Buffers queued to the driver.
const BUFFERS: u32 = 4;
/// Frames the driver flags as damaged (or MJPEG frames longer than the negotiated size can
/// take) are skipped, up to this many in a row.
const MAX_DAMAGED_IN_A_ROW: u32 = 8;

pub struct V4l2Camera {
    path: PathBuf,
    width: u32,
    height: u32,
    wanted: FormatChoice,
    open: Option<OpenDevice>,
    stuck: Option<io::Error>,
    /// What the last open chose, said at info level when it changes (each press may reopen
    /// the device; the same choice again is a debug line).
    announced: Option<String>,
}

struct OpenDevice {
    // Field order matters: the stream (and its mappings) goes before the device.
    stream: Stream<'static>,
    _device: Device,
    format: PixelFormat,
    stride: usize,
    /// What QUERYCAP said, to name a media-controller pipeline that refuses to stream.
    driver: String,
    device_caps: u32,
}

impl V4l2Camera {
    pub fn new(config: &CameraConfig) -> V4l2Camera {
        V4l2Camera {
            path: config.device.clone(),
            width: config.width,
            height: config.height,
            wanted: config.format,
            open: None,
            announced: None,
            stuck: None,
        }
    }

    fn io_error(&self, operation: &'static str) -> impl FnOnce(io::Error) -> CameraError + '_ {
        move |source| CameraError::Io {
            device: self.path.clone(),
            operation,
            source: source.into(),
        }
    }

    /// Sets the format and checks the driver kept it (drivers silently
    /// substitute the nearest size or another format).
    fn set_format(&self, dev: &Device, format: PixelFormat) -> Result<usize, CameraError> {
        let asked = Format::new(self.width, self.height, FourCC::new(&format.fourcc()));
        let got = dev
            .set_format(&asked)
            .map_err(self.io_error("VIDIOC_S_FMT"))?;
        if got.width != self.width || got.height != self.height || got.fourcc != asked.fourcc {
            return Err(CameraError::SizeNotOffered {
                device: self.path.clone(),
                format,
                asked_w: self.width,
                asked_h: self.height,
                got_w: got.width,
                got_h: got.height,
                got_format: got.fourcc.to_string(),
            });
        }
        let stride = (got.stride as usize).max(format.min_stride(self.width));
        let max = format.max_stride(self.width);
        if format != PixelFormat::Mjpeg && stride > max {
            return Err(CameraError::LineTooLong {
                device: self.path.clone(),
                format,
                width: self.width,
                stride,
                max,
            });
        }
        Ok(stride)
    }
}

impl V4l2Camera {
    /// What the device is and which format enrolld takes from it, or why it cannot serve as
    /// this camera at all: not a capture device, a camera for libcamera, no format enrolld
    /// reads (`camera.format`).
    fn inspect(&self, dev: &Device) -> Result<(PixelFormat, String, Caps), CameraError> {
        // A UVC camera also has a metadata node (often /dev/video1): say so
        // rather than "offers no formats".
        let caps = match query_caps(dev) {
            Ok(caps) if caps.device_caps & CAP_VIDEO_CAPTURE != 0 => caps,
            Ok(caps) => {
                return Err(CameraError::NotACaptureDevice {
                    device: self.path.clone(),
                    why: format!("{} ({}) has no video capture", caps.card, caps.driver),
                });
            }
            Err(e) => {
                return Err(CameraError::NotACaptureDevice {
                    device: self.path.clone(),
                    why: format!("not a V4L2 device (VIDIOC_QUERYCAP: {e})"),
                });
            }
        };
        let (offered, names) = offered_formats(dev).map_err(self.io_error("VIDIOC_ENUM_FMT"))?;
        if let Some(why) =
            super::csi::needs_libcamera(&caps.driver, caps.device_caps, !offered.is_empty())
        {
            return Err(CameraError::NeedsLibcamera {
                device: self.path.clone(),
                why,
            });
        }
        let offered_text = if names.is_empty() {
            "no format at all".to_owned()
        } else {
            names.clone()
        };
        let format = negotiate(&offered, self.wanted).ok_or_else(|| match self.wanted {
            FormatChoice::Auto => CameraError::NoReadableFormat {
                device: self.path.clone(),
                offered: offered_text,
            },
            _ => CameraError::FormatNotOffered {
                device: self.path.clone(),
                wanted: self.wanted.name().to_owned(),
                offered: offered_text,
            },
        })?;
        Ok((format, names, caps))
    }

    /// The check `enrolld run` makes before it starts: a device that is there but can never
    /// serve as this camera (a metadata or codec node, a camera for libcamera, one offering no
    /// format enrolld reads) is a setup error to fix, named with what it offers, not a fault
    /// to wait out. A device that is missing or cannot be opened is left to the camera fault
    /// and its recovery (a camera plugged in later), and so is a v4l2loopback node whose
    /// producer has not started yet (it offers no capture until then; the Pi camera's bridge
    /// may start after enrolld).
    pub fn check_at_start(&self) -> Result<(), CameraError> {
        let Ok(dev) = Device::with_path(&self.path) else {
            return Ok(());
        };
        match self.inspect(&dev) {
            Ok(_) => Ok(()),
            Err(_) if is_loopback_without_producer(&dev) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Logs the format taken (and why: `camera.format`), what else was offered and the frame
    /// rate the driver runs at, so an installer sees what `auto` chose on this camera.
    fn announce(&mut self, dev: &Device, format: PixelFormat, offered: &str) {
        let rate = match dev.params() {
            Ok(p) => frame_rate(p.interval.numerator, p.interval.denominator),
            Err(e) => format!("frame rate unknown (VIDIOC_G_PARM: {e})"),
        };
        let line = format!(
            "{}: {format} {}x{} at {rate} (camera.format = \"{}\"; offered: {offered})",
            self.path.display(),
            self.width,
            self.height,
            self.wanted.name(),
        );
        if self.announced.as_deref() == Some(line.as_str()) {
            log::debug!("{line}");
        } else {
            log::info!("{line}");
            self.announced = Some(line);
        }
    }
}

/// A v4l2loopback node no producer writes to yet: it offers no capture format until one does.
fn is_loopback_without_producer(dev: &Device) -> bool {
    query_caps(dev).is_ok_and(|caps| caps.driver == LOOPBACK_DRIVER)
        && !offered_formats(dev).is_ok_and(|(_, names)| !names.is_empty())
}

/// A frame interval (seconds per frame, as V4L2 gives it) as "30 fps".
pub fn frame_rate(numerator: u32, denominator: u32) -> String {
    fps(numerator, denominator).map_or_else(
        || "a frame rate the driver does not report".to_owned(),
        |f| format!("{f} fps"),
    )
}

/// A frame interval as frames per second ("30", "7.50"); None for a zero fraction.
pub fn fps(numerator: u32, denominator: u32) -> Option<String> {
    if numerator == 0 || denominator == 0 {
        return None;
    }
    let fps = f64::from(denominator) / f64::from(numerator);
    Some(if (fps - fps.round()).abs() < 0.01 {
        format!("{fps:.0}")
    } else {
        format!("{fps:.2}")
    })
}

/// The formats enrolld can read among those a device offers, and all of
/// them as text for messages.
pub fn offered_formats(dev: &Device) -> io::Result<(Vec<PixelFormat>, String)> {
    let all = dev.enum_formats()?;
    let readable = all
        .iter()
        .filter_map(|d| PixelFormat::from_fourcc(&d.fourcc.repr))
        .collect();
    let names = all
        .iter()
        .map(|d| d.fourcc.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Ok((readable, names))
}

impl FrameSource for V4l2Camera {
    fn open(&mut self) -> Result<PixelFormat, CameraError> {
        self.close();
        if let Some(e) = &self.stuck {
            return Err(CameraError::StreamStuck {
                device: self.path.clone(),
                source: e.into(),
            });
        }
        let dev = Device::with_path(&self.path).map_err(|source| CameraError::Open {
            device: self.path.clone(),
            source: source.into(),
        })?;
        let (format, names, caps) = self.inspect(&dev)?;
        let stride = self.set_format(&dev, format)?;
        self.announce(&dev, format, &names);
        let stream = Stream::with_buffers(&dev, Type::VideoCapture, BUFFERS)
            .map_err(self.io_error("VIDIOC_REQBUFS/mmap"))?;
        // `next()` queues the buffers and starts streaming on first use: we
        // never call `start()` ourselves.
        self.open = Some(OpenDevice {
            stream,
            _device: dev,
            format,
            stride,
            driver: caps.driver,
            device_caps: caps.device_caps,
        });
        Ok(format)
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        let (width, height) = (self.width, self.height);
        let Some(open) = self.open.as_mut() else {
            return Err(CameraError::Io {
                device: self.path.clone(),
                operation: "dequeue",
                source: io::Error::other("stream not open").into(),
            });
        };
        open.stream.set_timeout(timeout);
        let (format, stride) = (open.format, open.stride);
        let (driver, device_caps) = (open.driver.clone(), open.device_caps);
        // Every copy below is bounded by the negotiated size, never by the driver's buffer.
        let cap = format.max_frame_bytes(stride, width, height);
        // A raw frame may come with more bytes than it needs (v4l2loopback reports its whole
        // page-aligned buffer): the frame is whole, and only its first `cap` bytes are copied.
        // An MJPEG frame over its bound cannot be cut without losing its end: damaged.
        let too_big = |used: usize| format == PixelFormat::Mjpeg && used > cap;
        let mut damaged = 0;
        let result = loop {
            match open.stream.next() {
                Ok((_, meta))
                    if (meta.flags.contains(BufFlags::ERROR)
                        || too_big(meta.bytesused as usize))
                        && damaged < MAX_DAMAGED_IN_A_ROW =>
                {
                    damaged += 1;
                }
                Ok((buf, meta)) => {
                    let used = match meta.bytesused as usize {
                        0 => buf.len(),
                        n => n.min(buf.len()),
                    }
                    .min(cap);
                    let monotonic =
                        meta.flags & BufFlags::TIMESTAMP_MASK == BufFlags::TIMESTAMP_MONOTONIC;
                    let ts = meta.timestamp;
                    break Ok(Frame {
                        format,
                        width,
                        height,
                        stride: if format == PixelFormat::Mjpeg {
                            0
                        } else {
                            stride
                        },
                        data: buf[..used].to_vec(),
                        captured_at: monotonic.then(|| {
                            Duration::new(
                                ts.sec.max(0) as u64,
                                (ts.usec.clamp(0, 999_999) * 1000) as u32,
                            )
                        }),
                    });
                }
                Err(e) => break Err(e),
            }
        };
        if damaged > 0 {
            log::warn!(
                "{}: {damaged} damaged frame(s) skipped (flagged by the driver, or an MJPEG frame \
                 over the {cap} bytes a {width}x{height} one can take)",
                self.path.display()
            );
        }
        result.map_err(|source| {
            // Never call next() on this stream again (see the module docs).
            self.close();
            // The first next() starts the stream: a media pipeline nobody set up refuses it.
            if let Some(why) =
                super::csi::stream_refused(&driver, device_caps, source.raw_os_error())
            {
                return CameraError::NeedsLibcamera {
                    device: self.path.clone(),
                    why,
                };
            }
            if source.kind() == io::ErrorKind::TimedOut {
                CameraError::Timeout {
                    device: self.path.clone(),
                    timeout_ms: timeout.as_millis() as u64,
                }
            } else {
                CameraError::Io {
                    device: self.path.clone(),
                    operation: "VIDIOC_DQBUF",
                    source: source.into(),
                }
            }
        })
    }

    fn close(&mut self) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        if let Err(e) = open.stream.stop()
            && e.raw_os_error() != Some(libc::ENODEV)
        {
            log::error!("{}: VIDIOC_STREAMOFF failed: {e}", self.path.display());
            // Dropping would panic inside v4l; leak the stream and report
            // the camera stuck until enrolld restarts.
            std::mem::forget(open);
            self.stuck = Some(e);
        }
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// What `VIDIOC_QUERYCAP` says about a device node.
pub struct Caps {
    pub driver: String,
    pub card: String,
    pub bus: String,
    pub device_caps: u32,
}

/// `VIDIOC_QUERYCAP` with lossy text: v4l's own `query_caps` panics on a
/// card name that is not UTF-8, which some USB cameras report.
pub fn query_caps(dev: &Device) -> std::io::Result<Caps> {
    let text = |b: &[u8]| {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    };
    // SAFETY: v4l2_capability is plain data; the ioctl fills it.
    let caps: v4l::v4l_sys::v4l2_capability = unsafe {
        let mut caps = std::mem::zeroed();
        v4l::v4l2::ioctl(
            dev.handle().fd(),
            v4l::v4l2::vidioc::VIDIOC_QUERYCAP,
            &mut caps as *mut _ as *mut std::os::raw::c_void,
        )?;
        caps
    };
    Ok(Caps {
        driver: text(&caps.driver),
        card: text(&caps.card),
        bus: text(&caps.bus_info),
        device_caps: caps.device_caps,
    })
}

impl Drop for V4l2Camera {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_intervals_read_as_frames_per_second() {
        assert_eq!(frame_rate(1, 30), "30 fps");
        assert_eq!(frame_rate(1001, 30000), "29.97 fps");
        assert_eq!(frame_rate(2, 15), "7.50 fps");
        assert_eq!(frame_rate(0, 30), "a frame rate the driver does not report");
        assert_eq!(fps(1, 0), None);
    }
}
