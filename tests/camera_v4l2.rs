//! The V4L2 source on what the build machine has: no camera, but real
//! device nodes and real ioctls. A node that is not a capture device is
//! refused at once (no reopen loop), naming it. Capture itself is proven
//! under QEMU with vivid by the real-kernel tests.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use enrolld::camera::session::Session;
use enrolld::camera::v4l2::V4l2Camera;
use enrolld::camera::{Camera, CameraConfig, CameraError};

fn camera_on(device: &str) -> Session<V4l2Camera> {
    let cfg = CameraConfig {
        device: device.into(),
        ..CameraConfig::default()
    };
    Session::new(V4l2Camera::new(&cfg), &cfg)
}

#[test]
fn a_node_that_is_not_v4l2_is_refused_without_retries() {
    static BACKOFFS: AtomicU32 = AtomicU32::new(0);
    fn count(_: Duration) {
        BACKOFFS.fetch_add(1, Ordering::SeqCst);
    }
    let mut cam = camera_on("/dev/null").with_sleep(count);
    let e = cam.burst().unwrap_err();
    assert!(matches!(e, CameraError::NotACaptureDevice { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("/dev/null") && text.contains("not a V4L2 device"),
        "{text}"
    );
    // Not transient: reported at once, no backoff and reopen.
    assert_eq!(BACKOFFS.load(Ordering::SeqCst), 0);
    assert_eq!(cam.opens(), 0);
}

#[test]
fn a_missing_node_is_an_open_fault_naming_it_and_saying_what_to_do() {
    let mut cam = camera_on("/dev/v4l/by-id/usb-Nobody-video-index0");
    let e = cam.burst().unwrap_err();
    assert!(matches!(e, CameraError::Open { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "/dev/v4l/by-id/usb-Nobody-video-index0: cannot open: No such file or directory \
         (os error 2); is the camera plugged in? `enrolld probe` lists the capture devices: set \
         camera.device to one of them (a /dev/v4l/by-id/ path survives reboots)"
    );
}
