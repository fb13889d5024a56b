//! A panel through the kernel's DRM/KMS interface: the first connected connector of the
//! configured card (or of the first card that has one), its preferred mode, and two "dumb"
//! buffers (CPU-mapped scanout memory every KMS driver offers) shown in turn by page flips, so
//! a picture is never seen half drawn.
//!
//! Only one program may drive a card (the DRM master: the first to open it while nobody holds
//! it). When a desktop holds it, setting the mode is refused: the error names the holder
//! (`holder`) and the display thread tries again every few seconds.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use drm::buffer::{Buffer as _, DrmFourcc};
use drm::control::dumbbuffer::DumbBuffer;
use drm::control::{
    Device as ControlDevice, Mode, ModeTypeFlags, PageFlipFlags, connector, crtc, framebuffer,
    property,
};

use super::holder;
use super::output::{Opener, Output, OutputError};
use crate::screen::{Picture, Size};

/// How long a page flip may take before the picture is set directly instead (a driver that
/// never sends the flip's event).
const FLIP_WITHIN: Duration = Duration::from_millis(100);
/// DPMS values of the legacy connector property.
const DPMS_ON: u64 = 0;
const DPMS_OFF: u64 = 3;

/// An open DRM device node.
struct Card(File);

impl AsFd for Card {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl drm::Device for Card {}
impl ControlDevice for Card {}

/// Opens `device` (`auto`: every `/dev/dri/card*` in order).
pub struct DrmOpener {
    pub device: String,
}

impl Opener for DrmOpener {
    fn open(&mut self) -> Result<Box<dyn Output>, OutputError> {
        let cards = if self.device == super::config::AUTO {
            cards()
        } else {
            vec![PathBuf::from(&self.device)]
        };
        if cards.is_empty() {
            return Err(OutputError::NoDevice);
        }
        // The most telling failure wins: held by someone beats nothing plugged in.
        let mut worst: Option<OutputError> = None;
        for card in cards {
            match DrmOutput::open(&card) {
                Ok(output) => return Ok(Box::new(output)),
                Err(e) => {
                    if worst.as_ref().is_none_or(|w| rank(&e) > rank(w)) {
                        worst = Some(e);
                    }
                }
            }
        }
        Err(worst.unwrap_or(OutputError::NoDevice))
    }
}

fn rank(e: &OutputError) -> u8 {
    match e {
        OutputError::Held { .. } | OutputError::Denied { .. } => 3,
        OutputError::Device { .. } | OutputError::Gone { .. } | OutputError::File { .. } => 2,
        OutputError::NotConnected { .. } => 1,
        OutputError::NoDevice => 0,
    }
}

/// The card nodes (`/dev/dri/card0`, ...), in order.
fn cards() -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir("/dev/dri") else {
        return Vec::new();
    };
    let mut cards: Vec<(u32, PathBuf)> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let n = name.to_str()?.strip_prefix("card")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    cards.sort();
    cards.into_iter().map(|(_, p)| p).collect()
}

struct Scanout {
    buffer: DumbBuffer,
    fb: framebuffer::Handle,
}

struct DrmOutput {
    card: Card,
    path: PathBuf,
    connector: connector::Handle,
    connector_name: String,
    crtc: crtc::Handle,
    mode: Mode,
    buffers: Vec<Scanout>,
    /// The buffer being scanned out.
    front: usize,
    dpms: Option<property::Handle>,
    /// Page flips work on this driver (else the mode is set with each picture).
    flips: bool,
}

