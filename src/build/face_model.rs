//! Build time: the packaged ONNX model's weights, in the order the fused runner reads them
//! (blazeface/src/net_shape.rs). The model's graph is followed from its input, layer by layer, and
//! every layer must be the one the table says (kind, kernel, stride, padding, channels, and the
//! shortcut of each block); anything else is an error naming the first difference, so a model
//! the runner would misread never builds. Shared by src/build.rs and tests/face_model_build.rs.

use std::collections::HashMap;

use rten_onnx::onnx::{DataType, ModelProto, NodeProto, TensorProto};

use crate::net_shape::{
    BLOCKS, BlockShape, DW_KERNEL, HEADS, STEM_IN, STEM_KERNEL, STEM_OUT, STEM_STRIDE, pad_before,
    weight_count,
};

/// The model's graph, indexed for following it.
struct Graph<'a> {
    nodes: &'a [NodeProto],
    /// The constants (weights, shapes) by name.
    constants: HashMap<&'a str, &'a TensorProto>,
    /// Which nodes read each value.
    readers: HashMap<&'a str, Vec<usize>>,
    /// Which node writes each value.
    writer: HashMap<&'a str, usize>,
    outputs: Vec<&'a str>,
}

/// The weights of `model` (an ONNX file's bytes) in the runner's order, or what about the
/// model differs from BlazeFace front as the runner knows it.
pub fn weights(model: &[u8]) -> Result<Vec<f32>, String> {
    let model = ModelProto::parse_buf(model).map_err(|e| format!("not an ONNX model: {e}"))?;
    let graph = model.graph.as_ref().ok_or("the model has no graph")?;
    let g = Graph::new(graph)?;
    let input = graph
        .input
        .iter()
        .filter_map(|i| i.name.as_deref())
        .find(|n| !g.constants.contains_key(n))
        .ok_or("the model has no input")?;
    let mut out = Vec::with_capacity(weight_count());

    // NHWC input to the NCHW the convolutions read.
    let t = g.only_reader(input, "Transpose")?;
    g.check_ints(t, "perm", &[0, 3, 1, 2])?;
    let mut x = g.output(t);

    // The stem: 5x5 stride 2, bias, ReLU.
    let stem = g.only_reader(x, "Conv")?;
    g.check_conv(stem, STEM_KERNEL, STEM_STRIDE, 1)?;
    let (w, b) = g.conv_weights(stem, &[STEM_OUT, STEM_IN, STEM_KERNEL, STEM_KERNEL], true)?;
    // [c_out][c_in][ky][kx] -> [ky][kx][c_in][c_out]
    for ky in 0..STEM_KERNEL {
        for kx in 0..STEM_KERNEL {
            for ci in 0..STEM_IN {
                for co in 0..STEM_OUT {
                    out.push(w[((co * STEM_IN + ci) * STEM_KERNEL + ky) * STEM_KERNEL + kx]);
                }
            }
        }
    }
    out.extend_from_slice(&b);
    x = g.output(g.only_reader(g.output(stem), "Relu")?);

    let mut block_outputs = Vec::with_capacity(BLOCKS.len());
    for (i, shape) in BLOCKS.iter().enumerate() {
        x = g
            .block(x, shape, &mut out)
            .map_err(|e| format!("block {} of {}: {e}", i + 1, BLOCKS.len()))?;
        block_outputs.push(x);
    }

    for head in HEADS {
        let source = block_outputs[head.after_block];
        let conv = g
            .readers_of(source)
            .find(|&n| {
                g.nodes[n].op_type.as_deref() == Some("Conv")
                    && g.reaches_output(n) == Some(head.onnx_output)
            })
            .ok_or_else(|| {
                format!(
                    "no 1x1 convolution after block {} makes the output {}",
                    head.after_block + 1,
                    head.onnx_output
                )
            })?;
        g.check_conv(conv, 1, 1, 1)?;
        let (w, b) =
            g.conv_weights(conv, &[head.channels_out(), head.channels_in(), 1, 1], true)?;
        push_pointwise(&mut out, &w, head.channels_in(), head.channels_out());
        out.extend_from_slice(&b);
    }
    if out.len() != weight_count() {
        return Err(format!(
            "{} weights read where the runner expects {}",
            out.len(),
            weight_count()
        ));
    }
    Ok(out)
}

