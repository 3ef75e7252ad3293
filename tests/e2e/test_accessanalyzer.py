"""IAM Access Analyzer end to end with boto3: external access findings for role trust
policies, KMS key policies, Secrets Manager policies and S3 bucket policies under Block Public
Access; findings appear and resolve as policies change (the audit-stream consumer re-analyses
within seconds); organization analyzers trust member accounts; archive rules archive existing
and new findings."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from orgs import create_account

EXTERNAL = "999988887777"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def wait_for(check, timeout=15.0):
    """Polls `check` until it returns a truthy value; returns it."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.2)


def findings(aa, arn, resource=None, **criteria):
    flt = dict(criteria)
    if resource:
        flt["resource"] = {"eq": [resource]}
    return aa.list_findings(analyzerArn=arn, filter=flt)["findings"]


def trust(principal):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def account_analyzer(fresh_server):
    aa = fresh_server.client("accessanalyzer")
    arn = aa.create_analyzer(analyzerName="account", type="ACCOUNT")["arn"]
    return fresh_server, aa, arn


def test_analyzer_lifecycle_and_errors(fresh_server):
    aa = fresh_server.client("accessanalyzer")
    arn = aa.create_analyzer(analyzerName="a1", type="ACCOUNT", tags={"team": "sec"})["arn"]
    account = fresh_server.client("sts").get_caller_identity()["Account"]
    assert arn == f"arn:aws:access-analyzer:us-east-1:{account}:analyzer/a1"
    got = aa.get_analyzer(analyzerName="a1")["analyzer"]
    assert got["type"] == "ACCOUNT" and got["status"] == "ACTIVE" and got["tags"] == {"team": "sec"}
    assert [a["name"] for a in aa.list_analyzers()["analyzers"]] == ["a1"]
    assert aa.list_analyzers(type="ORGANIZATION")["analyzers"] == []
    with pytest.raises(ClientError) as e:
        aa.create_analyzer(analyzerName="a1", type="ACCOUNT")
    assert code(e) == "ConflictException"
    with pytest.raises(ClientError) as e:
        aa.create_analyzer(analyzerName="a2", type="ACCOUNT")
    assert code(e) == "ServiceQuotaExceededException"
    with pytest.raises(ClientError) as e:
        aa.create_analyzer(analyzerName="a3", type="ACCOUNT_EVERYTHING")
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aa.create_analyzer(analyzerName="a4", type="ORGANIZATION")
    assert code(e) == "ValidationException"
    aa.tag_resource(resourceArn=arn, tags={"env": "prod"})
    aa.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert aa.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "prod"}
    # Another region has its own analyzers.
    assert fresh_server.client("accessanalyzer", region="eu-west-1").list_analyzers()["analyzers"] == []
    aa.delete_analyzer(analyzerName="a1")
    with pytest.raises(ClientError) as e:
        aa.get_analyzer(analyzerName="a1")
    assert code(e) == "ResourceNotFoundException"


