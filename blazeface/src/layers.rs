//! The fused runner's layer kinds, on pictures stored channels-last (`[y][x][c]`, one pixel's
//! channels side by side): the stem's 5x5 convolution (gathered into rows, then one matrix
//! product), the depthwise 3x3 convolution (each tap one multiply-add across a pixel's
//! channels, which the compiler turns into vector instructions), the pointwise convolution as a
//! matrix product with its bias, the block's shortcut added in the same product, and ReLU.
//! Matrix products are `rten-gemm`'s (AVX2/AVX-512/NEON kernels chosen at run time).
//!
//! Padding is TensorFlow's "same" (`net_shape::pad_before`); every layer is unit-tested below
//! against a direct, loop-by-loop reference.

use rten_gemm::{BiasVector, GemmExecutor, GemmInputA, GemmInputB, GemmOptions, PackedBMatrix};
use rten_tensor::NdTensorView;

use crate::net_shape::pad_before;

/// A picture's size: `height` x `width` pixels of `channels` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl Dims {
    pub fn len(&self) -> usize {
        self.height * self.width * self.channels
    }

    pub fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// The size after a "same" convolution or pooling of `stride` into `channels`.
    pub fn strided(&self, stride: usize, channels: usize) -> Dims {
        Dims {
            height: self.height.div_ceil(stride),
            width: self.width.div_ceil(stride),
            channels,
        }
    }
}

/// Weights `[k][n]` prepared for the matrix product, and the bias `[n]`.
pub struct Dense {
    pub weights: PackedBMatrix<f32>,
    pub bias: Vec<f32>,
    pub inputs: usize,
    pub outputs: usize,
}

impl Dense {
    pub fn new(gemm: &GemmExecutor<f32>, weights: &[f32], bias: &[f32]) -> Dense {
        let outputs = bias.len();
        let inputs = weights.len() / outputs.max(1);
        let matrix = NdTensorView::from_data([inputs, outputs], weights);
        Dense {
            weights: gemm.prepack_b(matrix),
            bias: bias.to_vec(),
            inputs,
            outputs,
        }
    }

    /// `out[m][n] (+)= input[m][k] * weights[k][n] + bias[n]`: added to what `out` holds when
    /// `accumulate` (the block's shortcut, so the residual Add costs no pass of its own).
    pub fn apply(
        &self,
        gemm: &GemmExecutor<f32>,
        input: &[f32],
        out: &mut [f32],
        accumulate: bool,
    ) {
        let rows = input.len() / self.inputs;
        let a = NdTensorView::from_data([rows, self.inputs], input);
        let opts = GemmOptions {
            beta: if accumulate { 1.0 } else { 0.0 },
            bias: Some(BiasVector::Row(&self.bias)),
            ..GemmOptions::default()
        };
        gemm.gemm(
            &mut out[..rows * self.outputs],
            GemmInputA::Unpacked(a),
            GemmInputB::Packed(&self.weights),
            opts,
        )
        .expect("the fused runner's matrices have matching sizes");
    }
}

/// The stem's input gathered for one matrix product: a row per output pixel holding the
/// `kernel` x `kernel` window of every input channel (`[ky][kx][c]`), zeros where the window
/// passes the picture's edge. Returns the output's size (its channel count left at 0).
pub fn gather_windows(
    input: &[f32],
    dims: Dims,
    kernel: usize,
    stride: usize,
    rows: &mut Vec<f32>,
) -> Dims {
    let out = dims.strided(stride, 0);
    let pad = pad_before(kernel, stride);
    let c = dims.channels;
    let row_len = kernel * kernel * c;
    rows.clear();
    rows.resize(out.pixels() * row_len, 0.0);
    for oy in 0..out.height {
        for ox in 0..out.width {
            let row = &mut rows[(oy * out.width + ox) * row_len..][..row_len];
            for ky in 0..kernel {
                let Some(iy) = (oy * stride + ky)
                    .checked_sub(pad)
                    .filter(|&y| y < dims.height)
                else {
                    continue;
                };
                for kx in 0..kernel {
                    let Some(ix) = (ox * stride + kx)
                        .checked_sub(pad)
                        .filter(|&x| x < dims.width)
                    else {
                        continue;
                    };
                    let from = &input[(iy * dims.width + ix) * c..][..c];
                    row[(ky * kernel + kx) * c..][..c].copy_from_slice(from);
                }
            }
        }
    }
    out
}

