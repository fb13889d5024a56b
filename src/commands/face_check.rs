//! `enrolld face-check --image F.jpg`: the face check on a picture, as the daemon would judge a
//! camera frame, with the decision, the reason, the face's box and pose; `--annotate OUT.jpg`
//! draws what it saw. For an installer aiming the camera at the height people stand (a frame
//! from `enrolld capture`, or a photo from a phone held where the camera is).

use std::path::{Path, PathBuf};

use crate::camera::{Frame, PixelFormat};
use crate::config::Config;
use crate::exit;
use crate::face::input::InputMaker;
use crate::face::{FaceCheck, FaceConfig, FrameSize, Report, annotate, decide};

#[derive(Debug, clap::Args)]
pub struct FaceCheckArgs {
    /// The picture to check (JPEG; PNG too in builds with the demo feature).
    #[arg(long, value_name = "FILE")]
    pub image: PathBuf,
    /// Also write the picture with the face's box, its landmarks and the margins drawn.
    #[arg(long, value_name = "OUT.jpg")]
    pub annotate: Option<PathBuf>,
}

/// Exit 0 when the face passes, 65 (`DATA`) when it is refused, 66 when the picture cannot be
/// read, 78 for a configuration error, 1 when this build has no face detector.
pub fn run(config_path: &Path, args: &FaceCheckArgs) -> i32 {
    let face_config = match thresholds(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let picture = match image::open(&args.image) {
        Ok(p) => p.to_rgb8(),
        Err(e) => {
            eprintln!("enrolld: cannot read {}: {e}", args.image.display());
            return exit::NO_INPUT;
        }
    };
    // Raw camera frames have even sides; so does what is checked here.
    let (w, h) = (picture.width() & !1, picture.height() & !1);
    let picture = image::imageops::crop_imm(&picture, 0, 0, w, h).to_image();
    let frame = crate::camera::sim::pack(&picture, PixelFormat::Rgb24);
    let mut check = match FaceCheck::load(&face_config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("enrolld: {e}");
            return exit::FAILURE;
        }
    };
    let report = check.check(&frame);
    println!("image: {} ({w}x{h})", args.image.display());
    print!("{}", describe(&report, &frame, &face_config));
    if let Some(out) = &args.annotate
        && let Err(code) = write_annotated(out, &frame, &report, &face_config)
    {
        return code;
    }
    if report.verdict.is_ok() {
        exit::OK
    } else {
        exit::DATA
    }
}

/// The `[face]` thresholds of the configuration file, or the defaults when there is none (an
/// installer's laptop); the check is on whatever `face.enabled` says.
pub fn thresholds(config_path: &Path) -> Result<FaceConfig, i32> {
    let config = if config_path.exists() {
        super::load_config_or_exit_code(config_path)?
    } else {
        eprintln!(
            "enrolld: no configuration at {}: the default thresholds",
            config_path.display()
        );
        return Ok(FaceConfig {
            enabled: true,
            ..FaceConfig::default()
        });
    };
    let Config { face, .. } = config;
    Ok(FaceConfig {
        enabled: true,
        ..face
    })
}

/// The decision, the reason and what was found, in words.
pub fn describe(report: &Report, frame: &Frame, config: &FaceConfig) -> String {
    let mut out = match &report.verdict {
        Ok(_) => "decision: passed (one well-placed face)\n".to_owned(),
        Err(r) => format!("decision: refused: {r}\n"),
    };
    let size = FrameSize {
        width: frame.width,
        height: frame.height,
    };
    let chosen = report.verdict.as_ref().ok().map(|p| p.face);
    let judged = chosen.or_else(|| {
        report
            .faces
            .iter()
            .copied()
            .max_by(|a, b| a.score.total_cmp(&b.score))
    });
    if let Some(face) = judged {
        let b = face.bounds;
        let px = |v: f32, of: u32| (v * of as f32).round() as i64;
        let c = b.centre();
        let pose = decide::Pose::of(&face, size);
        out += &format!(
            "face: score {:.2} (min {:.2}), box x {} y {} w {} h {} px, {:.0}% of the width \
             (min {:.0}%, max {:.0}%), centre at ({:.2}, {:.2}) of the frame (margin {:.2})\n",
            face.score,
            config.min_score,
            px(b.left, size.width),
            px(b.top, size.height),
            px(b.width, size.width),
            px(b.height, size.height),
            b.width * 100.0,
            config.min_width * 100.0,
            config.max_width * 100.0,
            c.x,
            c.y,
            config.margin,
        );
        out += &format!(
            "pose: tilt {:.1} degrees (max {:.0}), turn {:.2} (max {:.2})\n",
            pose.tilt_deg, config.max_tilt_deg, pose.turn, config.max_turn
        );
    }
    if let Ok(passed) = &report.verdict {
        out += &format!(
            "face itself: mean luma {:.0} ({}-{}), sharpness {:.0} (min {:.0})\n",
            passed.quality.luma,
            config.min_luma,
            config.max_luma,
            passed.quality.sharpness,
            config.min_sharpness
        );
    }
    out += &format!(
        "faces found: {}; check took {:.1} ms\n",
        report.faces.len(),
        report.took.as_secs_f64() * 1000.0
    );
    out
}

/// Draws the report on the frame and writes it as a JPEG.
pub fn write_annotated(
    out: &Path,
    frame: &Frame,
    report: &Report,
    config: &FaceConfig,
) -> Result<(), i32> {
    let fail = |what: String| {
        eprintln!(
            "enrolld: cannot write the annotated picture {}: {what}",
            out.display()
        );
        exit::FAILURE
    };
    let mut inputs = InputMaker::new().map_err(|e| fail(e.to_string()))?;
    let mut picture = inputs.rgb_image(frame).map_err(|e| fail(e.to_string()))?;
    annotate::draw(&mut picture, report, config);
    picture
        .save_with_format(out, image::ImageFormat::Jpeg)
        .map_err(|e| fail(e.to_string()))?;
    println!("annotated: {}", out.display());
    Ok(())
}
