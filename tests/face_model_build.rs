//! The build's model check (src/build/face_model.rs, run by src/build.rs): the packaged model
//! translates to exactly the weights embedded in enrolld, and a model whose layers differ from
//! what the fused runner runs is refused, naming the first difference (src/build.rs then fails
//! the build naming the model and `.ci/face-assets.sh`). The known-bad cases are the packaged
//! model with one layer changed: a depthwise stride, a kernel size, a shortcut that skips its
//! zero padding.
#![cfg(feature = "face")]

#[path = "../src/build/face_model.rs"]
mod face_model;
#[path = "../blazeface/src/net_shape.rs"]
#[allow(dead_code)]
mod net_shape;

use rten_onnx::onnx::ModelProto;

fn packaged() -> Vec<u8> {
    let path = env!("ENROLLD_FACE_MODEL");
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The packaged model with `change` made to its graph.
fn changed(change: impl FnOnce(&mut rten_onnx::onnx::GraphProto)) -> Vec<u8> {
    let mut model = ModelProto::parse_buf(&packaged()).unwrap();
    change(model.graph.as_mut().unwrap());
    model.write_buf().unwrap()
}

#[test]
fn the_packaged_model_gives_the_embedded_weights() {
    let weights = face_model::weights(&packaged()).unwrap();
    assert_eq!(weights.len(), net_shape::weight_count());
    assert_eq!(weights, enrolld::face::fused::weights());
}

#[test]
fn a_model_with_other_layers_is_refused_naming_the_difference() {
    let attr = |g: &mut rten_onnx::onnx::GraphProto, output: &str, name: &str| {
        let node = g
            .node
            .iter_mut()
            .find(|n| n.output.iter().any(|o| o.contains(output)))
            .unwrap();
        let a = node
            .attribute
            .iter_mut()
            .find(|a| a.name.as_deref() == Some(name))
            .unwrap();
        a.ints.iter_mut().for_each(|v| *v = 1);
        a.ints.clone()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "block 3's depthwise at stride 1",
            changed(|g| {
                attr(g, "depthwise_conv2d_2/depthwise:0", "strides");
            }),
            "block 3 of 16",
        ),
        (
            "the stem's kernel 1x1",
            changed(|g| {
                attr(g, "conv2d/BiasAdd:0", "kernel_shape");
            }),
            "kernel_shape",
        ),
        (
            "block 2's shortcut without its zero channels",
            changed(|g| {
                let add = g
                    .node
                    .iter_mut()
                    .find(|n| n.output.iter().any(|o| o.contains("add_1/add:0")))
                    .unwrap();
                add.input[1] = add.input[1].replace("tf_op_layer_Pad/Pad:0", "re_lu/Relu:0");
            }),
            "block 2 of 16",
        ),
    ];
    for (what, model, names) in cases {
        let err = face_model::weights(&model).expect_err(what);
        assert!(err.contains(names), "{what}: {err}");
    }
    assert!(face_model::weights(b"not a model").is_err());
}
