#!/usr/bin/env bash
# Load benchmark of KMS Encrypt (4 KiB plaintext) through the full API path against the release
# binary: SigV4 header-signed awsJson POST (verified against the stored root key), the KMS
# authorization entry (key lookup, key policy through the policy engine), the handler (key
# material opened from its master-key seal, AES-256-GCM), the CloudTrail record (group-committed)
# and JSON encoding. One request signed by botocore is replayed by wrk (SigV4 accepts it for 15
# minutes, longer than the run). The trivial route GET /_rampart/live runs on the same server in the same run.
# Usage: bench/kms_load.sh [seconds] [connections]    (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-64}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

source bench/lib.sh
start_server

python3 - "$data/root-credentials" "$port" "$data/encrypt.lua" <<'PY'
import base64, configparser, json, os, sys
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

c = configparser.ConfigParser(); c.read(sys.argv[1])
key, secret = c["default"]["aws_access_key_id"], c["default"]["aws_secret_access_key"]
endpoint = f"http://127.0.0.1:{sys.argv[2]}"
kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id=key, aws_secret_access_key=secret)
key_id = kms.create_key(Description="load")["KeyMetadata"]["KeyId"]
body = json.dumps({"KeyId": key_id, "Plaintext": base64.b64encode(os.urandom(4096)).decode(),
                   "EncryptionContext": {"bench": "load"}})
req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
    "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.Encrypt"})
SigV4Auth(Credentials(key, secret), "kms", "us-east-1").add_auth(req)
lines = ['wrk.method = "POST"', f"wrk.body = [==[{body}]==]"]
for name, value in req.headers.items():
    lines.append(f'wrk.headers["{name}"] = [==[{value}]==]')
open(sys.argv[3], "w").write("\n".join(lines) + "\n")
# One request by hand first: the replayed one must succeed.
import urllib.request
r = urllib.request.Request(endpoint + "/", data=body.encode(), method="POST",
                           headers=dict(req.headers.items()))
out = json.loads(urllib.request.urlopen(r).read())
assert out["KeyId"].endswith(key_id), out
PY

echo "== trivial route: GET /_rampart/live, $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/_rampart/live" | tee "$data/live"
echo "== full path: signed kms:Encrypt of 4 KiB, $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$data/encrypt.lua" "http://127.0.0.1:$port/" | tee "$data/kms"
live=$(awk '/Requests\/sec/ {print $2}' "$data/live")
enc=$(awk '/Requests\/sec/ {print $2}' "$data/kms")
non2xx=$(awk '/Non-2xx/ {print $4}' "$data/kms")
echo "RESULT live=${live} rps encrypt=${enc} rps non2xx=${non2xx:-0} ratio=$(python3 -c "print(round($enc/$live, 3))")"
