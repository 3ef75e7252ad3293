"""IAM Access Analyzer policy generation end to end with boto3: a role is assumed and used for
a few IAM, KMS and S3 calls (one of them refused); the generation runs as a job, and the policy
generated from Rampart's audit trail allows exactly the calls that succeeded, one statement per
service; jobs are listed and an unknown job is refused. On a dev server, a job whose window
ends in the future stays IN_PROGRESS until the clock passes it: it can be canceled (and stays
CANCELED, without a policy), a second one is refused while it runs, and its clientToken
answers the same job."""

import datetime
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from conftest import advance

TRUST = lambda account: json.dumps(  # noqa: E731
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)
ALLOWED = ["iam:ListRoles", "iam:GetRole", "kms:ListKeys", "s3:ListAllMyBuckets", "s3:CreateBucket"]


def generate(aa, role_arn, start, **details):
    """Starts a generation over [start, now] and returns the job id."""
    trail = {
        "trails": [{"cloudTrailArn": "arn:aws:cloudtrail:us-east-1:000000000000:trail/t", "allRegions": True}],
        "accessRole": "arn:aws:iam::000000000000:role/reader",
        "startTime": start,
        "endTime": datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5),
    }
    trail.update(details)
    return aa.start_policy_generation(
        policyGenerationDetails={"principalArn": role_arn}, cloudTrailDetails=trail
    )["jobId"]


def wait_for(aa, job, seconds=30):
    """Polls GetGeneratedPolicy until the job is no longer IN_PROGRESS; returns the answer."""
    deadline = time.time() + seconds
    while True:
        got = aa.get_generated_policy(jobId=job)
        if got["jobDetails"]["status"] != "IN_PROGRESS" or time.time() > deadline:
            return got
        time.sleep(0.5)


def actions_of(policy):
    doc = json.loads(policy)
    assert doc["Version"] == "2012-10-17"
    out = {}
    for s in doc["Statement"]:
        assert s["Effect"] == "Allow" and s["Resource"] == "*"
        assert s["Action"] == sorted(s["Action"])
        prefixes = {a.split(":")[0] for a in s["Action"]}
        assert len(prefixes) == 1
        out[prefixes.pop()] = s["Action"]
    return out


def test_the_generated_policy_allows_what_the_role_did(server):
    iam = server.client("iam")
    account = server.client("sts").get_caller_identity()["Account"]
    role = f"gen-{uuid.uuid4().hex[:8]}"
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST(account))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=role,
        PolicyName="p",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ALLOWED, "Resource": "*"}]}
        ),
    )
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    time.sleep(1)
    # Root may not assume roles: a user with a key does.
    iam.create_user(UserName=role)
    iam.put_user_policy(
        UserName=role,
        PolicyName="p",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
        ),
    )
    k = iam.create_access_key(UserName=role)["AccessKey"]
    sts = server.client("sts", key=k["AccessKeyId"], secret=k["SecretAccessKey"])
    c = sts.assume_role(RoleArn=role_arn, RoleSessionName="gen-session")["Credentials"]
    creds = dict(key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])
    as_role = lambda svc: server.client(svc, **creds)  # noqa: E731
    as_role("iam").list_roles()
    as_role("iam").get_role(RoleName=role)
    as_role("kms").list_keys()
    as_role("s3").list_buckets()
    with pytest.raises(ClientError):
        as_role("iam").create_user(UserName=f"denied-{role}")
    time.sleep(1.5)

    aa = server.client("accessanalyzer")
    expected = {
        "iam": ["iam:GetRole", "iam:ListRoles"],
        "kms": ["kms:ListKeys"],
        "s3": ["s3:ListAllMyBuckets"],
    }
    job = generate(aa, role_arn, start)
    first = aa.get_generated_policy(jobId=job)
    assert first["jobDetails"]["status"] in ("IN_PROGRESS", "SUCCEEDED")
    got = wait_for(aa, job)
    assert got["jobDetails"]["jobId"] == job
    assert got["jobDetails"]["status"] == "SUCCEEDED"
    assert got["jobDetails"]["completedOn"] >= got["jobDetails"]["startedOn"]
    policies = got["generatedPolicyResult"]["generatedPolicies"]
    assert len(policies) == 1
    assert actions_of(policies[0]["policy"]) == expected
    # With resource placeholders, the action whose calls named their resource is scoped to it.
    scoped = aa.get_generated_policy(jobId=job, includeResourcePlaceholders=True)
    statements = json.loads(scoped["generatedPolicyResult"]["generatedPolicies"][0]["policy"])["Statement"]
    assert {"Effect": "Allow", "Action": ["iam:GetRole"], "Resource": [role_arn]} in statements
    assert {"Effect": "Allow", "Action": ["iam:ListRoles"], "Resource": "*"} in statements
    assert {"Effect": "Allow", "Action": ["kms:ListKeys"], "Resource": "*"} in statements
    props = got["generatedPolicyResult"]["properties"]
    assert props["principalArn"] == role_arn and props["isComplete"] is True
    trail = props["cloudTrailProperties"]
    assert trail["trailProperties"][0]["cloudTrailArn"].endswith(":trail/t")

    # Attached alone (the role's own policy replaced by the resource-level one), the generated
    # policy lets the same calls through and no other action of the same services.
    iam.put_role_policy(RoleName=role, PolicyName="p",
                        PolicyDocument=scoped["generatedPolicyResult"]["generatedPolicies"][0]["policy"])
    time.sleep(0.5)
    c = sts.assume_role(RoleArn=role_arn, RoleSessionName="replay")["Credentials"]
    creds = dict(key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])
    as_role("iam").list_roles()
    as_role("iam").get_role(RoleName=role)
    as_role("kms").list_keys()
    as_role("s3").list_buckets()
    for other in (lambda: as_role("iam").list_users(), lambda: as_role("kms").list_aliases(),
                  lambda: as_role("s3").create_bucket(Bucket=f"other-{role}"),
                  lambda: as_role("iam").get_role(RoleName="some-other-role")):
        with pytest.raises(ClientError) as e:
            other()
        assert e.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")

    listed = aa.list_policy_generations(principalArn=role_arn)["policyGenerations"]
    assert job in [g["jobId"] for g in listed]
    assert all(g["principalArn"] == role_arn and g["status"] == "SUCCEEDED" for g in listed)
    # Canceling a finished job leaves it as it is.
    aa.cancel_policy_generation(jobId=job)
    assert aa.get_generated_policy(jobId=job)["jobDetails"]["status"] == "SUCCEEDED"


