//! JPEG out: libjpeg-turbo (the `turbojpeg` crate) compressing I420 planes
//! directly at 4:2:0, under the byte cap; and the checks an MJPEG frame passes
//! before it is sent as it came.
//!
//! Why turbojpeg: libjpeg-turbo's SIMD encoder is about ten times faster than
//! the `image` crate's pure-Rust JPEG encoder on the same frame (see
//! `benches/encode.rs`), and it takes YUV planes, so a raw camera frame never
//! goes through RGB.

use turbojpeg::{Compressor, Decompressor, Image, PixelFormat as TjPixel, ScalingFactor, Subsamp};

use super::convert::{self, I420};
use super::frame::{Frame, MjpegSizeMismatch, PixelFormat};
use super::scale;

/// The byte-cap loop never goes below this quality: under it a face is no
/// longer worth enrolling.
pub const MIN_QUALITY: u8 = 20;
/// Quality lowered by this much per attempt of the byte-cap loop.
pub const QUALITY_STEP: u8 = 10;

/// What the JPEG must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeSettings {
    pub quality: u8,
    pub max_dimension: Option<u32>,
    /// `api.max_image_bytes`.
    pub max_bytes: usize,
}

/// An encoded (or passed-through) JPEG.
#[derive(Clone, PartialEq, Eq)]
pub struct Jpeg {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The quality used, `None` for an MJPEG frame sent as the camera made it.
    pub quality: Option<u8>,
}

