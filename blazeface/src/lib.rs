//! enrolld's face detector network: MediaPipe's BlazeFace front run as the one fixed network
//! it is ([`net_shape`]), layer after layer with the work of neighbouring operators fused
//! (`layers`): each block is a depthwise pass and one matrix product that also adds the bias
//! and the shortcut, then ReLU in place. Measured against rten 0.27 running the same ONNX
//! model (enrolld's docs/benchmarks.md), and proven to give the same outputs on real photos
//! (enrolld's tests/face_fused.rs); each layer kind is unit-tested here against a direct
//! reference.
//!
//! The weights are given by the caller in [`net_shape`]'s order: enrolld's build takes them
//! out of the packaged model (checking every layer) and embeds them. Any input whose sides are
//! multiples of 16 runs (the network is convolutional). One thread: the matrix products run
//! inside a one-thread pool, so a run takes one core.

use rten_gemm::GemmExecutor;

mod layers;
pub mod net_shape;

use layers::{Dense, Dims};
use net_shape::{
    BLOCKS, BlockShape, DW_KERNEL, FINE_BLOCK, HEADS, SIDE_STEP, STEM_IN, STEM_KERNEL, STEM_OUT,
    STEM_STRIDE, weight_count,
};

struct Block {
    shape: BlockShape,
    depthwise: Vec<f32>,
    pointwise: Dense,
}

/// Buffers kept between runs: a check allocates nothing once they have grown.
#[derive(Default)]
struct Buffers {
    x: Vec<f32>,
    next: Vec<f32>,
    depthwise: Vec<f32>,
    rows: Vec<f32>,
}

/// The network's four outputs in the ONNX model's order (fine scores, coarse scores, fine
/// boxes, coarse boxes), each `[cell y][cell x][anchor][value]`, and the grids' sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    pub maps: [Vec<f32>; 4],
    /// Cells across and down of the fine (stride 8) and coarse (stride 16) grids.
    pub fine: (usize, usize),
    pub coarse: (usize, usize),
}

/// The loaded network.
pub struct Network {
    stem: Dense,
    blocks: Vec<Block>,
    heads: Vec<Dense>,
    pool: rayon::ThreadPool,
    buffers: Buffers,
}

impl Network {
    /// The network with `weights` in the order of [`net_shape`].
    pub fn with_weights(weights: &[f32]) -> Result<Network, String> {
        if weights.len() != weight_count() {
            return Err(format!(
                "{} weights where the network has {}",
                weights.len(),
                weight_count()
            ));
        }
        let gemm = GemmExecutor::default();
        let mut rest = weights;
        let mut take = |n: usize| {
            let (now, later) = rest.split_at(n);
            rest = later;
            now
        };
        let stem_w = take(STEM_KERNEL * STEM_KERNEL * STEM_IN * STEM_OUT);
        let stem = Dense::new(&gemm, stem_w, take(STEM_OUT));
        let blocks = BLOCKS
            .iter()
            .map(|&shape| {
                let depthwise = take(DW_KERNEL * DW_KERNEL * shape.input).to_vec();
                let w = take(shape.input * shape.output);
                let pointwise = Dense::new(&gemm, w, take(shape.output));
                Block {
                    shape,
                    depthwise,
                    pointwise,
                }
            })
            .collect();
        let heads = HEADS
            .iter()
            .map(|h| {
                let w = take(h.channels_in() * h.channels_out());
                Dense::new(&gemm, w, take(h.channels_out()))
            })
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "face-net".into())
            .build()
            .map_err(|e| format!("cannot start the detector's thread: {e}"))?;
        Ok(Network {
            stem,
            blocks,
            heads,
            pool,
            buffers: Buffers::default(),
        })
    }

    /// Runs the network on `input` (`height` x `width` pixels, RGB in [-1, 1], channels last).
    ///
    /// # Panics
    /// When a side is not a positive multiple of 16 or `input` has another length: the
    /// detector's own input maker sizes it.
    pub fn run(&mut self, input: &[f32], height: usize, width: usize) -> Outputs {
        assert!(
            height > 0
                && width > 0
                && height.is_multiple_of(SIDE_STEP)
                && width.is_multiple_of(SIDE_STEP),
            "the network's input sides must be multiples of {SIDE_STEP}: {width}x{height}"
        );
        assert_eq!(input.len(), height * width * STEM_IN);
        let Network {
            stem,
            blocks,
            heads,
            pool,
            buffers,
        } = self;
        // Made per run (it is not `Send`; making one costs a CPU-feature lookup): it picks the
        // same kernel as the one the weights were packed for at load, on the same CPU.
        let gemm = GemmExecutor::default();
        pool.install(|| forward(&gemm, stem, blocks, heads, buffers, input, height, width))
    }
}

#[allow(clippy::too_many_arguments)]
fn forward(
    gemm: &GemmExecutor<f32>,
    stem: &Dense,
    blocks: &[Block],
    heads: &[Dense],
    b: &mut Buffers,
    input: &[f32],
    height: usize,
    width: usize,
) -> Outputs {
    let d = Dims {
        height,
        width,
        channels: STEM_IN,
    };
    let mut dims = layers::gather_windows(input, d, STEM_KERNEL, STEM_STRIDE, &mut b.rows);
    dims.channels = STEM_OUT;
    b.x.clear();
    b.x.resize(dims.len(), 0.0);
    stem.apply(gemm, &b.rows, &mut b.x, false);
    layers::relu(&mut b.x);

    let mut maps: [Vec<f32>; 4] = Default::default();
    let (mut fine, mut coarse) = ((0, 0), (0, 0));
    for (i, block) in blocks.iter().enumerate() {
        let s = block.shape;
        let next = layers::depthwise3x3(&b.x, dims, &block.depthwise, s.stride, &mut b.depthwise);
        layers::shortcut(&b.x, dims, s.stride, s.output, &mut b.next);
        block.pointwise.apply(gemm, &b.depthwise, &mut b.next, true);
        layers::relu(&mut b.next);
        std::mem::swap(&mut b.x, &mut b.next);
        dims = Dims {
            channels: s.output,
            ..next
        };
        for (h, (shape, dense)) in HEADS.iter().zip(heads).enumerate() {
            if shape.after_block == i {
                maps[h] = vec![0.0; dims.pixels() * dense.outputs];
                dense.apply(gemm, &b.x, &mut maps[h], false);
                let grid = (dims.width, dims.height);
                if i == FINE_BLOCK {
                    fine = grid;
                } else {
                    coarse = grid;
                }
            }
        }
    }
    Outputs { maps, fine, coarse }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_multiple_of_16_runs_and_a_wrong_weight_count_is_refused() {
        let weights: Vec<f32> = (0..weight_count()).map(|i| (i % 7) as f32 * 0.01).collect();
        let mut net = Network::with_weights(&weights).unwrap();
        for (h, w) in [(128, 128), (96, 96), (80, 128)] {
            let out = net.run(&vec![0.1; h * w * 3], h, w);
            assert_eq!(out.fine, (w / 8, h / 8));
            assert_eq!(out.coarse, (w / 16, h / 16));
            assert_eq!(out.maps[0].len(), w / 8 * h / 8 * 2);
            assert_eq!(out.maps[3].len(), w / 16 * h / 16 * 6 * 16);
            assert!(out.maps.iter().flatten().all(|v| v.is_finite()));
        }
        assert!(Network::with_weights(&[0.0; 10]).is_err());
    }
}
