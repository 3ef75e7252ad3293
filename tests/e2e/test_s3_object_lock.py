"""S3 Object Lock end to end with boto3: buckets created with Object Lock (versioning on, not
suspendable), the lock configuration with default retention, retention and legal holds on
versions (at write and later), locked versions refused to deletes, GOVERNANCE bypass with its
permission, COMPLIANCE never shortened, and retention ending on the dev clock."""

import datetime
import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import Server
from test_s3 import code, make_user, name, status
from conftest import advance


@pytest.fixture(scope="module")
def srv():
    s = Server("--dev")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def s3(srv):
    return srv.client("s3")




def server_now(server):
    req = urllib.request.Request(server.endpoint + "/_rampart/clock",
                                 data=json.dumps({"advance_seconds": 0}).encode(), method="POST")
    with urllib.request.urlopen(req) as resp:
        body = json.loads(resp.read())
    return datetime.datetime.fromisoformat(body["now"].replace("Z", "+00:00"))


def in_days(server, days):
    return server_now(server) + datetime.timedelta(days=days)


@pytest.fixture
def locked(s3):
    b = name("lock")
    s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
    return b


def test_lock_configuration_and_its_errors(s3, locked):
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    got = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert got == {"ObjectLockEnabled": "Enabled"}
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}})
    got = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert got["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 2}
    for rule in ({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, {"Mode": "GOVERNANCE"}):
        with pytest.raises(ClientError) as e:
            s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": rule}})
        assert code(e) == "MalformedXML"
    with pytest.raises(ClientError) as e:
        s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": -1}}})
    assert code(e) == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Suspended"})
    assert code(e) == "InvalidBucketState" and status(e) == 409
    # A bucket without Object Lock: none to read, and objects cannot be locked in it.
    plain = name()
    s3.create_bucket(Bucket=plain)
    with pytest.raises(ClientError) as e:
        s3.get_object_lock_configuration(Bucket=plain)
    assert code(e) == "ObjectLockConfigurationNotFoundError" and status(e) == 404
    with pytest.raises(ClientError) as e:
        s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    assert code(e) == "InvalidBucketState"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=plain, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
    assert code(e) == "InvalidRequest"
    s3.put_object(Bucket=plain, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.get_object_retention(Bucket=plain, Key="k")
    assert code(e) == "InvalidRequest"
    # Enabling it later needs versioning.
    s3.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})


def test_retention_at_write_protects_versions_until_it_ends(srv, s3, locked):
    until = in_days(srv, 1)
    v = s3.put_object(Bucket=locked, Key="doc", Body=b"one", ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=until)["VersionId"]
    head = s3.head_object(Bucket=locked, Key="doc")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs((head["ObjectLockRetainUntilDate"] - until).total_seconds()) < 1
    r = s3.get_object_retention(Bucket=locked, Key="doc", VersionId=v)["Retention"]
    assert r["Mode"] == "COMPLIANCE"
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=locked, Key="doc", VersionId=v)
    assert code(e) == "AccessDenied" and status(e) == 403
    out = s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "doc", "VersionId": v}]})
    assert [x["Code"] for x in out["Errors"]] == ["AccessDenied"]
    # A delete without a version only adds a marker; a write adds a version.
    assert s3.delete_object(Bucket=locked, Key="doc")["DeleteMarker"] is True
    s3.put_object(Bucket=locked, Key="doc", Body=b"two")
    assert s3.get_object(Bucket=locked, Key="doc", VersionId=v)["Body"].read() == b"one"
    # COMPLIANCE is never shortened nor turned into GOVERNANCE, not even by the root user.
    for retention in ({"Mode": "COMPLIANCE", "RetainUntilDate": in_days(srv, 0.5)},
                      {"Mode": "GOVERNANCE", "RetainUntilDate": in_days(srv, 3)}):
        with pytest.raises(ClientError) as e:
            s3.put_object_retention(Bucket=locked, Key="doc", VersionId=v, Retention=retention,
                                    BypassGovernanceRetention=True)
        assert code(e) == "AccessDenied"
    s3.put_object_retention(Bucket=locked, Key="doc", VersionId=v,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": in_days(srv, 2)})
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=locked, Key="past", Body=b"x", ObjectLockMode="GOVERNANCE",
                      ObjectLockRetainUntilDate=in_days(srv, -1))
    assert code(e) == "InvalidArgument"
    # The dev clock ends the retention.
    advance(srv, 3 * 86400)
    s3.delete_object(Bucket=locked, Key="doc", VersionId=v)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=locked, Key="doc", VersionId=v)
    assert status(e) == 404


