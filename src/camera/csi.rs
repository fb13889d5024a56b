//! Cameras a plain V4L2 client cannot drive: a CSI-2 camera (the Raspberry Pi Camera Module)
//! shows up as its receiver's raw node, which delivers nothing usable until a media pipeline
//! (sensor, receiver, ISP) is configured: libcamera's job. Recognised here from what
//! `VIDIOC_QUERYCAP` says, so `enrolld probe` and `enrolld run` can name the route instead of
//! failing with "offers no format enrolld can use".

/// `V4L2_CAP_IO_MC`: the node's inputs and formats are set through the media controller.
pub const CAP_IO_MC: u32 = 0x2000_0000;

/// Drivers of camera receivers and ISPs whose nodes need a media pipeline set up first: the
/// Raspberry Pi's CSI-2 receivers (Unicam on Pi 0-4, the RP1 front end on Pi 5) and ISPs.
const PIPELINE_DRIVERS: [&str; 4] = ["unicam", "rp1-cfe", "bcm2835-isp", "pispbe"];

/// What to do with such a camera: libcamera runs it and writes its frames into a v4l2loopback
/// node, which enrolld reads as it reads a USB camera. (Running enrolld itself under libcamera's
/// V4L2 compatibility layer does not work: the `v4l` crate issues raw ioctl system calls, which
/// a preloaded library cannot intercept; docs/hardware.md.)
const ROUTE_ACTION: &str = "let libcamera feed it into a v4l2loopback node for enrolld \
                            (the enrolld-libcamera-bridge unit)";

/// Where the way to run enrolld with such a camera is documented.
pub const ROUTE: &str = "docs/hardware.md, section \"Raspberry Pi Camera Module\" \
                         (/usr/share/doc/enrolld/docs/hardware.md)";

/// Why a node with this driver and these device capabilities needs libcamera, when it does:
/// `usable_formats` is whether it offers any format enrolld reads (a media-controller node
/// that happens to offer YUYV may still work as it is).
pub fn needs_libcamera(driver: &str, device_caps: u32, usable_formats: bool) -> Option<String> {
    if PIPELINE_DRIVERS.contains(&driver) {
        return Some(format!(
            "this is the raw node of a CSI camera receiver (driver {driver}): a Raspberry Pi \
             Camera Module is driven by libcamera, not by plain V4L2; {ROUTE_ACTION}, see {ROUTE}"
        ));
    }
    if device_caps & CAP_IO_MC != 0 && !usable_formats {
        return Some(format!(
            "this node (driver {driver}) is part of a media-controller pipeline that must be \
             configured before it delivers frames, usually by libcamera; see {ROUTE}"
        ));
    }
    None
}

/// What `VIDIOC_STREAMON` failing with this errno means on a node with these device
/// capabilities, when it says the camera needs libcamera: a media-controller node whose
/// pipeline is not set up for the format asked (the links or the sensor's and ISP's pad
/// formats disagree with it) refuses to stream with `EPIPE`. That is what a camera libcamera
/// drives looks like to a plain V4L2 client when its node offers a format enrolld reads
/// (vimc's raw nodes list RGB24 beside their sensor's Bayer).
pub fn stream_refused(driver: &str, device_caps: u32, errno: Option<i32>) -> Option<String> {
    if device_caps & CAP_IO_MC == 0 || errno != Some(libc::EPIPE) {
        return None;
    }
    Some(format!(
        "streaming refused (VIDIOC_STREAMON: broken pipe): this node (driver {driver}) is part \
         of a media-controller pipeline that is not set up for this format; such a camera is \
         driven by libcamera: {ROUTE_ACTION}, see {ROUTE}"
    ))
}

/// What `enrolld probe` says about a media-controller node that offers a format enrolld reads
/// (one that offers none is [`needs_libcamera`]'s): it streams only if its pipeline happens to
/// be set up for that format, so the formats listed are a promise it may not keep.
pub fn media_controller_note(device_caps: u32) -> Option<String> {
    (device_caps & CAP_IO_MC != 0).then(|| {
        format!(
            "a media-controller node: it delivers frames only once its pipeline is set up \
             (usually by libcamera); if streaming fails with a broken pipe, {ROUTE_ACTION}, see {ROUTE}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_on_a_media_controller_node_points_to_libcamera() {
        // vimc's raw capture node, asked for RGB24 while its sensor sends Bayer.
        let why = stream_refused("vimc", CAP_IO_MC | 0x0420_0001, Some(libc::EPIPE)).unwrap();
        assert!(why.contains("broken pipe"), "{why}");
        assert!(why.contains("driver vimc"), "{why}");
        assert!(why.contains("v4l2loopback"), "{why}");
        assert!(why.contains("Raspberry Pi Camera Module"), "{why}");
        // Another errno on such a node is an ordinary I/O error.
        assert_eq!(stream_refused("vimc", CAP_IO_MC | 1, Some(libc::EIO)), None);
        // EPIPE from a node without a media pipeline (a UVC camera) says nothing of libcamera.
        assert_eq!(
            stream_refused("uvcvideo", 0x0420_0001, Some(libc::EPIPE)),
            None
        );
    }

    #[test]
    fn probe_notes_media_controller_nodes_only() {
        let note = media_controller_note(CAP_IO_MC | 1).unwrap();
        assert!(note.contains("media-controller node"), "{note}");
        assert!(note.contains("broken pipe"), "{note}");
        assert_eq!(media_controller_note(0x0420_0001), None);
    }

    #[test]
    fn the_pi_receivers_and_unconfigured_pipelines_need_libcamera() {
        assert!(
            needs_libcamera("unicam", 0x0420_0001, false)
                .unwrap()
                .contains("unicam")
        );
        assert!(needs_libcamera("rp1-cfe", CAP_IO_MC | 1, true).is_some());
        let mc = needs_libcamera("some-isp", CAP_IO_MC | 1, false).unwrap();
        assert!(mc.contains("media-controller"), "{mc}");
        // A media-controller node that offers a usable format is left to try.
        assert_eq!(needs_libcamera("some-isp", CAP_IO_MC | 1, true), None);
        assert_eq!(needs_libcamera("uvcvideo", 0x0420_0001, true), None);
        assert_eq!(needs_libcamera("vivid", 1, true), None);
        // v4l2loopback fed by libcamera is an ordinary capture device.
        assert_eq!(needs_libcamera("v4l2 loopback", 0x0420_0001, true), None);
    }
}
