//! Showing the person's screen: a thread that renders the latest scene (`screen`) and shows it
//! on a panel through DRM/KMS, or writes it to a PNG file (the demo). No network port, no
//! display server: the pictures never leave the process except onto the panel.
//!
//! A terminal without a panel, or whose panel a desktop holds, runs as before with the LED:
//! the thread says once (journal and status file) why there is no screen and looks again every
//! few seconds, so a panel plugged in later or released by the desktop is picked up.
//!
//! | file | job |
//! |---|---|
//! | `config.rs` | `[display]` |
//! | `output.rs` | the outputs' interface, and why there is no screen (in words) |
//! | `drm.rs` | a panel through DRM/KMS: connector, preferred mode, two dumb buffers, page flips, DPMS |
//! | `holder.rs` | who holds a DRM device, from `/proc` |
//! | `png_file.rs` | the screen as a PNG file (the demo) |
//! | `worker.rs` | the display thread: latest scene, render, show, reconnect, blank when idle |

pub mod config;
pub mod drm;
pub mod holder;
pub mod output;
pub mod png_file;
pub mod worker;

use std::sync::Arc;

pub use config::DisplayConfig;

use crate::camera::Frame;
use crate::screen::{Font, FontError, Renderer, Scene};
use crate::status::DisplayStatus;

/// Why the screen cannot be set up (the configuration's fault: exit 78).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayError {
    #[error(transparent)]
    Font(#[from] FontError),
    #[error(
        "display.prompts.{key}: the font {font} has no letter for {missing}; name a font that \
         has them in display.font"
    )]
    Letters {
        key: &'static str,
        font: String,
        missing: String,
    },
}

/// Loads the font and checks it has every letter of every prompt.
pub fn renderer(config: &DisplayConfig) -> Result<Renderer, DisplayError> {
    let font = Font::load(&config.font)?;
    let texts = config.texts();
    for (key, text) in texts.all() {
        let missing = font.missing(text);
        if !missing.is_empty() {
            return Err(DisplayError::Letters {
                key: key.key(),
                font: config.font.display().to_string(),
                missing: missing
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
    }
    Ok(Renderer::new(font, texts))
}

/// The display thread's handle. Every call returns at once.
pub struct Display {
    shared: Arc<worker::Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Display {
    /// Starts the thread: the configured panel (or PNG file), looked for at once.
    pub fn start(config: &DisplayConfig, renderer: Renderer) -> Display {
        let opener: Box<dyn output::Opener> = match &config.png_file {
            Some(path) => Box::new(png_file::PngOpener {
                path: path.clone(),
                size: config.png_size(),
            }),
            None => Box::new(drm::DrmOpener {
                device: config.device.clone(),
            }),
        };
        let shared = Arc::new(worker::Shared::default());
        let blank_after = config.blank_after();
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("display".into())
                .spawn(move || worker::run(shared, opener, renderer, blank_after))
                .expect("a thread for the display")
        };
        Display {
            shared,
            thread: Some(thread),
        }
    }

    /// Shows `scene` (with the camera's latest frame when the scene shows it).
    pub fn show(&self, scene: &Scene, frame: Option<Arc<Frame>>) {
        self.shared.show(scene, frame);
    }

    /// Wakes a sleeping screen (a press, presence, `enrolld display wake`).
    pub fn wake(&self) {
        self.shared.wake();
    }

    pub fn status(&self) -> DisplayStatus {
        self.shared.status()
    }

    /// Stops the thread (it finishes the picture it is showing).
    pub fn stop(&mut self) {
        self.shared.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop();
    }
}
