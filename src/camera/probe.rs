//! The V4L2 half of `enrolld probe`: every video device with its stable
//! `/dev/v4l/by-id` names, driver, card, bus and capture formats with frame
//! sizes: what a person setting up a terminal puts in `[camera]`.

use std::fmt;
use std::path::{Path, PathBuf};

use v4l::Device;
use v4l::frameinterval::FrameIntervalEnum;
use v4l::framesize::FrameSizeEnum;
use v4l::video::Capture;

use super::frame::PixelFormat;
use super::v4l2::{CAP_VIDEO_CAPTURE, fps, query_caps};

/// One device node as probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub path: PathBuf,
    /// `/dev/v4l/by-id` and `/dev/v4l/by-path` links pointing at it.
    pub links: Vec<PathBuf>,
    pub driver: String,
    pub card: String,
    pub bus: String,
    /// Whether the node captures video (UVC cameras also have metadata nodes).
    pub captures: bool,
    pub formats: Vec<FormatInfo>,
    /// Why the device could not be (fully) read, e.g. permission denied.
    pub problem: Option<String>,
    /// Why this camera needs libcamera (a CSI receiver's raw node), when it does.
    pub needs_libcamera: Option<String>,
    /// For a media-controller node that offers a format enrolld reads: that it may still
    /// need libcamera (it streams only once its pipeline is set up).
    pub media_controller: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatInfo {
    pub fourcc: String,
    pub description: String,
    /// Whether enrolld can use it (`camera.format`).
    pub usable: bool,
    /// `WxH` for discrete sizes, or a range for stepwise ones.
    pub sizes: Vec<String>,
}

/// All V4L2 devices under `/dev`.
pub fn list_devices() -> Vec<DeviceInfo> {
    list_devices_in(Path::new("/dev"))
}

/// The report `enrolld probe` prints for cameras.
pub fn describe_devices() -> String {
    render(&list_devices())
}

/// Renders a device list as text.
pub fn render(devices: &[DeviceInfo]) -> String {
    if devices.is_empty() {
        return "V4L2: no video devices found (/dev/video*)\n".to_owned();
    }
    devices.iter().map(|d| d.to_string()).collect()
}

/// Devices named `video*` in `dev` (a parameter so tests can point elsewhere).
pub fn list_devices_in(dev: &Path) -> Vec<DeviceInfo> {
    let mut nodes: Vec<PathBuf> = std::fs::read_dir(dev)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_prefix("video")
                    .is_some_and(|i| i.parse::<u32>().is_ok())
            })
        })
        .collect();
    // video2 before video10.
    nodes.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n[5..].parse::<u32>().ok())
    });
    let links = stable_links(&dev.join("v4l"));
    nodes.into_iter().map(|p| probe_one(&p, &links)).collect()
}

