#!/usr/bin/env bash
# Delivery throughput of a CloudTrail trail against the release binary: one trail with log
# file validation logs every call while rampart-loadgen drives signed sts:GetCallerIdentity
# (each call one audit record, a management event the trail delivers) as fast as the server
# serves them. When the load stops, the script polls the trail's bucket until every call's
# record is in a log file, and prints the calls/s offered, the records/s delivered over the
# whole run and the lag: how long after the last call its record was in the bucket (target:
# keeps up with 20,000 calls/s, lag under the delivery interval + 5 s).
# Usage: bench/trail_delivery.sh [seconds] [connections] [delivery-interval-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
conns=${2:-32}
interval=${3:-10}

source bench/lib.sh
cargo build --release --quiet -p rampart-loadgen
target="${CARGO_TARGET_DIR:-target}/release"
start_server --trail-delivery-secs "$interval"

python3 - "$data/root-credentials" "$port" <<'PY'
import configparser, json, sys
import boto3
c = configparser.ConfigParser(); c.read(sys.argv[1])
kw = dict(endpoint_url=f"http://127.0.0.1:{sys.argv[2]}", region_name="us-east-1",
          aws_access_key_id=c["default"]["aws_access_key_id"],
          aws_secret_access_key=c["default"]["aws_secret_access_key"])
account = boto3.client("sts", **kw).get_caller_identity()["Account"]
s3 = boto3.client("s3", **kw)
s3.create_bucket(Bucket="bench-trail")
s3.put_bucket_policy(Bucket="bench-trail", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::bench-trail"},
    {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::bench-trail/AWSLogs/{account}/*",
     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}))
ct = boto3.client("cloudtrail", **kw)
ct.create_trail(Name="bench", S3BucketName="bench-trail", EnableLogFileValidation=True)
ct.start_logging(Name="bench")
PY

# The poller reads the bucket during the load too, so the lag measured is the server's, not
# the time a client takes to read hundreds of files after the load.
python3 - "$data/root-credentials" "$port" "$data/load.json" "$interval" <<'PY' &
import configparser, gzip, json, os, sys, time
import boto3
c = configparser.ConfigParser(); c.read(sys.argv[1])
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[2]}", region_name="us-east-1",
                  aws_access_key_id=c["default"]["aws_access_key_id"],
                  aws_secret_access_key=c["default"]["aws_secret_access_key"])
done_file, interval = sys.argv[3], int(sys.argv[4])
seen, delivered, files, load, deadline = set(), 0, 0, None, None
while True:
    if load is None and os.path.exists(done_file):
        load = json.load(open(done_file))
        deadline = load["end"] + interval + 120
    calls = load["ok"] + load["failed"] if load else None
    if calls is not None and (delivered >= calls or time.time() > deadline):
        break
    new = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bench-trail", Prefix="AWSLogs/"):
        for o in page.get("Contents", []):
            k = o["Key"]
            if "/CloudTrail/" not in k or k in seen:
                continue
            seen.add(k)
            files += 1
            new += 1
            body = gzip.decompress(s3.get_object(Bucket="bench-trail", Key=k)["Body"].read())
            delivered += body.count(b'"eventName":"GetCallerIdentity"')
    if not new:
        time.sleep(0.2)
done = time.time()
start, end = load["start"], load["end"]
print(f"calls: {calls} in {end - start:.1f} s = {calls / (end - start):,.0f} calls/s "
      f"(p50 {load['p50_us']} us, p99 {load['p99_us']} us, failed {load['failed']})")
print(f"delivered: {delivered} records in {files} log files; all delivered {done - end:.1f} s "
      f"after the last call (interval {interval} s)")
print(f"delivery throughput from the first call to the last delivery: {delivered / (done - start):,.0f} records/s")
ok = delivered >= calls and done - end < interval + 5
print(f"RESULT {'PASS' if ok else 'FAIL'}: lag {done - end:.1f} s (target < {interval + 5} s)")
PY
poller=$!

t0=$(cpu_ticks)
start_ns=$(date +%s%N)
out=$("$target/rampart-loadgen" --endpoint "http://127.0.0.1:$port" \
    --credentials "$data/root-credentials" --op sts-get-caller-identity \
    --connections "$conns" --seconds "$secs" --json)
end_ns=$(date +%s%N)
python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d["start"], d["end"] = int(sys.argv[2]) / 1e9, int(sys.argv[3]) / 1e9; json.dump(d, open(sys.argv[4] + ".tmp", "w"))' \
    "$out" "$start_ns" "$end_ns" "$data/load.json"
mv "$data/load.json.tmp" "$data/load.json"
wait "$poller"
echo "server CPU over the run: $(( ($(cpu_ticks) - t0) / $(getconf CLK_TCK) )) s; RSS $(( $(ps -o rss= -p $pid) / 1024 )) MiB"
