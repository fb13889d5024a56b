//! `enrolld register --image FILE --username NAME [--verification-id ID]`:
//! one registration of a JPEG file, the outcome printed as one JSON object.
//!
//! Exit status: 0 for `registered` / `already_registered`, the outcome's own
//! code otherwise (see `exit::outcome`), 66 when the file cannot
//! be read, 65 when it is not a JPEG or is over `api.max_image_bytes`, 78 for
//! configuration and token problems, 2 for a bad username.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::api::{Client, Outcome};
use crate::{exit, secret};

#[derive(Debug, clap::Args)]
pub struct RegisterArgs {
    /// The JPEG file to register.
    #[arg(long, value_name = "FILE")]
    pub image: PathBuf,
    /// The username (or display name) the face is registered under.
    #[arg(long, value_name = "NAME")]
    pub username: String,
    /// An existing verification id; without it, one is created first.
    #[arg(long, value_name = "ID")]
    pub verification_id: Option<String>,
}

/// Why the image file was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path} is {size} bytes, over api.max_image_bytes ({max})")]
    TooLarge {
        path: PathBuf,
        size: u64,
        max: usize,
    },
    #[error("{path} is not a JPEG: {reason}")]
    NotJpeg { path: PathBuf, reason: String },
}

impl ImageError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ImageError::Unreadable { .. } => exit::NO_INPUT,
            ImageError::TooLarge { .. } | ImageError::NotJpeg { .. } => exit::DATA,
        }
    }
}

/// Reads a JPEG file no larger than `max` bytes and checks its header
/// decodes, so that a wrong file is refused here and not by the server.
pub fn read_jpeg_file(path: &Path, max: usize) -> Result<Vec<u8>, ImageError> {
    let unreadable = |e: std::io::Error| ImageError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    // Read at most one byte past the cap: the size check cannot be fooled by
    // a file that grows, and a huge file is never read whole.
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() > max {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(ImageError::TooLarge {
            path: path.to_owned(),
            size,
            max,
        });
    }
    let not_jpeg = |reason: String| ImageError::NotJpeg {
        path: path.to_owned(),
        reason,
    };
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(not_jpeg("it does not start with a JPEG marker".to_owned()));
    }
    let (width, height) =
        image::ImageReader::with_format(Cursor::new(&bytes), image::ImageFormat::Jpeg)
            .into_dimensions()
            .map_err(|e| not_jpeg(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(not_jpeg("it has no pixels".to_owned()));
    }
    Ok(bytes)
}

/// A username as IDMeta takes it: non-empty, printable, a sane length.
fn check_username(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        Err("--username must not be empty")
    } else if name.chars().any(char::is_control) {
        Err("--username must not contain control characters")
    } else if name.chars().count() > 256 {
        Err("--username is longer than 256 characters")
    } else {
        Ok(())
    }
}

pub fn run(config_path: &Path, args: &RegisterArgs) -> i32 {
    let config = match super::load_config_or_exit_code(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(message) = check_username(&args.username) {
        eprintln!("enrolld: {message}");
        return exit::USAGE;
    }
    let token = match secret::load_token(config.api.token_file.as_deref()) {
        Ok((token, _)) => token,
        Err(e) => {
            eprintln!("enrolld: {e}");
            return exit::CONFIG;
        }
    };
    let jpeg = match read_jpeg_file(&args.image, config.api.max_image_bytes) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("enrolld: {e}");
            return e.exit_code();
        }
    };
    let client = match Client::new(&config.api, token) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("enrolld: configuration error: {e}");
            return exit::CONFIG;
        }
    };

    let (verification_id, created) = match &args.verification_id {
        Some(id) => (id.clone(), false),
        None => match client.create_verification() {
            Ok(id) => (id, true),
            Err(outcome) => {
                let mut out = outcome_json(&outcome);
                out["step"] = json!("create_verification");
                println!("{out}");
                return outcome.exit_code();
            }
        },
    };

    let outcome = client.register(&jpeg, &args.username, &verification_id);
    let mut out = outcome_json(&outcome);
    out["verification_id"] = json!(verification_id);
    out["verification_created"] = json!(created);
    if config.api.finalize && outcome.face_id().is_some() {
        // A failed finalize does not undo the registration: reported, not fatal.
        out["finalize"] = match client.finalize_verification(&verification_id) {
            Ok(f) => serde_json::to_value(f).unwrap_or(Value::Null),
            Err(o) => outcome_json(&o),
        };
    }
    println!("{out}");
    outcome.exit_code()
}

fn outcome_json(outcome: &Outcome) -> Value {
    serde_json::to_value(outcome).unwrap_or_else(|_| json!({ "code": outcome.code() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_jpeg() -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 8, y as u8 * 8, 90]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut out)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn jpeg_checks() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.jpg");
        std::fs::write(&good, tiny_jpeg()).unwrap();
        assert_eq!(read_jpeg_file(&good, 100_000).unwrap(), tiny_jpeg());

        let e = read_jpeg_file(&good, 100).unwrap_err();
        assert!(matches!(e, ImageError::TooLarge { .. }), "{e}");
        assert_eq!(e.exit_code(), exit::DATA);

        let png = dir.path().join("x.jpg");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\n....").unwrap();
        let e = read_jpeg_file(&png, 100_000).unwrap_err();
        assert!(e.to_string().contains("x.jpg is not a JPEG"), "{e}");

        let broken = dir.path().join("broken.jpg");
        std::fs::write(&broken, [0xFF, 0xD8, 0xFF, 0xE0, 0, 3, 1]).unwrap();
        assert!(matches!(
            read_jpeg_file(&broken, 100_000),
            Err(ImageError::NotJpeg { .. })
        ));

        let e = read_jpeg_file(&dir.path().join("missing.jpg"), 100).unwrap_err();
        assert_eq!(e.exit_code(), exit::NO_INPUT);
    }

    #[test]
    fn usernames() {
        assert!(check_username("Ada Lovelace").is_ok());
        assert!(check_username(" ").is_err());
        assert!(check_username("a\nb").is_err());
        assert!(check_username(&"x".repeat(300)).is_err());
    }
}
