#!/usr/bin/env bash
# Memory while uploading: 16 clients each PUT a SIZE-MiB object at once (presigned URLs, curl
# streaming from a file) to the release binary; prints the server's peak resident memory
# (VmHWM) before and after, and the upload throughput. Goal: peak RSS under 100 MiB with 1 GiB
# objects (the body streams to disk; nothing holds an object in memory).
# Usage: bench/s3_memory.sh [MiB per object, default 1024] [clients, default 16]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
clients=${2:-16}
source bench/lib.sh
start_server
src=$(mktemp)
trap 'kill $pid 2>/dev/null || true; rm -rf "$data" "$src"' EXIT
head -c $((mib * 1024 * 1024)) /dev/urandom > "$src"
key=$(awk -F' = ' '/aws_access_key_id/ {print $2}' "$data/root-credentials")
secret=$(awk -F' = ' '/aws_secret_access_key/ {print $2}' "$data/root-credentials")
urls=$(python3 - "http://127.0.0.1:$port" "$key" "$secret" "$clients" <<'PY'
import sys, boto3
from botocore.config import Config
endpoint, key, secret, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                  aws_secret_access_key=secret, config=Config(signature_version="s3v4"))
s3.create_bucket(Bucket="memory-bucket")
for i in range(n):
    print(s3.generate_presigned_url("put_object", Params={"Bucket": "memory-bucket", "Key": f"o{i}"}, ExpiresIn=3600))
PY
)
before=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
start=$(date +%s%N)
# The pipeline ends when every curl has (the server, also a child, keeps running).
for u in $urls; do
    curl -s -o /dev/null -w '%{http_code}\n' -T "$src" "$u" &
done | sort | uniq -c
secs=$(( ($(date +%s%N) - start) / 1000000 ))
after=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
echo "commit $(git rev-parse --short HEAD): $clients x $mib MiB uploads in ${secs} ms ($(( clients * mib * 1000 / (secs + 1) )) MiB/s)"
echo "peak RSS before: $((before / 1024)) MiB, after: $((after / 1024)) MiB"
