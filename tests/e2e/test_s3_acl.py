"""S3 Object Ownership and ACLs end to end with boto3: ownership controls (BucketOwnerEnforced
by default), canonical user ids, ACLs refused while disabled, and, with ACLs enabled, canned
ACLs, grant headers and ACL documents that grant access through the one authorizer, together
with Block Public Access (BlockPublicAcls, IgnorePublicAcls)."""

import re

import pytest
from botocore.exceptions import ClientError

from test_s3 import anonymous, code, make_user, name, status

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3")


@pytest.fixture
def bucket(s3):
    b = name()
    s3.create_bucket(Bucket=b)
    return b


@pytest.fixture
def open_bucket(s3):
    """A bucket with ACLs enabled (ObjectWriter) and no Block Public Access settings."""
    b = name()
    s3.create_bucket(Bucket=b, ObjectOwnership="ObjectWriter")
    s3.delete_public_access_block(Bucket=b)
    return b


def test_new_buckets_enforce_bucket_ownership_and_answer_the_owner_grant(s3, bucket):
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    acl = s3.get_bucket_acl(Bucket=bucket)
    owner = acl["Owner"]["ID"]
    assert HEX64.match(owner)
    assert [(g["Grantee"]["Type"], g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [
        ("CanonicalUser", owner, "FULL_CONTROL")]
    assert s3.list_buckets()["Owner"]["ID"] == owner
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    obj = s3.get_object_acl(Bucket=bucket, Key="k")
    assert obj["Owner"]["ID"] == owner and obj["Grants"][0]["Permission"] == "FULL_CONTROL"
    # ACLs are disabled: only the owner's full control is accepted.
    for call in (lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read"),
                 lambda: s3.put_object_acl(Bucket=bucket, Key="k", ACL="authenticated-read"),
                 lambda: s3.put_object(Bucket=bucket, Key="p", Body=b"x", ACL="public-read"),
                 lambda: s3.put_object(Bucket=bucket, Key="p", Body=b"x",
                                       GrantRead=f'uri="{ALL_USERS}"')):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "AccessControlListNotSupported" and status(e) == 400
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="p")
    assert status(e) == 404
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object(Bucket=bucket, Key="q", Body=b"x", ACL="bucket-owner-full-control")
    s3.put_object_acl(Bucket=bucket, Key="q", GrantFullControl=f'id="{owner}"')
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name(), ACL="public-read")
    assert code(e) == "InvalidBucketAclWithObjectOwnership"


def test_ownership_controls_put_get_delete(s3, bucket):
    s3.delete_bucket_ownership_controls(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_ownership_controls(Bucket=bucket)
    assert code(e) == "OwnershipControlsNotFoundError" and status(e) == 404
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    with pytest.raises(ClientError) as e:
        s3.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "Nobody"}]})
    assert status(e) == 400
    # A bucket ACL that grants others keeps ACLs from being disabled.
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    with pytest.raises(ClientError) as e:
        s3.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert code(e) == "InvalidBucketAclWithObjectOwnership"
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})


def test_public_acls_grant_and_block_public_access_blocks_and_ignores_them(server, s3, open_bucket):
    b = open_bucket
    s3.put_object(Bucket=b, Key="doc", Body=b"hello")
    assert anonymous(server, f"/{b}/doc")[0] == 403
    s3.put_object_acl(Bucket=b, Key="doc", ACL="public-read")
    grants = s3.get_object_acl(Bucket=b, Key="doc")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"} in grants
    assert anonymous(server, f"/{b}/doc") == (200, b"hello")
    # Reading one object grants nothing else.
    s3.put_object(Bucket=b, Key="other", Body=b"x")
    assert anonymous(server, f"/{b}/other")[0] == 403
    assert anonymous(server, f"/{b}/?list-type=2")[0] == 403
    # IgnorePublicAcls: the grant stays but grants nothing.
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert anonymous(server, f"/{b}/doc")[0] == 403
    assert any(g["Grantee"].get("URI") == ALL_USERS
               for g in s3.get_object_acl(Bucket=b, Key="doc")["Grants"])
    # BlockPublicAcls: a public ACL is refused, and nothing changes.
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    assert anonymous(server, f"/{b}/doc") == (200, b"hello")
    for call in (lambda: s3.put_object_acl(Bucket=b, Key="other", ACL="public-read"),
                 lambda: s3.put_object(Bucket=b, Key="new", Body=b"x", ACL="public-read-write"),
                 lambda: s3.put_bucket_acl(Bucket=b, ACL="public-read")):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "AccessDenied" and status(e) == 403
    assert anonymous(server, f"/{b}/other")[0] == 403
    # A bucket ACL's READ lets everyone list; WRITE lets everyone write.
    s3.delete_public_access_block(Bucket=b)
    s3.put_bucket_acl(Bucket=b, ACL="public-read-write")
    assert anonymous(server, f"/{b}/?list-type=2")[0] == 200
    assert anonymous(server, f"/{b}/anon.txt", method="PUT", data=b"anon")[0] == 200
    assert s3.get_object(Bucket=b, Key="anon.txt")["Body"].read() == b"anon"
    # Turning ACLs off takes their grants away.
    s3.put_bucket_acl(Bucket=b, ACL="private")
    assert anonymous(server, f"/{b}/?list-type=2")[0] == 403


def test_grant_headers_documents_and_authenticated_users(server, s3, open_bucket):
    b = open_bucket
    iam = server.client("iam")
    _, user = make_user(server, iam)
    s3.put_object(Bucket=b, Key="doc", Body=b"hello")
    with pytest.raises(ClientError) as e:
        user.get_object(Bucket=b, Key="doc")
    assert code(e) == "AccessDenied"
    s3.put_object_acl(Bucket=b, Key="doc", ACL="authenticated-read")
    assert user.get_object(Bucket=b, Key="doc")["Body"].read() == b"hello"
    assert anonymous(server, f"/{b}/doc")[0] == 403
    owner = s3.get_bucket_acl(Bucket=b)["Owner"]
    s3.put_object_acl(Bucket=b, Key="doc", GrantRead=f'uri="{ALL_USERS}"',
                      GrantFullControl=f'id="{owner["ID"]}"')
    assert anonymous(server, f"/{b}/doc") == (200, b"hello")
    with pytest.raises(ClientError) as e:
        s3.put_object_acl(Bucket=b, Key="doc", GrantRead='id="' + "0" * 64 + '"')
    assert code(e) == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        s3.put_object_acl(Bucket=b, Key="doc", ACL="private", GrantRead=f'uri="{ALL_USERS}"')
    assert code(e) == "InvalidRequest"
    s3.put_bucket_acl(Bucket=b, AccessControlPolicy={
        "Owner": {"ID": owner["ID"]},
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"},
        ]})
    grants = s3.get_bucket_acl(Bucket=b)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL", "READ"]
    assert anonymous(server, f"/{b}/?list-type=2")[0] == 200
    with pytest.raises(ClientError) as e:
        s3.put_bucket_acl(Bucket=b, AccessControlPolicy={
            "Owner": {"ID": owner["ID"]},
            "Grants": [{"Grantee": {"Type": "Group", "URI": "http://example.com/x"},
                        "Permission": "READ"}]})
    assert code(e) == "InvalidArgument"
    # Reading ACLs takes their own permissions.
    with pytest.raises(ClientError) as e:
        user.get_object_acl(Bucket=b, Key="doc")
    assert code(e) == "AccessDenied"
