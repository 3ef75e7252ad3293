"""S3 server-side encryption end to end: every object is sealed at rest (SSE-S3 by default, no
plaintext on disk), SSE-KMS takes its data key from Rampart's KMS on the caller's behalf (a
caller who may read the object but not use the key is refused; a disabled key makes the object
unreadable until it is enabled again), bucket default encryption, and encrypted multipart
uploads, ranges and copies."""

import json
import os
import uuid

import pytest
from botocore.exceptions import ClientError


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def name(prefix="enc"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3")


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


def files_under(root):
    for base, _, files in os.walk(root):
        for f in files:
            yield os.path.join(base, f)


def test_objects_are_sealed_at_rest_with_sse_s3_by_default(server, s3):
    b = name()
    s3.create_bucket(Bucket=b)
    marker = b"PLAINTEXT-MARKER-" + uuid.uuid4().hex.encode()
    body = marker * 5000
    out = s3.put_object(Bucket=b, Key="secret.txt", Body=body)
    assert out["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=b, Key="secret.txt")["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=b, Key="secret.txt")["Body"].read() == body
    mid = s3.get_object(Bucket=b, Key="secret.txt", Range="bytes=70000-140000")["Body"].read()
    assert mid == body[70000:140001]
    for path in files_under(server.data_dir):
        with open(path, "rb") as f:
            assert marker not in f.read(), f"plaintext found in {path}"
    config = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
    assert config["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_sse_kms_uses_the_key_for_the_caller(server, s3, kms):
    key = kms.create_key()["KeyMetadata"]
    b = name()
    s3.create_bucket(Bucket=b)
    out = s3.put_object(Bucket=b, Key="k.txt", Body=b"kms sealed",
                        ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    assert out["ServerSideEncryption"] == "aws:kms"
    assert out["SSEKMSKeyId"] == key["Arn"]
    assert s3.get_object(Bucket=b, Key="k.txt")["Body"].read() == b"kms sealed"
    # A user who may read the object but not use the key is refused.
    iam = server.client("iam")
    user = name("u")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}],
    }))
    creds = iam.create_access_key(UserName=user)["AccessKey"]
    reader = server.client("s3", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        reader.get_object(Bucket=b, Key="k.txt")
    assert code(e) == "AccessDenied"
    iam.put_user_policy(UserName=user, PolicyName="kms", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"],
                       "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}],
    }))
    assert reader.get_object(Bucket=b, Key="k.txt")["Body"].read() == b"kms sealed"
    # A disabled key makes the object unreadable; enabling it again restores it.
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="k.txt")
    assert code(e) == "AccessDenied"
    kms.enable_key(KeyId=key["KeyId"])
    assert s3.get_object(Bucket=b, Key="k.txt")["Body"].read() == b"kms sealed"
    # The KMS calls S3 made for the caller are in the trail, invoked by S3.
    ct = server.client("cloudtrail")
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GenerateDataKey"}])["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    assert any(r["userIdentity"].get("invokedBy") == "s3.amazonaws.com" for r in records)


def test_bucket_default_encryption_multipart_and_copies(server, s3, kms):
    key = kms.create_key()["KeyMetadata"]
    b = name()
    s3.create_bucket(Bucket=b)
    s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]},
        "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key["Arn"]
    out = s3.put_object(Bucket=b, Key="default", Body=b"by default")
    assert out["ServerSideEncryption"] == "aws:kms" and out["SSEKMSKeyId"] == key["Arn"]
    assert out["BucketKeyEnabled"] is True
    with pytest.raises(ClientError) as e:
        s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "DES"}}]})
    assert code(e) == "MalformedXML"
    up = s3.create_multipart_upload(Bucket=b, Key="mp")
    assert up["ServerSideEncryption"] == "aws:kms"
    first = os.urandom(5 * 1024 * 1024 + 3)
    second = os.urandom(70_000)
    e1 = s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=first)["ETag"]
    e2 = s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=2, Body=second)["ETag"]
    s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    whole = first + second
    assert s3.get_object(Bucket=b, Key="mp")["Body"].read() == whole
    lo, hi = len(first) - 100_000, len(first) + 65_000
    assert s3.get_object(Bucket=b, Key="mp", Range=f"bytes={lo}-{hi}")["Body"].read() == whole[lo:hi + 1]
    copied = s3.copy_object(Bucket=b, Key="copy", CopySource=f"{b}/mp", ServerSideEncryption="AES256")
    assert copied["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=b, Key="copy")["Body"].read() == whole
    s3.delete_bucket_encryption(Bucket=b)
    assert s3.put_object(Bucket=b, Key="after", Body=b"x")["ServerSideEncryption"] == "AES256"


def kms_events(server, event_name, bucket):
    """The KMS calls S3 made with the bucket-level encryption context of `bucket`."""
    ct = server.client("cloudtrail")
    events = ct.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": event_name}], MaxResults=50)["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    return [r for r in records
            if (r.get("requestParameters") or {}).get("encryptionContext", {}).get("aws:s3:arn")
            == f"arn:aws:s3:::{bucket}"]


def test_bucket_keys_cut_kms_calls_per_caller(server, s3, kms):
    key = kms.create_key()["KeyMetadata"]
    b = name("bk")
    s3.create_bucket(Bucket=b)
    s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]},
        "BucketKeyEnabled": True}]})
    bodies = {f"obj-{i}": os.urandom(100_000 + i) for i in range(5)}
    for k, body in bodies.items():
        out = s3.put_object(Bucket=b, Key=k, Body=body)
        assert out["BucketKeyEnabled"] is True and out["SSEKMSKeyId"] == key["Arn"]
    # One bucket-level key from KMS for the five objects, with the bucket's ARN as context.
    assert len(kms_events(server, "GenerateDataKey", b)) == 1
    for k, body in bodies.items():
        got = s3.get_object(Bucket=b, Key=k)
        assert got["Body"].read() == body and got["BucketKeyEnabled"] is True
    assert s3.get_object(Bucket=b, Key="obj-3", Range="bytes=70000-70010")["Body"].read() == \
        bodies["obj-3"][70000:70011]
    # A caller without rights on the KMS key is refused although the owner's key is cached.
    iam = server.client("iam")
    user = name("bku")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}],
    }))
    creds = iam.create_access_key(UserName=user)["AccessKey"]
    reader = server.client("s3", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        reader.get_object(Bucket=b, Key="obj-0")
    assert code(e) == "AccessDenied"
    iam.put_user_policy(UserName=user, PolicyName="kms", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]}],
    }))
    for k, body in bodies.items():
        assert reader.get_object(Bucket=b, Key=k)["Body"].read() == body
    decrypts = kms_events(server, "Decrypt", b)
    users = [r["userIdentity"].get("userName") for r in decrypts if not r.get("errorCode")]
    assert users == [user]
