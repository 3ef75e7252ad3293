#!/usr/bin/env bash
# Runs a peer emulator's test suites (moto's IAM, STS, KMS and Organizations tests) against
# `rampart serve --dev`, in moto's server mode: moto's `@mock_aws` then sends every boto3 call
# to the running server instead of mocking in process, and resets it through
# `POST /moto-api/reset` before each test. docs/PEER_SUITE.md explains the results.
#
# Run by hand, not by CI: it downloads moto's sdist (the pinned version below) from PyPI into a
# cache directory, installs it with its test needs into a virtualenv there, and takes minutes.
# No moto code is kept in this repository.
#
# Usage: scripts/peer_suite.sh [SERVICE...] [-- PYTEST-ARGS...]
#   SERVICE: iam, sts, kms, organizations (default: all four)
#   PYTEST-ARGS: passed to pytest, e.g. `-- -k test_create_role -x`
# Environment:
#   RAMPART_BIN      the binary to test (default target/debug/rampart; built if missing)
#   PEER_SUITE_DIR   the cache and results directory (default target/peer-suite)
#   PEER_TIMEOUT     seconds one test may take (default 60)
# Results: $PEER_SUITE_DIR/results/<service>.xml (JUnit) and <service>.txt (one line per test:
# outcome and test id, sorted, for diffing two runs), and the server's log in server.log.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MOTO_VERSION=5.2.6
# The client side's versions, pinned so two runs compare.
PIP_PINS=(boto3==1.44.18 botocore==1.44.18 pytest==9.2.0 pytest-timeout==2.4.0 freezegun==1.5.5 PyYAML==6.0.3)
# moto 5.x uses this account id for everything; Rampart's dev account is configurable.
ACCOUNT=123456789012

CACHE=${PEER_SUITE_DIR:-$ROOT/target/peer-suite}
BIN=${RAMPART_BIN:-$ROOT/target/debug/rampart}
TIMEOUT=${PEER_TIMEOUT:-60}

services=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; break ;;
        iam|sts|kms|organizations) services+=("$1"); shift ;;
        *) echo "unknown service '$1' (iam, sts, kms, organizations)" >&2; exit 2 ;;
    esac
done
[ ${#services[@]} -gt 0 ] || services=(iam sts kms organizations)
pytest_args=("$@")

mkdir -p "$CACHE/results"
MOTO_DIR="$CACHE/moto-$MOTO_VERSION"
VENV="$CACHE/venv-$MOTO_VERSION"

# moto's source distribution carries its tests; the wheel does not.
if [ ! -d "$MOTO_DIR/tests" ]; then
    echo "==> downloading moto $MOTO_VERSION (sdist) into $CACHE"
    python3 -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
        -d "$CACHE" "moto==$MOTO_VERSION"
    tar -xzf "$CACHE/moto-$MOTO_VERSION.tar.gz" -C "$CACHE"
    [ -d "$MOTO_DIR/tests" ] || { echo "moto $MOTO_VERSION's sdist has no tests/" >&2; exit 1; }
fi

if [ ! -x "$VENV/bin/pytest" ]; then
    echo "==> installing moto $MOTO_VERSION and its test needs into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "$CACHE/moto-$MOTO_VERSION.tar.gz" "${PIP_PINS[@]}"
fi

if [ ! -x "$BIN" ]; then
    echo "==> building rampart"
    cargo build --quiet -p rampart --bin rampart
fi

# One dev-mode server on a free loopback port with a throwaway data dir.
DATA=$(mktemp -d -t rampart-peer-XXXXXX)
LOG="$CACHE/server.log"
env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    RAMPART_LOG="${RAMPART_LOG:-warn}" \
    "$BIN" serve --dev --dev-account-id "$ACCOUNT" --listen 127.0.0.1:0 --data-dir "$DATA" \
    >"$LOG" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

ENDPOINT=
for _ in $(seq 300); do
    ENDPOINT=$(sed -n 's/.*endpoint:[[:space:]]*\(http:[^[:space:]]*\).*/\1/p' "$LOG" | head -n1)
    [ -n "$ENDPOINT" ] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ENDPOINT" ] || { echo "rampart did not start" >&2; cat "$LOG" >&2; exit 1; }
echo "==> rampart serve --dev at $ENDPOINT (log: $LOG)"

# moto's server mode: calls go to the endpoint, state is reset there between tests.
export TEST_SERVER_MODE=true TEST_SERVER_MODE_ENDPOINT="$ENDPOINT"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN

cd "$MOTO_DIR"
for svc in "${services[@]}"; do
    echo "==> moto tests/test_$svc"
    # moto's own server tests (test_server.py) drive moto's app in process; they say nothing
    # about Rampart and are left out.
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider -o addopts= --color=no \
        --timeout "$TIMEOUT" --ignore "tests/test_$svc/test_server.py" \
        --junitxml "$CACHE/results/$svc.xml" "tests/test_$svc" "${pytest_args[@]}" \
        >"$CACHE/results/$svc.log" 2>&1 || true
    tail -n 1 "$CACHE/results/$svc.log"
done

"$VENV/bin/python" - "$CACHE/results" "${services[@]}" <<'PY'
"""Per-service counts from the JUnit files, and one line per test for diffing runs."""
import sys
import xml.etree.ElementTree as ET

results, services = sys.argv[1], sys.argv[2:]
print(f"\n{'service':<15}{'passed':>8}{'failed':>8}{'errors':>8}{'skipped':>9}")
for svc in services:
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    lines = []
    for case in ET.parse(f"{results}/{svc}.xml").iter("testcase"):
        kinds = [child.tag for child in case]
        outcome = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
        outcome = {"failure": "failed"}.get(outcome, outcome)
        counts[outcome] += 1
        lines.append(f"{outcome} {case.get('classname')}::{case.get('name')}")
    with open(f"{results}/{svc}.txt", "w") as out:
        out.write("\n".join(sorted(lines)) + "\n")
    print(f"{svc:<15}{counts['passed']:>8}{counts['failed']:>8}{counts['error']:>8}{counts['skipped']:>9}")
PY
