//! Guest tool of the real-kernel tests (not part of enrolld): the producer behind a
//! v4l2loopback device, playing a USB camera's sensor and encoder, so enrolld captures real
//! photos through a real V4L2 driver.
//!
//!     rk-loopback-feed feed <device> <mjpeg|yuyv> <W>x<H> <fps> <frames-dir> <control-file>
//!
//! Sets the device's output format (`VIDIOC_S_FMT`), starts its output stream
//! (`VIDIOC_STREAMON`, so v4l2loopback counts it as a writer and announces its output side
//! again once it is gone) and writes one frame per period with `write()` (the driver copies
//! it into its next buffer with `bytesused` = the bytes written, so an MJPEG frame reaches the
//! reader byte for byte), until killed. Frames are the files of `<frames-dir>` with the
//! format's extension (`.jpg` or `.yuyv`), in two pictures: `face-*` and `noface-*`, each
//! played in name order, cycling.
//!
//! `<control-file>` is read before every frame (missing: face, undamaged):
//!
//!     serial 3                       echoed when the settings take effect
//!     picture face|noface
//!     damage none | <kind>,<kind>,... (MJPEG only) the n-th frame gets kind n mod the list
//!
//! Damage kinds, made from the frame that was due: `good`; `truncated` (its first half);
//! `no-eoi` (without the closing FF D9); `garbage` (its middle third overwritten with
//! pseudo-random bytes, fixed seed); `zeros` (as many zero bytes).
//!
//! Prints, one line each, as it happens: `READY ...` after the first frame was written;
//! `FRAME <n> <file> <kind> <bytes>` for every frame; `CONTROL serial=<s> picture=<p>
//! damage=<d> frame=<n>` when new settings take effect (from frame n on); `CONTROL-ERROR
//! <why>` for a control file it cannot use (the old settings stay); `LATE <n> <ms>` when a
//! frame went out more than a period late (the guest was busy).
//!
//!     rk-loopback-feed hold <device> <FOURCC> <W>x<H>
//!
//! A producer of a format enrolld cannot read (GREY, say): sets the output format to FOURCC,
//! starts the stream, writes one frame of zeros (the driver's `sizeimage`), prints `READY
//! device=<d> format=<FOURCC> size=<W>x<H>` and keeps the device until killed, so the capture
//! side offers that format alone.
//!
//!     rk-loopback-feed probe <device> <W>x<H> <frame.jpg>
//!
//! What the device announces on its capture side at each step of a producer's life, seen from
//! a second open (the consumer's): `PROBE <step> caps=<...> capture=<fourccs|none(<error>)>
//! output=<fourccs, or the count>` for the steps `idle`, `format-set` (producer's S_FMT of MJPEG
//! at W x H), `streaming` (its STREAMON), `written` (one frame written), `producer-closed` and
//! `reopened` (the consumer closed and opened anew).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::raw::c_void;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use v4l::v4l_sys::{v4l2_capability, v4l2_fmtdesc, v4l2_format};
use v4l::v4l2::{self as raw, vidioc};

const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
const BUF_TYPE_VIDEO_OUTPUT: u32 = 2;
const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
const CAP_VIDEO_OUTPUT: u32 = 0x0000_0002;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["feed", device, format, size, fps, dir, control] => parse_size(size)
            .and_then(|size| Ok((size, Format::parse(format)?, parse_fps(fps)?)))
            .and_then(|(size, format, fps)| {
                feed(Path::new(device), format, size, fps, Path::new(dir), Path::new(control))
            }),
        ["hold", device, fourcc, size] => {
            parse_size(size).and_then(|size| hold(Path::new(device), fourcc, size))
        }
        ["probe", device, size, frame] => {
            parse_size(size).and_then(|size| probe(Path::new(device), size, Path::new(frame)))
        }
        _ => Err("usage: rk-loopback-feed feed <device> <mjpeg|yuyv> <W>x<H> <fps> <frames-dir> <control-file>\n\
                  \x20      rk-loopback-feed hold <device> <FOURCC> <W>x<H>\n\
                  \x20      rk-loopback-feed probe <device> <W>x<H> <frame.jpg>"
            .to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rk-loopback-feed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    s.split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .ok_or_else(|| format!("size '{s}' is not <W>x<H>"))
}

