//! Conversion correctness: every raw format enrolld reads, against a
//! straightforward per-pixel reference (max error 2 levels), at sizes with
//! and without line padding.

use enrolld::camera::convert::{I420, to_i420};
use enrolld::camera::{Frame, PixelFormat};

/// Deterministic bytes with both noise and smooth structure.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s % 64) as usize + (i / 7) % 192) as u8
        })
        .collect()
}

fn frame(format: PixelFormat, w: u32, h: u32, stride: usize) -> Frame {
    let len = format.frame_len(stride, h).unwrap();
    Frame {
        format,
        width: w,
        height: h,
        stride,
        data: bytes(len, u64::from(w * 31 + h)),
        captured_at: None,
    }
}

fn max_error(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

fn assert_close(got: &I420, want: &I420, what: &str) {
    assert_eq!((got.width, got.height), (want.width, want.height));
    for (plane, g, w) in [
        ("Y", &got.y, &want.y),
        ("U", &got.u, &want.u),
        ("V", &got.v, &want.v),
    ] {
        let e = max_error(g, w);
        assert!(e <= 2, "{what}: plane {plane} differs by {e} levels");
    }
}

/// Reference: Y copied; each chroma sample the rounded mean of the two lines.
fn reference_yuyv(f: &Frame) -> I420 {
    let (w, h) = (f.width as usize, f.height as usize);
    let mut out = I420::new(f.width, f.height);
    for y in 0..h {
        for x in 0..w {
            out.y[y * w + x] = f.data[y * f.stride + 2 * x];
        }
    }
    for cy in 0..h / 2 {
        for cx in 0..w / 2 {
            let at = |row: usize, k: usize| u32::from(f.data[row * f.stride + 4 * cx + k]);
            let (r0, r1) = (2 * cy, 2 * cy + 1);
            out.u[cy * (w / 2) + cx] = (at(r0, 1) + at(r1, 1)).div_ceil(2) as u8;
            out.v[cy * (w / 2) + cx] = (at(r0, 3) + at(r1, 3)).div_ceil(2) as u8;
        }
    }
    out
}

fn reference_nv12(f: &Frame) -> I420 {
    let (w, h) = (f.width as usize, f.height as usize);
    let mut out = I420::new(f.width, f.height);
    for y in 0..h {
        for x in 0..w {
            out.y[y * w + x] = f.data[y * f.stride + x];
        }
    }
    let uv = &f.data[f.stride * h..];
    for cy in 0..h / 2 {
        for cx in 0..w / 2 {
            out.u[cy * (w / 2) + cx] = uv[cy * f.stride + 2 * cx];
            out.v[cy * (w / 2) + cx] = uv[cy * f.stride + 2 * cx + 1];
        }
    }
    out
}

/// Reference: full-range BT.601 (JFIF) per pixel; chroma averaged over 2x2.
fn reference_rgb(f: &Frame) -> I420 {
    let (w, h) = (f.width as usize, f.height as usize);
    let mut out = I420::new(f.width, f.height);
    let px = |x: usize, y: usize| {
        let p = &f.data[y * f.stride + 3 * x..];
        let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
        [
            0.299 * r + 0.587 * g + 0.114 * b,
            128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
            128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
        ]
    };
    let q = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    for y in 0..h {
        for x in 0..w {
            out.y[y * w + x] = q(px(x, y)[0]);
        }
    }
    for cy in 0..h / 2 {
        for cx in 0..w / 2 {
            let mut sum = [0.0; 2];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let c = px(2 * cx + dx, 2 * cy + dy);
                sum[0] += c[1];
                sum[1] += c[2];
            }
            out.u[cy * (w / 2) + cx] = q(sum[0] / 4.0);
            out.v[cy * (w / 2) + cx] = q(sum[1] / 4.0);
        }
    }
    out
}

/// Sizes: a camera's, one not a multiple of any SIMD width, and padded lines.
const SIZES: [(u32, u32, usize); 4] = [(1280, 720, 0), (98, 34, 0), (64, 16, 32), (2, 2, 0)];

fn check(format: PixelFormat, reference: fn(&Frame) -> I420) {
    for (w, h, pad) in SIZES {
        let f = frame(format, w, h, format.min_stride(w) + pad);
        let got = to_i420(&f).unwrap();
        assert_close(&got, &reference(&f), &format!("{format} {w}x{h} pad {pad}"));
    }
}

#[test]
fn yuyv_matches_the_reference() {
    check(PixelFormat::Yuyv, reference_yuyv);
}

#[test]
fn nv12_matches_the_reference() {
    check(PixelFormat::Nv12, reference_nv12);
}

#[test]
fn rgb24_matches_the_reference() {
    check(PixelFormat::Rgb24, reference_rgb);
}

#[test]
fn odd_sizes_are_refused_not_misread() {
    let f = Frame {
        format: PixelFormat::Yuyv,
        width: 33,
        height: 10,
        stride: 66,
        data: vec![0; 660],
        captured_at: None,
    };
    let e = to_i420(&f).unwrap_err();
    assert!(e.to_string().contains("33x10"), "{e}");
}
