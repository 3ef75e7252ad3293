#!/usr/bin/env bash
# Load benchmark of the release binary with rampart-loadgen (bench/loadgen), side by side in
# one run:
#   1. GET /_rampart/live: the trivial route (no authn, no store);
#   2. sts:GetCallerIdentity, SigV4-signed: authn, authz entry, audit, XML. Pre-signed (each
#      connection signs its request once and resends it, as load generators with pre-signed
#      requests do; the server still verifies every signature in full), then once more signed
#      per request, which adds the client's signing CPU on this same machine;
#   3. iam:CreateUser with fresh names (signed per request): a durable write and its audit
#      record (group commit).
# For each it prints requests/s, latency and the server's CPU time per request (robust on a
# busy machine, where requests/s are not). Also start-up time and idle memory.
# Usage: bench/load.sh [seconds] [connections] [write-connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
wconns=${3:-32}

source bench/lib.sh
cargo build --release --quiet -p rampart-loadgen
target="${CARGO_TARGET_DIR:-target}/release"
start_server
echo "start-up on an empty data dir: $ready_ms ms"
sleep 1
echo "idle RSS: $(( $(ps -o rss= -p $pid) / 1024 )) MiB"

run() { # op connections seconds [loadgen args]
    local t0 t1 out
    t0=$(cpu_ticks)
    out=$("$target/rampart-loadgen" --endpoint "http://127.0.0.1:$port" \
        --credentials "$data/root-credentials" --op "$1" --connections "$2" --seconds "$3" --json \
        "${@:4}")
    t1=$(cpu_ticks)
    python3 - "$out" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); t0, t1, hz = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
n = d["ok"] + d["failed"]
print(f'{d["op"]:42s} {d["rps"]:>9.0f} req/s  p50 {d["p50_us"]:>6d} us  p99 {d["p99_us"]:>7d} us  '
      f'failed {d["failed"]}  server CPU {(t1 - t0) / hz * 1e6 / max(n, 1):.1f} us/req')
PY
}
echo "== $conns connections, ${secs}s each (CreateUser: $wconns connections)"
live=$(run live "$conns" "$secs"); echo "$live"
sts=$(run sts-get-caller-identity "$conns" "$secs"); echo "$sts"
run sts-get-caller-identity "$conns" "$secs" --presign false
run iam-create-user "$wconns" "$secs"
python3 - "$live" "$sts" <<'PY'
import sys
import re
rate = lambda line: float(re.search(r"([0-9.]+) req/s", line).group(1))
print(f"RESULT full path / trivial route = {rate(sys.argv[2]) / rate(sys.argv[1]):.3f}")
PY
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^rampart_store_group' || true
echo "RSS after load: $(( $(ps -o rss= -p $pid) / 1024 )) MiB"
