"""S3 end to end with boto3 and the aws CLI: buckets, objects (ranges, preconditions, metadata,
tags, copies), listings with prefixes, delimiters and pages, multipart uploads, bucket policies
granting within and across accounts, checksums, presigned URLs, and AWS's errors, all through
the one signed, authorized and audited request path."""

import base64
import hashlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import RUN_DIR
from orgs import create_account, member_root


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def name(prefix="b"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3")


@pytest.fixture
def bucket(s3):
    b = name()
    s3.create_bucket(Bucket=b)
    return b


def test_bucket_life_cycle_and_errors(server, s3):
    b = name()
    s3.create_bucket(Bucket=b)
    s3.head_bucket(Bucket=b)
    assert b in [x["Name"] for x in s3.list_buckets()["Buckets"]]
    assert s3.get_bucket_location(Bucket=b)["LocationConstraint"] is None
    # us-east-1 answers the owner's repeated create with success; other regions refuse it.
    s3.create_bucket(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Not_Valid")
    assert code(e) == "InvalidBucketName"
    eu = server.client("s3", region="eu-west-1")
    eb = name("eu")
    eu.create_bucket(Bucket=eb, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.get_bucket_location(Bucket=eb)["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as e:
        eu.create_bucket(Bucket=eb, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e) == "BucketAlreadyOwnedByYou"
    with pytest.raises(ClientError) as e:
        eu.create_bucket(Bucket=name())
    assert code(e) == "IllegalLocationConstraintException"
    page = s3.list_buckets(MaxBuckets=1)
    assert len(page["Buckets"]) == 1 and "ContinuationToken" in page
    rest = s3.list_buckets(MaxBuckets=1000, ContinuationToken=page["ContinuationToken"])
    assert page["Buckets"][0]["Name"] not in [x["Name"] for x in rest["Buckets"]]
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=b)
    assert code(e) == "BucketNotEmpty"
    s3.delete_object(Bucket=b, Key="k")
    s3.delete_bucket(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=b)
    assert status(e) == 404
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=b)
    assert code(e) == "NoSuchBucket"


def test_a_request_signed_for_another_region_names_the_buckets(server, s3):
    eu = server.client("s3", region="eu-west-1")
    b = name("eu")
    eu.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_object(Bucket=b, Key="k", Body=b"in eu")
    # The raw answer to a request signed for us-east-1: S3's error, naming the region.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = f"{server.endpoint}/{b}/k"
    request = AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(Credentials(server.root_key, server.root_secret), "s3", "us-east-1").add_auth(request)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(url, headers=dict(request.headers)))
    assert e.value.code == 400
    assert e.value.headers["x-amz-bucket-region"] == "eu-west-1"
    body = e.value.read().decode()
    assert "<Code>AuthorizationHeaderMalformed</Code>" in body
    assert "<Region>eu-west-1</Region>" in body
    # boto3 follows it: signed for us-east-1, it signs again for eu-west-1 and succeeds.
    us = server.client("s3")
    signed_for = []
    us.meta.events.register(
        "before-send.s3",
        lambda request, **kw: signed_for.append(request.headers["Authorization"].split(b"/")[2]))
    assert us.get_object(Bucket=b, Key="k")["Body"].read() == b"in eu"
    assert signed_for == [b"us-east-1", b"eu-west-1"]
    # Where a bucket is can be asked from any region.
    assert s3.get_bucket_location(Bucket=b)["LocationConstraint"] == "eu-west-1"


def test_objects_metadata_ranges_and_preconditions(s3, bucket):
    body = bytes(range(256)) * 40
    put = s3.put_object(
        Bucket=bucket, Key="dir/obj.bin", Body=body, ContentType="application/x-test",
        Metadata={"Owner": "alice"}, CacheControl="no-cache",
    )
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="dir/obj.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"owner": "alice"}
    assert got["CacheControl"] == "no-cache"
    assert got["ContentLength"] == len(body)
    head = s3.head_object(Bucket=bucket, Key="dir/obj.bin")
    assert head["ETag"] == put["ETag"] and head["ContentLength"] == len(body)
    part = s3.get_object(Bucket=bucket, Key="dir/obj.bin", Range="bytes=10-19")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert part["Body"].read() == body[10:20]
    tail = s3.get_object(Bucket=bucket, Key="dir/obj.bin", Range="bytes=-5")
    assert tail["Body"].read() == body[-5:]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/obj.bin", Range=f"bytes={len(body)}-")
    assert code(e) == "InvalidRange" and status(e) == 416
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/obj.bin", IfMatch='"nope"')
    assert code(e) == "PreconditionFailed" and status(e) == 412
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/obj.bin", IfNoneMatch=put["ETag"])
    assert status(e) == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="missing")
    assert code(e) == "NoSuchKey" and status(e) == 404
    # Conditional writes: If-None-Match: * refuses to overwrite.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="dir/obj.bin", Body=b"new", IfNoneMatch="*")
    assert code(e) == "PreconditionFailed"
    s3.put_object(Bucket=bucket, Key="dir/obj.bin", Body=b"new")
    assert s3.get_object(Bucket=bucket, Key="dir/obj.bin")["Body"].read() == b"new"
    # Deleting is idempotent.
    s3.delete_object(Bucket=bucket, Key="dir/obj.bin")
    s3.delete_object(Bucket=bucket, Key="dir/obj.bin")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="dir/obj.bin")
    assert status(e) == 404