fn parse_fps(s: &str) -> Result<u32, String> {
    s.parse()
        .ok()
        .filter(|f| (1..=60).contains(f))
        .ok_or_else(|| format!("fps '{s}' is not 1 to 60"))
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Mjpeg,
    Yuyv,
}

impl Format {
    fn parse(s: &str) -> Result<Format, String> {
        match s {
            "mjpeg" => Ok(Format::Mjpeg),
            "yuyv" => Ok(Format::Yuyv),
            _ => Err(format!("format '{s}' is not mjpeg or yuyv")),
        }
    }
    fn fourcc(self) -> u32 {
        u32::from_le_bytes(match self {
            Format::Mjpeg => *b"MJPG",
            Format::Yuyv => *b"YUYV",
        })
    }
    fn extension(self) -> &'static str {
        match self {
            Format::Mjpeg => ".jpg",
            Format::Yuyv => ".yuyv",
        }
    }
}

// --- the device ---------------------------------------------------------------------------

fn open(device: &Path) -> Result<File, String> {
    File::options()
        .read(true)
        .write(true)
        .open(device)
        .map_err(|e| format!("cannot open {}: {e}", device.display()))
}

/// One ioctl on a V4L2 struct.
fn ioctl<T>(fd: RawFd, request: raw::vidioc::_IOC_TYPE, arg: &mut T) -> io::Result<()> {
    // SAFETY: every request used here takes a pointer to exactly the struct passed.
    unsafe { raw::ioctl(fd, request, arg as *mut T as *mut c_void) }
}

fn fourcc_text(code: u32) -> String {
    String::from_utf8_lossy(&code.to_le_bytes()).into_owned()
}

fn query_caps(fd: RawFd) -> io::Result<u32> {
    // SAFETY: plain data; the ioctl fills it.
    let mut caps: v4l2_capability = unsafe { std::mem::zeroed() };
    ioctl(fd, vidioc::VIDIOC_QUERYCAP, &mut caps)?;
    Ok(caps.device_caps)
}

