"""AWS Config's further managed rules end to end with boto3: each turns NON_COMPLIANT when the
real resource (IAM policy, user, role, S3 bucket, trail, or the account's security services)
is changed, and COMPLIANT when it is fixed."""

import json
import uuid

import pytest

from botocore.config import Config

from test_config import ensure_recording, wait_compliance


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def put_rule(cfg, name, identifier, params=None):
    rule = {"ConfigRuleName": name, "Source": {"Owner": "AWS", "SourceIdentifier": identifier}}
    if params is not None:
        rule["InputParameters"] = json.dumps(params)
    cfg.put_config_rule(ConfigRule=rule)


@pytest.fixture
def rules(server):
    """The rules a test puts on the shared server, deleted after it (they would judge the
    resources of other tests)."""
    names = []
    yield names
    cfg = server.client("config")
    for name in names:
        cfg.delete_config_rule(ConfigRuleName=name)


def policy_doc(action, resource="*"):
    return json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    )


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_iam_rules_follow_policies_users_and_roles(server, rules):
    cfg = ensure_recording(server)
    rules += ["kms-customer", "kms-inline", "no-admin", "role-readonly"]
    iam = server.client("iam")
    put_rule(cfg, "kms-customer", "IAM_CUSTOMER_POLICY_BLOCKED_KMS_ACTIONS",
             {"blockedActionsPatterns": "kms:Decrypt*,kms:ReEncryptFrom"})
    put_rule(cfg, "kms-inline", "IAM_INLINE_POLICY_BLOCKED_KMS_ACTIONS",
             {"blockedActionsPatterns": "kms:Decrypt*"})
    put_rule(cfg, "no-admin", "IAM_POLICY_BLACKLISTED_CHECK")
    put_rule(cfg, "role-readonly", "IAM_ROLE_MANAGED_POLICY_CHECK",
             {"managedPolicyArns": READ_ONLY})

    policy = iam.create_policy(PolicyName=unique("kmswide"), PolicyDocument=policy_doc("kms:*"))
    pid, parn = policy["Policy"]["PolicyId"], policy["Policy"]["Arn"]
    wait_compliance(cfg, "kms-customer", "AWS::IAM::Policy", pid, "NON_COMPLIANT")
    narrow = policy_doc("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/one")
    iam.create_policy_version(PolicyArn=parn, PolicyDocument=narrow, SetAsDefault=True)
    wait_compliance(cfg, "kms-customer", "AWS::IAM::Policy", pid, "COMPLIANT")

    name = unique("rules-user")
    uid = iam.create_user(UserName=name)["User"]["UserId"]
    wait_compliance(cfg, "kms-inline", "AWS::IAM::User", uid, "COMPLIANT")
    iam.put_user_policy(UserName=name, PolicyName="kms", PolicyDocument=policy_doc("kms:Decrypt"))
    got = wait_compliance(cfg, "kms-inline", "AWS::IAM::User", uid, "NON_COMPLIANT")
    assert "kms" in got["Annotation"]
    iam.delete_user_policy(UserName=name, PolicyName="kms")
    wait_compliance(cfg, "kms-inline", "AWS::IAM::User", uid, "COMPLIANT")

    wait_compliance(cfg, "no-admin", "AWS::IAM::User", uid, "COMPLIANT")
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    wait_compliance(cfg, "no-admin", "AWS::IAM::User", uid, "NON_COMPLIANT")
    iam.detach_user_policy(UserName=name, PolicyArn=ADMIN)
    wait_compliance(cfg, "no-admin", "AWS::IAM::User", uid, "COMPLIANT")

    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    role = unique("rules-role")
    rid = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["RoleId"]
    wait_compliance(cfg, "role-readonly", "AWS::IAM::Role", rid, "NON_COMPLIANT")
    iam.attach_role_policy(RoleName=role, PolicyArn=READ_ONLY)
    wait_compliance(cfg, "role-readonly", "AWS::IAM::Role", rid, "COMPLIANT")