/// Depthwise 3x3 convolution of `stride` (no bias): each channel with its own 3x3 weights
/// `[ky][kx][c]`. Returns the output's size.
pub fn depthwise3x3(
    input: &[f32],
    dims: Dims,
    weights: &[f32],
    stride: usize,
    out: &mut Vec<f32>,
) -> Dims {
    const K: usize = 3;
    let o = dims.strided(stride, dims.channels);
    let pad = pad_before(K, stride);
    let c = dims.channels;
    out.clear();
    out.resize(o.len(), 0.0);
    for oy in 0..o.height {
        for ky in 0..K {
            let Some(iy) = (oy * stride + ky)
                .checked_sub(pad)
                .filter(|&y| y < dims.height)
            else {
                continue;
            };
            let line = &input[iy * dims.width * c..][..dims.width * c];
            let out_line = &mut out[oy * o.width * c..][..o.width * c];
            for kx in 0..K {
                let w = &weights[(ky * K + kx) * c..][..c];
                for (ox, acc) in out_line.chunks_exact_mut(c).enumerate() {
                    let Some(ix) = (ox * stride + kx)
                        .checked_sub(pad)
                        .filter(|&x| x < dims.width)
                    else {
                        continue;
                    };
                    multiply_add(acc, &line[ix * c..][..c], w);
                }
            }
        }
    }
    o
}

/// `acc[i] += a[i] * b[i]`: one vector loop.
#[inline(always)]
fn multiply_add(acc: &mut [f32], a: &[f32], b: &[f32]) {
    for ((acc, a), b) in acc.iter_mut().zip(a).zip(b) {
        *acc += a * b;
    }
}

/// A block's shortcut into `out` (sized for the block's output): its input, max-pooled 2x2
/// when `stride` is 2, the channels past the input's left at zero.
pub fn shortcut(input: &[f32], dims: Dims, stride: usize, channels: usize, out: &mut Vec<f32>) {
    let o = dims.strided(stride, channels);
    let c = dims.channels;
    out.clear();
    out.resize(o.len(), 0.0);
    for oy in 0..o.height {
        for ox in 0..o.width {
            let to = &mut out[(oy * o.width + ox) * channels..][..c];
            if stride == 1 {
                to.copy_from_slice(&input[(oy * dims.width + ox) * c..][..c]);
                continue;
            }
            to.fill(f32::NEG_INFINITY);
            for y in oy * 2..(oy * 2 + 2).min(dims.height) {
                for x in ox * 2..(ox * 2 + 2).min(dims.width) {
                    for (m, v) in to.iter_mut().zip(&input[(y * dims.width + x) * c..][..c]) {
                        *m = m.max(*v);
                    }
                }
            }
        }
    }
}