def test_governance_bypass_needs_its_permission_and_legal_holds(srv, s3, locked):
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    v = s3.put_object(Bucket=locked, Key="g", Body=b"g")["VersionId"]
    assert s3.get_object_retention(Bucket=locked, Key="g", VersionId=v)["Retention"]["Mode"] == "GOVERNANCE"
    iam = srv.client("iam")
    base = ["s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:GetObjectRetention",
            "s3:PutObjectLegalHold", "s3:GetObjectLegalHold"]
    policy = lambda actions: {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:s3:::{locked}/*"}]}
    _, plain = make_user(srv, iam, policy(base))
    _, bypasser = make_user(srv, iam, policy(base + ["s3:BypassGovernanceRetention"]))
    with pytest.raises(ClientError) as e:
        plain.delete_object(Bucket=locked, Key="g", VersionId=v, BypassGovernanceRetention=True)
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        bypasser.delete_object(Bucket=locked, Key="g", VersionId=v)
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        plain.put_object_retention(Bucket=locked, Key="g", VersionId=v, Retention={},
                                   BypassGovernanceRetention=True)
    assert code(e) == "AccessDenied"
    # Extending needs no bypass.
    plain.put_object_retention(Bucket=locked, Key="g", VersionId=v,
                               Retention={"Mode": "GOVERNANCE", "RetainUntilDate": in_days(srv, 5)})
    # A legal hold protects whatever the retention.
    with pytest.raises(ClientError) as e:
        s3.get_object_legal_hold(Bucket=locked, Key="g", VersionId=v)
    assert code(e) == "NoSuchObjectLockConfiguration" and status(e) == 404
    plain.put_object_legal_hold(Bucket=locked, Key="g", VersionId=v, LegalHold={"Status": "ON"})
    assert s3.head_object(Bucket=locked, Key="g", VersionId=v)["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(ClientError) as e:
        bypasser.delete_object(Bucket=locked, Key="g", VersionId=v, BypassGovernanceRetention=True)
    assert code(e) == "AccessDenied"
    plain.put_object_legal_hold(Bucket=locked, Key="g", VersionId=v, LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="g", VersionId=v)["LegalHold"] == {"Status": "OFF"}
    bypasser.delete_object(Bucket=locked, Key="g", VersionId=v, BypassGovernanceRetention=True)
    # Locking at write takes the lock permissions too.
    _, writer = make_user(srv, iam, policy(["s3:PutObject"]))
    writer.put_object(Bucket=locked, Key="w", Body=b"w")
    with pytest.raises(ClientError) as e:
        writer.put_object(Bucket=locked, Key="w", Body=b"w", ObjectLockLegalHoldStatus="ON")
    assert code(e) == "AccessDenied"
    # A multipart upload carries its lock to the object it completes.
    up = s3.create_multipart_upload(Bucket=locked, Key="mp", ObjectLockLegalHoldStatus="ON")
    etag = s3.upload_part(Bucket=locked, Key="mp", UploadId=up["UploadId"], PartNumber=1,
                          Body=b"part")["ETag"]
    mv = s3.complete_multipart_upload(Bucket=locked, Key="mp", UploadId=up["UploadId"],
                                      MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})["VersionId"]
    assert s3.get_object_legal_hold(Bucket=locked, Key="mp", VersionId=mv)["LegalHold"]["Status"] == "ON"


def test_locked_uploads_need_an_integrity_header(srv, locked):
    # botocore sends a CRC32 checksum by default; asked to send one only where required, it
    # sends none with a plain PutObject.
    from botocore.config import Config
    bare = srv.client("s3", config=Config(request_checksum_calculation="when_required"))
    with pytest.raises(ClientError) as e:
        bare.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
    assert code(e) == "InvalidRequest" and "Content-MD5" in e.value.response["Error"]["Message"]
    bare.put_object(Bucket=locked, Key="k", Body=b"x")
    bare.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON",
                    ChecksumAlgorithm="SHA256")
