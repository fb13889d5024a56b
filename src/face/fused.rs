//! The face detector's network with its weights: [`enrolld_blazeface::Network`] (BlazeFace
//! front as one fixed network of fused layers on rten-gemm, its own crate so tests run it
//! optimised) loaded with the weights src/build.rs took out of the packaged model, checked
//! layer by layer, and embedded. Nothing is read from disk at start.

pub use enrolld_blazeface::{Network, Outputs};

/// The weights in the network's order (`$OUT_DIR/blazeface_weights.bin`, made by src/build.rs)
/// after a header that marks them (.ci/ship-check.sh looks for it in the shipped binaries).
static WEIGHTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blazeface_weights.bin"));
const HEADER: &[u8] = b"enrolld blazeface weights 1\n";

/// The embedded weights as numbers.
pub fn weights() -> Vec<f32> {
    WEIGHTS
        .strip_prefix(HEADER)
        .expect("src/build.rs writes the header")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The network with the embedded weights.
pub fn load() -> Result<Network, String> {
    Network::with_weights(&weights())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_weights_load_and_run() {
        let mut net = super::load().unwrap();
        let out = net.run(&vec![0.1; 128 * 128 * 3], 128, 128);
        assert!(out.maps.iter().flatten().all(|v| v.is_finite()));
    }
}
