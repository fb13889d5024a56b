//! The display thread's handle and the renderer's checks (the `screen` feature).

use std::sync::Arc;

use super::{DisplayConfig, drm, output, png_file, worker};
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
