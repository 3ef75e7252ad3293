#!/usr/bin/env bash
# Builds every fuzz target (each `[[bin]]` of crates/*/fuzz) with libFuzzer and runs each one for
# a short budget: RAMPART_FUZZ_SECONDS per target (default 15). A crash fails the script and
# leaves its input in crates/<crate>/fuzz/artifacts/<target>/.
#
# The targets are built the way cargo-fuzz builds them (SanitizerCoverage instrumentation,
# `--cfg fuzzing`, debug assertions and overflow checks), without cargo-fuzz itself and without
# AddressSanitizer (the fuzzed crates are safe Rust): only a nightly toolchain is needed. With
# none installed the step is skipped with a message. Committed seeds live in
# crates/<crate>/fuzz/seeds/<target>/ (read only); what a run finds goes to the ignored
# crates/<crate>/fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

budget="${RAMPART_FUZZ_SECONDS:-15}"
toolchain="${RAMPART_FUZZ_TOOLCHAIN:-nightly}"

if ! cargo "+$toolchain" --version >/dev/null 2>&1; then
    echo "SKIPPED: fuzzing needs a nightly Rust toolchain (rustup toolchain install nightly)."
    exit 0
fi

host="$(rustc "+$toolchain" -vV | sed -n 's/^host: //p')"
# One target directory for every fuzz crate, so their shared dependencies build once.
target_dir="${CARGO_TARGET_DIR:-$(pwd)/target}/fuzz"
# `--target` keeps these flags off build scripts and proc macros, as cargo-fuzz does.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth"
# Optimized enough to fuzz quickly, cheap enough to build in CI; assertions and overflow
# checks stay on, since they are what the targets look for.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true
export CARGO_PROFILE_RELEASE_DEBUG=false

for manifest in crates/*/fuzz/Cargo.toml; do
    dir="$(dirname "$manifest")"
    bins="$(cargo "+$toolchain" metadata --quiet --no-deps --format-version 1 \
        --manifest-path "$manifest" |
        python3 -c 'import json,sys
for p in json.load(sys.stdin)["packages"]:
    for t in p["targets"]:
        if "bin" in t["kind"]: print(t["name"])')"
    echo "--- $dir: building $(echo $bins)"
    cargo "+$toolchain" build --quiet --release --bins --target "$host" \
        --manifest-path "$manifest" --target-dir "$target_dir"
    for bin in $bins; do
        corpus="$dir/corpus/$bin"
        artifacts="$dir/artifacts/$bin/"
        mkdir -p "$corpus" "$artifacts"
        seeds=()
        if [ -d "$dir/seeds/$bin" ]; then seeds=("$dir/seeds/$bin"); fi
        log="$target_dir/$(basename "$(dirname "$dir")")-$bin.log"
        echo "--- $dir: $bin for ${budget}s"
        if ! "$target_dir/$host/release/$bin" -max_total_time="$budget" -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" "${seeds[@]}" \
            >"$log" 2>&1; then
            tail -n 40 "$log"
            echo "FAILED: $dir $bin; the failing input is in $artifacts"
            exit 1
        fi
        grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" || true
    done
done
