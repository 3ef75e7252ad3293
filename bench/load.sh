#!/usr/bin/env bash
# Load benchmark of the full API path against the release binary, side by side with a trivial
# route of the same server in the same run:
#   1. signed (presigned GET) sts:GetCallerIdentity: SigV4 authn, authz, audit, XML encode;
#   2. GET /_rampart/live: no authn, no store.
# Also reports start-up time on an empty data dir and idle memory (RSS).
# Usage: bench/load.sh [seconds] [connections]    (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-64}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

cargo build --release --quiet -p rampart --bin rampart
bin="${CARGO_TARGET_DIR:-target}/release/rampart"
data=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT

start=$(date +%s%N)
"$bin" serve --listen 127.0.0.1:$port --data-dir "$data" > "$data/out" 2>/dev/null &
pid=$!
until grep -q '^Ready.$' "$data/out" 2>/dev/null; do sleep 0.005; done
ready=$(date +%s%N)
echo "start-up on an empty data dir: $(( (ready - start) / 1000000 )) ms"
sleep 1
echo "idle RSS: $(( $(ps -o rss= -p $pid) / 1024 )) MiB"

url=$(python3 - "$data/root-credentials" "$port" <<'PY'
import configparser, sys, boto3
c = configparser.ConfigParser(); c.read(sys.argv[1])
sts = boto3.client("sts", endpoint_url=f"http://127.0.0.1:{sys.argv[2]}", region_name="us-east-1",
                   aws_access_key_id=c["default"]["aws_access_key_id"],
                   aws_secret_access_key=c["default"]["aws_secret_access_key"])
print(sts.generate_presigned_url("get_caller_identity", ExpiresIn=3600, HttpMethod="GET"))
PY
)
curl -sf "$url" | grep -q GetCallerIdentityResult || { echo "presigned call failed" >&2; exit 1; }

echo "== trivial route: GET /_rampart/live, $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/_rampart/live" | tee "$data/live"
echo "== full path: presigned sts:GetCallerIdentity, $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency "$url" | tee "$data/sts"
live=$(awk '/Requests\/sec/ {print $2}' "$data/live")
sts=$(awk '/Requests\/sec/ {print $2}' "$data/sts")
echo "RESULT live=${live} rps sts=${sts} rps ratio=$(python3 -c "print(round($sts/$live, 3))")"
echo "audit records written: $(sqlite3 "$data/rampart.db" 'select count(*) from audit_events' 2>/dev/null || echo n/a)"
echo "RSS after load: $(( $(ps -o rss= -p $pid) / 1024 )) MiB"
