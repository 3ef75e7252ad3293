"""S3 versioning end to end: versions kept on overwrite, reads by version id, delete markers,
deletes of a version that promote the next one, ListObjectVersions, suspension (`null`
versions), and MFA Delete (only the root user with a code from its MFA device)."""

import uuid

import pytest
from botocore.exceptions import ClientError

from test_mfa_passwords import totp


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_versions_delete_markers_and_listing(server):
    s3 = server.client("s3")
    b = f"ver-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=b)
    assert "Status" not in s3.get_bucket_versioning(Bucket=b)
    s3.put_object(Bucket=b, Key="doc", Body=b"before versioning")
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=b, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=b, Key="doc")["Body"].read() == b"two"
    assert s3.get_object(Bucket=b, Key="doc", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket=b, Key="doc", VersionId="null")["Body"].read() == b"before versioning"
    head = s3.head_object(Bucket=b, Key="doc", VersionId=v1)
    assert head["VersionId"] == v1 and head["ContentLength"] == 3
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="doc", VersionId="0" * 32)
    assert code(e) == "NoSuchVersion"
    listing = s3.list_object_versions(Bucket=b)
    assert [(v["VersionId"], v["IsLatest"]) for v in listing["Versions"]] == [
        (v2, True), (v1, False), ("null", False)]
    # A delete without a version leaves a marker; the versions stay.
    marker = s3.delete_object(Bucket=b, Key="doc")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="doc")
    assert code(e) == "NoSuchKey"
    assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0
    # A copy from a deleted key finds nothing to copy.
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=b, Key="copy", CopySource=f"{b}/doc")
    assert code(e) == "NoSuchKey"
    listing = s3.list_object_versions(Bucket=b)
    assert [m["VersionId"] for m in listing["DeleteMarkers"]] == [marker["VersionId"]]
    assert listing["DeleteMarkers"][0]["IsLatest"] is True
    # Deleting the marker brings the newest version back.
    s3.delete_object(Bucket=b, Key="doc", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=b, Key="doc")["Body"].read() == b"two"
    # Deleting the current version makes the next newest current.
    s3.delete_object(Bucket=b, Key="doc", VersionId=v2)
    assert s3.get_object(Bucket=b, Key="doc")["Body"].read() == b"one"
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=b)
    assert code(e) == "BucketNotEmpty"
    # Suspended: new writes are the `null` version, replacing it.
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    out = s3.put_object(Bucket=b, Key="doc", Body=b"suspended")
    assert out["VersionId"] == "null"
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=b)["Versions"]]
    assert ids.count("null") == 1 and v1 in ids
    page = s3.list_object_versions(Bucket=b, MaxKeys=1)
    assert page["IsTruncated"] and len(page["Versions"]) == 1
    rest = s3.list_object_versions(Bucket=b, KeyMarker=page["NextKeyMarker"],
                                   VersionIdMarker=page["NextVersionIdMarker"])
    assert page["Versions"][0]["VersionId"] not in [v["VersionId"] for v in rest["Versions"]]


def test_mfa_delete_needs_the_root_users_code(fresh_server):
    s3 = fresh_server.client("s3")
    iam = fresh_server.client("iam")
    account = fresh_server.client("sts").get_caller_identity()["Account"]
    serial = f"arn:aws:iam::{account}:mfa/root-account-mfa-device"
    seed = iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")[
        "VirtualMFADevice"]["Base32StringSeed"].decode()
    iam.enable_mfa_device(UserName="root", SerialNumber=serial,
                          AuthenticationCode1=totp(seed, -2), AuthenticationCode2=totp(seed, -1))
    b = "mfa-delete-bucket"
    s3.create_bucket(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"})
    assert code(e) == "AccessDenied"
    s3.put_bucket_versioning(Bucket=b, MFA=f"{serial} {totp(seed, 0)}",
                             VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=b) | {} and s3.get_bucket_versioning(Bucket=b)["MFADelete"] == "Enabled"
    v = s3.put_object(Bucket=b, Key="k", Body=b"keep")["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=b, Key="k", VersionId=v)
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=b, Key="k", VersionId=v, MFA=f"{serial} 000000")
    assert code(e) == "AccessDenied"
    assert s3.get_object(Bucket=b, Key="k", VersionId=v)["Body"].read() == b"keep"
    # A delete marker needs no code.
    s3.delete_object(Bucket=b, Key="k")
    s3.delete_object(Bucket=b, Key="k", VersionId=v, MFA=f"{serial} {totp(seed, 1)}")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="k", VersionId=v)
    assert code(e) == "NoSuchVersion"


def test_version_listing_with_a_delimiter_and_pages(server):
    s3 = server.client("s3")
    b = f"verd-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    for key in ["a.txt", "dir/x", "dir/y", "dir/sub/z", "e.txt"]:
        for n in range(2):
            s3.put_object(Bucket=b, Key=key, Body=f"{key}-{n}".encode())
    s3.delete_object(Bucket=b, Key="e.txt")
    out = s3.list_object_versions(Bucket=b, Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["dir/"]
    assert [v["Key"] for v in out["Versions"]] == ["a.txt", "a.txt", "e.txt", "e.txt"]
    assert [m["Key"] for m in out["DeleteMarkers"]] == ["e.txt"]
    inside = s3.list_object_versions(Bucket=b, Prefix="dir/", Delimiter="/")
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == ["dir/sub/"]
    assert [v["Key"] for v in inside["Versions"]] == ["dir/x"] * 2 + ["dir/y"] * 2
    # Paged one entry at a time, a common prefix is one entry and its marker skips it.
    seen, kwargs = [], {}
    while True:
        page = s3.list_object_versions(Bucket=b, Delimiter="/", MaxKeys=1, **kwargs)
        entries = ([("v", v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
                   + [("m", m["Key"], m["VersionId"]) for m in page.get("DeleteMarkers", [])]
                   + [("p", p["Prefix"], None) for p in page.get("CommonPrefixes", [])])
        assert len(entries) == 1
        seen.extend(entries)
        if not page["IsTruncated"]:
            break
        kwargs = {"KeyMarker": page["NextKeyMarker"]}
        if "NextVersionIdMarker" in page:
            kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]
    assert [(k, key) for k, key, _ in seen] == [
        ("v", "a.txt"), ("v", "a.txt"), ("p", "dir/"), ("m", "e.txt"), ("v", "e.txt"), ("v", "e.txt")]
