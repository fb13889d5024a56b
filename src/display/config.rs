//! `[display]`: the person's screen. Defaults and ranges are documented in
//! docs/configuration.md.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::invalid::Invalid;
use crate::screen::{DEFAULT_FONT, Rotation, Size, Texts};

/// `device = "auto"`: the first DRM device with a connected connector.
pub const AUTO: &str = "auto";
/// The size of a picture written to `png_file` unless `width`/`height` say otherwise.
pub const PNG_SIZE: Size = Size {
    width: 800,
    height: 480,
};

/// `[display]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DisplayConfig {
    /// Drive a screen. On by default (in builds with the `screen` feature): a terminal without
    /// a panel finds none and runs with the LED alone, picking the screen up when one is
    /// plugged in.
    pub enabled: bool,
    /// `"auto"` or a DRM device node (`/dev/dri/card1`).
    pub device: String,
    /// Write the screen to this PNG file instead of a panel (the demo; a headless check).
    pub png_file: Option<PathBuf>,
    /// `png_file` only: the picture's size.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Degrees clockwise the picture is turned on the panel: 0, 90, 180, 270.
    pub rotation: u32,
    /// Show the ticket's name on the screen (and in `enrolld watch`), so the person can check
    /// it is theirs before the capture.
    pub show_name: bool,
    /// Seconds of idle after which the screen sleeps (0: never); a press, the presence
    /// sensor or `enrolld display wake` wakes it.
    pub blank_after_secs: u64,
    /// The TrueType font.
    pub font: PathBuf,
    /// A site's own words per prompt key (`look_at_screen = "..."`).
    pub prompts: BTreeMap<String, String>,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        DisplayConfig {
            enabled: cfg!(feature = "screen"),
            device: AUTO.to_owned(),
            png_file: None,
            width: None,
            height: None,
            rotation: 0,
            show_name: false,
            blank_after_secs: 120,
            font: PathBuf::from(DEFAULT_FONT),
            prompts: BTreeMap::new(),
        }
    }
}

impl DisplayConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.enabled && !cfg!(feature = "screen") {
            return Err(Invalid::new(
                "enabled",
                "this build of enrolld has no screen (the static build leaves it out): set \
                 enabled = false, or install the Debian package, which has it",
            ));
        }
        if self.device != AUTO && !self.device.starts_with('/') {
            return Err(Invalid::new(
                "device",
                "must be \"auto\" or a DRM device node such as \"/dev/dri/card0\"",
            ));
        }
        if let Some(path) = &self.png_file
            && !path.is_absolute()
        {
            return Err(Invalid::new("png_file", "must be an absolute path"));
        }
        for (key, value) in [("width", self.width), ("height", self.height)] {
            let Some(value) = value else { continue };
            if self.png_file.is_none() {
                return Err(Invalid::new(
                    key,
                    "only applies with png_file (a panel's size is its mode's)",
                ));
            }
            let (min, max) = match key {
                "width" => (Size::MIN.width, Size::MAX.width),
                _ => (Size::MIN.height, Size::MAX.height),
            };
            Invalid::check_range(key, value, min..=max)?;
        }
        if Rotation::from_degrees(self.rotation).is_none() {
            return Err(Invalid::new("rotation", "must be 0, 90, 180 or 270"));
        }
        Invalid::check_range("blank_after_secs", self.blank_after_secs, 0..=86_400)?;
        if !self.font.is_absolute() {
            return Err(Invalid::new("font", "must be an absolute path"));
        }
        Texts::new(&self.prompts)
            .map_err(|e| Invalid::new(format!("prompts.{}", e.key()), e.to_string()))?;
        Ok(())
    }

    pub fn rotation(&self) -> Rotation {
        Rotation::from_degrees(self.rotation).unwrap_or_default()
    }

    /// The PNG's size (`png_file`).
    pub fn png_size(&self) -> Size {
        Size::new(
            self.width.unwrap_or(PNG_SIZE.width),
            self.height.unwrap_or(PNG_SIZE.height),
        )
    }

    /// The prompts' words (checked by `validate`).
    pub fn texts(&self) -> Texts {
        Texts::new(&self.prompts).unwrap_or_default()
    }

    pub fn blank_after(&self) -> Option<std::time::Duration> {
        (self.blank_after_secs > 0).then(|| std::time::Duration::from_secs(self.blank_after_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: DisplayConfig) -> String {
        c.validate().unwrap_err().key
    }

    #[test]
    fn defaults_are_valid_and_every_check_names_its_key() {
        DisplayConfig::default().validate().unwrap();
        let d = DisplayConfig::default;
        assert_eq!(
            key(DisplayConfig {
                rotation: 45,
                ..d()
            }),
            "rotation"
        );
        assert_eq!(
            key(DisplayConfig {
                device: "card0".into(),
                ..d()
            }),
            "device"
        );
        // A size without a PNG file, and one out of range.
        assert_eq!(
            key(DisplayConfig {
                width: Some(800),
                ..d()
            }),
            "width"
        );
        let png = || DisplayConfig {
            png_file: Some("/tmp/screen.png".into()),
            ..d()
        };
        assert_eq!(
            key(DisplayConfig {
                height: Some(100),
                ..png()
            }),
            "height"
        );
        assert_eq!(
            key(DisplayConfig {
                width: Some(8000),
                ..png()
            }),
            "width"
        );
        let prompts = BTreeMap::from([("hold_stil".to_owned(), "Stillhalten".to_owned())]);
        assert_eq!(key(DisplayConfig { prompts, ..d() }), "prompts.hold_stil");
        assert_eq!(
            key(DisplayConfig {
                font: "DejaVuSans.ttf".into(),
                ..d()
            }),
            "font"
        );
    }
}
