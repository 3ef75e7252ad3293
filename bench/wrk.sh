#!/usr/bin/env bash
# The same comparison as bench/load.sh, driven by wrk (a standard HTTP load generator):
# GET /_rampart/live, then sts:GetCallerIdentity pre-signed once with botocore's SigV4 signer
# and resent (the server verifies every signature in full), on one server, side by side.
# Prints requests/s, the server's and wrk's CPU time per request and the server's context
# switches per request for each (BENCHMARKS.md, "Why the ratio depends on the host", says why those matter), and the ratio.
# The host's speed drifts by tens of percent within a minute, so the two loads alternate for
# several rounds (each round's order reversed from the last) and the result is the median of
# the rounds' ratios.
# Needs wrk and time (`apt-get install wrk time`) and botocore (`pip install -r tests/e2e/requirements.txt`).
# Usage: bench/wrk.sh [seconds per load] [connections] [threads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-64}
threads=${3:-2}
rounds=${4:-5}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (apt-get install time)" >&2; exit 1; }
python3 -c "import botocore" 2>/dev/null || {
    echo "botocore is missing (pip install -r tests/e2e/requirements.txt)" >&2; exit 1; }

source bench/lib.sh
start_server

# A wrk script holding one signed request (valid for 15 minutes).
python3 - "$data/root-credentials" "http://127.0.0.1:$port" > "$data/sts.lua" <<'PY'
import configparser, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
ini = configparser.ConfigParser()
ini.read(sys.argv[1])
creds = Credentials(ini["default"]["aws_access_key_id"], ini["default"]["aws_secret_access_key"])
body = "Action=GetCallerIdentity&Version=2011-06-15"
req = AWSRequest(method="POST", url=sys.argv[2] + "/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(creds, "sts", "us-east-1").add_auth(req)
print('wrk.method = "POST"')
print(f'wrk.body = "{body}"')
for k, v in req.headers.items():
    print(f'wrk.headers["{k}"] = "{v}"')
PY

run() { # label wrk-args...
    local t0 t1 s0 s1 out
    t0=$(cpu_ticks)
    s0=$(ctx_switches)
    # wrk's own CPU too: both share the two cores, so a request costs the sum.
    out=$( { /usr/bin/time -f "WRKCPU %U %S" wrk -t"$threads" -c"$conns" -d"${secs}s" "${@:2}"; } 2>&1)
    t1=$(cpu_ticks)
    s1=$(ctx_switches)
    python3 - "$1" "$out" "$t0" "$t1" "$(getconf CLK_TCK)" "$s0" "$s1" <<'PY'
import re, sys
label, out = sys.argv[1], sys.argv[2]
t0, t1, hz = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
s0, s1 = int(sys.argv[6]), int(sys.argv[7])
n = int(re.search(r"(\d+) requests in", out).group(1))
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
user, system = map(float, re.search(r"WRKCPU ([0-9.]+) ([0-9.]+)", out).groups())
per = lambda x: x * 1e6 / max(n, 1)
print(f"{label:42s} {rps:>9.0f} req/s  non-2xx {bad.group(1) if bad else 0}  "
      f"server CPU {per((t1 - t0) / hz):.1f} us/req  wrk CPU {per(user + system):.1f} us/req  "
      f"server switches {(s1 - s0) / max(n, 1):.3f}/req")
PY
}
echo "== wrk, $conns connections, $threads threads, ${secs}s per load, $rounds rounds"
ratios=()
for round in $(seq 1 "$rounds"); do
    if (( round % 2 )); then order=(live sts); else order=(sts live); fi
    for which in "${order[@]}"; do
        if [ "$which" = live ]; then
            live=$(run "GET /_rampart/live" "http://127.0.0.1:$port/_rampart/live"); echo "$live"
        else
            sts=$(run "sts:GetCallerIdentity (pre-signed)" -s "$data/sts.lua" "http://127.0.0.1:$port/")
            echo "$sts"
        fi
    done
    ratio=$(python3 - "$live" "$sts" <<'PY'
import re, sys
rate = lambda line: float(re.search(r"([0-9.]+) req/s", line).group(1))
print(f"{rate(sys.argv[2]) / rate(sys.argv[1]):.3f}")
PY
)
    echo "round $round: full path / trivial route = $ratio"
    ratios+=("$ratio")
done
python3 - "${ratios[@]}" <<'PY'
import statistics, sys
r = sorted(float(x) for x in sys.argv[1:])
print(f"RESULT full path / trivial route = {statistics.median(r):.3f} (median of {len(r)} rounds; "
      f"lowest {r[0]:.3f}, highest {r[-1]:.3f})")
PY