impl std::fmt::Debug for Jpeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Jpeg {}x{} {} bytes q={:?}",
            self.width,
            self.height,
            self.bytes.len(),
            self.quality
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(
        "JPEG does not fit the cap of {cap} bytes (api.max_image_bytes): smallest was {smallest} bytes at quality {quality}"
    )]
    TooLarge {
        cap: usize,
        smallest: usize,
        quality: u8,
    },
    #[error("MJPEG frame does not decode: {0}")]
    CorruptMjpeg(String),
    #[error(transparent)]
    MjpegSize(#[from] MjpegSizeMismatch),
    #[error("cannot convert the frame: {0}")]
    Convert(#[from] convert::ConvertError),
    #[error("libjpeg-turbo: {0}")]
    Turbo(#[from] turbojpeg::Error),
}

/// libjpeg-turbo handles, reused across frames.
pub struct Encoder {
    compressor: Compressor,
    decompressor: Decompressor,
}

impl Encoder {
    pub fn new() -> Result<Encoder, EncodeError> {
        let mut compressor = Compressor::new()?;
        compressor.set_subsamp(Subsamp::Sub2x2)?;
        Ok(Encoder {
            compressor,
            decompressor: Decompressor::new()?,
        })
    }

    /// Compresses I420 at the settings' quality, downscaled to the maximum
    /// dimension if one is set, lowering the quality until it fits the cap.
    pub fn encode_i420(&mut self, img: &I420, s: &EncodeSettings) -> Result<Jpeg, EncodeError> {
        let scaled;
        let img = match scale::fitted_size(img.width, img.height, s.max_dimension) {
            Some((w, h)) => {
                scaled = scale::downscale(img, w, h);
                &scaled
            }
            None => img,
        };
        let mut smallest = (usize::MAX, s.quality);
        for quality in quality_ladder(s.quality) {
            let bytes = self.compress_i420(img, quality)?;
            if bytes.len() <= s.max_bytes {
                return Ok(Jpeg {
                    bytes,
                    width: img.width,
                    height: img.height,
                    quality: Some(quality),
                });
            }
            smallest = smallest.min((bytes.len(), quality));
        }
        Err(EncodeError::TooLarge {
            cap: s.max_bytes,
            smallest: smallest.0,
            quality: smallest.1,
        })
    }

    /// One compression of I420 planes at 4:2:0.
    pub fn compress_i420(&mut self, img: &I420, quality: u8) -> Result<Vec<u8>, EncodeError> {
        self.compressor.set_quality(i32::from(quality))?;
        let cw = img.chroma_width();
        let planes = turbojpeg::YuvPlanesImage {
            y_plane: &img.y[..],
            u_plane: &img.u[..],
            v_plane: &img.v[..],
            width: img.width as usize,
            height: img.height as usize,
            y_stride: img.width as usize,
            u_stride: cw,
            v_stride: cw,
            subsamp: Subsamp::Sub2x2,
        };
        Ok(self.compressor.compress_yuv_planes_to_vec(&planes)?)
    }

    /// The header of an MJPEG frame, checked to give the negotiated size: every buffer a
    /// decode needs is then sized by the camera's settings, never by the frame's own claim.
    fn checked_header(
        &mut self,
        frame: &Frame,
    ) -> Result<turbojpeg::DecompressHeader, EncodeError> {
        let header = self
            .decompressor
            .read_header(&frame.data)
            .map_err(|e| EncodeError::CorruptMjpeg(e.to_string()))?;
        super::frame::check_mjpeg_size(frame, header.width, header.height)?;
        Ok(header)
    }

    /// Checks an MJPEG frame fully decodes and has the size asked for, and
    /// returns its luma at a quarter of the size (libjpeg-turbo scales in the
    /// DCT, so this costs little more than the check itself).
    pub fn mjpeg_luma(&mut self, frame: &Frame) -> Result<(Vec<u8>, usize, usize), EncodeError> {
        let corrupt = |e: turbojpeg::Error| EncodeError::CorruptMjpeg(e.to_string());
        let data = &frame.data;
        let header = self.checked_header(frame)?;
        let factor = ScalingFactor::ONE_QUARTER;
        self.decompressor.set_scaling_factor(factor)?;
        let (w, h) = (factor.scale(header.width), factor.scale(header.height));
        let mut gray = vec![0u8; w * h];
        let image = Image {
            pixels: &mut gray[..],
            width: w,
            pitch: w,
            height: h,
            format: TjPixel::GRAY,
        };
        let result = self.decompressor.decompress(data, image).map_err(corrupt);
        self.decompressor.set_scaling_factor(ScalingFactor::ONE)?;
        result?;
        Ok((gray, w, h))
    }

    /// Turns an MJPEG frame into the JPEG to send: the frame itself after the
    /// checks when it is self-contained and fits, otherwise re-encoded
    /// (frames without Huffman tables, a maximum dimension, or over the cap).
    pub fn pass_mjpeg(&mut self, frame: &Frame, s: &EncodeSettings) -> Result<Jpeg, EncodeError> {
        debug_assert_eq!(frame.format, PixelFormat::Mjpeg);
        self.mjpeg_luma(frame)?;
        let fits = frame.data.len() <= s.max_bytes
            && scale::fitted_size(frame.width, frame.height, s.max_dimension).is_none();
        if fits && has_huffman_tables(&frame.data) {
            return Ok(Jpeg {
                bytes: frame.data.clone(),
                width: frame.width,
                height: frame.height,
                quality: None,
            });
        }
        let i420 = self.decode_to_i420(frame)?;
        self.encode_i420(&i420, s)
    }

    /// Decodes an MJPEG frame to I420 (for a crop or a re-encode), at its negotiated size.
    pub fn decode_to_i420(&mut self, frame: &Frame) -> Result<I420, EncodeError> {
        self.checked_header(frame)?;
        let (width, height) = (frame.width, frame.height);
        let (w, h) = (width as usize, height as usize);
        let mut rgb = vec![0u8; w * h * 3];
        let image = Image {
            pixels: &mut rgb[..],
            width: w,
            pitch: w * 3,
            height: h,
            format: TjPixel::RGB,
        };
        self.decompressor
            .decompress(&frame.data, image)
            .map_err(|e| EncodeError::CorruptMjpeg(e.to_string()))?;
        let frame = Frame {
            format: PixelFormat::Rgb24,
            width,
            height,
            stride: w * 3,
            data: rgb,
            captured_at: None,
        };
        Ok(convert::to_i420(&frame)?)
    }
}

/// Decodes an MJPEG frame into `out` (pixels of `format`) at the smallest of libjpeg-turbo's
/// DCT scales (1/8, 1/4, 1/2, 1) whose width and height satisfy `enough` (full size if none
/// does): scaling in the DCT costs far less than decoding whole and shrinking, and at 1/8 little
/// more than the DC coefficients are read. Returns the decoded width and height.
///
/// The output is sized from the frame's header, so a header that disagrees with the negotiated
/// size (`frame.width` x `frame.height`) is refused before anything is allocated.
pub fn decode_scaled(
    decompressor: &mut Decompressor,
    frame: &Frame,
    enough: impl Fn(usize, usize) -> bool,
    format: TjPixel,
    out: &mut Vec<u8>,
) -> Result<(usize, usize), ScaledDecodeError> {
    let data = &frame.data[..];
    let header = decompressor.read_header(data)?;
    super::frame::check_mjpeg_size(frame, header.width, header.height)?;
    let factor = [
        ScalingFactor::ONE_EIGHTH,
        ScalingFactor::ONE_QUARTER,
        ScalingFactor::ONE_HALF,
        ScalingFactor::ONE,
    ]
    .into_iter()
    .find(|f| enough(f.scale(header.width), f.scale(header.height)))
    .unwrap_or(ScalingFactor::ONE);
    decompressor.set_scaling_factor(factor)?;
    let (w, h) = (factor.scale(header.width), factor.scale(header.height));
    out.resize(w * h * format.size(), 0);
    let image = Image {
        pixels: &mut out[..],
        width: w,
        pitch: w * format.size(),
        height: h,
        format,
    };
    let result = decompressor.decompress(data, image);
    decompressor.set_scaling_factor(ScalingFactor::ONE)?;
    result?;
    Ok((w, h))
}

/// Why [`decode_scaled`] read no picture.
#[derive(Debug, thiserror::Error)]
pub enum ScaledDecodeError {
    #[error(transparent)]
    Size(#[from] MjpegSizeMismatch),
    #[error("MJPEG frame unreadable: {0}")]
    Corrupt(String),
}

impl From<turbojpeg::Error> for ScaledDecodeError {
    fn from(e: turbojpeg::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// Qualities tried by the byte-cap loop: the configured one, then lower in
/// steps down to [`MIN_QUALITY`] (or just the configured one if it is lower).
pub fn quality_ladder(start: u8) -> Vec<u8> {
    let mut q = vec![start];
    let mut next = start;
    while next > MIN_QUALITY {
        next = next.saturating_sub(QUALITY_STEP).max(MIN_QUALITY);
        q.push(next);
    }
    q
}

/// Whether a JPEG defines its Huffman tables before its first scan. Many UVC
/// cameras omit them (the MJPEG convention); decoders that do not assume the
/// standard tables would refuse such a file, so it is re-encoded.
pub fn has_huffman_tables(jpeg: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 4 <= jpeg.len() {
        if jpeg[i] != 0xFF {
            return false;
        }
        let marker = jpeg[i + 1];
        match marker {
            0xFF => i += 1, // fill byte
            0xC4 => return true,
            0xDA | 0xD9 => return false, // start of scan / end of image
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
                i += 2 + len;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_steps_down_to_the_floor() {
        assert_eq!(quality_ladder(85), vec![85, 75, 65, 55, 45, 35, 25, 20]);
        assert_eq!(quality_ladder(20), vec![20]);
        assert_eq!(quality_ladder(10), vec![10]);
    }

    #[test]
    fn huffman_table_scan() {
        // SOI, APP0 (len 4), DHT
        assert!(has_huffman_tables(&[
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xC4, 0, 2
        ]));
        // SOI, DQT (len 3), SOS before any DHT
        assert!(!has_huffman_tables(&[
            0xFF, 0xD8, 0xFF, 0xDB, 0, 3, 9, 0xFF, 0xDA, 0, 2
        ]));
        assert!(!has_huffman_tables(&[0xFF, 0xD8]));
    }
}
