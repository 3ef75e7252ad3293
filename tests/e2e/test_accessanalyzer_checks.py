"""IAM Access Analyzer's custom policy checks end to end with boto3: CheckAccessNotGranted,
CheckNoNewAccess and CheckNoPublicAccess answer PASS and FAIL with AWS's messages and
reasons (statement index and Sid), ValidationException for inputs AWS refuses,
authorization of access-analyzer:Check* on `*`, and `rampart policy check` giving the same
answers offline."""

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import BIN

BUCKET = "arn:aws:s3:::DOC-EXAMPLE-BUCKET"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


READ = doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [BUCKET, f"{BUCKET}/*"]})


def test_access_not_granted_pass_and_fail(server):
    aa = server.client("accessanalyzer")
    out = aa.check_access_not_granted(
        policyDocument=READ, policyType="IDENTITY_POLICY",
        access=[{"actions": ["s3:DeleteBucket", "s3:GetBucketLocation"]}])
    assert out["result"] == "PASS"
    assert out["message"] == (
        "The policy document does not grant access to perform the listed actions or resources.")
    assert "reasons" not in out

    policy = doc({"Sid": "AllowJohnDoe", "Effect": "Allow",
                  "Principal": {"AWS": "arn:aws:iam::123456789012:user/JohnDoe"},
                  "Action": "s3:PutObject", "Resource": "arn:aws:s3:::my-bucket/*"})
    out = aa.check_access_not_granted(policyDocument=policy, policyType="RESOURCE_POLICY",
                                      access=[{"resources": ["arn:aws:s3:::my-bucket/*"]}])
    assert out["result"] == "FAIL"
    assert out["message"] == (
        "The policy document grants access to perform one or more of the listed actions or resources.")
    assert out["reasons"] == [{
        "description": "One or more of the listed actions or resources in the statement with sid: AllowJohnDoe.",
        "statementIndex": 0, "statementId": "AllowJohnDoe"}]
    out = aa.check_access_not_granted(policyDocument=policy, policyType="RESOURCE_POLICY",
                                      access=[{"resources": ["arn:aws:s3:::sensitive-bucket/*"]}])
    assert out["result"] == "PASS"


