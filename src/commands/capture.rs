//! `enrolld capture --out FILE.jpg`: one capture through the configured
//! camera and frame choice, saved as the JPEG that would be sent, with what
//! each stage cost. For setting up a terminal (framing, light, focus).
//! `--check-face` looks for a face as the daemon does (frames checked until one passes or
//! `face.deadline_ms`), printing each frame's decision; `--annotate OUT.jpg` draws what the
//! check saw on the chosen (or last) frame.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::face_check;
use crate::camera::{self, CameraConfig, CaptureError, Frame, Shot};
use crate::exit;
use crate::face::search::{self, SearchError, Wanted};
use crate::face::{FaceCheck, FaceConfig, Report};

#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// Where to write the JPEG.
    #[arg(long, value_name = "FILE.jpg")]
    pub out: PathBuf,
    /// Look for one well-placed face as the daemon does (`[face]` thresholds); only a
    /// passing frame is saved.
    #[arg(long)]
    pub check_face: bool,
    /// With --check-face: also write the frame with the face's box, landmarks and margins.
    #[arg(long, value_name = "OUT.jpg", requires = "check_face")]
    pub annotate: Option<PathBuf>,
}

/// Exit 0 on success, 65 (`DATA`) for a retake (too dark / too bright),
/// 1 for a camera fault or a JPEG that cannot fit the cap, 78 for a config error.
pub fn run(config_path: &Path, args: &CaptureArgs) -> i32 {
    // The camera's log lines (the format chosen and the driver's frame rate) are part of
    // what an installer checks a camera with.
    crate::logging::init(false);
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
    if args.check_face {
        let face = FaceConfig {
            enabled: true,
            ..config.face.clone()
        };
        let code = with_face_check(cam.as_mut(), &config.camera, &face, &config, args);
        cam.shutdown();
        return code;
    }
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

/// The capture as the daemon makes it with the face check on, every frame's decision printed.
fn with_face_check(
    cam: &mut dyn camera::Camera,
    camera_config: &CameraConfig,
    face: &FaceConfig,
    config: &crate::config::Config,
    args: &CaptureArgs,
) -> i32 {
    let mut check = match FaceCheck::load(face) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("enrolld: {e}");
            return exit::FAILURE;
        }
    };
    let wanted = Wanted {
        camera: camera_config,
        max_bytes: config.api.max_image_bytes,
        since: crate::time::monotonic(),
        // The installer's one-off check takes the first passing frame (no screen to hold
        // still for).
        steady: false,
    };
    let mut seen = 0;
    // The last frame checked and its report, or the passing one: what --annotate draws.
    let mut shown: Option<(Frame, Report)> = None;
    let result = search::capture_watched(cam, &mut check, wanted, &mut |frame, report, _| {
        seen += 1;
        let verdict = match &report.verdict {
            Ok(_) => "passed".to_owned(),
            Err(r) => format!("refused: {}", r.name()),
        };
        println!(
            "frame {seen}: {verdict} ({} face(s) found)",
            report.faces.len()
        );
        if shown.as_ref().is_none_or(|(_, r)| r.verdict.is_err()) {
            shown = Some((frame.clone(), report.clone()));
        }
    });
    if let (Some(out), Some((frame, report))) = (&args.annotate, &shown) {
        print!("{}", face_check::describe(report, frame, face));
        if let Err(code) = face_check::write_annotated(out, frame, report, face) {
            return code;
        }
    }
    match result {
        Ok(found) => match write_file(&args.out, &found.shot.jpeg) {
            Ok(()) => {
                print!("{}", report(&cam.name(), &found.shot, &args.out));
                exit::OK
            }
            Err(e) => {
                eprintln!("enrolld: cannot write {}: {e}", args.out.display());
                exit::FAILURE
            }
        },
        Err(e @ SearchError::NoFace { .. }) => {
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
         ms: capture {:.1}, choose {:.1}, face {:.1}, convert {:.1}, encode {:.1}, total {:.1}\n",
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
        ms(t.face),
        ms(t.convert),
        ms(t.encode),
        ms(t.capture + t.choose + t.face + t.convert + t.encode),
    )
}