/// (link, target) pairs under `v4l/by-id` and `v4l/by-path`.
fn stable_links(v4l_dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    ["by-id", "by-path"]
        .iter()
        .flat_map(|sub| {
            std::fs::read_dir(v4l_dir.join(sub))
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter_map(|e| Some((e.path(), std::fs::canonicalize(e.path()).ok()?)))
        .collect()
}

fn probe_one(path: &Path, links: &[(PathBuf, PathBuf)]) -> DeviceInfo {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut info = DeviceInfo {
        path: path.to_owned(),
        links: links
            .iter()
            .filter(|(_, target)| *target == canonical)
            .map(|(link, _)| link.clone())
            .collect(),
        driver: String::new(),
        card: String::new(),
        bus: String::new(),
        captures: false,
        formats: Vec::new(),
        problem: None,
        needs_libcamera: None,
        media_controller: None,
    };
    let dev = match Device::with_path(path) {
        Ok(d) => d,
        Err(e) => {
            info.problem = Some(format!("cannot open: {e}"));
            return info;
        }
    };
    let mut device_caps = 0;
    match query_caps(&dev) {
        Ok(caps) => {
            info.driver = caps.driver;
            info.card = caps.card;
            info.bus = caps.bus;
            info.captures = caps.device_caps & CAP_VIDEO_CAPTURE != 0;
            device_caps = caps.device_caps;
        }
        Err(e) => info.problem = Some(format!("VIDIOC_QUERYCAP failed: {e}")),
    }
    if info.captures {
        match dev.enum_formats() {
            Ok(formats) => info.formats = formats.iter().map(|d| format_info(&dev, d)).collect(),
            Err(e) => info.problem = Some(format!("VIDIOC_ENUM_FMT failed: {e}")),
        }
        let usable = info.formats.iter().any(|f| f.usable);
        info.needs_libcamera = super::csi::needs_libcamera(&info.driver, device_caps, usable);
        if info.needs_libcamera.is_none() {
            info.media_controller = super::csi::media_controller_note(device_caps);
        }
    }
    info
}

fn format_info(dev: &Device, d: &v4l::format::Description) -> FormatInfo {
    let sizes = dev
        .enum_framesizes(d.fourcc)
        .unwrap_or_default()
        .into_iter()
        .map(|s| match s.size {
            FrameSizeEnum::Discrete(size) => {
                let rates = frame_rates(dev, d.fourcc, size.width, size.height);
                format!("{}x{}{rates}", size.width, size.height)
            }
            FrameSizeEnum::Stepwise(s) => format!(
                "{}x{} to {}x{} (step {}x{})",
                s.min_width, s.min_height, s.max_width, s.max_height, s.step_width, s.step_height
            ),
        })
        .collect();
    FormatInfo {
        fourcc: d.fourcc.to_string(),
        description: d.description.clone(),
        usable: PixelFormat::from_fourcc(&d.fourcc.repr).is_some(),
        sizes,
    }
}

/// The frame rates a driver offers at one size, as " (30, 15 fps)"; empty when it lists none.
fn frame_rates(dev: &Device, fourcc: v4l::FourCC, width: u32, height: u32) -> String {
    let rates: Vec<String> = dev
        .enum_frameintervals(fourcc, width, height)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| match i.interval {
            FrameIntervalEnum::Discrete(f) => fps(f.numerator, f.denominator),
            // The shortest interval is the highest rate.
            FrameIntervalEnum::Stepwise(s) => Some(format!(
                "{} to {}",
                fps(s.max.numerator, s.max.denominator)?,
                fps(s.min.numerator, s.min.denominator)?
            )),
        })
        .collect();
    if rates.is_empty() {
        String::new()
    } else {
        format!(" ({} fps)", rates.join(", "))
    }
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.path.display())?;
        for link in &self.links {
            writeln!(f, "  link: {}", link.display())?;
        }
        if !self.driver.is_empty() {
            writeln!(
                f,
                "  driver: {}  card: {}  bus: {}",
                self.driver, self.card, self.bus
            )?;
        }
        if let Some(p) = &self.problem {
            writeln!(f, "  problem: {p}")?;
        }
        if !self.captures && self.problem.is_none() {
            writeln!(f, "  not a video capture node")?;
        }
        if let Some(why) = &self.needs_libcamera {
            writeln!(f, "  needs libcamera: {why}")?;
        }
        if let Some(note) = &self.media_controller {
            writeln!(f, "  may need libcamera: {note}")?;
        }
        for fmt in &self.formats {
            let usable = if fmt.usable {
                ""
            } else {
                "  (not usable by enrolld)"
            };
            writeln!(f, "  {} {}{usable}", fmt.fourcc, fmt.description)?;
            if !fmt.sizes.is_empty() {
                writeln!(f, "    sizes: {}", fmt.sizes.join(", "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_devices_says_so() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("videox"), b"").unwrap();
        assert!(list_devices_in(dir.path()).is_empty());
        assert!(render(&[]).contains("no video devices"));
    }

    #[test]
    fn a_camera_renders_with_formats_and_sizes() {
        let d = DeviceInfo {
            path: "/dev/video0".into(),
            links: vec!["/dev/v4l/by-id/usb-Acme_Cam-video-index0".into()],
            driver: "uvcvideo".into(),
            card: "Acme Cam".into(),
            bus: "usb-0000:01:00.0-1.2".into(),
            captures: true,
            formats: vec![
                FormatInfo {
                    fourcc: "MJPG".into(),
                    description: "Motion-JPEG".into(),
                    usable: true,
                    sizes: vec!["1280x720".into(), "640x480".into()],
                },
                FormatInfo {
                    fourcc: "H264".into(),
                    description: "H.264".into(),
                    usable: false,
                    sizes: vec![],
                },
            ],
            problem: None,
            needs_libcamera: None,
            media_controller: None,
        };
        let text = render(&[d]);
        assert_eq!(
            text,
            "/dev/video0\n  link: /dev/v4l/by-id/usb-Acme_Cam-video-index0\n  driver: uvcvideo  card: Acme Cam  bus: usb-0000:01:00.0-1.2\n  MJPG Motion-JPEG\n    sizes: 1280x720, 640x480\n  H264 H.264  (not usable by enrolld)\n"
        );
    }

    /// A capture node with one format and nothing else to say about it.
    fn one_format_node(driver: &str, bus: &str, fourcc: &str, usable: bool) -> DeviceInfo {
        DeviceInfo {
            path: "/dev/video1".into(),
            links: vec![],
            driver: driver.into(),
            card: driver.into(),
            bus: bus.into(),
            captures: true,
            formats: vec![FormatInfo {
                fourcc: fourcc.into(),
                description: String::new(),
                usable,
                sizes: vec![],
            }],
            problem: None,
            needs_libcamera: None,
            media_controller: None,
        }
    }

    #[test]
    fn a_csi_receiver_says_it_needs_libcamera() {
        let d = DeviceInfo {
            needs_libcamera: crate::camera::csi::needs_libcamera("unicam", 0x0420_0001, false),
            ..one_format_node("unicam", "platform:fe801000.csi", "pRAA", false)
        };
        let text = render(&[d]);
        assert!(
            text.contains(
                "needs libcamera: this is the raw node of a CSI camera receiver (driver unicam)"
            ),
            "{text}"
        );
        assert!(text.contains("Raspberry Pi Camera Module"), "{text}");
    }

    #[test]
    fn a_media_controller_node_with_a_usable_format_says_it_may_need_libcamera() {
        // vimc's raw capture node: RGB24 listed, Bayer from its sensor.
        let d = DeviceInfo {
            media_controller: crate::camera::csi::media_controller_note(
                crate::camera::csi::CAP_IO_MC | CAP_VIDEO_CAPTURE,
            ),
            ..one_format_node("vimc", "platform:vimc", "RGB3", true)
        };
        let text = render(&[d]);
        assert!(
            text.contains("  may need libcamera: a media-controller node"),
            "{text}"
        );
        assert!(text.contains("Raspberry Pi Camera Module"), "{text}");
    }

    #[test]
    fn a_node_that_is_not_a_device_reports_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("video3"), b"").unwrap();
        std::fs::create_dir_all(dir.path().join("v4l/by-id")).unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("video3"),
            dir.path().join("v4l/by-id/usb-Cam-video-index0"),
        )
        .unwrap();
        let devices = list_devices_in(dir.path());
        assert_eq!(devices.len(), 1);
        assert_eq!(
            devices[0].links,
            vec![dir.path().join("v4l/by-id/usb-Cam-video-index0")]
        );
        let text = render(&devices);
        assert!(text.contains("problem:"), "{text}");
        assert!(text.contains("by-id/usb-Cam-video-index0"), "{text}");
    }
}
