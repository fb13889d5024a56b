//! The screen as a PNG file, replaced atomically at every change: what the demo shows a
//! newcomer (and what a headless test or benchmark reads). Only with the simulated camera
//! (the configuration refuses it otherwise): the file holds the camera's picture.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::output::{Opener, Output, OutputError};
use crate::screen::{Picture, Size};

pub struct PngOpener {
    pub path: PathBuf,
    pub size: Size,
}

impl Opener for PngOpener {
    fn open(&mut self) -> Result<Box<dyn Output>, OutputError> {
        Ok(Box::new(PngFile {
            path: self.path.clone(),
            size: self.size,
        }))
    }
}

struct PngFile {
    path: PathBuf,
    size: Size,
}

impl PngFile {
    fn write(&self, picture: &Picture) -> Result<(), OutputError> {
        let fail = |reason: String| OutputError::File {
            path: self.path.clone(),
            reason,
        };
        let mut png = Vec::new();
        picture
            .write_png(&mut png)
            .map_err(|e| fail(e.to_string()))?;
        // Replaced whole (a reader never sees half a picture), not fsynced: it is rewritten
        // at every change and worth nothing after a power cut.
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let describe = |e: std::io::Error| fail(crate::fsutil::describe(&e));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(describe)?;
        file.write_all(&png).map_err(describe)?;
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(describe)
    }
}

impl Output for PngFile {
    fn size(&self) -> Size {
        self.size
    }

    fn describe(&self) -> String {
        format!("{} ({})", self.path.display(), self.size)
    }

    fn present(&mut self, picture: &Picture) -> Result<(), OutputError> {
        self.write(picture)
    }

    fn set_asleep(&mut self, asleep: bool) -> Result<(), OutputError> {
        // A sleeping panel is dark.
        if asleep {
            self.write(&Picture::black(self.size))?;
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    /// Once a second: enough to follow the story, little CPU for rendering and encoding on
    /// a shared machine (the latest scene is always the one written).
    fn min_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
}
