#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, generated-code freshness, the Rust test
# suites (unit, corpus, property, in-process router, store conformance, end-to-end with
# aws-sdk-rust), every fuzz target for a short budget, and the Python end-to-end suite (boto3
# and the aws CLI against the binary).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints the seconds spent so far, so a slow suite shows against CI's budget.
step() { printf '\n==> %s (%ds so far)\n' "$*" "$SECONDS"; }

# CI builds once from a clean checkout: incremental state would only double the target
# directory (a cold run filled the disk once) and slow the build.
if [ -n "${CI:-}" ]; then
    export CARGO_INCREMENTAL=0
fi

# The fuzz budget per target; 10 s runs each target a few hundred thousand times.
export RAMPART_FUZZ_SECONDS="${RAMPART_FUZZ_SECONDS:-10}"


# A cold build and its test executables take about 15 GB; say so before a full disk does.
printf 'Free disk where the build goes: %s\n' "$(df -h --output=avail . | tail -1 | tr -d ' ')"

step "System libraries (libxmlsec1 for SAML signatures)"
if ! pkg-config --exists xmlsec1-openssl; then
    apt-get update -qq && apt-get install -y -qq libxmlsec1-dev pkg-config
fi

step "Python test dependencies (pinned in tests/e2e/requirements.txt)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests/e2e/requirements.txt

step "Formatting"
cargo fmt --all -- --check

step "Generated code is current (cargo run -p xtask -- codegen --check)"
cargo run --quiet -p xtask -- codegen --check

step "Lints"
cargo clippy --workspace --all-targets --quiet -- -D warnings

# The store conformance suite also runs on PostgreSQL when one answers locally.
if [ -z "${RAMPART_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 \
    && pg_isready -q -h 127.0.0.1 -p 5432; then
    export RAMPART_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
fi

step "Rust tests"
cargo build --quiet -p rampart --bin rampart
cargo test --workspace --quiet

step "Fuzz targets, ${RAMPART_FUZZ_SECONDS}s each (scripts/fuzz.sh; skipped without a nightly toolchain)"
./scripts/fuzz.sh

step "Python end-to-end tests (boto3, aws CLI)"
# Two workers, each end-to-end file on one of them (tests/e2e/conftest.py groups them); the
# files that measure latency or rates run afterwards with nothing beside them.
export RAMPART_BIN="${CARGO_TARGET_DIR:-$(pwd)/target}/debug/rampart"
python3 -m pytest -q -n 2 --dist loadgroup -m "not alone" --durations=15 tests/e2e
python3 -m pytest -q -m alone tests/e2e
printf '\nAll tests passed in %ds.\n' "$SECONDS"