def test_s3_rules_follow_acls_lifecycle_lock_and_policies(server, rules):
    cfg = ensure_recording(server)
    rules += ["acl-prohibited", "lifecycle-30", "version-lifecycle", "lock-governance",
              "no-foreign-delete", "grantees"]
    s3 = server.client("s3")
    account = server.client("sts").get_caller_identity()["Account"]
    put_rule(cfg, "acl-prohibited", "S3_BUCKET_ACL_PROHIBITED")
    put_rule(cfg, "lifecycle-30", "S3_LIFECYCLE_POLICY_CHECK", {"targetExpirationDays": "30"})
    put_rule(cfg, "version-lifecycle", "S3_VERSION_LIFECYCLE_POLICY_CHECK")
    put_rule(cfg, "lock-governance", "S3_BUCKET_DEFAULT_LOCK_ENABLED", {"mode": "GOVERNANCE"})
    put_rule(cfg, "no-foreign-delete", "S3_BUCKET_BLACKLISTED_ACTIONS_PROHIBITED",
             {"blacklistedActionPattern": "s3:DeleteBucket"})
    put_rule(cfg, "grantees", "S3_BUCKET_POLICY_GRANTEE_CHECK", {"awsPrincipals": account})
    B = "AWS::S3::Bucket"

    bucket = unique("rules-b")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    wait_compliance(cfg, "acl-prohibited", B, bucket, "NON_COMPLIANT")
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    wait_compliance(cfg, "acl-prohibited", B, bucket, "COMPLIANT")

    wait_compliance(cfg, "lifecycle-30", B, bucket, "NON_COMPLIANT")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    wait_compliance(cfg, "version-lifecycle", B, bucket, "NON_COMPLIANT")
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 30}}]})
    wait_compliance(cfg, "lifecycle-30", B, bucket, "COMPLIANT")
    wait_compliance(cfg, "version-lifecycle", B, bucket, "COMPLIANT")

    wait_compliance(cfg, "lock-governance", B, bucket, "NON_COMPLIANT")
    locked = unique("rules-lock")
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    wait_compliance(cfg, "lock-governance", B, locked, "NON_COMPLIANT")
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    wait_compliance(cfg, "lock-governance", B, locked, "COMPLIANT")

    wait_compliance(cfg, "grantees", B, bucket, "COMPLIANT")
    foreign = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999900009999:root"},
        "Action": "s3:DeleteBucket", "Resource": f"arn:aws:s3:::{bucket}"}]})
    s3.put_bucket_policy(Bucket=bucket, Policy=foreign)
    wait_compliance(cfg, "no-foreign-delete", B, bucket, "NON_COMPLIANT")
    wait_compliance(cfg, "grantees", B, bucket, "NON_COMPLIANT")
    own = foreign.replace("999900009999", account)
    s3.put_bucket_policy(Bucket=bucket, Policy=own)
    wait_compliance(cfg, "no-foreign-delete", B, bucket, "COMPLIANT")
    wait_compliance(cfg, "grantees", B, bucket, "COMPLIANT")


def account_result(cfg, rule, account, want):
    return wait_compliance(cfg, rule, "AWS::::Account", account, want)


def rerun(cfg, *rules):
    cfg.start_config_rules_evaluation(ConfigRuleNames=list(rules))


def trail_bucket(server, account):
    s3 = server.client("s3")
    bucket = unique("rules-trail")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*"}]}))
    return bucket


def trail_key(server, account):
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "kms:GenerateDataKey*", "Resource": "*"}]}
    return server.client("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


def test_account_rules_follow_trails_and_security_services(fresh_server):
    server = fresh_server
    cfg = ensure_recording(server)
    account = server.client("sts").get_caller_identity()["Account"]
    rules = ["hub", "guardduty", "analyzer", "security-trail", "data-events", "account-block"]
    put_rule(cfg, "hub", "SECURITYHUB_ENABLED")
    put_rule(cfg, "guardduty", "GUARDDUTY_ENABLED_CENTRALIZED")
    put_rule(cfg, "analyzer", "IAM_EXTERNAL_ACCESS_ANALYZER_ENABLED")
    put_rule(cfg, "security-trail", "CLOUDTRAIL_SECURITY_TRAIL_ENABLED")
    put_rule(cfg, "data-events", "CLOUDTRAIL_S3_DATAEVENTS_ENABLED")
    put_rule(cfg, "account-block", "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS")
    for rule in rules:
        account_result(cfg, rule, account, "NON_COMPLIANT")

    server.client("securityhub").enable_security_hub(EnableDefaultStandards=False)
    detector = server.client("guardduty").create_detector(Enable=True)["DetectorId"]
    server.client("accessanalyzer").create_analyzer(analyzerName="external", type="ACCOUNT")
    rerun(cfg, "hub", "guardduty", "analyzer")
    for rule in ["hub", "guardduty", "analyzer"]:
        account_result(cfg, rule, account, "COMPLIANT")
    server.client("guardduty").update_detector(DetectorId=detector, Enable=False)
    rerun(cfg, "guardduty")
    account_result(cfg, "guardduty", account, "NON_COMPLIANT")

    ct = server.client("cloudtrail")
    ct.create_trail(Name="org", S3BucketName=trail_bucket(server, account),
                    IsMultiRegionTrail=True, EnableLogFileValidation=True)
    ct.start_logging(Name="org")
    rerun(cfg, "security-trail", "data-events")
    got = account_result(cfg, "security-trail", account, "NON_COMPLIANT")
    assert "SSE-KMS" in got["Annotation"]
    ct.update_trail(Name="org", KmsKeyId=trail_key(server, account))
    ct.put_event_selectors(TrailName="org", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])
    rerun(cfg, "security-trail", "data-events")
    account_result(cfg, "security-trail", account, "COMPLIANT")
    account_result(cfg, "data-events", account, "COMPLIANT")

    block = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
             "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    # The account id goes in the host name: route it to the server.
    control = server.client("s3control", config=Config(proxies={"http": server.endpoint}))
    control.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration=block)
    account_result(cfg, "account-block", account, "COMPLIANT")
    control.put_public_access_block(
        AccountId=account, PublicAccessBlockConfiguration={**block, "RestrictPublicBuckets": False})
    account_result(cfg, "account-block", account, "NON_COMPLIANT")
