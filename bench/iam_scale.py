#!/usr/bin/env python3
"""IAM at scale (BENCHMARKS.md, "IAM at scale"), against the release binary:

1. authorized `iam:GetUser` (a user whose policy allows it, presigned GET replayed by wrk) on
   a nearly empty store;
2. `CreateUser` throughput with 32 concurrent boto3 clients while seeding 10,000 users, then
   1,000 roles and 5,000 managed policies;
3. the same GetUser load again on the full store.

Usage: bench/iam_scale.py [--users N] [--seconds S]   (needs wrk; builds nothing: run
`cargo build --release -p rampart` first, or set RAMPART_BIN)
"""

import argparse
import concurrent.futures as cf
import configparser
import json
import os
import re
import subprocess
import tempfile
import time

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(bin_path):
    data = tempfile.mkdtemp(prefix="rampart-iam-bench-")
    proc = subprocess.Popen(
        [bin_path, "serve", "--listen", "127.0.0.1:0", "--data-dir", data],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    endpoint = None
    for line in proc.stdout:
        m = re.search(r"endpoint:\s+(http://\S+)", line)
        if m:
            endpoint = m.group(1)
        if line.strip() == "Ready.":
            break
    creds = configparser.ConfigParser()
    creds.read(os.path.join(data, "root-credentials"))
    return proc, endpoint, creds["default"]["aws_access_key_id"], creds["default"]["aws_secret_access_key"]


def client(service, endpoint, key, secret):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=64),
    )


def wrk(url, seconds):
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    return rps, p50


def timed_parallel(fn, items, workers=32):
    started = time.time()
    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, items))
    elapsed = time.time() - started
    return len(items) / elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--roles", type=int, default=1_000)
    ap.add_argument("--policies", type=int, default=5_000)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    bin_path = os.environ.get("RAMPART_BIN") or os.path.join(ROOT, "target", "release", "rampart")
    proc, endpoint, key, secret = start(bin_path)
    try:
        iam = client("iam", endpoint, key, secret)
        iam.create_user(UserName="reader")
        iam.put_user_policy(
            UserName="reader", PolicyName="get-users",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}),
        )
        k = iam.create_access_key(UserName="reader")["AccessKey"]
        reader = client("iam", endpoint, k["AccessKeyId"], k["SecretAccessKey"])
        url = reader.generate_presigned_url(
            "get_user", Params={"UserName": "reader"}, ExpiresIn=3600, HttpMethod="GET")
        reader.get_user(UserName="reader")

        empty_rps, empty_p50 = wrk(url, args.seconds)
        print(f"GetUser, empty store: {empty_rps:.0f} req/s, p50 {empty_p50}")

        clients = [client("iam", endpoint, key, secret) for _ in range(32)]

        def create_user(i):
            clients[i % 32].create_user(UserName=f"user-{i:06d}", Path=f"/team{i % 50}/")

        rate = timed_parallel(create_user, list(range(args.users)))
        print(f"CreateUser, 32 concurrent clients: {rate:.0f} durable writes/s ({args.users} users)")

        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
             "Action": "sts:AssumeRole"}]})

        def create_role(i):
            clients[i % 32].create_role(RoleName=f"role-{i:05d}", AssumeRolePolicyDocument=trust)

        def create_policy(i):
            clients[i % 32].create_policy(
                PolicyName=f"policy-{i:05d}",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": f"s3:GetObject", "Resource": f"arn:aws:s3:::b{i}/*"}]}),
            )

        print(f"CreateRole: {timed_parallel(create_role, list(range(args.roles))):.0f}/s; "
              f"CreatePolicy: {timed_parallel(create_policy, list(range(args.policies))):.0f}/s")

        full_rps, full_p50 = wrk(url, args.seconds)
        print(f"GetUser, full store: {full_rps:.0f} req/s, p50 {full_p50}")
        print(f"RESULT full/empty throughput = {full_rps / empty_rps:.3f} "
              f"(target: within 1.5x, i.e. >= 0.667)")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
