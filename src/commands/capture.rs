//! `enrolld capture --out FILE.jpg`: one capture through the configured
//! camera and frame choice, saved as the JPEG that would be sent, with what
//! each stage cost. For setting up a terminal (framing, light, focus).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::camera::{self, CaptureError, Shot};
use crate::exit;

#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// Where to write the JPEG.
    #[arg(long, value_name = "FILE.jpg")]
    pub out: PathBuf,
}

/// Exit 0 on success, 65 (`DATA`) for a retake (too dark / too bright),
/// 1 for a camera fault or a JPEG that cannot fit the cap, 78 for a config error.
pub fn run(config_path: &Path, args: &CaptureArgs) -> i32 {
    let config = match super::load_config_or_exit_code(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut cam = match camera::open(&config.camera) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("enrolld: camera fault: {e}");
            return exit::FAILURE;
        }
    };
    let result = camera::capture_jpeg(cam.as_mut(), &config.camera, config.api.max_image_bytes);
    cam.shutdown();
    match result {
        Ok(shot) => match write_file(&args.out, &shot.jpeg) {
            Ok(()) => {
                print!("{}", report(&cam.name(), &shot, &args.out));
                exit::OK
            }
            Err(e) => {
                eprintln!("enrolld: cannot write {}: {e}", args.out.display());
                exit::FAILURE
            }
        },
        Err(e @ CaptureError::Retake(_)) => {
            eprintln!("enrolld: {e} (nothing saved)");
            exit::DATA
        }
        Err(e) => {
            eprintln!("enrolld: {e}");
            exit::FAILURE
        }
    }
}

/// Writes next to the target and renames, so a reader never sees half a JPEG.
fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What `capture` prints.
pub fn report(camera: &str, shot: &Shot, out: &Path) -> String {
    let t = &shot.timings;
    let quality = match shot.quality {
        Some(q) => format!("quality {q}"),
        None => "camera's own MJPEG".to_owned(),
    };
    format!(
        "camera: {camera}\n\
         format: {} (burst of {})\n\
         resolution: {}x{}\n\
         chosen frame: sharpness {:.1}, mean luma {:.1}\n\
         jpeg: {} bytes, {quality} -> {}\n\
         ms: capture {:.1}, choose {:.1}, convert {:.1}, encode {:.1}, total {:.1}\n",
        shot.format,
        shot.burst,
        shot.width,
        shot.height,
        shot.sharpness,
        shot.luma,
        shot.jpeg.len(),
        out.display(),
        ms(t.capture),
        ms(t.choose),
        ms(t.convert),
        ms(t.encode),
        ms(t.capture + t.choose + t.convert + t.encode),
    )
}
