//! `enrolld capture` as a real process with a simulated camera.

use std::path::Path;
use std::process::{Command, Output};

fn write_config(dir: &Path, camera: &str) -> std::path::PathBuf {
    let path = dir.join("enrolld.toml");
    let text = format!(
        "[api]\nbase_url = \"https://integrate.idmetagroup.com\"\ntemplate_id = \"1\"\n\n[camera]\nsource = \"simulated\"\nwidth = 640\nheight = 480\n{camera}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn capture(config: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_enrolld"))
        .arg("--config")
        .arg(config)
        .arg("capture")
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn capture_writes_the_jpeg_and_reports_each_stage() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "format = \"yuyv\"\n");
    let out = dir.path().join("shot.jpg");
    let run = capture(&config, &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (640, 480));
    let size = std::fs::metadata(&out).unwrap().len();
    for needle in [
        "format: YUYV".to_owned(),
        "resolution: 640x480".to_owned(),
        "sharpness".to_owned(),
        "mean luma".to_owned(),
        format!("jpeg: {size} bytes, quality 85"),
        "ms: capture".to_owned(),
        "encode".to_owned(),
    ] {
        assert!(stdout.contains(&needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[test]
fn a_dark_scene_is_a_retake_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let black = dir.path().join("black.png");
    image::RgbImage::new(64, 48).save(&black).unwrap();
    let config = write_config(
        dir.path(),
        &format!("simulated_image = \"{}\"\n", black.display()),
    );
    let out = dir.path().join("shot.jpg");
    let run = capture(&config, &out);
    assert_eq!(run.status.code(), Some(65));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("retake: picture too dark"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn a_bad_camera_key_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "burst = 0\n");
    let run = capture(&config, &dir.path().join("x.jpg"));
    assert_eq!(run.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("camera.burst"), "{stderr}");
}

#[test]
fn a_missing_device_is_a_camera_fault_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enrolld.toml");
    std::fs::write(
        &path,
        "[api]\nbase_url = \"https://integrate.idmetagroup.com\"\ntemplate_id = \"1\"\n\n[camera]\ndevice = \"/dev/v4l/by-id/no-such-camera\"\ndequeue_timeout_ms = 100\n",
    )
    .unwrap();
    let run = capture(&path, &dir.path().join("x.jpg"));
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("camera fault") && stderr.contains("no-such-camera"),
        "{stderr}"
    );
}
