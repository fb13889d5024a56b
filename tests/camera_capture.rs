//! The capture loop and pipeline through the simulated camera: warm-up,
//! burst, frame choice, retakes, and the timeout -> close -> reopen path the
//! V4L2 camera shares. (The V4L2 source itself needs a device: it is proven
//! under QEMU with vivid by the real-kernel tests.)

use std::time::Duration;

use enrolld::camera::choose::Retake;
use enrolld::camera::session::{REOPEN_ATTEMPTS, Session};
use enrolld::camera::sim::{SimCamera, SimControl, SimEvent};
use enrolld::camera::{
    Camera, CameraConfig, CameraError, CaptureError, CaptureMode, FormatChoice, PixelFormat,
    SourceKind, capture_jpeg,
};
use enrolld::time::monotonic;

fn config(format: FormatChoice, mode: CaptureMode) -> CameraConfig {
    CameraConfig {
        source: SourceKind::Simulated,
        width: 640,
        height: 480,
        format,
        mode,
        warmup_frames: 2,
        burst: 3,
        dequeue_timeout_ms: 100,
        ..CameraConfig::default()
    }
}

fn no_sleep(_: Duration) {}

fn session(cfg: &CameraConfig) -> (Session<SimCamera>, SimControl) {
    let cam = SimCamera::new(cfg).unwrap();
    let control = cam.control();
    (Session::new(cam, cfg).with_sleep(no_sleep), control)
}

#[test]
fn every_format_gives_a_jpeg_of_the_asked_size() {
    for (format, expect) in [
        (FormatChoice::Auto, PixelFormat::Mjpeg),
        (FormatChoice::Yuyv, PixelFormat::Yuyv),
        (FormatChoice::Nv12, PixelFormat::Nv12),
        (FormatChoice::Rgb24, PixelFormat::Rgb24),
    ] {
        let cfg = config(format, CaptureMode::OnDemand);
        let (mut cam, _) = session(&cfg);
        let shot = capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
        assert_eq!(shot.format, expect);
        assert_eq!((shot.width, shot.height), (640, 480));
        let img = image::load_from_memory(&shot.jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (640, 480));
        assert!(shot.sharpness > 0.0 && shot.luma > 40.0);
        assert_eq!(shot.burst, 3);
    }
}

#[test]
fn the_sharp_frame_of_a_burst_is_the_one_sent() {
    let cfg = config(FormatChoice::Yuyv, CaptureMode::OnDemand);
    let (mut cam, _) = session(&cfg);
    let all_sharp = capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();

    let (mut cam, control) = session(&cfg);
    control.push(&[SimEvent::Normal, SimEvent::Normal]); // warm-up
    control.push(&[SimEvent::Blurred, SimEvent::Normal, SimEvent::Blurred]);
    let mixed = capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
    let (mut cam, control) = session(&cfg);
    control.push(&[SimEvent::Normal, SimEvent::Normal]); // warm-up
    control.push(&[SimEvent::Blurred; 3]);
    let blurred = capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
    // Frames differ only in their simulated frame number, a few pixels: the
    // sharp frame scores as the all-sharp burst does, far above a blurred one.
    let close = |a: f32, b: f32| (a - b).abs() <= 0.02 * b;
    assert!(
        close(mixed.sharpness, all_sharp.sharpness),
        "the sharp frame is the one sent: {} vs {}",
        mixed.sharpness,
        all_sharp.sharpness
    );
    assert!(blurred.sharpness < 0.5 * mixed.sharpness);
}

#[test]
fn all_dark_or_all_bright_is_a_local_retake() {
    for (event, reason) in [
        (SimEvent::Dark, Retake::TooDark),
        (SimEvent::Bright, Retake::TooBright),
    ] {
        let cfg = config(FormatChoice::Nv12, CaptureMode::OnDemand);
        let (mut cam, control) = session(&cfg);
        control.push(&[SimEvent::Normal, SimEvent::Normal, event, event, event]);
        let e = capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap_err();
        assert!(e.is_retake(), "{e}");
        assert!(matches!(e, CaptureError::Retake(r) if r == reason), "{e}");
    }
}

#[test]
fn warm_up_frames_are_discarded_once_per_stream() {
    let cfg = config(FormatChoice::Yuyv, CaptureMode::OnDemand);
    let (mut cam, control) = session(&cfg);
    // Warm-up frames are dark (auto exposure settling): they must not count.
    control.push(&[SimEvent::Dark, SimEvent::Dark]);
    capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
    capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
    // On demand: opened per capture, warm-up each time.
    assert_eq!(control.opens(), 2);
    assert_eq!(control.frames(), 2 * (2 + 3));

    let cfg = config(FormatChoice::Yuyv, CaptureMode::Streaming);
    let (mut cam, control) = session(&cfg);
    capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
    capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
    assert_eq!(control.opens(), 1, "streaming keeps the device open");
    assert_eq!(control.frames(), 2 + 2 * 3);
}

