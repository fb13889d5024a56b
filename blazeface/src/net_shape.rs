//! BlazeFace front's layers as the runner ([`crate::Network`]) runs them: one table, read by
//! the runner and by enrolld's build script (src/build/face_model.rs includes this file), which
//! checks the packaged ONNX model has exactly these layers and writes their weights in this
//! order. A model with other layers fails the build. No dependencies: the build includes it
//! as a file.
//!
//! The network: a 5x5 stride-2 convolution (the stem), then 16 residual blocks, each a
//! depthwise 3x3 convolution and a pointwise (1x1) one, added to the block's input (max-pooled
//! 2x2 when the block halves the picture, zero channels appended when it widens) and put
//! through ReLU; two heads (scores and boxes) read the output of block 11 (stride 8, two
//! anchors per cell) and of block 16 (stride 16, six anchors per cell). Padding is
//! TensorFlow's "same": `(kernel - stride) / 2` before, the rest after.
//!
//! Weight order in the blob (f32, little-endian), each tensor laid out for the runner:
//! - the stem: weights `[ky][kx][c_in][c_out]`, then bias `[c_out]`;
//! - per block: depthwise weights `[ky][kx][c]` (no bias), pointwise weights `[c_in][c_out]`,
//!   then bias `[c_out]`;
//! - per head, in [`HEADS`] order: weights `[c_in][c_out]`, then bias `[c_out]`.

/// Colour channels of the input.
pub const STEM_IN: usize = 3;
/// Channels out of the stem.
pub const STEM_OUT: usize = 24;
pub const STEM_KERNEL: usize = 5;
pub const STEM_STRIDE: usize = 2;
/// The depthwise kernel's side.
pub const DW_KERNEL: usize = 3;
/// Every input side must be a multiple of this (the coarsest grid's stride).
pub const SIDE_STEP: usize = 16;

/// One residual block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockShape {
    pub input: usize,
    pub output: usize,
    /// 1, or 2 where the block halves the picture.
    pub stride: usize,
}

const fn block(input: usize, output: usize, stride: usize) -> BlockShape {
    BlockShape {
        input,
        output,
        stride,
    }
}

pub const BLOCKS: [BlockShape; 16] = [
    block(24, 24, 1),
    block(24, 28, 1),
    block(28, 32, 2),
    block(32, 36, 1),
    block(36, 42, 1),
    block(42, 48, 2),
    block(48, 56, 1),
    block(56, 64, 1),
    block(64, 72, 1),
    block(72, 80, 1),
    block(80, 88, 1),
    block(88, 96, 2),
    block(96, 96, 1),
    block(96, 96, 1),
    block(96, 96, 1),
    block(96, 96, 1),
];

/// Which output a head makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadKind {
    Scores,
    Boxes,
}

/// A 1x1 convolution reading a block's output: one score or 16 box values per anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadShape {
    /// Index in [`BLOCKS`] of the block whose output it reads.
    pub after_block: usize,
    pub kind: HeadKind,
    pub anchors_per_cell: usize,
    /// The ONNX model's output this head makes (checked by the build).
    pub onnx_output: &'static str,
}

impl HeadShape {
    /// Channels read: the block's output.
    pub const fn channels_in(&self) -> usize {
        BLOCKS[self.after_block].output
    }

    /// Channels made: one or 16 values per anchor.
    pub const fn channels_out(&self) -> usize {
        self.anchors_per_cell
            * match self.kind {
                HeadKind::Scores => 1,
                HeadKind::Boxes => VALUES_PER_ANCHOR,
            }
    }
}

/// Numbers each anchor regresses: a box and six landmarks.
pub const VALUES_PER_ANCHOR: usize = 16;
/// The block the fine grid (stride 8) reads, and the coarse grid (stride 16).
pub const FINE_BLOCK: usize = 10;
pub const COARSE_BLOCK: usize = 15;

/// Fine scores, coarse scores, fine boxes, coarse boxes: the ONNX model's output order.
pub const HEADS: [HeadShape; 4] = [
    HeadShape {
        after_block: FINE_BLOCK,
        kind: HeadKind::Scores,
        anchors_per_cell: 2,
        onnx_output: "Identity:0",
    },
    HeadShape {
        after_block: COARSE_BLOCK,
        kind: HeadKind::Scores,
        anchors_per_cell: 6,
        onnx_output: "Identity_1:0",
    },
    HeadShape {
        after_block: FINE_BLOCK,
        kind: HeadKind::Boxes,
        anchors_per_cell: 2,
        onnx_output: "Identity_2:0",
    },
    HeadShape {
        after_block: COARSE_BLOCK,
        kind: HeadKind::Boxes,
        anchors_per_cell: 6,
        onnx_output: "Identity_3:0",
    },
];

/// Zero padding before the picture (top, left) of a TensorFlow "same" convolution.
pub const fn pad_before(kernel: usize, stride: usize) -> usize {
    (kernel - stride) / 2
}

/// How many numbers the blob holds.
pub const fn weight_count() -> usize {
    let mut n = STEM_KERNEL * STEM_KERNEL * STEM_IN * STEM_OUT + STEM_OUT;
    let mut i = 0;
    while i < BLOCKS.len() {
        let b = BLOCKS[i];
        n += DW_KERNEL * DW_KERNEL * b.input + b.input * b.output + b.output;
        i += 1;
    }
    let mut h = 0;
    while h < HEADS.len() {
        n += HEADS[h].channels_in() * HEADS[h].channels_out() + HEADS[h].channels_out();
        h += 1;
    }
    n
}
