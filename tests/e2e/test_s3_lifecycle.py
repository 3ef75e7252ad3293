"""S3 lifecycle end to end: the configuration's API and validation, then expiration applied
by the server as the dev clock moves: current versions (deleted, or hidden behind a delete
marker when versioned), noncurrent versions (keeping `NewerNoncurrentVersions`), expired
object delete markers and incomplete multipart uploads; the bytes of what expired leave the
disk."""

import os
import uuid

import pytest
from botocore.exceptions import ClientError
from conftest import advance

DAY = 86400


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]




def blob_count(server):
    root = os.path.join(server.data_dir, "s3")
    return sum(len(files) for _, _, files in os.walk(root))


def bucket(s3, versioned=False):
    name = f"lc-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def rule(rule_id, prefix="", **actions):
    return {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": prefix}, **actions}


def test_configuration_round_trip_and_validation(server):
    s3 = server.client("s3")
    b = bucket(s3)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=b)
    assert code(e) == "NoSuchLifecycleConfiguration"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    bad = [
        ({"Rules": [rule("a", Expiration={"Days": 0})]}, "InvalidArgument"),
        ({"Rules": [{"ID": "a", "Status": "Enabled", "Filter": {"Prefix": "x"}}]}, "InvalidRequest"),
        ({"Rules": [rule("a", Expiration={"Days": 1}), rule("a", Expiration={"Days": 2})]},
         "InvalidArgument"),
        ({"Rules": [rule("a", Transitions=[{"Days": 30, "StorageClass": "GLACIER"}])]},
         "NotImplemented"),
        ({"Rules": [{"ID": "a", "Status": "Enabled", "Filter": {"Tag": {"Key": "k", "Value": "v"}},
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]},
         "InvalidRequest"),
    ]
    for config, expected in bad:
        with pytest.raises(ClientError) as e:
            s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration=config)
        assert code(e) == expected, config
    # Refused configurations changed nothing.
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=b)
    assert code(e) == "NoSuchLifecycleConfiguration"
    config = {"Rules": [
        rule("logs", "logs/", Expiration={"Days": 30}),
        {"ID": "old", "Status": "Disabled",
         "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "t", "Value": "1"}]}},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2}},
    ]}
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration=config)
    got = s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
    assert [r["ID"] for r in got] == ["logs", "old"]
    assert got[0]["Expiration"] == {"Days": 30}
    assert got[1]["Filter"]["And"]["Tags"] == [{"Key": "t", "Value": "1"}]
    assert got[1]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2}
    # The expiry is announced on writes and reads of objects the rule covers.
    put = s3.put_object(Bucket=b, Key="logs/a", Body=b"x")
    assert 'rule-id="logs"' in put["Expiration"]
    assert s3.head_object(Bucket=b, Key="logs/a")["Expiration"] == put["Expiration"]
    assert "Expiration" not in s3.put_object(Bucket=b, Key="keep/a", Body=b"x")
    s3.delete_bucket_lifecycle(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=b)
    assert code(e) == "NoSuchLifecycleConfiguration"


def test_current_versions_expire_in_an_unversioned_bucket(dev_server):
    s3 = dev_server.client("s3")
    b = bucket(s3)
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        rule("logs", "logs/", Expiration={"Days": 1})]})
    s3.put_object(Bucket=b, Key="logs/a", Body=b"a" * 1000)
    s3.put_object(Bucket=b, Key="keep/b", Body=b"b" * 1000)
    before = blob_count(dev_server)
    advance(dev_server, 12 * 3600)
    assert s3.get_object(Bucket=b, Key="logs/a")["Body"].read() == b"a" * 1000
    advance(dev_server, 2 * DAY)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="logs/a")
    assert code(e) == "NoSuchKey"
    assert s3.get_object(Bucket=b, Key="keep/b")["Body"].read() == b"b" * 1000
    assert blob_count(dev_server) == before - 1


def test_versions_markers_and_uploads_expire_in_a_versioned_bucket(dev_server):
    s3 = dev_server.client("s3")
    b = bucket(s3, versioned=True)
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        rule("all", Expiration={"Days": 1}, NoncurrentVersionExpiration={"NoncurrentDays": 1},
             AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}),
        rule("markers", Expiration={"ExpiredObjectDeleteMarker": True}),
    ]})
    versions = [s3.put_object(Bucket=b, Key="doc", Body=f"v{i}".encode())["VersionId"]
                for i in range(3)]
    upload = s3.create_multipart_upload(Bucket=b, Key="big")["UploadId"]
    advance(dev_server, 2 * DAY)
    # The current version is hidden behind a delete marker and stays as noncurrent (since
    # now); the versions noncurrent for more than a day are gone.
    listing = s3.list_object_versions(Bucket=b)
    assert [v["VersionId"] for v in listing.get("Versions", [])] == [versions[2]]
    assert len(listing["DeleteMarkers"]) == 1 and listing["DeleteMarkers"][0]["IsLatest"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="doc")
    assert code(e) == "NoSuchKey"
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=b, Key="big", UploadId=upload)
    assert code(e) == "NoSuchUpload"
    # A day on, the last version goes and the lone delete marker with it.
    advance(dev_server, 2 * DAY)
    listing = s3.list_object_versions(Bucket=b)
    assert listing.get("Versions", []) == [] and listing.get("DeleteMarkers", []) == []
    s3.delete_bucket(Bucket=b)


def test_newer_noncurrent_versions_are_kept(dev_server):
    s3 = dev_server.client("s3")
    b = bucket(s3, versioned=True)
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        rule("keep2", NoncurrentVersionExpiration={"NoncurrentDays": 1, "NewerNoncurrentVersions": 2}),
    ]})
    versions = [s3.put_object(Bucket=b, Key="doc", Body=f"v{i}".encode())["VersionId"]
                for i in range(5)]
    advance(dev_server, 3 * DAY)
    listing = s3.list_object_versions(Bucket=b)
    assert [v["VersionId"] for v in listing["Versions"]] == [versions[4], versions[3], versions[2]]
    assert s3.get_object(Bucket=b, Key="doc")["Body"].read() == b"v4"


def test_locked_versions_outlive_their_lifecycle(dev_server):
    s3 = dev_server.client("s3")
    b = f"lc-lock-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        rule("old", NoncurrentVersionExpiration={"NoncurrentDays": 1})]})
    # The held version is the newer noncurrent one, so the job meets it first and must go on.
    free = s3.put_object(Bucket=b, Key="doc", Body=b"free")["VersionId"]
    held = s3.put_object(Bucket=b, Key="doc", Body=b"held", ObjectLockLegalHoldStatus="ON",
                         ChecksumAlgorithm="SHA256")["VersionId"]
    s3.put_object(Bucket=b, Key="doc", Body=b"current")
    advance(dev_server, 3 * DAY)
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=b)["Versions"]]
    assert held in ids and free not in ids
