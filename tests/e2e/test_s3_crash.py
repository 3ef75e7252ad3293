"""Crash safety of S3 uploads: `kill -9` while clients upload loses no acknowledged object and
leaves no half object visible; partial uploads are swept at the next start."""

import hashlib
import os
import signal
import threading
import time

from botocore.config import Config

from conftest import Server


def body_for(i):
    # Sizes from a few bytes to a few hundred KiB, content tied to the key.
    seed = hashlib.sha256(str(i).encode()).digest()
    return seed * (1 + (i * 7919) % 12000)


def test_kill_9_during_uploads_loses_nothing_acknowledged():
    s = Server()
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()
    try:
        s3 = s.client("s3", config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
        s3.create_bucket(Bucket="crash")

        def upload(worker):
            i = worker
            while not stop.is_set():
                try:
                    out = s3.put_object(Bucket="crash", Key=f"obj-{i}", Body=body_for(i))
                except Exception:
                    return
                with lock:
                    acked[f"obj-{i}"] = (i, out["ETag"])
                i += 4

        threads = [threading.Thread(target=upload, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait()
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        s.stop()
    assert len(acked) > 10, "too few uploads before the kill to prove anything"

    again = Server(data_dir=s.data_dir)
    try:
        s3 = again.client("s3")
        listed = {o["Key"]: o for p in s3.get_paginator("list_objects_v2").paginate(Bucket="crash")
                  for o in p.get("Contents", [])}
        for key, (i, etag) in acked.items():
            assert key in listed, f"acknowledged {key} lost"
        for key, o in listed.items():
            i = int(key.split("-")[1])
            data = s3.get_object(Bucket="crash", Key=key)["Body"].read()
            assert data == body_for(i), f"{key} is not what was uploaded"
            assert o["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
        parts = [f for base, _, files in os.walk(os.path.join(again.data_dir, "s3"))
                 for f in files if f.endswith(".part")]
        assert parts == [], "partial uploads survived the restart"
    finally:
        again.stop()


def blob_files(data_dir):
    return {f: os.path.join(base, f) for base, _, files in os.walk(os.path.join(data_dir, "s3"))
            for f in files}


def test_blobs_no_object_references_are_swept_after_a_grace_period():
    s = Server()
    try:
        s3 = s.client("s3")
        s3.create_bucket(Bucket="sweep")
        s3.put_object(Bucket="sweep", Key="kept", Body=b"kept" * 1000)
        up = s3.create_multipart_upload(Bucket="sweep", Key="mp")
        s3.upload_part(Bucket="sweep", Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"p" * 100)
        referenced = blob_files(s.data_dir)
        assert len(referenced) == 2
    finally:
        s.stop()
    # What a crash between a blob's rename and its commit leaves: complete blobs nothing
    # names, one old and one recent; every referenced blob is made old too.
    stray_old, stray_new = "0" * 31 + "a", "0" * 31 + "b"
    shard = os.path.join(s.data_dir, "s3", "00")
    os.makedirs(shard, exist_ok=True)
    two_hours_ago = time.time() - 7200
    for name in (stray_old, stray_new):
        with open(os.path.join(shard, name), "wb") as f:
            f.write(b"orphan")
    for path in [os.path.join(shard, stray_old), *referenced.values()]:
        os.utime(path, (two_hours_ago, two_hours_ago))
    again = Server(data_dir=s.data_dir)
    try:
        deadline = time.time() + 20
        while stray_old in blob_files(again.data_dir) and time.time() < deadline:
            time.sleep(0.2)
        left = blob_files(again.data_dir)
        assert stray_old not in left, "an old unreferenced blob survived the sweep"
        assert stray_new in left, "a recent blob was swept before its grace period"
        assert set(referenced) <= set(left), "a referenced blob was swept"
        s3 = again.client("s3")
        assert s3.get_object(Bucket="sweep", Key="kept")["Body"].read() == b"kept" * 1000
        parts = s3.list_parts(Bucket="sweep", Key="mp", UploadId=up["UploadId"])["Parts"]
        assert [p["Size"] for p in parts] == [100]
    finally:
        again.stop()


def test_bytes_altered_at_rest_are_never_served():
    s = Server()
    try:
        s3 = s.client("s3")
        s3.create_bucket(Bucket="rest")
        body = os.urandom(300_000)
        s3.put_object(Bucket="rest", Key="obj", Body=body)
        (path,) = blob_files(s.data_dir).values()
        # Flip one byte in the fourth 64 KiB segment (each sealed segment is 64 KiB + a tag).
        with open(path, "r+b") as f:
            f.seek(3 * (65536 + 16) + 100)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 1]))
        # The segments before it are still served; the altered one never is.
        head = s3.get_object(Bucket="rest", Key="obj", Range="bytes=0-65535")["Body"].read()
        assert head == body[:65536]
        received = b""
        try:
            stream = s3.get_object(Bucket="rest", Key="obj")["Body"]
            while chunk := stream.read(16384):
                received += chunk
        except Exception:
            pass
        assert len(received) < 3 * 65536 + 100, "the altered segment was served"
        assert body.startswith(received)
    finally:
        s.stop()
