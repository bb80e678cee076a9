#!/usr/bin/env bash
# Release artifacts in the Terraform registry's layout, into dist/:
#
#   terraform-provider-bbws_{version}_{os}_{arch}.zip   the binary, named terraform-provider-bbws_v{version}
#   terraform-provider-bbws_{version}_manifest.json     {"version":1,"metadata":{"protocol_versions":["6.0"]}}
#   terraform-provider-bbws_{version}_SHA256SUMS        sha256 of every zip and the manifest
#
# The version is the workspace's (Cargo.toml, [workspace.package]). Each
# binary is linked by `cargo zigbuild` against glibc 2.28's symbols, so it
# starts on RHEL 8, Amazon Linux 2023, Debian 10+ and Ubuntu 20.04+.
# linux_amd64 is always built; every further target only when the Rust
# toolchain has its standard library (`rustup target add …`), and the
# script says which ones it skipped.
#
#   bash scripts/release.sh            # dist/ under the repository
#   BBWS_DIST_DIR=/tmp/out bash scripts/release.sh
#
# cargo-zigbuild and zig (the `ziglang` wheel) are installed into a venv
# of their own ($BBWS_RELEASE_VENV, default ~/.cache/bbws/release-venv).
# The build has its own target directory ($CARGO_TARGET_DIR/dist), so it
# never invalidates the debug builds the tests use.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bbws/target}"
export CARGO_TERM_COLOR=never
dist="$(realpath -m "${BBWS_DIST_DIR:-$root/dist}")"
venv="${BBWS_RELEASE_VENV:-$HOME/.cache/bbws/release-venv}"
build_dir="$CARGO_TARGET_DIR/dist"
glibc="2.28"
name="terraform-provider-bbws"

log() { printf '[release] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# registry platform → Rust target triple, in build order.
platforms=("linux_amd64:x86_64-unknown-linux-gnu" "linux_arm64:aarch64-unknown-linux-gnu")

# ---------------------------------------------------------------- tools

want="$(sha256sum scripts/release-requirements.txt | cut -d' ' -f1)"
have="$(cat "$venv/.requirements.sha256" 2>/dev/null || true)"
if [ "$want" != "$have" ] || [ ! -x "$venv/bin/cargo-zigbuild" ]; then
  log "installing cargo-zigbuild and zig into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/release-requirements.txt
  echo "$want" >"$venv/.requirements.sha256"
fi
# cargo finds `cargo zigbuild` on PATH; cargo-zigbuild finds zig as the
# venv's `python3 -m ziglang`.
export PATH="$venv/bin:$PATH"

version="$(cargo metadata --no-deps --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
print(next(p["version"] for p in meta["packages"] if p["name"] == sys.argv[1]))
' "$name")"
[ -n "$version" ] || die "no version for $name in cargo metadata"
log "$name $version"

sysroot="$(rustc --print sysroot)"
stamp="$(git log -1 --format=%ct 2>/dev/null || date +%s)"
has_std() { [ -d "$sysroot/lib/rustlib/$1/lib" ]; }

# ---------------------------------------------------------------- build

rm -rf "$dist"
mkdir -p "$dist"
built=()
for entry in "${platforms[@]}"; do
  platform="${entry%%:*}" triple="${entry#*:}"
  if ! has_std "$triple"; then
    [ "$platform" = linux_amd64 ] && die "the toolchain has no standard library for $triple"
    log "skipping $platform: this toolchain has no standard library for $triple (rustup target add $triple)"
    continue
  fi
  log "building $platform ($triple, glibc $glibc) — fat LTO, this takes minutes"
  start=$SECONDS
  CARGO_TARGET_DIR="$build_dir" cargo zigbuild --locked --release -q \
    -p "$name" --target "$triple.$glibc"
  log "built $platform in $((SECONDS - start)) s"
  bin="$build_dir/$triple/release/$name"
  [ -x "$bin" ] || die "no binary at $bin"
  # The registry's convention: the executable inside the zip carries the
  # version. Deflated, mode 0755, stamped with the commit's time so that
  # the same commit gives the same zip.
  zip="${name}_${version}_${platform}.zip"
  python3 - "$dist/$zip" "$bin" "${name}_v$version" "$stamp" <<'PY'
import sys, time, zipfile
out, src, arcname, stamp = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
info = zipfile.ZipInfo(arcname, date_time=time.gmtime(max(stamp, 315532800))[:6])
info.compress_type = zipfile.ZIP_DEFLATED
info.create_system = 3  # Unix, so that the mode below is read
info.external_attr = 0o100755 << 16
with open(src, "rb") as f, zipfile.ZipFile(out, "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
PY
  built+=("$platform")
done

manifest="${name}_${version}_manifest.json"
printf '{\n  "version": 1,\n  "metadata": {\n    "protocol_versions": ["6.0"]\n  }\n}\n' >"$dist/$manifest"
(cd "$dist" && sha256sum -- *.zip "$manifest" >"${name}_${version}_SHA256SUMS")

log "artifacts in $dist (${built[*]}):"
(cd "$dist" && ls -l) >&2
