"""IAM Access Analyzer access previews end to end with boto3: a proposed bucket policy granting
another account previews as a NEW finding; a proposal removing a public grant shows the
existing finding as CHANGED to RESOLVED and an unchanged grant as UNCHANGED; proposed KMS
grants, role trust policies and secret policies are analysed the same way; bad requests get
AWS's errors and an unparsable policy fails the preview."""

import json

import pytest
from botocore.exceptions import ClientError

from test_accessanalyzer import EXTERNAL, code, findings, name, trust, wait_for
from orgs import create_account


def bucket_policy(bucket, *principals):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": p, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
                for p in principals
            ],
        }
    )


def preview_findings(aa, arn, configurations, **filter_):
    pid = aa.create_access_preview(analyzerArn=arn, configurations=configurations)["id"]
    preview = aa.get_access_preview(accessPreviewId=pid, analyzerArn=arn)["accessPreview"]
    assert preview["status"] == "COMPLETED", preview
    assert preview["configurations"].keys() == configurations.keys()
    return pid, aa.list_access_preview_findings(accessPreviewId=pid, analyzerArn=arn, filter=filter_)["findings"]


@pytest.fixture
def analyzer(fresh_server):
    aa = fresh_server.client("accessanalyzer")
    arn = aa.create_analyzer(analyzerName="account", type="ACCOUNT")["arn"]
    return fresh_server, aa, arn


def test_a_policy_granting_another_account_is_a_new_finding(analyzer):
    server, aa, arn = analyzer
    s3 = server.client("s3")
    bucket = name("prev")
    s3.create_bucket(Bucket=bucket)
    resource = f"arn:aws:s3:::{bucket}"
    config = {resource: {"s3Bucket": {"bucketPolicy": bucket_policy(bucket, {"AWS": f"arn:aws:iam::{EXTERNAL}:root"})}}}
    pid, found = preview_findings(aa, arn, config)
    assert len(found) == 1
    f = found[0]
    assert f["changeType"] == "NEW" and f["status"] == "ACTIVE"
    assert f["principal"] == {"AWS": EXTERNAL} and f["action"] == ["s3:GetObject"]
    assert f["resource"] == resource and f["resourceType"] == "AWS::S3::Bucket"
    assert "existingFindingId" not in f
    # Nothing was changed: the bucket has no policy and the analyzer no finding.
    assert findings(aa, arn, resource) == []
    listed = aa.list_access_previews(analyzerArn=arn)["accessPreviews"]
    assert [p["id"] for p in listed] == [pid] and listed[0]["status"] == "COMPLETED"
    assert listed[0]["analyzerArn"] == arn
    # An archive rule matching the grant: the preview finding would be archived.
    aa.create_archive_rule(analyzerName="account", ruleName="trusted", filter={"principal.AWS": {"eq": [EXTERNAL]}})
    _, found = preview_findings(aa, arn, config)
    assert [(f["changeType"], f["status"]) for f in found] == [("NEW", "ARCHIVED")]
    _, found = preview_findings(aa, arn, config, status={"eq": ["ACTIVE"]})
    assert found == []
    aa.delete_archive_rule(analyzerName="account", ruleName="trusted")
    # A new bucket (not stored) is previewed too; the same grant on it is NEW.
    other = f"arn:aws:s3:::{name('new')}"
    _, found = preview_findings(aa, arn, {other: {"s3Bucket": {"bucketPolicy": bucket_policy(other[13:], {"AWS": EXTERNAL})}}})
    assert [f["changeType"] for f in found] == ["NEW"]


def test_removing_a_public_grant_shows_the_finding_changed_to_resolved(analyzer):
    server, aa, arn = analyzer
    s3 = server.client("s3")
    bucket = name("pub")
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    external = {"AWS": f"arn:aws:iam::{EXTERNAL}:root"}
    s3.put_bucket_policy(Bucket=bucket, Policy=bucket_policy(bucket, "*", external))
    resource = f"arn:aws:s3:::{bucket}"
    existing = wait_for(lambda: len(findings(aa, arn, resource)) == 2 and findings(aa, arn, resource))
    public = next(f for f in existing if f["isPublic"])
    kept = next(f for f in existing if not f["isPublic"])

    _, found = preview_findings(aa, arn, {resource: {"s3Bucket": {"bucketPolicy": bucket_policy(bucket, external)}}})
    by_existing = {f["existingFindingId"]: f for f in found}
    assert set(by_existing) == {public["id"], kept["id"]}
    gone = by_existing[public["id"]]
    assert gone["changeType"] == "CHANGED" and gone["status"] == "RESOLVED"
    assert gone["existingFindingStatus"] == "ACTIVE" and gone["isPublic"] is True
    same = by_existing[kept["id"]]
    assert same["changeType"] == "UNCHANGED" and same["status"] == "ACTIVE"
    assert gone["id"] not in (public["id"], kept["id"])

    # Block Public Access (RestrictPublicBuckets) proposed instead: while the policy is public
    # it serves only the owner's account, so both grants would resolve.
    bpa = {"ignorePublicAcls": False, "restrictPublicBuckets": True}
    _, found = preview_findings(
        aa, arn, {resource: {"s3Bucket": {"bucketPublicAccessBlock": bpa}}}, changeType={"eq": ["CHANGED"]}
    )
    assert {f["existingFindingId"] for f in found} == {public["id"], kept["id"]}
    _, found = preview_findings(
        aa, arn, {resource: {"s3Bucket": {"bucketPublicAccessBlock": bpa}}}, changeType={"eq": ["NEW"]}
    )
    assert found == []
    # Deleting the policy (an empty string) resolves both; the stored finding stays ACTIVE.
    _, found = preview_findings(aa, arn, {resource: {"s3Bucket": {"bucketPolicy": ""}}})
    assert sorted(f["status"] for f in found) == ["RESOLVED", "RESOLVED"]
    assert {f["status"] for f in findings(aa, arn, resource)} == {"ACTIVE"}