def test_content_md5_and_checksums(s3, bucket):
    data = b"checked bytes"
    good = base64.b64encode(hashlib.md5(data).digest()).decode()
    s3.put_object(Bucket=bucket, Key="md5", Body=data, ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="md5", Body=data, ContentMD5=bad)
    assert code(e) == "BadDigest"
    out = s3.put_object(Bucket=bucket, Key="sha", Body=data, ChecksumAlgorithm="SHA256")
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert out["ChecksumSHA256"] == expected
    got = s3.get_object(Bucket=bucket, Key="sha", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == expected
    assert got["Body"].read() == data


def test_listing_prefixes_delimiters_and_pages(s3, bucket):
    keys = ["a/1", "a/2", "a/b/3", "b/4", "c", "d e+f"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    out = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in out["Contents"]] == sorted(keys)
    assert out["KeyCount"] == len(keys)
    out = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in out["Contents"]] == ["c", "d e+f"]
    out = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in out["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["a/b/"]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    seen = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert seen == sorted(keys)
    out = s3.list_objects_v2(Bucket=bucket, StartAfter="b/4")
    assert [o["Key"] for o in out["Contents"]] == ["c", "d e+f"]
    v1 = s3.list_objects(Bucket=bucket, Marker="a/b/3", MaxKeys=1)
    assert [o["Key"] for o in v1["Contents"]] == ["b/4"] and v1["IsTruncated"]
    pages = s3.get_paginator("list_objects").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}
    )
    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    assert prefixes == ["a/", "b/"]
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == sorted(keys)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_copy_and_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"a": "1"},
                  Tagging="team=blue&env=prod")
    assert s3.get_object_tagging(Bucket=bucket, Key="src")["TagSet"] == [
        {"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "blue"}]
    other = name()
    s3.create_bucket(Bucket=other)
    s3.copy_object(Bucket=other, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    got = s3.get_object(Bucket=other, Key="dst")
    assert got["Body"].read() == b"payload" and got["Metadata"] == {"a": "1"}
    s3.copy_object(Bucket=other, Key="dst2", CopySource=f"{bucket}/src",
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/plain")
    got = s3.head_object(Bucket=other, Key="dst2")
    assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "text/plain"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert code(e) == "InvalidRequest"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/missing")
    assert code(e) == "NoSuchKey"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "k", "Value": "v"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(e) == "NoSuchTagSet"


def test_multipart_uploads(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="big", ContentType="application/zip")
    uid = up["UploadId"]
    first = os.urandom(5 * 1024 * 1024)
    second = b"tail bytes"
    e1 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=1, Body=first)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=2, Body=second)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="big", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, len(first)), (2, len(second))]
    assert uid in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="big", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]},
        )
    assert code(e) == "InvalidPartOrder"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="big", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]},
        )
    assert code(e) == "InvalidPart"
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
    )
    digests = hashlib.md5(hashlib.md5(first).digest() + hashlib.md5(second).digest()).hexdigest()
    assert done["ETag"] == f'"{digests}-2"'
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["ContentType"] == "application/zip"
    assert got["Body"].read() == first + second
    span = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={len(first) - 3}-{len(first) + 2}")
    assert span["Body"].read() == first[-3:] + second[:3]
    # A part copied from a range of another object.
    cp = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    c1 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=cp, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "big"},
                             CopySourceRange=f"bytes=0-{len(first) - 1}")["CopyPartResult"]["ETag"]
    c2 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=cp, PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "big"},
                             CopySourceRange=f"bytes={len(first)}-{len(first) + 4}")["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=cp, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": c1}, {"PartNumber": 2, "ETag": c2}]})
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == first + second[:5]
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="big", UploadId=uid)
    assert code(e) == "NoSuchUpload"
    small = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    a = s3.upload_part(Bucket=bucket, Key="small", UploadId=small, PartNumber=1, Body=b"a")["ETag"]
    b = s3.upload_part(Bucket=bucket, Key="small", UploadId=small, PartNumber=2, Body=b"b")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="small", UploadId=small,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": a}, {"PartNumber": 2, "ETag": b}]},
        )
    assert code(e) == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=small)
    with pytest.raises(ClientError) as e:
        s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=small)
    assert code(e) == "NoSuchUpload"