def test_role_trusting_another_account_gives_a_finding_that_resolves(account_analyzer):
    server, aa, arn = account_analyzer
    iam = server.client("iam")
    account = server.client("sts").get_caller_identity()["Account"]
    role = iam.create_role(
        RoleName="shared", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{EXTERNAL}:root"})
    )["Role"]["Arn"]
    iam.create_role(RoleName="own", AssumeRolePolicyDocument=trust({"AWS": account}))
    iam.create_role(RoleName="svc", AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    found = wait_for(lambda: findings(aa, arn, role))
    assert len(found) == 1
    f = found[0]
    assert f["principal"] == {"AWS": EXTERNAL}
    assert f["action"] == ["sts:AssumeRole"]
    assert f["resourceType"] == "AWS::IAM::Role"
    assert f["status"] == "ACTIVE" and f["isPublic"] is False
    assert f["resourceOwnerAccount"] == account
    assert f["condition"] == {}
    # Only the role trusting another account has a finding.
    assert {x["resource"] for x in findings(aa, arn, status={"eq": ["ACTIVE"]})} == {role}
    full = aa.get_finding(analyzerArn=arn, id=f["id"])["finding"]
    assert full["principal"] == {"AWS": EXTERNAL}
    v2 = aa.get_finding_v2(analyzerArn=arn, id=f["id"])
    assert v2["findingType"] == "ExternalAccess"
    assert v2["findingDetails"][0]["externalAccessDetails"]["principal"] == {"AWS": EXTERNAL}
    assert aa.list_findings_v2(analyzerArn=arn)["findings"][0]["id"] == f["id"]
    resource = aa.get_analyzed_resource(analyzerArn=arn, resourceArn=role)["resource"]
    assert resource["actions"] == ["sts:AssumeRole"] and resource["isPublic"] is False

    # Removing the grant resolves the finding, within seconds and without a scan.
    iam.update_assume_role_policy(RoleName="shared", PolicyDocument=trust({"AWS": account}))
    wait_for(lambda: findings(aa, arn, role)[0]["status"] == "RESOLVED")
    # Granting it again re-activates the same finding.
    iam.update_assume_role_policy(
        RoleName="shared", PolicyDocument=trust({"AWS": f"arn:aws:iam::{EXTERNAL}:root"})
    )
    again = wait_for(lambda: [x for x in findings(aa, arn, role) if x["status"] == "ACTIVE"])
    assert again[0]["id"] == f["id"]
    # Deleting the role resolves it too.
    iam.delete_role(RoleName="shared")
    wait_for(lambda: findings(aa, arn, role)[0]["status"] == "RESOLVED")
    stats = aa.get_findings_statistics(analyzerArn=arn)["findingsStatistics"][0]
    assert stats["externalAccessFindingsStatistics"]["totalResolvedFindings"] == 1


def test_conditions_to_the_account_give_no_finding_and_others_are_reported(account_analyzer):
    server, aa, arn = account_analyzer
    iam = server.client("iam")
    account = server.client("sts").get_caller_identity()["Account"]
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": account}},
            }
        ],
    }
    confined = iam.create_role(RoleName="confined", AssumeRolePolicyDocument=json.dumps(doc))["Role"]["Arn"]
    doc["Statement"][0]["Condition"] = {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}
    netted = iam.create_role(RoleName="netted", AssumeRolePolicyDocument=json.dumps(doc))["Role"]["Arn"]
    found = wait_for(lambda: findings(aa, arn, netted))
    assert found[0]["principal"] == {"AWS": "*"}
    assert found[0]["condition"] == {"aws:SourceIp": "192.0.2.0/24"}
    assert found[0]["isPublic"] is False
    aa.start_resource_scan(analyzerArn=arn, resourceArn=confined)
    assert findings(aa, arn, confined) == []
    assert aa.get_analyzed_resource(analyzerArn=arn, resourceArn=confined)["resource"]["isPublic"] is False


def test_organization_analyzer_trusts_member_accounts(fresh_server):
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    member = create_account(orgs, "member", "member@example.com")
    iam = fresh_server.client("iam")
    aa = fresh_server.client("accessanalyzer")
    role = iam.create_role(
        RoleName="to-member", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{member}:root"})
    )["Role"]["Arn"]
    outside = iam.create_role(
        RoleName="to-outside", AssumeRolePolicyDocument=trust({"AWS": EXTERNAL})
    )["Role"]["Arn"]
    org_arn = aa.create_analyzer(analyzerName="org", type="ORGANIZATION")["arn"]
    acct_arn = aa.create_analyzer(analyzerName="acct", type="ACCOUNT")["arn"]
    # The organization analyzer flags the outsider only; the account analyzer both.
    assert findings(aa, org_arn, role) == []
    assert [f["principal"] for f in findings(aa, org_arn, outside)] == [{"AWS": EXTERNAL}]
    assert [f["principal"] for f in findings(aa, acct_arn, role)] == [{"AWS": member}]
    assert aa.get_analyzer(analyzerName="org")["analyzer"]["type"] == "ORGANIZATION"