/// A streaming camera after one burst (2 warm-up + 3 frames), with three
/// frames from long before (captured at time zero) queued in the driver.
fn streaming_with_three_old_frames_queued() -> (Session<SimCamera>, SimControl) {
    let cfg = config(FormatChoice::Yuyv, CaptureMode::Streaming);
    let (mut cam, control) = session(&cfg);
    cam.burst().unwrap();
    control.push(&[SimEvent::Stale, SimEvent::Stale, SimEvent::Stale]);
    (cam, control)
}

#[test]
fn streaming_skips_frames_older_than_the_request() {
    let (mut cam, control) = streaming_with_three_old_frames_queued();
    let before = monotonic();
    let frames = cam.burst().unwrap();
    assert_eq!(frames.len(), 3);
    assert!(frames.iter().all(|f| f.captured_at.unwrap() >= before));
    assert_eq!(control.frames(), 2 + 3 + 3 + 3);
}

#[test]
fn streaming_takes_frames_from_the_press_on_not_from_the_request() {
    // The daemon passes the press's kernel edge time: a frame that came in
    // between the edge and the request is already the person's.
    let (mut cam, control) = streaming_with_three_old_frames_queued();
    let frames = cam.burst_since(Duration::ZERO).unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(control.frames(), 2 + 3 + 3, "no frame skipped");
}

#[test]
fn a_stalled_stream_is_dropped_and_reopened() {
    let cfg = config(FormatChoice::Yuyv, CaptureMode::OnDemand);
    let (mut cam, control) = session(&cfg);
    // Stalls in the burst (after warm-up), then recovers.
    control.push(&[
        SimEvent::Normal,
        SimEvent::Normal,
        SimEvent::Normal,
        SimEvent::Stall,
    ]);
    let shot = capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
    assert_eq!(shot.burst, 3);
    assert_eq!(control.opens(), 2, "reopened after the timeout");
    assert_eq!(
        control.reuse_after_error(),
        0,
        "the failed stream was never used again"
    );
}

#[test]
fn a_persistent_fault_is_reported_after_bounded_reopens() {
    let cfg = config(FormatChoice::Yuyv, CaptureMode::OnDemand);
    let (mut cam, control) = session(&cfg);
    let attempts = REOPEN_ATTEMPTS as usize + 1;
    control.push(&vec![SimEvent::Stall; attempts]);
    let e = capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap_err();
    assert!(!e.is_retake());
    assert!(
        matches!(
            e,
            CaptureError::Fault(CameraError::Timeout {
                timeout_ms: 100,
                ..
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("no frame within 100 ms"), "{e}");
    assert_eq!(control.opens() as usize, attempts);
    assert_eq!(control.reuse_after_error(), 0);
    // The camera works again once the fault clears.
    capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
}

#[test]
fn open_failures_are_retried_then_reported() {
    let cfg = config(FormatChoice::Yuyv, CaptureMode::OnDemand);
    let (mut cam, control) = session(&cfg);
    control.push(&[SimEvent::OpenFail, SimEvent::OpenFail]);
    capture_jpeg(&mut cam, &cfg, 1_500_000).unwrap();
    assert_eq!(control.opens(), 1);

    control.push(&vec![SimEvent::OpenFail; REOPEN_ATTEMPTS as usize + 1]);
    let e = cam.burst().unwrap_err();
    assert!(e.to_string().contains("open failed"), "{e}");
}

#[test]
fn backoff_doubles_between_reopens() {
    use std::sync::Mutex;
    static SLEPT: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
    fn record(d: Duration) {
        SLEPT.lock().unwrap().push(d);
    }
    let cfg = config(FormatChoice::Yuyv, CaptureMode::OnDemand);
    let cam = SimCamera::new(&cfg).unwrap();
    let control = cam.control();
    let mut cam = Session::new(cam, &cfg).with_sleep(record);
    control.push(&vec![SimEvent::Fail; REOPEN_ATTEMPTS as usize + 1]);
    assert!(cam.burst().is_err());
    let slept = SLEPT.lock().unwrap().clone();
    assert_eq!(
        slept,
        vec![
            Duration::from_millis(100),
            Duration::from_millis(200),
            Duration::from_millis(400)
        ]
    );
}

#[test]
fn simulated_camera_shows_a_picture_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("face.png");
    enrolld::camera::pattern::face(320, 200)
        .save(&path)
        .unwrap();
    let cfg = CameraConfig {
        simulated_image: Some(path),
        ..config(FormatChoice::Nv12, CaptureMode::OnDemand)
    };
    let mut cam = enrolld::camera::open(&cfg).unwrap();
    let shot = capture_jpeg(cam.as_mut(), &cfg, 1_500_000).unwrap();
    assert_eq!(
        (shot.width, shot.height),
        (640, 480),
        "scaled to the configured size"
    );

    let missing = CameraConfig {
        simulated_image: Some(dir.path().join("nope.png")),
        ..cfg
    };
    let e = enrolld::camera::open(&missing)
        .err()
        .expect("missing file refused");
    assert!(e.to_string().contains("nope.png"), "{e}");
}