/// Pointwise weights `[c_out][c_in]` as the runner's `[c_in][c_out]`.
fn push_pointwise(out: &mut Vec<f32>, w: &[f32], c_in: usize, c_out: usize) {
    for ci in 0..c_in {
        for co in 0..c_out {
            out.push(w[co * c_in + ci]);
        }
    }
}

fn floats(t: &TensorProto) -> Result<Vec<f32>, String> {
    let name = t.name.as_deref().unwrap_or("?");
    if t.data_type != Some(DataType::FLOAT) {
        return Err(format!("the weights {name} are not 32-bit floats"));
    }
    if !t.float_data.is_empty() {
        return Ok(t.float_data.clone());
    }
    let raw = t
        .raw_data
        .as_ref()
        .ok_or_else(|| format!("the weights {name} have no data"))?
        .borrow();
    Ok(raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

impl<'a> Graph<'a> {
    fn new(graph: &'a rten_onnx::onnx::GraphProto) -> Result<Graph<'a>, String> {
        let nodes = graph.node.as_slice();
        let mut constants = HashMap::new();
        for t in &graph.initializer {
            let name = t.name.as_deref().ok_or("a constant without a name")?;
            constants.insert(name, t);
        }
        let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut writer = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            for input in &n.input {
                readers.entry(input.as_str()).or_default().push(i);
            }
            for output in &n.output {
                writer.insert(output.as_str(), i);
            }
        }
        let outputs = graph
            .output
            .iter()
            .filter_map(|o| o.name.as_deref())
            .collect();
        Ok(Graph {
            nodes,
            constants,
            readers,
            writer,
            outputs,
        })
    }

    fn name(&self, n: usize) -> String {
        let node = &self.nodes[n];
        format!(
            "{} {}",
            node.op_type.as_deref().unwrap_or("?"),
            node.output.first().map_or("?", |s| s.as_str())
        )
    }

    fn output(&self, n: usize) -> &'a str {
        self.nodes[n].output.first().map_or("", |s| s.as_str())
    }

    fn readers_of(&self, value: &str) -> impl Iterator<Item = usize> + '_ {
        self.readers.get(value).into_iter().flatten().copied()
    }

    /// The one node reading `value`, which must be an `op`.
    fn only_reader(&self, value: &str, op: &str) -> Result<usize, String> {
        let all: Vec<usize> = self.readers_of(value).collect();
        match all.as_slice() {
            [n] if self.nodes[*n].op_type.as_deref() == Some(op) => Ok(*n),
            _ => Err(format!(
                "{value} should be read by one {op} only; it is read by [{}]",
                all.iter()
                    .map(|&n| self.name(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The node reading `value` that is an `op`, of several readers.
    fn reader(&self, value: &str, op: &str, also: impl Fn(usize) -> bool) -> Result<usize, String> {
        self.readers_of(value)
            .find(|&n| self.nodes[n].op_type.as_deref() == Some(op) && also(n))
            .ok_or_else(|| format!("no {op} as expected reads {value}"))
    }

    fn ints(&self, n: usize, attr: &str) -> Option<&[i64]> {
        self.nodes[n]
            .attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(attr))
            .map(|a| a.ints.as_slice())
    }

    fn int(&self, n: usize, attr: &str) -> Option<i64> {
        self.nodes[n]
            .attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(attr))
            .and_then(|a| a.i)
    }

    fn check_ints(&self, n: usize, attr: &str, want: &[i64]) -> Result<(), String> {
        let got = self.ints(n, attr).unwrap_or(&[]);
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "{}: {attr} {got:?}, expected {want:?}",
                self.name(n)
            ))
        }
    }

    /// A convolution of `kernel`, `stride` and `group`, padded "same" as the runner pads.
    fn check_conv(
        &self,
        n: usize,
        kernel: usize,
        stride: usize,
        group: usize,
    ) -> Result<(), String> {
        let k = kernel as i64;
        let s = stride as i64;
        self.check_ints(n, "kernel_shape", &[k, k])?;
        self.check_ints(n, "strides", &[s, s])?;
        if let Some(d) = self.ints(n, "dilations") {
            self.check_ints(n, "dilations", &vec![1; d.len()])?;
        }
        let before = pad_before(kernel, stride) as i64;
        let after = (k - s).max(0) - before;
        if kernel > 1 || self.ints(n, "pads").is_some() {
            self.check_ints(n, "pads", &[before, before, after, after])?;
        }
        let got_group = self.int(n, "group").unwrap_or(1);
        if got_group != group as i64 {
            return Err(format!(
                "{}: group {got_group}, expected {group}",
                self.name(n)
            ));
        }
        Ok(())
    }

    /// A constant's values, which must have the dimensions `dims`.
    fn constant(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>, String> {
        let t = self
            .constants
            .get(name)
            .ok_or_else(|| format!("{name} is not a constant"))?;
        let values = floats(t)?;
        let want: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        if t.dims != want || values.len() != dims.iter().product::<usize>() {
            return Err(format!(
                "{name} has dimensions {:?}, expected {want:?} (floats)",
                t.dims
            ));
        }
        Ok(values)
    }

    /// A convolution's weights (of `dims`) and its bias (when it must have one).
    fn conv_weights(
        &self,
        n: usize,
        dims: &[usize],
        bias: bool,
    ) -> Result<(Vec<f32>, Vec<f32>), String> {
        let inputs = &self.nodes[n].input;
        let w = self.constant(inputs.get(1).map_or("", |s| s.as_str()), dims)?;
        match (bias, inputs.get(2)) {
            (true, Some(b)) => Ok((w, self.constant(b, &[dims[0]])?)),
            (false, None) => Ok((w, Vec::new())),
            (true, None) => Err(format!("{} has no bias", self.name(n))),
            (false, Some(_)) => Err(format!("{} has a bias the runner ignores", self.name(n))),
        }
    }

    /// One residual block reading `x`; its weights go to `out`. Returns its output's name.
    fn block(&self, x: &'a str, shape: &BlockShape, out: &mut Vec<f32>) -> Result<&'a str, String> {
        let (c_in, c_out) = (shape.input, shape.output);
        let dw = self.reader(x, "Conv", |n| self.int(n, "group") == Some(c_in as i64))?;
        self.check_conv(dw, DW_KERNEL, shape.stride, c_in)?;
        let (w, _) = self.conv_weights(dw, &[c_in, 1, DW_KERNEL, DW_KERNEL], false)?;
        // [c][1][ky][kx] -> [ky][kx][c]
        for tap in 0..DW_KERNEL * DW_KERNEL {
            out.extend((0..c_in).map(|c| w[c * DW_KERNEL * DW_KERNEL + tap]));
        }
        let pw = self.only_reader(self.output(dw), "Conv")?;
        self.check_conv(pw, 1, 1, 1)?;
        let (w, b) = self.conv_weights(pw, &[c_out, c_in, 1, 1], true)?;
        push_pointwise(out, &w, c_in, c_out);
        out.extend_from_slice(&b);
        let add = self.only_reader(self.output(pw), "Add")?;
        let shortcut = self.nodes[add]
            .input
            .iter()
            .find(|i| i.as_str() != self.output(pw))
            .ok_or_else(|| format!("{} adds nothing to the block", self.name(add)))?;
        self.check_shortcut(x, shortcut, shape)?;
        Ok(self.output(self.only_reader(self.output(add), "Relu")?))
    }

    /// The block's shortcut must be its input, max-pooled 2x2 when the stride is 2, with zero
    /// channels appended up to the output's.
    fn check_shortcut(&self, x: &str, shortcut: &str, shape: &BlockShape) -> Result<(), String> {
        let mut value = shortcut;
        if shape.output > shape.input {
            let concat = *self
                .writer
                .get(value)
                .ok_or_else(|| format!("the shortcut {value} is made by no node"))?;
            let node = &self.nodes[concat];
            if node.op_type.as_deref() != Some("Concat") || self.int(concat, "axis") != Some(1) {
                return Err(format!(
                    "the shortcut is made by {}, not a channel Concat",
                    self.name(concat)
                ));
            }
            let [first, zeros] = node.input.as_slice() else {
                return Err(format!("{} joins other than two values", self.name(concat)));
            };
            let pad = self
                .writer
                .get(zeros.as_str())
                .map(|&n| &self.nodes[n])
                .filter(|n| n.op_type.as_deref() == Some("ConstantOfShape"))
                .ok_or_else(|| format!("{zeros} is not zeros (ConstantOfShape)"))?;
            self.check_zeros(pad, shape.output - shape.input)?;
            value = first;
        }
        if shape.stride == 2 {
            let pool = *self
                .writer
                .get(value)
                .ok_or_else(|| format!("the shortcut {value} is made by no node"))?;
            if self.nodes[pool].op_type.as_deref() != Some("MaxPool") {
                return Err(format!(
                    "a stride-2 block's shortcut comes from {}, not a MaxPool",
                    self.name(pool)
                ));
            }
            self.check_ints(pool, "kernel_shape", &[2, 2])?;
            self.check_ints(pool, "strides", &[2, 2])?;
            value = self.nodes[pool].input.first().map_or("", |s| s.as_str());
        }
        if value != x {
            return Err(format!(
                "the shortcut reads {value}, not the block's input {x}"
            ));
        }
        Ok(())
    }

    /// A ConstantOfShape of `channels` zero channels (its shape a constant [1, channels, h, w]).
    fn check_zeros(&self, node: &NodeProto, channels: usize) -> Result<(), String> {
        let value = node
            .attribute
            .iter()
            .find(|a| a.name.as_deref() == Some("value"));
        let zero = value
            .and_then(|a| a.t.as_ref())
            .map_or(Ok(vec![0.0]), floats)?;
        if zero.iter().any(|&v| v != 0.0) {
            return Err("the shortcut's padding is not zeros".into());
        }
        let shape = node.input.first().map_or("", |s| s.as_str());
        let dims = self
            .constants_as_ints(shape)
            .ok_or_else(|| format!("the padding's shape {shape} is not a constant"))?;
        if dims.len() != 4 || dims[1] != channels as i64 {
            return Err(format!(
                "the shortcut is padded by {dims:?}, expected {channels} channels"
            ));
        }
        Ok(())
    }

    /// An integer constant's values (a shape).
    fn constants_as_ints(&self, name: &str) -> Option<Vec<i64>> {
        let t = self.constants.get(name)?;
        if t.data_type != Some(DataType::INT64) {
            return None;
        }
        if !t.int64_data.is_empty() {
            return Some(t.int64_data.clone());
        }
        let raw = t.raw_data.as_ref()?.borrow();
        Some(
            raw.chunks_exact(8)
                .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect(),
        )
    }

    /// The graph output a head's convolution reaches through Transpose and Reshape.
    fn reaches_output(&self, conv: usize) -> Option<&'a str> {
        let t = self.only_reader(self.output(conv), "Transpose").ok()?;
        self.check_ints(t, "perm", &[0, 2, 3, 1]).ok()?;
        let r = self.only_reader(self.output(t), "Reshape").ok()?;
        let out = self.output(r);
        self.outputs.contains(&out).then_some(out)
    }
}