def test_keys_roles_and_secrets_are_previewed(analyzer):
    server, aa, arn = analyzer
    account = server.client("sts").get_caller_identity()["Account"]
    key = server.client("kms").create_key()["KeyMetadata"]["Arn"]
    grant = {"operations": ["Decrypt"], "granteePrincipal": f"arn:aws:iam::{EXTERNAL}:root", "issuingAccount": account}
    _, found = preview_findings(aa, arn, {key: {"kmsKey": {"grants": [grant]}}})
    assert [(f["changeType"], f["action"]) for f in found] == [("NEW", ["kms:Decrypt"])]

    role = name("r")
    iam = server.client("iam")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{EXTERNAL}:root"}))["Role"]["Arn"]
    existing = wait_for(lambda: findings(aa, arn, role_arn))
    _, found = preview_findings(aa, arn, {role_arn: {"iamRole": {"trustPolicy": trust({"AWS": f"arn:aws:iam::{account}:root"})}}})
    assert [(f["changeType"], f["status"], f["existingFindingId"]) for f in found] == [
        ("CHANGED", "RESOLVED", existing[0]["id"])
    ]

    sm = server.client("secretsmanager")
    secret = sm.create_secret(Name=name("s"), SecretString="x")["ARN"]
    policy = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": EXTERNAL}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    )
    _, found = preview_findings(aa, arn, {secret: {"secretsManagerSecret": {"secretPolicy": policy}}})
    assert [(f["changeType"], f["resourceType"]) for f in found] == [("NEW", "AWS::SecretsManager::Secret")]


def test_bad_requests_and_invalid_configurations(analyzer):
    server, aa, arn = analyzer
    bucket = "arn:aws:s3:::some-bucket"
    with pytest.raises(ClientError) as e:
        aa.create_access_preview(analyzerArn=arn + "x", configurations={bucket: {"s3Bucket": {}}})
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        aa.create_access_preview(analyzerArn=arn, configurations={bucket: {"iamRole": {}}})
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aa.create_access_preview(
            analyzerArn=arn, configurations={"arn:aws:sqs:us-east-1:000000000000:q": {"sqsQueue": {}}}
        )
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aa.get_access_preview(accessPreviewId="00000000-0000-0000-0000-000000000000", analyzerArn=arn)
    assert code(e) == "ResourceNotFoundException"
    assert aa.list_access_previews(analyzerArn=arn)["accessPreviews"] == []

    # A policy that does not parse: the preview fails with INVALID_CONFIGURATION.
    pid = aa.create_access_preview(analyzerArn=arn, configurations={bucket: {"s3Bucket": {"bucketPolicy": "{nope"}}})["id"]
    got = aa.get_access_preview(accessPreviewId=pid, analyzerArn=arn)["accessPreview"]
    assert got["status"] == "FAILED" and got["statusReason"] == {"code": "INVALID_CONFIGURATION"}
    with pytest.raises(ClientError) as e:
        aa.list_access_preview_findings(accessPreviewId=pid, analyzerArn=arn)
    assert code(e) == "ConflictException"

    # The same clientToken answers the same preview.
    config = {bucket: {"s3Bucket": {"bucketPolicy": ""}}}
    first = aa.create_access_preview(analyzerArn=arn, configurations=config, clientToken="t1")["id"]
    assert aa.create_access_preview(analyzerArn=arn, configurations=config, clientToken="t1")["id"] == first

    unused = aa.create_analyzer(analyzerName="unused", type="ACCOUNT_UNUSED_ACCESS")["arn"]
    with pytest.raises(ClientError) as e:
        aa.create_access_preview(analyzerArn=unused, configurations=config)
    assert code(e) == "ValidationException"


def test_an_organization_analyzer_previews_with_its_zone_of_trust(fresh_server):
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    member = create_account(orgs, "member", "member@example.com")
    aa = fresh_server.client("accessanalyzer")
    org_arn = aa.create_analyzer(analyzerName="org", type="ORGANIZATION")["arn"]
    acct_arn = aa.create_analyzer(analyzerName="acct", type="ACCOUNT")["arn"]
    account = fresh_server.client("sts").get_caller_identity()["Account"]
    role = f"arn:aws:iam::{account}:role/{name('new-role')}"
    config = {role: {"iamRole": {"trustPolicy": trust({"AWS": f"arn:aws:iam::{member}:root"})}}}
    # A member account is inside the organization's zone, outside the account's.
    assert preview_findings(aa, org_arn, config)[1] == []
    _, found = preview_findings(aa, acct_arn, config)
    assert [(f["changeType"], f["principal"]) for f in found] == [("NEW", {"AWS": member})]
