# Sourced by run.sh. enrolld's Debian package for the guest, made the way docs/shipping.md
# makes the board packages: the board build (.ci/release-builds.sh: no demo, face check on),
# then `cargo deb --no-build`. A second package of the same binary under a higher version is
# the upgrade the guest installs. Both with `--fast` (gzip instead of xz): what the guest proves
# (install, upgrade, removal, the unit) does not depend on the compression, which the ship
# checks' packages keep; xz took 17.5 s of CPU per package here, gzip 7.3 s, and the guest
# unpacks gzip faster under TCG too.

# The Rust target of the package for $DEBARCH.
deb_rust_target() {
    case $DEBARCH in
    amd64) echo x86_64-unknown-linux-gnu ;;
    arm64) echo aarch64-unknown-linux-gnu ;;
    *) die "no package target for $DEBARCH" ;;
    esac
}

# Sets DEB (the package) and DEB_UPGRADE (the same binary as version "$version+sg1").
build_packages() {
    local target dir version
    target=$(deb_rust_target)
    dir=$OUT/debs
    # The binary itself comes from the shared release builds (build_enrolld made sure of it).
    [ "$(rb_bin "$target" enrolld)" = "$ENROLLD_BIN" ] || die "the package's target $target is not the guest's"
    rm -rf "$dir"
    mkdir -p "$dir/install" "$dir/upgrade"
    (cd "$REPO" && logged package-deb cargo deb --no-build --no-strip --fast --target "$target" --output "$dir/install")
    DEB=$(ls "$dir"/install/enrolld_*_"$DEBARCH".deb)
    version=$(dpkg-deb --field "$DEB" Version)
    (cd "$REPO" && logged package-deb-upgrade cargo deb --no-build --no-strip --fast --target "$target" \
        --deb-version "$version+sg1" --output "$dir/upgrade")
    DEB_UPGRADE=$(ls "$dir"/upgrade/enrolld_*_"$DEBARCH".deb)
    dpkg --compare-versions "$(dpkg-deb --field "$DEB_UPGRADE" Version)" gt "$version" ||
        die "the upgrade package's version is not above $version"
    step "packages: $(basename "$DEB"), upgrade $(basename "$DEB_UPGRADE")"
}