def test_access_not_granted_wildcards_not_action_conditions_and_denies(server):
    aa = server.client("accessanalyzer")
    policy = doc(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:Get*", "Resource": "*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
        {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"},
    )

    def check(actions):
        return aa.check_access_not_granted(policyDocument=policy, policyType="IDENTITY_POLICY",
                                           access=[{"actions": actions}])

    # Covered by the unconditional Deny.
    assert check(["s3:DeleteBucket"])["result"] == "PASS"
    # Outside NotAction, and a conditional Allow may allow: statement 1.
    out = check(["IAM:GetUser"])
    assert out["result"] == "FAIL"
    assert out["reasons"] == [{"description": "One or more of the listed actions or resources "
                                              "in the statement with index: 1.",
                               "statementIndex": 1}]
    assert check(["iam:CreateUser"])["result"] == "PASS"
    assert [r["statementIndex"] for r in check(["kms:*", "iam:*"])["reasons"]] == [0, 1]


def test_no_new_access(server):
    aa = server.client("accessanalyzer")
    new = doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectAcl", "s3:ListBucket"],
               "Resource": [BUCKET, f"{BUCKET}/*"]})
    out = aa.check_no_new_access(newPolicyDocument=new, existingPolicyDocument=READ,
                                 policyType="IDENTITY_POLICY")
    assert out == {**out, "result": "FAIL",
                   "message": "The modified permissions grant new access compared to your existing policy.",
                   "reasons": [{"description": "New access in the statement with index: 0.",
                                "statementIndex": 0}]}
    narrower = doc({"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
                    "Resource": f"{BUCKET}/reports/*"})
    out = aa.check_no_new_access(newPolicyDocument=narrower, existingPolicyDocument=READ,
                                 policyType="IDENTITY_POLICY")
    assert out["result"] == "PASS"
    assert "reasons" not in out
    # Reversed, the narrower policy is the existing one: new access, named by Sid.
    wider = doc({"Sid": "Wide", "Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    out = aa.check_no_new_access(newPolicyDocument=wider, existingPolicyDocument=narrower,
                                 policyType="IDENTITY_POLICY")
    assert out["reasons"] == [{"description": "New access in the statement with sid: Wide.",
                               "statementIndex": 0, "statementId": "Wide"}]


def test_no_new_access_resource_policies_and_dropped_denies(server):
    aa = server.client("accessanalyzer")
    existing = doc(
        {"Effect": "Allow", "Principal": {"AWS": ["111122223333", "444455556666"]},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )
    kept = doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )
    check = lambda new: aa.check_no_new_access(  # noqa: E731
        newPolicyDocument=new, existingPolicyDocument=existing, policyType="RESOURCE_POLICY")
    assert check(kept)["result"] == "PASS"
    more = doc({"Effect": "Allow", "Principal": {"AWS": ["111122223333", "555566667777"]},
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
               json.loads(kept)["Statement"][1])
    assert check(more)["reasons"][0]["statementIndex"] == 0
    dropped = doc(json.loads(kept)["Statement"][0])
    out = check(dropped)
    assert out["result"] == "FAIL"
    assert [r["statementIndex"] for r in out["reasons"]] == [0]


def test_no_public_access(server):
    aa = server.client("accessanalyzer")
    named = doc({"Sid": "Bob", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::111122223333:user/JohnDoe"},
                 "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"})
    out = aa.check_no_public_access(policyDocument=named, resourceType="AWS::S3::Bucket")
    assert out == {**out, "result": "PASS",
                   "message": "The resource policy does not grant public access for the given resource type."}
    public = doc({"Sid": "Bob", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                  "Resource": "arn:aws:s3:::b/*"})
    out = aa.check_no_public_access(policyDocument=public, resourceType="AWS::S3::Bucket")
    assert out["result"] == "FAIL"
    assert out["message"] == "The resource policy grants public access for the given resource type."
    assert out["reasons"] == [{"description": "Public access granted in the following statement with sid: Bob.",
                               "statementIndex": 0, "statementId": "Bob"}]
    # Limited to an organization: not public. S3 actions on a queue: not public either.
    org = doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
               "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}})
    assert aa.check_no_public_access(policyDocument=org, resourceType="AWS::S3::Bucket")["result"] == "PASS"
    assert aa.check_no_public_access(policyDocument=public, resourceType="AWS::SQS::Queue")["result"] == "PASS"
    trust = doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    out = aa.check_no_public_access(policyDocument=trust,
                                    resourceType="AWS::IAM::AssumeRolePolicyDocument")
    assert out["result"] == "FAIL"


@pytest.mark.parametrize("call", [
    # No access, or an access with neither actions nor resources.
    lambda aa: aa.check_access_not_granted(policyDocument=READ, policyType="IDENTITY_POLICY", access=[]),
    lambda aa: aa.check_access_not_granted(policyDocument=READ, policyType="IDENTITY_POLICY", access=[{}]),
    # More than one access, more than 100 actions.
    lambda aa: aa.check_access_not_granted(policyDocument=READ, policyType="IDENTITY_POLICY",
                                           access=[{"actions": ["s3:GetObject"]}] * 2),
    lambda aa: aa.check_access_not_granted(policyDocument=READ, policyType="IDENTITY_POLICY",
                                           access=[{"actions": ["s3:GetObject"] * 101}]),
    # A wildcard outside the resource part of an ARN; an action without a service.
    lambda aa: aa.check_access_not_granted(policyDocument=READ, policyType="IDENTITY_POLICY",
                                           access=[{"resources": ["arn:aws:s3:*::b"]}]),
    lambda aa: aa.check_access_not_granted(policyDocument=READ, policyType="IDENTITY_POLICY",
                                           access=[{"actions": ["GetObject"]}]),
    # A policy that is not JSON, or not valid for its type; an unknown policy or resource type.
    lambda aa: aa.check_no_new_access(newPolicyDocument="{", existingPolicyDocument=READ,
                                      policyType="IDENTITY_POLICY"),
    lambda aa: aa.check_no_new_access(newPolicyDocument=READ, existingPolicyDocument=READ,
                                      policyType="SERVICE_CONTROL_POLICY"),
    lambda aa: aa.check_no_public_access(policyDocument=READ, resourceType="AWS::S3::Bucket"),
    lambda aa: aa.check_no_public_access(policyDocument=READ, resourceType="AWS::EC2::Instance"),
])
def test_validation_errors(server, call):
    with pytest.raises(ClientError) as e:
        call(server.client("accessanalyzer"))
    assert code(e) == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_authorized_on_star(server):
    iam = server.client("iam")
    name = f"checker-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    aa = server.client("accessanalyzer", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        aa.check_no_new_access(newPolicyDocument=READ, existingPolicyDocument=READ,
                               policyType="IDENTITY_POLICY")
    assert code(e) == "AccessDeniedException"
    iam.put_user_policy(UserName=name, PolicyName="checks", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "access-analyzer:Check*", "Resource": "*"}))
    assert aa.check_no_new_access(newPolicyDocument=READ, existingPolicyDocument=READ,
                                  policyType="IDENTITY_POLICY")["result"] == "PASS"
    assert aa.check_no_public_access(policyDocument=doc(
        {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"}),
        resourceType="AWS::S3::Bucket")["result"] == "PASS"


def test_cli_gives_the_same_answers_offline(server, tmp_path):
    new = tmp_path / "new.json"
    new.write_text(doc({"Sid": "Wide", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    existing = tmp_path / "existing.json"
    existing.write_text(READ)
    run = subprocess.run([BIN, "policy", "check", str(new), "--existing", str(existing)],
                         capture_output=True, text=True)
    api = server.client("accessanalyzer").check_no_new_access(
        newPolicyDocument=new.read_text(), existingPolicyDocument=READ, policyType="IDENTITY_POLICY")
    assert run.returncode != 0
    assert run.stdout.splitlines() == [f"FAIL: {api['message']}",
                                       f"  - {api['reasons'][0]['description']}"]
    # The same check under its own name, old policy first, for CI pipelines.
    named = subprocess.run([BIN, "policy", "check-no-new-access", str(existing), str(new)],
                           capture_output=True, text=True)
    assert named.returncode != 0 and named.stdout == run.stdout
    same = subprocess.run([BIN, "policy", "check-no-new-access", str(existing), str(existing)],
                          capture_output=True, text=True)
    assert same.returncode == 0 and same.stdout.startswith("PASS"), same.stdout
    run = subprocess.run([BIN, "policy", "check", str(existing), "--action", "s3:DeleteBucket"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    assert run.stdout.startswith("PASS: ")
    run = subprocess.run([BIN, "policy", "check", str(new), "--policy-type", "RESOURCE_POLICY",
                          "--public-for", "AWS::S3::Bucket"], capture_output=True, text=True)
    assert run.returncode != 0 and "ValidationException" in run.stdout
