#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests (fast, no servers),
# then the local stack and the acceptance tests (real terraform, provider,
# moto and MariaDB). `.ci/run` runs exactly this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Outside the clone, so a fresh clone reuses compiled dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bbws/target}"
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -q -- -D warnings

step "cargo doc bbws-core (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -p bbws-core --no-deps -q

step "unit tests (core, provider: no servers needed)"
cargo test -p bbws-core -p terraform-provider-bbws --lib --bins

step "local stack (moto, MariaDB, terraform)"
bash acceptance-tests/stack/stack.sh up

step "release artifacts (scripts/release.sh: registry layout, glibc 2.28; tests/release.rs checks and installs them)"
bash scripts/release.sh

step "integration and acceptance tests (real terraform, provider, moto, MariaDB)"
cargo build -p terraform-provider-bbws -p tenantctl
cargo test --workspace -- --test-threads=2