impl DrmOutput {
    fn open(path: &Path) -> Result<DrmOutput, OutputError> {
        let device = path.display().to_string();
        let fail = |what: &'static str| {
            let device = device.clone();
            move |e: io::Error| classify(&device, what, &e)
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(fail("open"))?;
        let card = Card(file);
        let resources = card
            .resource_handles()
            .map_err(fail("read its resources"))?;
        // A forced probe: a screen plugged in since the last look is found.
        let connected = resources
            .connectors()
            .iter()
            .filter_map(|&c| card.get_connector(c, true).ok())
            .find(|c| c.state() == connector::State::Connected && !c.modes().is_empty())
            .ok_or_else(|| OutputError::NotConnected {
                device: device.clone(),
            })?;
        let mode = connected
            .modes()
            .iter()
            .find(|m| m.mode_type().contains(ModeTypeFlags::PREFERRED))
            .or_else(|| connected.modes().first())
            .copied()
            .expect("checked: the connector has modes");
        let crtc = pick_crtc(&card, &resources, &connected).ok_or_else(|| OutputError::Device {
            device: device.clone(),
            what: "find a display controller (CRTC) for the connector",
            reason: "none is free".to_owned(),
        })?;
        let (w, h) = mode.size();
        let mut buffers = Vec::new();
        for _ in 0..2 {
            let buffer = card
                .create_dumb_buffer((w.into(), h.into()), DrmFourcc::Xrgb8888, 32)
                .map_err(fail("create a scanout buffer"))?;
            let fb = card
                .add_framebuffer(&buffer, 24, 32)
                .map_err(fail("create a framebuffer"))?;
            buffers.push(Scanout { buffer, fb });
        }
        let connector_name = format!(
            "{}-{}",
            connected.interface().as_str(),
            connected.interface_id()
        );
        let dpms = card
            .get_properties(connected.handle())
            .ok()
            .and_then(|set| {
                set.iter().map(|(h, _)| *h).find(|h| {
                    card.get_property(*h)
                        .is_ok_and(|p| p.name().to_bytes() == b"DPMS")
                })
            });
        let mut output = DrmOutput {
            card,
            path: path.to_owned(),
            connector: connected.handle(),
            connector_name,
            crtc,
            mode,
            buffers,
            front: 0,
            dpms,
            flips: true,
        };
        // Black first: setting the mode is what needs the card to be free.
        output.fill_black(0)?;
        output.set_mode(0)?;
        Ok(output)
    }

    fn device(&self) -> String {
        self.path.display().to_string()
    }

    fn fail(&self, what: &'static str) -> impl Fn(io::Error) -> OutputError + '_ {
        move |e| classify(&self.device(), what, &e)
    }

    fn set_mode(&self, index: usize) -> Result<(), OutputError> {
        self.card
            .set_crtc(
                self.crtc,
                Some(self.buffers[index].fb),
                (0, 0),
                &[self.connector],
                Some(self.mode),
            )
            .map_err(self.fail("set the mode"))
    }

    fn fill_black(&mut self, index: usize) -> Result<(), OutputError> {
        let device = self.device();
        let mut map = self
            .card
            .map_dumb_buffer(&mut self.buffers[index].buffer)
            .map_err(|e| classify(&device, "map a scanout buffer", &e))?;
        map.as_mut().fill(0);
        Ok(())
    }

    /// Copies the picture into buffer `index`, row by row (the buffer's rows may be padded).
    fn copy_in(&mut self, index: usize, picture: &Picture) -> Result<(), OutputError> {
        let device = self.device();
        let scanout = &mut self.buffers[index].buffer;
        let pitch = scanout.pitch() as usize;
        let (w, h) = scanout.size();
        let (w, h) = (w as usize, h as usize);
        let mut map = self
            .card
            .map_dumb_buffer(scanout)
            .map_err(|e| classify(&device, "map a scanout buffer", &e))?;
        let bytes = map.as_mut();
        let width = w.min(picture.size.width as usize);
        for (y, row) in picture
            .pixels
            .chunks_exact(picture.size.width as usize)
            .take(h)
            .enumerate()
        {
            let line = &mut bytes[y * pitch..y * pitch + width * 4];
            for (out, px) in line.chunks_exact_mut(4).zip(&row[..width]) {
                out.copy_from_slice(&px.to_le_bytes());
            }
        }
        Ok(())
    }

    /// Shows buffer `index`: a page flip at the next vertical blank, waited for; set directly
    /// where the driver cannot flip.
    fn show(&mut self, index: usize) -> Result<(), OutputError> {
        if self.flips {
            let fb = self.buffers[index].fb;
            match self
                .card
                .page_flip(self.crtc, fb, PageFlipFlags::EVENT, None)
            {
                Ok(()) => return self.wait_for_flip(),
                Err(e) if gone_or_refused(&e) => return Err(classify(&self.device(), "flip", &e)),
                Err(e) => {
                    log::info!(
                        "display: {}: page flips refused ({e}); setting the mode for each \
                         picture instead",
                        self.device()
                    );
                    self.flips = false;
                }
            }
        }
        self.set_mode(index)
    }

    fn wait_for_flip(&mut self) -> Result<(), OutputError> {
        let mut fds = [libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&self.card.0),
            events: libc::POLLIN,
            revents: 0,
        }];
        let ms = FLIP_WITHIN.as_millis() as libc::c_int;
        // SAFETY: one valid pollfd for the card's open descriptor.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
        if ready > 0 {
            // The flip's event (and any other) read and dropped.
            self.card
                .receive_events()
                .map(|events| events.for_each(drop))
                .map_err(self.fail("read the flip's event"))?;
        }
        Ok(())
    }
}