def test_public_bucket_policy_and_block_public_access(account_analyzer):
    server, aa, arn = account_analyzer
    s3 = server.client("s3")
    bucket = name("pub")
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/*"}
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    resource = f"arn:aws:s3:::{bucket}"
    found = wait_for(lambda: findings(aa, arn, resource))
    assert found[0]["isPublic"] is True
    assert found[0]["principal"] == {"AWS": "*"}
    assert found[0]["action"] == ["s3:GetObject"]
    assert found[0]["sources"] == [{"type": "POLICY"}]
    assert findings(aa, arn, resource, isPublic={"eq": ["true"]})
    # RestrictPublicBuckets: the public policy grants nothing outside the account any more.
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False, "IgnorePublicAcls": False,
            "BlockPublicPolicy": False, "RestrictPublicBuckets": True,
        },
    )
    wait_for(lambda: findings(aa, arn, resource)[0]["status"] == "RESOLVED")
    assert aa.get_analyzed_resource(analyzerArn=arn, resourceArn=resource)["resource"]["isPublic"] is False
    # Lifting it makes the same finding active again; deleting the policy resolves it.
    s3.delete_public_access_block(Bucket=bucket)
    wait_for(lambda: findings(aa, arn, resource)[0]["status"] == "ACTIVE")
    s3.delete_bucket_policy(Bucket=bucket)
    wait_for(lambda: findings(aa, arn, resource)[0]["status"] == "RESOLVED")


def test_public_bucket_acl_is_a_finding_unless_ignored(account_analyzer):
    server, aa, arn = account_analyzer
    s3 = server.client("s3")
    bucket = name("acl")
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    resource = f"arn:aws:s3:::{bucket}"
    found = wait_for(lambda: [f for f in findings(aa, arn, resource) if f["status"] == "ACTIVE"])
    assert found[0]["isPublic"] is True
    assert found[0]["sources"] == [{"type": "BUCKET_ACL"}]
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False, "IgnorePublicAcls": True,
            "BlockPublicPolicy": False, "RestrictPublicBuckets": False,
        },
    )
    wait_for(lambda: all(f["status"] == "RESOLVED" for f in findings(aa, arn, resource)))


def test_kms_key_policy_and_grant_to_another_account(account_analyzer):
    server, aa, arn = account_analyzer
    kms = server.client("kms")
    account = server.client("sts").get_caller_identity()["Account"]
    key = kms.create_key()["KeyMetadata"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Share", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{EXTERNAL}:root"},
             "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
        ],
    }
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(policy))
    found = wait_for(lambda: findings(aa, arn, key["Arn"]))
    assert found[0]["principal"] == {"AWS": EXTERNAL}
    assert found[0]["action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert found[0]["resourceType"] == "AWS::KMS::Key"
    # A grant to a role of another account is a finding of its own.
    grantee = "arn:aws:iam::111100001111:role/reader"
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee, Operations=["Encrypt"])
    wait_for(lambda: [f for f in findings(aa, arn, key["Arn"]) if f["principal"] == {"AWS": grantee}])
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    wait_for(
        lambda: [
            f for f in findings(aa, arn, key["Arn"])
            if f["principal"] == {"AWS": grantee} and f["status"] == "RESOLVED"
        ]
    )


def test_secret_policy_to_another_account(account_analyzer):
    server, aa, arn = account_analyzer
    sm = server.client("secretsmanager")
    secret = sm.create_secret(Name=name("s"), SecretString="x")["ARN"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{EXTERNAL}:role/app"},
             "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
        ],
    }
    sm.put_resource_policy(SecretId=secret, ResourcePolicy=json.dumps(policy))
    found = wait_for(lambda: findings(aa, arn, secret))
    assert found[0]["principal"] == {"AWS": f"arn:aws:iam::{EXTERNAL}:role/app"}
    assert found[0]["action"] == ["secretsmanager:GetSecretValue"]
    assert found[0]["resourceType"] == "AWS::SecretsManager::Secret"
    sm.delete_resource_policy(SecretId=secret)
    wait_for(lambda: findings(aa, arn, secret)[0]["status"] == "RESOLVED")


def test_archive_rules_archive_existing_and_new_findings(account_analyzer):
    server, aa, arn = account_analyzer
    iam = server.client("iam")
    first = iam.create_role(RoleName="first", AssumeRolePolicyDocument=trust({"AWS": EXTERNAL}))["Role"]["Arn"]
    wait_for(lambda: findings(aa, arn, first))
    aa.create_archive_rule(
        analyzerName="account", ruleName="trusted-partner",
        filter={"principal.AWS": {"eq": [EXTERNAL]}},
    )
    rule = aa.get_archive_rule(analyzerName="account", ruleName="trusted-partner")["archiveRule"]
    assert rule["filter"] == {"principal.AWS": {"eq": [EXTERNAL]}}
    assert [r["ruleName"] for r in aa.list_archive_rules(analyzerName="account")["archiveRules"]] == [
        "trusted-partner"
    ]
    with pytest.raises(ClientError) as e:
        aa.create_archive_rule(
            analyzerName="account", ruleName="trusted-partner", filter={"status": {"eq": ["ACTIVE"]}}
        )
    assert code(e) == "ConflictException"
    with pytest.raises(ClientError) as e:
        aa.create_archive_rule(analyzerName="account", ruleName="bad", filter={"colour": {"eq": ["x"]}})
    assert code(e) == "ValidationException"
    # The existing finding is archived; a new matching one is archived as it is made.
    assert findings(aa, arn, first)[0]["status"] == "ARCHIVED"
    second = iam.create_role(RoleName="second", AssumeRolePolicyDocument=trust({"AWS": EXTERNAL}))["Role"]["Arn"]
    assert wait_for(lambda: findings(aa, arn, second))[0]["status"] == "ARCHIVED"
    other = iam.create_role(RoleName="other", AssumeRolePolicyDocument=trust({"AWS": "123412341234"}))["Role"]["Arn"]
    assert wait_for(lambda: findings(aa, arn, other))[0]["status"] == "ACTIVE"
    # UpdateFindings brings one back; ApplyArchiveRule archives it again.
    fid = findings(aa, arn, first)[0]["id"]
    aa.update_findings(analyzerArn=arn, ids=[fid], status="ACTIVE")
    assert aa.get_finding(analyzerArn=arn, id=fid)["finding"]["status"] == "ACTIVE"
    aa.apply_archive_rule(analyzerArn=arn, ruleName="trusted-partner")
    assert aa.get_finding(analyzerArn=arn, id=fid)["finding"]["status"] == "ARCHIVED"
    active = findings(aa, arn, None, status={"eq": ["ACTIVE"]})
    assert [f["resource"] for f in active] == [other]
    aa.delete_archive_rule(analyzerName="account", ruleName="trusted-partner")
    assert aa.list_archive_rules(analyzerName="account")["archiveRules"] == []


def test_list_findings_sorts_pages_and_lists_resources(account_analyzer):
    server, aa, arn = account_analyzer
    iam = server.client("iam")
    for i in range(3):
        iam.create_role(RoleName=f"p{i}", AssumeRolePolicyDocument=trust({"AWS": EXTERNAL}))
    wait_for(lambda: len(findings(aa, arn)) == 3)
    page = aa.list_findings(
        analyzerArn=arn, maxResults=2, sort={"attributeName": "resource", "orderBy": "DESC"}
    )
    assert len(page["findings"]) == 2 and "nextToken" in page
    rest = aa.list_findings(
        analyzerArn=arn, maxResults=2, nextToken=page["nextToken"],
        sort={"attributeName": "resource", "orderBy": "DESC"},
    )
    names = [f["resource"].rsplit("/", 1)[1] for f in page["findings"] + rest["findings"]]
    assert names == ["p2", "p1", "p0"]
    listed = aa.list_analyzed_resources(analyzerArn=arn, resourceType="AWS::IAM::Role")["analyzedResources"]
    assert {r["resourceArn"].rsplit("/", 1)[1] for r in listed} >= {"p0", "p1", "p2"}
    with pytest.raises(ClientError) as e:
        aa.get_finding(analyzerArn=arn, id="00000000-0000-0000-0000-000000000000")
    assert code(e) == "ResourceNotFoundException"
