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
             Camera Module is driven by libcamera, not by plain V4L2; run enrolld under \
             libcamera's V4L2 compatibility layer, see {ROUTE}"
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // libcamera's compatibility layer answers for the camera itself.
        assert_eq!(needs_libcamera("libcamera", 1, true), None);
    }
}
