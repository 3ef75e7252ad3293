#!/usr/bin/env bash
# Throughput benchmark of S3 PUT and GET through the full request path against the release
# binary (SigV4 presigned URLs verified in full on every request, authorization, the audit
# record, the body streamed to or from a blob sealed with AES-256-GCM), side by side with dd
# writing and reading the same bytes on the same disk in the same run:
#   PUT SIZE: presigned PutObject of SIZE bytes (UNSIGNED-PAYLOAD), over and over to one key;
#   GET SIZE: presigned GetObject of a SIZE-byte object;
#   dd: writing SIZE-byte files with an fdatasync each (as the server fsyncs each object), and
#       reading a file of the object's size back (page cache, as the server's GETs).
# Prints MiB/s for each and the ratios (goals: GET >= 0.5 and PUT >= 0.3 of dd), then 4 KiB
# PUT/GET requests/s side by side with moto_server (the S3 emulator most suites use, same
# client, same run; skipped when moto is not installed).
# Usage: bench/s3_load.sh [seconds] [connections] [sizes in KiB...]   (needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-16}
shift 2 || true
sizes="${*:-1024 65536}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

source bench/lib.sh
start_server
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; kill ${moto_pid:-0} 2>/dev/null || true; rm -rf "$data" "$work"' EXIT

presign() { # endpoint key secret method bucket key -> URL
    python3 - "$@" <<'PY'
import sys, boto3
from botocore.config import Config
endpoint, key, secret, method, bucket, obj = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                  aws_secret_access_key=secret, config=Config(signature_version="s3v4"))
try:
    s3.create_bucket(Bucket=bucket)
except Exception:
    pass
op = {"PUT": "put_object", "GET": "get_object"}[method]
print(s3.generate_presigned_url(op, Params={"Bucket": bucket, "Key": obj}, ExpiresIn=3600))
PY
}

lua_for() { # method url body-file -> lua script path
    local script="$work/$1.lua"
    cat > "$script" <<LUA
local f = io.open("$3", "rb"); local body = f and f:read("*a") or ""; if f then f:close() end
local url = "$2"
local path = url:match("^https?://[^/]+(/.*)$")
request = function() return wrk.format("$1", path, {}, "$1" == "PUT" and body or nil) end
LUA
    echo "$script"
}

run_wrk() { # method url body-file -> requests/s
    local script
    script=$(lua_for "$1" "$2" "$3")
    wrk -t2 -c"$conns" -d"${secs}s" -s "$script" "$(echo "$2" | sed -E 's#^(https?://[^/]+).*#\1#')" \
        | awk '/Requests\/sec/ {print $2}'
}

key=$(awk -F' = ' '/aws_access_key_id/ {print $2}' "$data/root-credentials")
secret=$(awk -F' = ' '/aws_secret_access_key/ {print $2}' "$data/root-credentials")
endpoint="http://127.0.0.1:$port"
echo "commit $(git rev-parse --short HEAD), $secs s per run, $conns connections"
printf "%-10s %12s %12s %12s %8s\n" "size" "what" "req/s" "MiB/s" "ratio"
for kib in $sizes; do
    bytes=$((kib * 1024))
    head -c "$bytes" /dev/urandom > "$work/body"
    # dd on the same disk: write with one fdatasync per file; read back from the page cache.
    dd_write=$(python3 - "$data" "$bytes" "$secs" <<'PY'
import os, sys, time
d, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
buf = os.urandom(n); done = 0; t0 = time.time()
while time.time() - t0 < min(secs, 5):
    with open(os.path.join(d, "dd.bin"), "wb") as f:
        f.write(buf); f.flush(); os.fdatasync(f.fileno())
    done += n
print(done / (time.time() - t0) / 1048576)
PY
)
    dd_read=$(python3 - "$data" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "dd.bin"); done = 0; t0 = time.time()
while time.time() - t0 < 2:
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            done += len(chunk)
print(done / (time.time() - t0) / 1048576)
PY
)
    rm -f "$data/dd.bin"
    put_url=$(presign "$endpoint" "$key" "$secret" PUT load-bucket "obj-$kib")
    put_rps=$(run_wrk PUT "$put_url" "$work/body")
    get_url=$(presign "$endpoint" "$key" "$secret" GET load-bucket "obj-$kib")
    get_rps=$(run_wrk GET "$get_url" "$work/body")
    awk -v k="$kib" -v p="$put_rps" -v g="$get_rps" -v dw="$dd_write" -v dr="$dd_read" 'BEGIN {
        mib = k / 1024;
        printf "%-10s %12s %12s %12.1f %8s\n", k " KiB", "dd write", "-", dw, "";
        printf "%-10s %12s %12.1f %12.1f %8.2f\n", k " KiB", "PUT", p, p * mib, p * mib / dw;
        printf "%-10s %12s %12s %12.1f %8s\n", k " KiB", "dd read", "-", dr, "";
        printf "%-10s %12s %12.1f %12.1f %8.2f\n", k " KiB", "GET", g, g * mib, g * mib / dr;
    }'
done

# 4 KiB requests/s, side by side with moto_server.
if python3 -c "import moto" 2>/dev/null; then
    head -c 4096 /dev/urandom > "$work/small"
    r_put=$(run_wrk PUT "$(presign "$endpoint" "$key" "$secret" PUT small-bucket s)" "$work/small")
    r_get=$(run_wrk GET "$(presign "$endpoint" "$key" "$secret" GET small-bucket s)" "$work/small")
    mport=$((port + 1))
    python3 -m moto.server -p "$mport" > "$work/moto.log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$mport/" >/dev/null 2>&1 && break; sleep 0.1; done
    m_put=$(run_wrk PUT "$(presign "http://127.0.0.1:$mport" testing testing PUT small-bucket s)" "$work/small")
    m_get=$(run_wrk GET "$(presign "http://127.0.0.1:$mport" testing testing GET small-bucket s)" "$work/small")
    awk -v rp="$r_put" -v rg="$r_get" -v mp="$m_put" -v mg="$m_get" 'BEGIN {
        printf "4 KiB PUT: rampart %.0f req/s, moto_server %.0f req/s (x%.1f)\n", rp, mp, rp / mp;
        printf "4 KiB GET: rampart %.0f req/s, moto_server %.0f req/s (x%.1f)\n", rg, mg, rg / mg;
    }'
fi