def make_user(server, iam, policy=None):
    user = name("u")
    iam.create_user(UserName=user)
    if policy:
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    arn = iam.get_user(UserName=user)["User"]["Arn"]
    return arn, server.client("s3", key=key["AccessKeyId"], secret=key["SecretAccessKey"])


def test_bucket_policy_grants_within_the_account(server, s3, bucket):
    iam = server.client("iam")
    arn, client = make_user(server, iam)
    s3.put_object(Bucket=bucket, Key="shared/doc", Body=b"doc")
    with pytest.raises(ClientError) as e:
        client.get_object(Bucket=bucket, Key="shared/doc")
    assert code(e) == "AccessDenied" and status(e) == 403
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(e) == "NoSuchBucketPolicy"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/shared/*"}],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    assert client.get_object(Bucket=bucket, Key="shared/doc")["Body"].read() == b"doc"
    with pytest.raises(ClientError) as e:
        client.put_object(Bucket=bucket, Key="shared/doc", Body=b"x")
    assert code(e) == "AccessDenied"
    bad = dict(policy, Statement=[dict(policy["Statement"][0], Resource="arn:aws:s3:::elsewhere/*")])
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(bad))
    assert code(e) == "MalformedPolicy"
    public = dict(policy, Statement=[dict(policy["Statement"][0], Principal="*")])
    # A new bucket blocks public policies (AWS's default since April 2023).
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        client.get_object(Bucket=bucket, Key="shared/doc")
    assert code(e) == "AccessDenied"


def test_bucket_policy_grants_another_account(fresh_server):
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    member = create_account(orgs, "s3-member", "s3-member@example.com")
    key, secret = member_root(fresh_server, member)
    theirs = fresh_server.client("s3", key=key, secret=secret)
    s3 = fresh_server.client("s3")
    b = name()
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="report", Body=b"numbers")
    with pytest.raises(ClientError) as e:
        theirs.get_object(Bucket=b, Key="report")
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        theirs.create_bucket(Bucket=b)
    assert code(e) == "BucketAlreadyExists"
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{member}:root"},
                       "Action": ["s3:GetObject", "s3:ListBucket"],
                       "Resource": [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"]}],
    }))
    assert theirs.get_object(Bucket=b, Key="report")["Body"].read() == b"numbers"
    assert [o["Key"] for o in theirs.list_objects_v2(Bucket=b)["Contents"]] == ["report"]
    # The bucket stays in its owner's list only.
    assert b not in [x["Name"] for x in theirs.list_buckets()["Buckets"]]


def test_signature_and_anonymous_requests(server, s3, bucket):
    wrong = server.client("s3", secret="x" * 40)
    with pytest.raises(ClientError) as e:
        wrong.list_objects_v2(Bucket=bucket)
    assert code(e) == "SignatureDoesNotMatch" and status(e) == 403
    s3.put_object(Bucket=bucket, Key="private", Body=b"p")
    try:
        urllib.request.urlopen(f"{server.endpoint}/{bucket}/private")
        raise AssertionError("anonymous read allowed")
    except urllib.error.HTTPError as err:
        assert err.code == 403
        assert b"<Code>AccessDenied</Code>" in err.read()


ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
               "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def public_access(s3, bucket):
    return s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]


def anonymous(server, path, method="GET", data=None):
    """An unsigned request; returns (status, body)."""
    req = urllib.request.Request(f"{server.endpoint}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def read_policy(bucket, principal="*"):
    """Everyone may read `pub/*` and list the bucket (`Principal` as given)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/pub/*"},
            {"Effect": "Allow", "Principal": principal, "Action": "s3:ListBucket",
             "Resource": f"arn:aws:s3:::{bucket}"},
        ],
    })


def test_block_public_access_get_put_delete_and_errors(server, s3, bucket):
    # A new bucket has every setting on.
    assert public_access(s3, bucket) == ALL_BLOCKED
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    assert public_access(s3, bucket) == {"BlockPublicAcls": False, "IgnorePublicAcls": False,
                                         "BlockPublicPolicy": True, "RestrictPublicBuckets": False}
    with pytest.raises(ClientError) as e:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={})
    assert code(e) == "InvalidRequest" and status(e) == 400
    s3.delete_public_access_block(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_public_access_block(Bucket=bucket)
    assert code(e) == "NoSuchPublicAccessBlockConfiguration" and status(e) == 404
    s3.delete_public_access_block(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_public_access_block(Bucket=name())
    assert code(e) == "NoSuchBucket"
    # Reading takes s3:GetBucketPublicAccessBlock; changing and deleting s3:PutBucketPublicAccessBlock.
    iam = server.client("iam")
    _, reader = make_user(server, iam, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetBucketPublicAccessBlock", "Resource": f"arn:aws:s3:::{bucket}"}]})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_BLOCKED)
    assert public_access(reader, bucket) == ALL_BLOCKED
    for call in (lambda: reader.delete_public_access_block(Bucket=bucket),
                 lambda: reader.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_BLOCKED)):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "AccessDenied"
    assert public_access(s3, bucket) == ALL_BLOCKED


def test_block_public_policy_refuses_public_policies(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=read_policy(bucket))
    assert code(e) == "AccessDenied" and status(e) == 403
    assert e.value.response["Error"]["Message"].endswith(
        f'on resource: "arn:aws:s3:::{bucket}" because public policies are blocked by the '
        "BlockPublicPolicy block public access setting.")
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=read_policy(bucket, {"AWS": "*"}))
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(e) == "NoSuchBucketPolicy"
    # A policy naming one account is not public.
    s3.put_bucket_policy(Bucket=bucket, Policy=read_policy(bucket, {"AWS": "111122223333"}))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict(ALL_BLOCKED, BlockPublicPolicy=False))
    s3.put_bucket_policy(Bucket=bucket, Policy=read_policy(bucket))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True


def test_anonymous_requests_follow_public_policies_and_restrict_public_buckets(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="pub/a.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="private/b.txt", Body=b"secret")
    s3.delete_public_access_block(Bucket=bucket)
    # Without a policy nobody anonymous gets in, and S3 says no more than that.
    st, body = anonymous(server, f"/{bucket}/pub/a.txt")
    assert st == 403 and b"<Code>AccessDenied</Code>" in body and b"<Message>Access Denied</Message>" in body
    s3.put_bucket_policy(Bucket=bucket, Policy=read_policy(bucket))
    assert anonymous(server, f"/{bucket}/pub/a.txt") == (200, b"hello")
    assert anonymous(server, f"/{bucket}/pub/a.txt", method="HEAD")[0] == 200
    st, body = anonymous(server, f"/{bucket}/?list-type=2")
    assert st == 200 and b"<Key>pub/a.txt</Key>" in body
    # Only what the policy allows everyone.
    assert anonymous(server, f"/{bucket}/private/b.txt")[0] == 403
    assert anonymous(server, f"/{bucket}/pub/new.txt", method="PUT", data=b"x")[0] == 403
    assert anonymous(server, f"/{bucket}/pub/a.txt", method="DELETE")[0] == 403
    assert anonymous(server, f"/{bucket}?policy")[0] == 403
    assert anonymous(server, "/")[0] == 403
    other = name()
    assert anonymous(server, f"/{other}", method="PUT")[0] == 403
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=other)
    assert status(e) == 404
    assert s3.get_object(Bucket=bucket, Key="pub/a.txt")["Body"].read() == b"hello"
    # The anonymous listing is audited in the bucket owner's trail, as AnonymousUser.
    trail = server.client("cloudtrail")
    deadline = time.time() + 5
    mine = []
    while not mine and time.time() < deadline:
        events = trail.lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "ListObjectsV2"}])["Events"]
        mine = [json.loads(ev["CloudTrailEvent"]) for ev in events if bucket in ev["CloudTrailEvent"]]
        time.sleep(0.1)
    assert mine and mine[0]["userIdentity"]["type"] == "AnonymousUser"
    # RestrictPublicBuckets: the public policy no longer serves anyone outside the account.
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert anonymous(server, f"/{bucket}/pub/a.txt")[0] == 403
    assert anonymous(server, f"/{bucket}/?list-type=2")[0] == 403
    assert s3.get_object(Bucket=bucket, Key="pub/a.txt")["Body"].read() == b"hello"
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"RestrictPublicBuckets": False})
    assert anonymous(server, f"/{bucket}/pub/a.txt") == (200, b"hello")


def test_restrict_public_buckets_blocks_cross_account_grants(fresh_server):
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    member = create_account(orgs, "s3-restrict", "s3-restrict@example.com")
    key, secret = member_root(fresh_server, member)
    theirs = fresh_server.client("s3", key=key, secret=secret)
    s3 = fresh_server.client("s3")
    b = name()
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="pub/report", Body=b"numbers")
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=dict(ALL_BLOCKED, BlockPublicPolicy=False))
    # A public statement next to a grant to one account: both stop at the account boundary.
    policy = json.loads(read_policy(b))
    policy["Statement"].append({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{member}:root"},
                                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"})
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps(policy))
    with pytest.raises(ClientError) as e:
        theirs.get_object(Bucket=b, Key="pub/report")
    assert code(e) == "AccessDenied"
    assert anonymous(fresh_server, f"/{b}/pub/report")[0] == 403
    assert s3.get_object(Bucket=b, Key="pub/report")["Body"].read() == b"numbers"
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=dict(ALL_BLOCKED, BlockPublicPolicy=False,
                                                                              RestrictPublicBuckets=False))
    assert theirs.get_object(Bucket=b, Key="pub/report")["Body"].read() == b"numbers"
    assert anonymous(fresh_server, f"/{b}/pub/report") == (200, b"numbers")


def test_presigned_urls(server, s3, bucket):
    # S3 takes Signature Version 4 only (as AWS for every bucket made since 2020).
    legacy = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "x"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(legacy)
    assert e.value.code == 400 and b"AWS4-HMAC-SHA256" in e.value.read()
    s3 = server.client("s3", config=Config(signature_version="s3v4"))
    s3.put_object(Bucket=bucket, Key="p/file.txt", Body=b"presigned body")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p/file.txt"}, ExpiresIn=300)
    with urllib.request.urlopen(url) as resp:
        assert resp.read() == b"presigned body"
    tampered = url.replace("p/file.txt", "p/other.txt")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tampered)
    assert e.value.code == 403
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p/up"}, ExpiresIn=300)
    req = urllib.request.Request(put_url, data=b"uploaded", method="PUT")
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200
    assert s3.get_object(Bucket=bucket, Key="p/up")["Body"].read() == b"uploaded"
    config = os.path.join(tempfile.mkdtemp(prefix="rampart-cli-", dir=RUN_DIR), "config")
    with open(config, "w") as f:
        f.write("[default]\ns3 =\n    signature_version = s3v4\n")
    out = server.cli("s3", "presign", f"s3://{bucket}/p/file.txt", "--expires-in", "60", env={"AWS_CONFIG_FILE": config})
    assert "X-Amz-Signature=" in out.stdout
    with urllib.request.urlopen(out.stdout.strip()) as resp:
        assert resp.read() == b"presigned body"


def test_cli_copies_a_large_file_both_ways_and_syncs(server, bucket):
    work = tempfile.mkdtemp(prefix="rampart-s3-", dir=RUN_DIR)
    src = os.path.join(work, "big.bin")
    with open(src, "wb") as f:
        for _ in range(25):
            f.write(os.urandom(4 * 1024 * 1024))
    server.cli("s3", "cp", src, f"s3://{bucket}/big.bin")
    # An S3-to-S3 copy of a large object goes part by part (UploadPartCopy).
    server.cli("s3", "cp", f"s3://{bucket}/big.bin", f"s3://{bucket}/copy/big.bin")
    dst = os.path.join(work, "back.bin")
    server.cli("s3", "cp", f"s3://{bucket}/copy/big.bin", dst)
    with open(src, "rb") as a, open(dst, "rb") as b:
        assert hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest()
    tree = os.path.join(work, "tree")
    os.makedirs(os.path.join(tree, "sub"))
    for rel in ["one.txt", "sub/two.txt", "sub/three words.txt"]:
        with open(os.path.join(tree, rel), "w") as f:
            f.write(rel)
        # Older than the upload by more than LastModified's one-second precision, so the
        # second sync sees the objects as current (as against AWS).
        old = time.time() - 60
        os.utime(os.path.join(tree, rel), (old, old))
    server.cli("s3", "sync", tree, f"s3://{bucket}/tree")
    listed = server.cli("s3", "ls", "--recursive", f"s3://{bucket}/tree/").stdout
    for rel in ["one.txt", "sub/two.txt", "sub/three words.txt"]:
        assert f"tree/{rel}" in listed
    again = server.cli("s3", "sync", tree, f"s3://{bucket}/tree").stdout
    assert again.strip() == ""
    os.remove(src)
    os.remove(dst)


def test_bucket_policy_on_how_requests_are_signed(server, s3, bucket):
    """`s3:authType` and `s3:signatureAge` in a bucket policy: presigned URLs refused while
    signed requests work."""
    s3.put_object(Bucket=bucket, Key="doc", Body=b"signed only")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*",
                       "Condition": {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}},
                      {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*",
                       "Condition": {"NumericGreaterThan": {"s3:signatureAge": "600000"}}}],
    }))
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"signed only"
    v4 = server.client("s3", config=Config(signature_version="s3v4"))
    url = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 403
    s3.put_object(Bucket=bucket, Key="fresh", Body=b"recently signed")
    s3.delete_bucket_policy(Bucket=bucket)
    with urllib.request.urlopen(url) as resp:
        assert resp.read() == b"signed only"
