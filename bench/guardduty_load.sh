#!/usr/bin/env bash
# What GuardDuty's detection costs a signed call: one server, one run, the same replayed
# sts:GetCallerIdentity of an IAM user (SigV4 verification, authentication, authorization, the
# audit record) first with no detector in the account, then with a detector enabled, so every
# record also goes through the detection consumer (the built-in rules, the caller's baseline
# and anomaly score, the Sigma rules if any). Detection runs off the request path, so each
# phase's server CPU is read only once the consumer has caught up with the phase's records
# (`/_rampart/health`: the `guardduty-detection` job's lag back to 0): the CPU per call is the
# request's and its detection's together.
# Prints requests/s and server CPU per call of both phases and the ratio on/off (issue 22's
# target: at most 1.05 at 20,000 calls/s).
# Usage: bench/guardduty_load.sh [seconds] [connections]    (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-64}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

source bench/lib.sh
start_server

python3 - "$data/root-credentials" "$port" "$data" <<'PY'
import configparser, json, os, sys, urllib.request
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

c = configparser.ConfigParser(); c.read(sys.argv[1])
root = dict(aws_access_key_id=c["default"]["aws_access_key_id"],
            aws_secret_access_key=c["default"]["aws_secret_access_key"])
endpoint = f"http://127.0.0.1:{sys.argv[2]}"
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", **root)
iam.create_user(UserName="bench")
key = iam.create_access_key(UserName="bench")["AccessKey"]
body = "Action=GetCallerIdentity&Version=2011-06-15"
req = AWSRequest(method="POST", url=endpoint + "/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "sts", "us-east-1").add_auth(req)
lines = ['wrk.method = "POST"', f"wrk.body = [==[{body}]==]"]
for name, value in req.headers.items():
    lines.append(f'wrk.headers["{name}"] = [==[{value}]==]')
open(os.path.join(sys.argv[3], "identity.lua"), "w").write("\n".join(lines) + "\n")
r = urllib.request.Request(endpoint + "/", data=body.encode(), method="POST",
                           headers=dict(req.headers.items()))
assert b"user/bench" in urllib.request.urlopen(r).read()
PY

# Waits until the detection consumer has read every record so far (two more of its runs, the
# last with no lag).
caught_up() {
    python3 - "$port" <<'PY'
import json, sys, time, urllib.request
def job():
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_rampart/health") as r:
        return next(j for j in json.loads(r.read())["jobs"] if j["name"] == "guardduty-detection")
start = job()["runs_here"]
deadline = time.time() + 600
while time.time() < deadline:
    j = job()
    if j["runs_here"] >= start + 2 and j["lag"] == 0:
        sys.exit(0)
    time.sleep(0.2)
sys.exit("the detection consumer did not catch up within 10 minutes")
PY
}

run() { # name
    local before after n
    echo "== $1, $conns connections, ${secs}s"
    caught_up
    before=$(cpu_ticks)
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$data/identity.lua" "http://127.0.0.1:$port/" \
        | tee "$data/$1"
    caught_up
    after=$(cpu_ticks)
    n=$(awk '/requests in/ {print $1}' "$data/$1")
    echo "$1 cpu_us=$(python3 -c "print(round(($after - $before) * 10000 / max($n, 1), 1))")" \
        | tee -a "$data/cpu"
}
run off
python3 - "$data/root-credentials" "$port" <<'PY'
import configparser, sys
import boto3
c = configparser.ConfigParser(); c.read(sys.argv[1])
gd = boto3.client("guardduty", endpoint_url=f"http://127.0.0.1:{sys.argv[2]}", region_name="us-east-1",
                  aws_access_key_id=c["default"]["aws_access_key_id"],
                  aws_secret_access_key=c["default"]["aws_secret_access_key"])
gd.create_detector(Enable=True)
PY
run on
rps_off=$(awk '/Requests\/sec/ {print $2}' "$data/off")
rps_on=$(awk '/Requests\/sec/ {print $2}' "$data/on")
cpu_off=$(awk '/^off/ {sub("cpu_us=", "", $2); print $2}' "$data/cpu")
cpu_on=$(awk '/^on/ {sub("cpu_us=", "", $2); print $2}' "$data/cpu")
echo "RESULT detector_off=${rps_off} rps (${cpu_off} us cpu) detector_on=${rps_on} rps (${cpu_on} us cpu)" \
    "cpu_ratio=$(python3 -c "print(round($cpu_on/$cpu_off, 3))")"
