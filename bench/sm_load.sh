#!/usr/bin/env bash
# Load benchmark of Secrets Manager GetSecretValue through the full API path against the release
# binary, side by side with signed sts:GetCallerIdentity in the same run and on the same server:
#   1. sts:GetCallerIdentity: SigV4 verification, authentication, the authorization entry, the
#      CloudTrail record and the XML answer;
#   2. secretsmanager:GetSecretValue of a 1 KiB SecretString under the account's AWS managed key
#      aws/secretsmanager: the same request path plus the secret's lookup and resource policy,
#      KMS Decrypt of the version's data key on the caller's behalf (kms:ViaService, decided by
#      the one authorizer through KMS's route: key policy, grants), its side-call audit record,
#      AES-256-GCM opening of the value and the LastAccessedDate check.
# Each request is signed once by botocore and replayed by wrk (SigV4 accepts it for 15 minutes,
# longer than the run; the server still verifies every signature in full). Prints requests/s,
# latency, the server's CPU time per request (robust on a busy machine) and the ratio
# GetSecretValue / GetCallerIdentity (target: at least 0.5).
# The secret is named by its full ARN (the default) or, with `name` as the third argument, by its
# name; both are looked up by name key, through the store's entity cache.
# Usage: bench/sm_load.sh [seconds] [connections] [arn|name]    (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-64}
by=${3:-arn}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

source bench/lib.sh
start_server

python3 - "$data/root-credentials" "$port" "$data" "$by" <<'PY'
import configparser, json, os, sys, urllib.request
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

c = configparser.ConfigParser(); c.read(sys.argv[1])
key, secret = c["default"]["aws_access_key_id"], c["default"]["aws_secret_access_key"]
endpoint = f"http://127.0.0.1:{sys.argv[2]}"
out_dir = sys.argv[3]
sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key, aws_secret_access_key=secret)
arn = sm.create_secret(Name="bench/load", SecretString="s" * 1024)["ARN"]

def presign(service, body, headers, lua, check):
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(req)
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body}]==]"]
    for name, value in req.headers.items():
        lines.append(f'wrk.headers["{name}"] = [==[{value}]==]')
    open(os.path.join(out_dir, lua), "w").write("\n".join(lines) + "\n")
    # One request by hand first: the replayed one must succeed.
    r = urllib.request.Request(endpoint + "/", data=body.encode(), method="POST",
                               headers=dict(req.headers.items()))
    check(urllib.request.urlopen(r).read())

def secret_ok(raw):
    out = json.loads(raw)
    assert out["ARN"] == arn and out["SecretString"] == "s" * 1024, out

def identity_ok(raw):
    assert b"<Arn>" in raw, raw

secret_id = arn if sys.argv[4] == "arn" else "bench/load"
presign("secretsmanager", json.dumps({"SecretId": secret_id}),
        {"Content-Type": "application/x-amz-json-1.1",
         "X-Amz-Target": "secretsmanager.GetSecretValue"}, "secret.lua", secret_ok)
presign("sts", "Action=GetCallerIdentity&Version=2011-06-15",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        "identity.lua", identity_ok)
PY

run() { # name lua
    local before after
    echo "== $1, $conns connections, ${secs}s"
    before=$(cpu_ticks)
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$data/$2" "http://127.0.0.1:$port/" | tee "$data/$1"
    after=$(cpu_ticks)
    local n
    n=$(awk '/requests in/ {print $1}' "$data/$1")
    echo "server CPU: $(python3 -c "print(round(($after - $before) * 10000 / max($n, 1), 1))") us/request"
    echo "$1 cpu_us=$(python3 -c "print(round(($after - $before) * 10000 / max($n, 1), 1))")" >> "$data/cpu"
}
run identity identity.lua
run secret secret.lua
id=$(awk '/Requests\/sec/ {print $2}' "$data/identity")
sv=$(awk '/Requests\/sec/ {print $2}' "$data/secret")
non2xx_id=$(awk '/Non-2xx/ {print $4}' "$data/identity")
non2xx_sv=$(awk '/Non-2xx/ {print $4}' "$data/secret")
cpu_id=$(awk '/^identity/ {sub("cpu_us=", "", $2); print $2}' "$data/cpu")
cpu_sv=$(awk '/^secret/ {sub("cpu_us=", "", $2); print $2}' "$data/cpu")
echo "RESULT by=$by identity=${id} rps (${cpu_id} us cpu) get_secret_value=${sv} rps (${cpu_sv} us cpu)" \
    "non2xx=${non2xx_id:-0}/${non2xx_sv:-0} ratio=$(python3 -c "print(round($sv/$id, 3))")"
