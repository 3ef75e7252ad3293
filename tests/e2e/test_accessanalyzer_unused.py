"""IAM Access Analyzer unused access analyzers end to end with boto3: an
ACCOUNT_UNUSED_ACCESS analyzer finds roles, access keys, console passwords and service
permissions not used within its unusedAccessAge, from Rampart's recorded last-accessed data on
the dev clock; what is used has no finding, and a finding resolves once its access is used
again or its key is deleted."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import advance, signin

DAY = 86400


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def allow(*actions):
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


def trust(account):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def user_with_key(iam, user, *actions):
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=allow(*actions))
    k = iam.create_access_key(UserName=user)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def by_type(aa, arn, **criteria):
    """Findings of the analyzer keyed (findingType, resource name), for the given filter."""
    out = {}
    for f in aa.list_findings_v2(analyzerArn=arn, filter=criteria)["findings"]:
        out[(f["findingType"], f["resource"].rsplit("/", 1)[-1])] = f
    return out


def details(aa, arn, finding):
    got = aa.get_finding_v2(analyzerArn=arn, id=finding["id"])
    assert got["findingType"] == finding["findingType"]
    assert len(got["findingDetails"]) == 1
    return got["findingDetails"][0]


def permissions(aa, arn):
    """The active UnusedPermission findings keyed (resource name, service namespace), each its
    unusedPermissionDetails with the finding's id."""
    out = {}
    for f in aa.list_findings_v2(
        analyzerArn=arn, filter={"findingType": {"eq": ["UnusedPermission"]}, "status": {"eq": ["ACTIVE"]}}
    )["findings"]:
        d = details(aa, arn, f)["unusedPermissionDetails"]
        out[(f["resource"].rsplit("/", 1)[-1], d["serviceNamespace"])] = dict(d, id=f["id"])
    return out


@pytest.fixture
def world(dev_server):
    """A role used through a user's session, an idle role, a user with a used and an unused key
    and an unused password, and a user whose password is used."""
    s = dev_server
    iam = s.client("iam")
    account = s.client("sts").get_caller_identity()["Account"]
    ops_key = user_with_key(iam, "ops", "sts:AssumeRole")
    alice_key = user_with_key(iam, "alice", "iam:GetUser", "kms:*")
    idle_key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.create_login_profile(UserName="alice", Password="Alice-pass-1234!")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Bob-pass-1234!")
    for role, actions in (("worker", ("kms:*", "secretsmanager:*")), ("idle", ("kms:*",))):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(account))
        iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=allow(*actions))
    return s, account, ops_key, alice_key, idle_key