/// Picks the CRTC the connector's encoder drives now, else the first it can drive.
fn pick_crtc(
    card: &Card,
    resources: &drm::control::ResourceHandles,
    connector: &connector::Info,
) -> Option<crtc::Handle> {
    if let Some(crtc) = connector
        .current_encoder()
        .and_then(|e| card.get_encoder(e).ok())
        .and_then(|e| e.crtc())
    {
        return Some(crtc);
    }
    connector
        .encoders()
        .iter()
        .filter_map(|&e| card.get_encoder(e).ok())
        .flat_map(|e| resources.filter_crtcs(e.possible_crtcs()))
        .next()
}

fn gone_or_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENODEV | libc::EACCES | libc::EPERM | libc::ENOENT)
    )
}

/// A failed call on `device` in words: gone, held by another program, or not allowed.
fn classify(device: &str, what: &'static str, e: &io::Error) -> OutputError {
    match e.raw_os_error() {
        Some(libc::ENODEV | libc::ENXIO) => OutputError::Gone {
            device: device.to_owned(),
        },
        Some(libc::ENOENT) if what == "open" => OutputError::Gone {
            device: device.to_owned(),
        },
        // Mode setting is the DRM master's: refused means someone else is master.
        Some(libc::EACCES | libc::EPERM) if what != "open" => OutputError::Held {
            device: device.to_owned(),
            holder: holder::describe(Path::new(device)),
        },
        Some(libc::EACCES | libc::EPERM) => OutputError::Denied {
            device: device.to_owned(),
        },
        _ => OutputError::Device {
            device: device.to_owned(),
            what,
            reason: crate::fsutil::describe(e),
        },
    }
}

impl Output for DrmOutput {
    fn size(&self) -> Size {
        let (w, h) = self.mode.size();
        Size::new(w.into(), h.into())
    }

    fn describe(&self) -> String {
        let (w, h) = self.mode.size();
        format!(
            "{} {} {w}x{h}@{}",
            self.device(),
            self.connector_name,
            self.mode.vrefresh()
        )
    }

    fn present(&mut self, picture: &Picture) -> Result<(), OutputError> {
        let back = 1 - self.front;
        self.copy_in(back, picture)?;
        self.show(back)?;
        self.front = back;
        Ok(())
    }

    fn set_asleep(&mut self, asleep: bool) -> Result<(), OutputError> {
        let Some(dpms) = self.dpms else {
            // No power property: a black picture is the next best thing.
            if asleep {
                let back = 1 - self.front;
                self.fill_black(back)?;
                self.show(back)?;
                self.front = back;
            }
            return Ok(());
        };
        let value = if asleep { DPMS_OFF } else { DPMS_ON };
        self.card
            .set_property(self.connector, dpms, value)
            .map_err(self.fail("switch the panel's power"))
    }

    fn check(&mut self) -> Result<(), OutputError> {
        let info = self
            .card
            .get_connector(self.connector, false)
            .map_err(self.fail("read the connector"))?;
        if info.state() == connector::State::Disconnected {
            return Err(OutputError::NotConnected {
                device: self.device(),
            });
        }
        Ok(())
    }
}

impl Drop for DrmOutput {
    fn drop(&mut self) {
        for scanout in self.buffers.drain(..) {
            let _ = self.card.destroy_framebuffer(scanout.fb);
            let _ = self.card.destroy_dumb_buffer(scanout.buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_mode_set_names_the_holder_and_a_missing_node_is_gone() {
        let e = classify(
            "/dev/dri/card0",
            "set the mode",
            &io::Error::from_raw_os_error(libc::EACCES),
        );
        assert!(matches!(e, OutputError::Held { .. }), "{e}");
        assert!(e.to_string().contains("display-manager"), "{e}");
        let e = classify(
            "/dev/dri/card0",
            "open",
            &io::Error::from_raw_os_error(libc::EACCES),
        );
        assert!(e.to_string().contains("video"), "{e}");
        let e = classify(
            "/dev/dri/card0",
            "open",
            &io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert_eq!(
            e,
            OutputError::Gone {
                device: "/dev/dri/card0".into()
            }
        );
        assert!(
            rank(&OutputError::Held {
                device: String::new(),
                holder: String::new()
            }) > rank(&OutputError::NotConnected {
                device: String::new()
            })
        );
    }

    #[test]
    fn a_card_that_is_not_a_drm_device_is_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_card = dir.path().join("card0");
        std::fs::write(&not_a_card, b"").unwrap();
        let e = DrmOpener {
            device: not_a_card.display().to_string(),
        }
        .open()
        .err()
        .expect("a plain file is no card");
        assert!(matches!(e, OutputError::Device { .. }), "{e:?}: {e}");
        assert!(e.to_string().contains("read its resources"), "{e}");
    }
}