pub fn relu(values: &mut [f32]) {
    for v in values {
        *v = v.max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers in -1..1 from a seed (the same every run).
    fn numbers(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| rng.f32() * 2.0 - 1.0).collect()
    }

    /// Direct convolution, "same" padding, weights `[ky][kx][c_in][c_out]` (c_in = 1 per
    /// channel when `depthwise`).
    fn reference_conv(
        input: &[f32],
        d: Dims,
        weights: &[f32],
        kernel: usize,
        stride: usize,
        c_out: usize,
        depthwise: bool,
    ) -> Vec<f32> {
        let o = d.strided(stride, c_out);
        let pad = pad_before(kernel, stride) as isize;
        let mut out = vec![0.0; o.len()];
        for oy in 0..o.height {
            for ox in 0..o.width {
                for co in 0..c_out {
                    let mut sum = 0.0;
                    for ky in 0..kernel {
                        for kx in 0..kernel {
                            let iy = (oy * stride + ky) as isize - pad;
                            let ix = (ox * stride + kx) as isize - pad;
                            if iy < 0 || ix < 0 || iy >= d.height as isize || ix >= d.width as isize
                            {
                                continue;
                            }
                            let at = (iy as usize * d.width + ix as usize) * d.channels;
                            if depthwise {
                                sum +=
                                    input[at + co] * weights[(ky * kernel + kx) * d.channels + co];
                            } else {
                                for ci in 0..d.channels {
                                    let w = weights
                                        [((ky * kernel + kx) * d.channels + ci) * c_out + co];
                                    sum += input[at + ci] * w;
                                }
                            }
                        }
                    }
                    out[(oy * o.width + ox) * c_out + co] = sum;
                }
            }
        }
        out
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "[{i}]: {g} vs {w}");
        }
    }

    #[test]
    fn the_stem_is_a_5x5_stride_2_convolution_with_bias() {
        let gemm = GemmExecutor::default();
        // Odd sides too: the padding after the picture must still be right.
        for (h, w) in [(16, 16), (12, 20), (7, 9)] {
            let d = Dims {
                height: h,
                width: w,
                channels: 3,
            };
            let input = numbers(d.len(), 1);
            let weights = numbers(5 * 5 * 3 * 8, 2);
            let bias = numbers(8, 3);
            let mut rows = Vec::new();
            let o = gather_windows(&input, d, 5, 2, &mut rows);
            let dense = Dense::new(&gemm, &weights, &bias);
            let mut got = vec![0.0; o.pixels() * 8];
            dense.apply(&gemm, &rows, &mut got, false);
            let mut want = reference_conv(&input, d, &weights, 5, 2, 8, false);
            for (i, v) in want.iter_mut().enumerate() {
                *v += bias[i % 8];
            }
            assert_close(&got, &want);
        }
    }

    #[test]
    fn depthwise_3x3_at_stride_1_and_2() {
        for stride in [1, 2] {
            for (h, w, c) in [(8, 8, 24), (6, 10, 5), (5, 7, 3)] {
                let d = Dims {
                    height: h,
                    width: w,
                    channels: c,
                };
                let input = numbers(d.len(), 4);
                let weights = numbers(9 * c, 5);
                let mut got = Vec::new();
                let o = depthwise3x3(&input, d, &weights, stride, &mut got);
                assert_eq!(o, d.strided(stride, c));
                let want = reference_conv(&input, d, &weights, 3, stride, c, true);
                assert_close(&got, &want);
            }
        }
    }

    #[test]
    fn pointwise_with_bias_shortcut_and_relu() {
        let gemm = GemmExecutor::default();
        let (pixels, c_in, c_out) = (37, 24, 28);
        let input = numbers(pixels * c_in, 6);
        let weights = numbers(c_in * c_out, 7);
        let bias = numbers(c_out, 8);
        let start = numbers(pixels * c_out, 9);
        let dense = Dense::new(&gemm, &weights, &bias);
        let mut got = start.clone();
        dense.apply(&gemm, &input, &mut got, true);
        relu(&mut got);
        let want: Vec<f32> = (0..pixels * c_out)
            .map(|i| {
                let (p, co) = (i / c_out, i % c_out);
                let dot: f32 = (0..c_in)
                    .map(|ci| input[p * c_in + ci] * weights[ci * c_out + co])
                    .sum();
                (start[i] + dot + bias[co]).max(0.0)
            })
            .collect();
        assert_close(&got, &want);
    }

    #[test]
    fn the_shortcut_pools_and_pads_channels() {
        // 2x2 picture, 2 channels: values (y, x, c) -> 10y + 2x + c... pooled to one pixel.
        let d = Dims {
            height: 2,
            width: 2,
            channels: 2,
        };
        let input = [1.0, -1.0, 5.0, 0.0, 2.0, 7.0, -3.0, 4.0];
        let mut out = Vec::new();
        shortcut(&input, d, 2, 3, &mut out);
        assert_eq!(out, [5.0, 7.0, 0.0]);
        shortcut(&input, d, 1, 3, &mut out);
        assert_eq!(
            out,
            [1.0, -1.0, 0.0, 5.0, 0.0, 0.0, 2.0, 7.0, 0.0, -3.0, 4.0, 0.0]
        );
    }
}
