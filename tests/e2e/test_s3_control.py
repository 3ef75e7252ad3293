"""S3 Control end to end with boto3 and the aws CLI: the account's Block Public Access settings
(`PutPublicAccessBlock`, `GetPublicAccessBlock`, `DeletePublicAccessBlock`), their
authorization, and their effect on every bucket of the account together with each bucket's own
settings.

S3 Control's clients put the account id in front of the endpoint's host
(`ACCOUNT.127.0.0.1:PORT`), which no resolver knows; the clients here reach Rampart through it
as their HTTP proxy, so the request keeps the Host and signature the client made."""

import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Server
from test_s3 import ALL_BLOCKED, anonymous, code, make_user, name, read_policy, status

NONE_BLOCKED = {"BlockPublicAcls": False, "IgnorePublicAcls": False,
                "BlockPublicPolicy": False, "RestrictPublicBuckets": False}


@pytest.fixture(scope="module")
def srv():
    """A server of its own: account-level settings reach every bucket of the account."""
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def account(srv):
    return srv.client("sts").get_caller_identity()["Account"]


def control(srv, key=None, secret=None):
    return srv.client("s3control", key=key, secret=secret,
                      config=Config(proxies={"http": srv.endpoint}))


@pytest.fixture
def ctl(srv, account):
    c = control(srv)
    yield c
    c.delete_public_access_block(AccountId=account)


def test_account_settings_put_get_delete_and_errors(srv, account, ctl):
    with pytest.raises(ClientError) as e:
        ctl.get_public_access_block(AccountId=account)
    assert code(e) == "NoSuchPublicAccessBlockConfiguration" and status(e) == 404
    ctl.put_public_access_block(AccountId=account,
                                PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    got = ctl.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]
    assert got == dict(NONE_BLOCKED, BlockPublicPolicy=True)
    ctl.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration=ALL_BLOCKED)
    got = ctl.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]
    assert got == ALL_BLOCKED
    # A configuration that names no setting changes nothing.
    with pytest.raises(ClientError) as e:
        ctl.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration={})
    assert code(e) == "InvalidRequest" and status(e) == 400
    got = ctl.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]
    assert got == ALL_BLOCKED
    ctl.delete_public_access_block(AccountId=account)
    ctl.delete_public_access_block(AccountId=account)
    with pytest.raises(ClientError) as e:
        ctl.get_public_access_block(AccountId=account)
    assert code(e) == "NoSuchPublicAccessBlockConfiguration"
    # Another account's settings are that account's: no resource policy lets this one in.
    with pytest.raises(ClientError) as e:
        ctl.put_public_access_block(AccountId="111122223333",
                                    PublicAccessBlockConfiguration=ALL_BLOCKED)
    assert code(e) == "AccessDenied" and status(e) == 403
    with pytest.raises(ClientError) as e:
        ctl.get_public_access_block(AccountId="111122223333")
    assert code(e) == "AccessDenied"
    # The calls are management events of S3 in the trail.
    trail = srv.client("cloudtrail")
    events = trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "PutPublicAccessBlock"}])["Events"]
    sources = {json.loads(e["CloudTrailEvent"])["eventSource"] for e in events}
    assert sources == {"s3.amazonaws.com"}


def test_account_actions_are_authorized(srv, account, ctl):
    iam = srv.client("iam")
    _, none = make_user(srv, iam)
    keys = none._request_signer._credentials
    denied = control(srv, keys.access_key, keys.secret_key)
    with pytest.raises(ClientError) as e:
        denied.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration=ALL_BLOCKED)
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        ctl.get_public_access_block(AccountId=account)
    assert code(e) == "NoSuchPublicAccessBlockConfiguration"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutAccountPublicAccessBlock", "Resource": "*"}]}
    _, writer = make_user(srv, iam, policy)
    keys = writer._request_signer._credentials
    writer = control(srv, keys.access_key, keys.secret_key)
    writer.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration=ALL_BLOCKED)
    # Reading needs s3:GetAccountPublicAccessBlock; deleting needs the put action.
    with pytest.raises(ClientError) as e:
        writer.get_public_access_block(AccountId=account)
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        denied.delete_public_access_block(AccountId=account)
    assert code(e) == "AccessDenied"
    assert ctl.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"] == ALL_BLOCKED
    writer.delete_public_access_block(AccountId=account)
    with pytest.raises(ClientError) as e:
        ctl.get_public_access_block(AccountId=account)
    assert code(e) == "NoSuchPublicAccessBlockConfiguration"


def test_account_block_public_policy_applies_to_every_bucket(srv, account, ctl):
    s3 = srv.client("s3")
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    ctl.put_public_access_block(AccountId=account,
                                PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=read_policy(bucket))
    assert code(e) == "AccessDenied" and "BlockPublicPolicy" in e.value.response["Error"]["Message"]
    # The bucket's own setting off does not lift the account's.
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=NONE_BLOCKED)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=read_policy(bucket))
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(e) == "NoSuchBucketPolicy"
    ctl.delete_public_access_block(AccountId=account)
    s3.put_bucket_policy(Bucket=bucket, Policy=read_policy(bucket))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True


def test_account_restrict_public_buckets_cuts_off_public_policies(srv, account, ctl):
    s3 = srv.client("s3")
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=read_policy(bucket))
    s3.put_object(Bucket=bucket, Key="pub/a.txt", Body=b"hello")
    assert anonymous(srv, f"/{bucket}/pub/a.txt") == (200, b"hello")
    ctl.put_public_access_block(AccountId=account,
                                PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert anonymous(srv, f"/{bucket}/pub/a.txt")[0] == 403
    assert anonymous(srv, f"/{bucket}/?list-type=2")[0] == 403
    # The owner's account still reads through its own identity.
    assert s3.get_object(Bucket=bucket, Key="pub/a.txt")["Body"].read() == b"hello"
    # The policy itself stays public (the settings restrict it, they do not change it).
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    ctl.delete_public_access_block(AccountId=account)
    assert anonymous(srv, f"/{bucket}/pub/a.txt") == (200, b"hello")


def test_aws_cli_sets_and_reads_the_account_settings(srv, account, ctl):
    env = {"HTTP_PROXY": srv.endpoint, "NO_PROXY": ""}
    srv.cli("s3control", "put-public-access-block", "--account-id", account,
            "--public-access-block-configuration",
            "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=false",
            env=env)
    out = srv.cli("s3control", "get-public-access-block", "--account-id", account, env=env)
    assert json.loads(out.stdout)["PublicAccessBlockConfiguration"] == dict(
        ALL_BLOCKED, RestrictPublicBuckets=False)
    srv.cli("s3control", "delete-public-access-block", "--account-id", account, env=env)
    out = srv.cli("s3control", "get-public-access-block", "--account-id", account, env=env, check=False)
    assert out.returncode != 0 and "NoSuchPublicAccessBlockConfiguration" in out.stderr