def test_bad_requests_are_refused(server):
    aa = server.client("accessanalyzer")
    with pytest.raises(ClientError) as e:
        aa.cancel_policy_generation(jobId=str(uuid.uuid4()))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        aa.get_generated_policy(jobId=str(uuid.uuid4()))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        generate(aa, "arn:aws:s3:::bucket", datetime.datetime.now(datetime.timezone.utc))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        generate(aa, "arn:aws:iam::999999999999:role/elsewhere", datetime.datetime(2020, 1, 1))
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_a_job_in_progress_can_be_canceled_and_blocks_a_second(dev_server):
    aa = dev_server.client("accessanalyzer")
    iam = dev_server.client("iam")
    account = dev_server.client("sts").get_caller_identity()["Account"]
    role_arn = iam.create_role(RoleName="gen-cancel", AssumeRolePolicyDocument=TRUST(account))["Role"]["Arn"]
    now = datetime.datetime.now(datetime.timezone.utc)
    # The window ends in an hour: the job waits for it (the dev clock only moves when told).
    later = dict(endTime=now + datetime.timedelta(hours=1))
    job = generate(aa, role_arn, now - datetime.timedelta(hours=1), **later)
    details = aa.get_generated_policy(jobId=job)["jobDetails"]
    assert details["status"] == "IN_PROGRESS" and "completedOn" not in details

    with pytest.raises(ClientError) as e:
        generate(aa, role_arn, now - datetime.timedelta(hours=1), **later)
    assert e.value.response["Error"]["Code"] == "ServiceQuotaExceededException"

    aa.cancel_policy_generation(jobId=job)
    got = aa.get_generated_policy(jobId=job)
    assert got["jobDetails"]["status"] == "CANCELED" and "completedOn" in got["jobDetails"]
    # The job runs once the window has ended, and the canceled generation stays without result.
    advance(dev_server, 2 * 3600)
    got = aa.get_generated_policy(jobId=job)
    assert got["jobDetails"]["status"] == "CANCELED"
    assert "generatedPolicies" not in got["generatedPolicyResult"]

    # The same clientToken answers the same job; the job completes when the clock passes its end.
    start = datetime.datetime.fromtimestamp(advance(dev_server, 0)["epoch_seconds"], datetime.timezone.utc)
    args = dict(
        policyGenerationDetails={"principalArn": role_arn},
        cloudTrailDetails={
            "trails": [{"cloudTrailArn": "arn:aws:cloudtrail:us-east-1:000000000000:trail/t"}],
            "accessRole": "arn:aws:iam::000000000000:role/reader",
            "startTime": start - datetime.timedelta(hours=1),
            "endTime": start + datetime.timedelta(hours=1),
        },
        clientToken="token-1",
    )
    second = aa.start_policy_generation(**args)["jobId"]
    assert aa.start_policy_generation(**args)["jobId"] == second
    assert aa.get_generated_policy(jobId=second)["jobDetails"]["status"] == "IN_PROGRESS"
    advance(dev_server, 2 * 3600)
    got = aa.get_generated_policy(jobId=second)
    assert got["jobDetails"]["status"] == "SUCCEEDED"
    assert len(got["generatedPolicyResult"]["generatedPolicies"]) == 1
    statuses = {g["jobId"]: g["status"] for g in aa.list_policy_generations()["policyGenerations"]}
    assert statuses == {job: "CANCELED", second: "SUCCEEDED"}


def test_a_deleted_principal_fails_the_job(dev_server):
    aa = dev_server.client("accessanalyzer")
    iam = dev_server.client("iam")
    account = dev_server.client("sts").get_caller_identity()["Account"]
    role_arn = iam.create_role(RoleName="gen-gone", AssumeRolePolicyDocument=TRUST(account))["Role"]["Arn"]
    now = datetime.datetime.fromtimestamp(advance(dev_server, 0)["epoch_seconds"], datetime.timezone.utc)
    job = generate(aa, role_arn, now - datetime.timedelta(hours=1), endTime=now + datetime.timedelta(hours=1))
    iam.delete_role(RoleName="gen-gone")
    advance(dev_server, 2 * 3600)
    details = aa.get_generated_policy(jobId=job)["jobDetails"]
    assert details["status"] == "FAILED"
    assert details["jobError"]["code"] == "RESOURCE_NOT_FOUND_ERROR"
