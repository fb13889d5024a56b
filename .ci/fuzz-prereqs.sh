#!/usr/bin/env bash
# What .ci/fuzz needs besides the build prerequisites: a nightly toolchain (libFuzzer's
# instrumentation flags are nightly-only) and cargo-fuzz at a pinned version. Idempotent.
# `.ci/prereqs --all` runs it, so nothing is installed while other stages run beside fuzzing.
set -euo pipefail
CARGO_FUZZ_VERSION=0.13.1
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
if ! cargo +nightly fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