def use(s, account, ops_key, alice_key, role="worker"):
    """Uses ops's key to assume `role` and call KMS with it, alice's key on IAM, bob's
    password; then waits for the last-accessed flush."""
    sts = s.client("sts", key=ops_key[0], secret=ops_key[1])
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="session")["Credentials"]
    s.client("kms", key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"]).list_keys()
    s.client("iam", key=alice_key[0], secret=alice_key[1]).get_user()
    assert signin(s, account=account, user="bob", password="Bob-pass-1234!")[0] == 200
    time.sleep(1.5)


def test_configuration_is_validated_and_shown(dev_server):
    aa = dev_server.client("accessanalyzer")
    for age in (0, 366):
        with pytest.raises(ClientError) as e:
            aa.create_analyzer(
                analyzerName="bad", type="ACCOUNT_UNUSED_ACCESS", configuration={"unusedAccess": {"unusedAccessAge": age}}
            )
        assert code(e) == "ValidationException"
    aa.create_analyzer(analyzerName="default", type="ACCOUNT_UNUSED_ACCESS")
    got = aa.get_analyzer(analyzerName="default")["analyzer"]
    assert got["type"] == "ACCOUNT_UNUSED_ACCESS"
    assert got["configuration"] == {"unusedAccess": {"unusedAccessAge": 90}}
    listed = aa.list_analyzers(type="ACCOUNT_UNUSED_ACCESS")["analyzers"]
    assert [a["name"] for a in listed] == ["default"] and "configuration" not in listed[0]
    # One account unused access analyzer per region; an external one is another type.
    with pytest.raises(ClientError) as e:
        aa.create_analyzer(analyzerName="second", type="ACCOUNT_UNUSED_ACCESS")
    assert code(e) == "ServiceQuotaExceededException"
    aa.create_analyzer(analyzerName="external", type="ACCOUNT")
    # V1 finding operations serve external access analyzers only.
    arn = listed[0]["arn"]
    with pytest.raises(ClientError) as e:
        aa.list_findings(analyzerArn=arn)
    assert code(e) == "ValidationException"


def test_unused_access_is_found_and_resolves_when_used(world):
    s, account, ops_key, alice_key, idle_key = world
    aa = s.client("accessanalyzer")
    arn = aa.create_analyzer(
        analyzerName="unused",
        type="ACCOUNT_UNUSED_ACCESS",
        configuration={"unusedAccess": {"unusedAccessAge": 1}},
    )["arn"]
    # Everything is younger than the window: nothing is unused yet.
    assert by_type(aa, arn) == {}

    advance(s, 2 * DAY)
    use(s, account, ops_key, alice_key)
    advance(s, 60)

    found = by_type(aa, arn, status={"eq": ["ACTIVE"]})
    assert set(found) == {
        ("UnusedIAMRole", "idle"),
        ("UnusedIAMUserAccessKey", "alice"),
        ("UnusedIAMUserPassword", "alice"),
        ("UnusedPermission", "alice"),
        ("UnusedPermission", "worker"),
    }
    assert found[("UnusedIAMRole", "idle")]["resourceType"] == "AWS::IAM::Role"
    assert found[("UnusedIAMUserPassword", "alice")]["resourceType"] == "AWS::IAM::User"
    assert found[("UnusedIAMRole", "idle")]["resourceOwnerAccount"] == account

    assert details(aa, arn, found[("UnusedIAMRole", "idle")]) == {"unusedIamRoleDetails": {}}
    assert details(aa, arn, found[("UnusedIAMUserAccessKey", "alice")]) == {
        "unusedIamUserAccessKeyDetails": {"accessKeyId": idle_key}
    }
    assert details(aa, arn, found[("UnusedIAMUserPassword", "alice")]) == {"unusedIamUserPasswordDetails": {}}
    # alice used IAM (not KMS); the worker role used KMS's ListKeys only (not Secrets
    # Manager): its other KMS actions are unused too. Tracked services list their actions.
    perms = permissions(aa, arn)
    assert set(perms) == {("alice", "kms"), ("worker", "kms"), ("worker", "secretsmanager")}
    alice_kms = perms[("alice", "kms")]
    assert "lastAccessed" not in alice_kms
    assert {"action": "kms:ListKeys"} in alice_kms["actions"]
    worker_kms = [a["action"] for a in perms[("worker", "kms")]["actions"]]
    assert "kms:Encrypt" in worker_kms and "kms:ListKeys" not in worker_kms
    assert "lastAccessed" in perms[("worker", "kms")]
    assert {"action": "secretsmanager:GetSecretValue"} in perms[("worker", "secretsmanager")]["actions"]
    found[("UnusedPermission", "worker")] = perms[("worker", "secretsmanager")]

    # The recommendation for the worker's unused Secrets Manager permissions keeps its KMS ones.
    worker = found[("UnusedPermission", "worker")]["id"]
    with pytest.raises(ClientError) as e:
        aa.get_finding_recommendation(analyzerArn=arn, id=worker)
    assert code(e) == "ResourceNotFoundException"
    aa.generate_finding_recommendation(analyzerArn=arn, id=worker)
    rec = aa.get_finding_recommendation(analyzerArn=arn, id=worker)
    assert rec["status"] == "SUCCEEDED" and rec["recommendationType"] == "UnusedPermissionRecommendation"
    assert rec["resourceArn"] == f"arn:aws:iam::{account}:role/worker"
    [step] = [s["unusedPermissionsRecommendedStep"] for s in rec["recommendedSteps"]]
    assert step["recommendedAction"] == "CREATE_POLICY" and step["existingPolicyId"] == "p"
    assert json.loads(step["recommendedPolicy"])["Statement"][0]["Action"] == ["kms:*"]
    with pytest.raises(ClientError) as e:
        aa.generate_finding_recommendation(analyzerArn=arn, id=found[("UnusedIAMRole", "idle")]["id"])
    assert code(e) == "ValidationException"

    stats = aa.get_findings_statistics(analyzerArn=arn)["findingsStatistics"][0]["unusedAccessFindingsStatistics"]
    assert stats["totalActiveFindings"] == 6
    assert {t["unusedAccessType"]: t["total"] for t in stats["unusedAccessTypeStatistics"]} == {
        "UnusedIAMRole": 1,
        "UnusedIAMUserAccessKey": 1,
        "UnusedIAMUserPassword": 1,
        "UnusedPermission": 3,
    }
    assert stats["topAccounts"][0]["account"] == account

    # Archiving holds across analyses.
    password = found[("UnusedIAMUserPassword", "alice")]["id"]
    aa.update_findings(analyzerArn=arn, ids=[password], status="ARCHIVED")
    advance(s, 60)
    assert aa.get_finding_v2(analyzerArn=arn, id=password)["status"] == "ARCHIVED"

    # The idle role used now, the idle key deleted: both findings resolve.
    use(s, account, ops_key, alice_key, role="idle")
    s.client("iam").delete_access_key(UserName="alice", AccessKeyId=idle_key)
    advance(s, 60)
    resolved = by_type(aa, arn, status={"eq": ["RESOLVED"]})
    assert ("UnusedIAMRole", "idle") in resolved
    assert ("UnusedIAMUserAccessKey", "alice") in resolved
    # The worker role, used within the last day, is no unused role.
    still = by_type(aa, arn, status={"eq": ["ACTIVE"]})
    assert ("UnusedIAMRole", "worker") not in still


def test_archive_rules_and_exclusions_apply(world):
    s, account, ops_key, alice_key, _ = world
    aa = s.client("accessanalyzer")
    s.client("iam").tag_role(RoleName="idle", Tags=[{"Key": "keep", "Value": "yes"}])
    arn = aa.create_analyzer(
        analyzerName="unused",
        type="ACCOUNT_UNUSED_ACCESS",
        configuration={
            "unusedAccess": {"unusedAccessAge": 1, "analysisRule": {"exclusions": [{"resourceTags": [{"keep": "yes"}]}]}}
        },
        archiveRules=[{"ruleName": "passwords", "filter": {"findingType": {"eq": ["UnusedIAMUserPassword"]}}}],
    )["arn"]
    got = aa.get_analyzer(analyzerName="unused")["analyzer"]["configuration"]["unusedAccess"]
    assert got["analysisRule"] == {"exclusions": [{"resourceTags": [{"keep": "yes"}]}]}
    advance(s, 2 * DAY)
    found = by_type(aa, arn)
    assert ("UnusedIAMRole", "idle") not in found
    assert found[("UnusedIAMUserPassword", "alice")]["status"] == "ARCHIVED"
    assert found[("UnusedIAMRole", "worker")]["status"] == "ACTIVE"

    # UpdateAnalyzer: a window of 3 days makes the 2-day-old access used again; the exclusion
    # stays when the analysis rule is left out.
    out = aa.update_analyzer(analyzerName="unused", configuration={"unusedAccess": {"unusedAccessAge": 3}})
    assert out["configuration"]["unusedAccess"]["unusedAccessAge"] == 3
    assert out["configuration"]["unusedAccess"]["analysisRule"]["exclusions"] == [{"resourceTags": [{"keep": "yes"}]}]
    found = by_type(aa, arn)
    assert found[("UnusedIAMRole", "worker")]["status"] == "RESOLVED"
    with pytest.raises(ClientError) as e:
        aa.update_analyzer(analyzerName="unused", configuration={"unusedAccess": {"unusedAccessAge": 400}})
    assert code(e) == "ValidationException"
    aa.create_analyzer(analyzerName="external", type="ACCOUNT")
    with pytest.raises(ClientError) as e:
        aa.update_analyzer(analyzerName="external", configuration={"unusedAccess": {"unusedAccessAge": 3}})
    assert code(e) == "ValidationException"


def test_organization_analyzer_covers_member_accounts(dev_server):
    from orgs import create_account, member_root

    s = dev_server
    orgs = s.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    member = create_account(orgs, "member", "member@example.com")
    key, secret = member_root(s, member)
    s.client("iam", key=key, secret=secret).create_role(RoleName="member-idle", AssumeRolePolicyDocument=trust(member))
    aa = s.client("accessanalyzer")
    with pytest.raises(ClientError) as e:
        aa.create_analyzer(
            analyzerName="bad",
            type="ACCOUNT_UNUSED_ACCESS",
            configuration={"unusedAccess": {"analysisRule": {"exclusions": [{"accountIds": [member]}]}}},
        )
    assert code(e) == "ValidationException"
    arn = aa.create_analyzer(
        analyzerName="org", type="ORGANIZATION_UNUSED_ACCESS", configuration={"unusedAccess": {"unusedAccessAge": 1}}
    )["arn"]
    advance(s, 2 * DAY)
    found = by_type(aa, arn)
    assert found[("UnusedIAMRole", "member-idle")]["resourceOwnerAccount"] == member
    # A member's root may not create an organization analyzer.
    with pytest.raises(ClientError) as e:
        s.client("accessanalyzer", key=key, secret=secret).create_analyzer(
            analyzerName="m", type="ORGANIZATION_UNUSED_ACCESS"
        )
    assert code(e) == "AccessDeniedException"