/// The formats `VIDIOC_ENUM_FMT` lists for a buffer type, or the error at index 0.
fn enum_formats(fd: RawFd, buf_type: u32) -> io::Result<Vec<u32>> {
    let mut out = Vec::new();
    for index in 0.. {
        // SAFETY: plain data.
        let mut desc: v4l2_fmtdesc = unsafe { std::mem::zeroed() };
        desc.index = index;
        desc.type_ = buf_type;
        match ioctl(fd, vidioc::VIDIOC_ENUM_FMT, &mut desc) {
            Ok(()) => out.push(desc.pixelformat),
            Err(e) if index == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(out)
}

/// `VIDIOC_S_FMT` on the output side; the driver's answer (fourcc, size, sizeimage) must be
/// what was asked.
fn set_output_format(fd: RawFd, fourcc: u32, (w, h): (u32, u32)) -> Result<u32, String> {
    // SAFETY: plain data; the single-planar `pix` member of the union is the one used.
    let mut fmt: v4l2_format = unsafe { std::mem::zeroed() };
    fmt.type_ = BUF_TYPE_VIDEO_OUTPUT;
    fmt.fmt.pix.width = w;
    fmt.fmt.pix.height = h;
    fmt.fmt.pix.pixelformat = fourcc;
    fmt.fmt.pix.field = 1; // V4L2_FIELD_NONE
    ioctl(fd, vidioc::VIDIOC_S_FMT, &mut fmt).map_err(|e| format!("VIDIOC_S_FMT (output): {e}"))?;
    // SAFETY: the driver answered in the `pix` member it was asked in.
    let pix = unsafe { fmt.fmt.pix };
    if (pix.pixelformat, pix.width, pix.height) != (fourcc, w, h) {
        return Err(format!(
            "the driver set {} {}x{} instead of {} {w}x{h}",
            fourcc_text(pix.pixelformat),
            pix.width,
            pix.height,
            fourcc_text(fourcc)
        ));
    }
    Ok(pix.sizeimage)
}

fn stream_on(fd: RawFd) -> Result<(), String> {
    let mut buf_type = BUF_TYPE_VIDEO_OUTPUT as i32;
    ioctl(fd, vidioc::VIDIOC_STREAMON, &mut buf_type)
        .map_err(|e| format!("VIDIOC_STREAMON (output): {e}"))
}

fn write_frame(fd: RawFd, bytes: &[u8]) -> Result<(), String> {
    // SAFETY: the pointer and length are the slice's.
    let n = unsafe { libc::write(fd, bytes.as_ptr() as *const c_void, bytes.len()) };
    match n {
        n if n < 0 => Err(format!("write: {}", io::Error::last_os_error())),
        n if n as usize != bytes.len() => Err(format!(
            "write: the driver took {n} of {} bytes (frame larger than its buffer)",
            bytes.len()
        )),
        _ => Ok(()),
    }
}

// --- feed -----------------------------------------------------------------------------------

/// One picture's frames, played in name order.
struct Picture {
    frames: Vec<(String, Vec<u8>)>,
    next: usize,
}

impl Picture {
    fn load(dir: &Path, prefix: &str, format: Format, raw_len: usize) -> Result<Picture, String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix) && n.ends_with(format.extension()))
            .collect();
        names.sort();
        if names.is_empty() {
            return Err(format!(
                "no {prefix}*{} in {}",
                format.extension(),
                dir.display()
            ));
        }
        let mut frames = Vec::new();
        for name in names {
            let bytes =
                std::fs::read(dir.join(&name)).map_err(|e| format!("cannot read {name}: {e}"))?;
            let fits = match format {
                Format::Mjpeg => bytes.starts_with(&[0xff, 0xd8]) && bytes.ends_with(&[0xff, 0xd9]),
                Format::Yuyv => bytes.len() == raw_len,
            };
            if !fits {
                return Err(format!("{name} is not a whole frame of the format asked"));
            }
            frames.push((name, bytes));
        }
        Ok(Picture { frames, next: 0 })
    }

    fn next(&mut self) -> &(String, Vec<u8>) {
        let i = self.next % self.frames.len();
        self.next += 1;
        &self.frames[i]
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Damage {
    Good,
    Truncated,
    NoEoi,
    Garbage,
    Zeros,
}

impl Damage {
    fn parse(s: &str) -> Option<Damage> {
        Some(match s {
            "good" => Damage::Good,
            "truncated" => Damage::Truncated,
            "no-eoi" => Damage::NoEoi,
            "garbage" => Damage::Garbage,
            "zeros" => Damage::Zeros,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Damage::Good => "good",
            Damage::Truncated => "truncated",
            Damage::NoEoi => "no-eoi",
            Damage::Garbage => "garbage",
            Damage::Zeros => "zeros",
        }
    }
    fn apply(self, jpeg: &[u8]) -> Vec<u8> {
        match self {
            Damage::Good => jpeg.to_vec(),
            Damage::Truncated => jpeg[..jpeg.len() / 2].to_vec(),
            Damage::NoEoi => jpeg.strip_suffix(&[0xff, 0xd9]).unwrap_or(jpeg).to_vec(),
            Damage::Garbage => {
                let mut out = jpeg.to_vec();
                let mut x: u32 = 0x2545_f491;
                for b in &mut out[jpeg.len() / 3..jpeg.len() * 2 / 3] {
                    // xorshift32: the same bytes every time.
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    *b = x as u8;
                }
                out
            }
            Damage::Zeros => vec![0; jpeg.len()],
        }
    }
}

/// What the control file asks for.
#[derive(Clone, PartialEq)]
struct Settings {
    serial: String,
    face: bool,
    damage: Vec<Damage>,
}

impl Settings {
    fn parse(text: &str, format: Format) -> Result<Settings, String> {
        let mut s = Settings {
            serial: "0".to_owned(),
            face: true,
            damage: vec![Damage::Good],
        };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.split_once(' ') {
                Some(("serial", v)) => s.serial = v.trim().to_owned(),
                Some(("picture", "face")) => s.face = true,
                Some(("picture", "noface")) => s.face = false,
                Some(("damage", "none")) => s.damage = vec![Damage::Good],
                Some(("damage", list)) => {
                    s.damage = list
                        .split(',')
                        .map(|k| {
                            Damage::parse(k.trim()).ok_or_else(|| format!("unknown damage '{k}'"))
                        })
                        .collect::<Result<_, _>>()?;
                    if format != Format::Mjpeg && s.damage.iter().any(|d| *d != Damage::Good) {
                        return Err("damage is for MJPEG frames only".to_owned());
                    }
                }
                _ => return Err(format!("cannot use the line '{line}'")),
            }
        }
        Ok(s)
    }

    fn describe(&self) -> String {
        let damage: Vec<&str> = self.damage.iter().map(|d| d.name()).collect();
        format!(
            "serial={} picture={} damage={}",
            self.serial,
            if self.face { "face" } else { "noface" },
            damage.join(",")
        )
    }
}

fn feed(
    device: &Path,
    format: Format,
    size: (u32, u32),
    fps: u32,
    dir: &Path,
    control: &Path,
) -> Result<(), String> {
    let raw_len = (size.0 * size.1 * 2) as usize;
    let mut face = Picture::load(dir, "face-", format, raw_len)?;
    let mut noface = Picture::load(dir, "noface-", format, raw_len)?;
    let dev = open(device)?;
    let fd = dev.as_raw_fd();
    // v4l2loopback rewrites the node's capabilities at each VIDIOC_QUERYCAP, and the V4L2 core
    // checks the output side's ioctls against the last ones: ask first, as real producers do.
    query_caps(fd).map_err(|e| format!("VIDIOC_QUERYCAP: {e}"))?;
    let sizeimage = set_output_format(fd, format.fourcc(), size)?;
    stream_on(fd)?;

    let out = io::stdout();
    let mut out = out.lock();
    let say = |out: &mut io::StdoutLock, line: String| {
        // The scenario reads this file while the feeder runs: nothing may wait in a buffer.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    };
    let mut settings = Settings::parse("", format)?;
    let mut last_text = String::new();
    let period = Duration::from_secs_f64(1.0 / f64::from(fps));
    let start = Instant::now();
    let mut due = start;
    for n in 0u64.. {
        let text = std::fs::read_to_string(control).unwrap_or_default();
        if text != last_text {
            match Settings::parse(&text, format) {
                Ok(s) => {
                    settings = s;
                    say(
                        &mut out,
                        format!("CONTROL {} frame={n}", settings.describe()),
                    );
                }
                Err(e) => say(&mut out, format!("CONTROL-ERROR {e}")),
            }
            last_text = text;
        }
        let damage = settings.damage[(n % settings.damage.len() as u64) as usize];
        let (name, bytes) = if settings.face {
            face.next()
        } else {
            noface.next()
        };
        let frame = damage.apply(bytes);
        write_frame(fd, &frame)?;
        say(
            &mut out,
            format!("FRAME {n} {name} {} {}", damage.name(), frame.len()),
        );
        if n == 0 {
            say(
                &mut out,
                format!(
                    "READY device={} format={} size={}x{} fps={fps} sizeimage={sizeimage} face={} noface={}",
                    device.display(),
                    fourcc_text(format.fourcc()),
                    size.0,
                    size.1,
                    face.frames.len(),
                    noface.frames.len()
                ),
            );
        }
        due += period;
        let now = Instant::now();
        match due.checked_duration_since(now) {
            Some(wait) => std::thread::sleep(wait),
            None => {
                let late = now - due;
                if late > period {
                    say(&mut out, format!("LATE {n} {}", late.as_millis()));
                    // Keep the rate from here rather than sending a burst to catch up.
                    due = now;
                }
            }
        }
    }
    Ok(())
}

// --- hold -----------------------------------------------------------------------------------

fn hold(device: &Path, fourcc: &str, size: (u32, u32)) -> Result<(), String> {
    let code: [u8; 4] = fourcc
        .as_bytes()
        .try_into()
        .map_err(|_| format!("'{fourcc}' is not a four-character code"))?;
    let dev = open(device)?;
    let fd = dev.as_raw_fd();
    query_caps(fd).map_err(|e| format!("VIDIOC_QUERYCAP: {e}"))?;
    let sizeimage = set_output_format(fd, u32::from_le_bytes(code), size)?;
    stream_on(fd)?;
    write_frame(fd, &vec![0; sizeimage as usize])?;
    println!(
        "READY device={} format={fourcc} size={}x{}",
        device.display(),
        size.0,
        size.1
    );
    io::stdout().flush().map_err(|e| e.to_string())?;
    // The device stays this producer's until the scenario kills it.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

// --- probe ----------------------------------------------------------------------------------

fn probe(device: &Path, size: (u32, u32), frame: &Path) -> Result<(), String> {
    let jpeg = std::fs::read(frame).map_err(|e| format!("cannot read {}: {e}", frame.display()))?;
    let mut consumer = open(device)?;
    let report = |step: &str, consumer: &File| {
        let fd = consumer.as_raw_fd();
        let caps = match query_caps(fd) {
            Ok(c) => {
                let mut names = Vec::new();
                if c & CAP_VIDEO_CAPTURE != 0 {
                    names.push("CAPTURE");
                }
                if c & CAP_VIDEO_OUTPUT != 0 {
                    names.push("OUTPUT");
                }
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(",")
                }
            }
            Err(e) => format!("error({e})"),
        };
        let list = |buf_type, summarise: bool| match enum_formats(fd, buf_type) {
            Ok(codes) if summarise && codes.len() > 2 => format!("{}-formats", codes.len()),
            Ok(codes) => codes
                .iter()
                .map(|&c| fourcc_text(c))
                .collect::<Vec<_>>()
                .join(","),
            Err(e) => format!("none({})", errno_name(&e)),
        };
        println!(
            "PROBE {step} caps={caps} capture={} output={}",
            list(BUF_TYPE_VIDEO_CAPTURE, false),
            list(BUF_TYPE_VIDEO_OUTPUT, true)
        );
    };
    report("idle", &consumer);
    let producer = open(device)?;
    let fd = producer.as_raw_fd();
    query_caps(fd).map_err(|e| format!("VIDIOC_QUERYCAP: {e}"))?;
    set_output_format(fd, Format::Mjpeg.fourcc(), size)?;
    report("format-set", &consumer);
    stream_on(fd)?;
    report("streaming", &consumer);
    write_frame(fd, &jpeg)?;
    report("written", &consumer);
    drop(producer);
    report("producer-closed", &consumer);
    drop(consumer);
    consumer = open(device)?;
    report("reopened", &consumer);
    Ok(())
}

fn errno_name(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EINVAL) => "EINVAL".to_owned(),
        Some(libc::EBUSY) => "EBUSY".to_owned(),
        Some(libc::ENOTTY) => "ENOTTY".to_owned(),
        _ => e.to_string(),
    }
}
