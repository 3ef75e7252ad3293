"""Partitions end to end with boto3: a server configured for a China or GovCloud region mints
every ARN in that partition (`arn:aws-cn:`, `arn:aws-us-gov:`), accepts only that partition's
ARNs in policies and role ARNs, and refuses requests signed for a region of another
partition."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import Server
from test_fidelity import CASES, attempt, body

CN = "cn-north-1"
GOV = "us-gov-west-1"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def message(excinfo):
    return excinfo.value.response["Error"]["Message"]


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def policy(resource, action="s3:ListBucket"):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
        }
    )


@pytest.fixture(scope="module")
def cn_server():
    s = Server("--region", CN)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def gov_server():
    s = Server("--region", GOV)
    yield s
    s.stop()


def test_sts_and_iam_arns_are_in_the_china_partition(cn_server):
    sts = cn_server.client("sts", region=CN)
    me = sts.get_caller_identity()
    assert me["Arn"] == f"arn:aws-cn:iam::{me['Account']}:root"
    iam = cn_server.client("iam", region=CN)
    user = iam.create_user(UserName=name("u"), Path="/team/")["User"]
    assert user["Arn"] == f"arn:aws-cn:iam::{me['Account']}:user/team/{user['UserName']}"
    role = iam.create_role(
        RoleName=name("r"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws-cn:iam::{me['Account']}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    assert role["Arn"].startswith(f"arn:aws-cn:iam::{me['Account']}:role/")
    made = iam.create_policy(PolicyName=name("p"), PolicyDocument=policy("arn:aws-cn:s3:::b"))
    assert made["Policy"]["Arn"].startswith(f"arn:aws-cn:iam::{me['Account']}:policy/")


def test_aws_managed_policies_carry_the_partition(cn_server):
    iam = cn_server.client("iam", region=CN)
    listed = iam.list_policies(Scope="AWS")["Policies"]
    assert listed and all(p["Arn"].startswith("arn:aws-cn:iam::aws:policy/") for p in listed)
    user = iam.create_user(UserName=name("m"))["User"]["UserName"]
    iam.attach_user_policy(
        UserName=user, PolicyArn="arn:aws-cn:iam::aws:policy/ReadOnlyAccess"
    )
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws-cn:iam::aws:policy/ReadOnlyAccess"]
    # The commercial ARN names no policy in China.
    with pytest.raises(ClientError) as e:
        iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert code(e) in ("NoSuchEntity", "InvalidInput")
    assert len(iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]) == 1


def test_a_policy_naming_the_commercial_partition_is_refused_with_iams_text(cn_server):
    iam = cn_server.client("iam", region=CN)
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName=name("p"), PolicyDocument=policy("arn:aws:s3:::x"))
    assert code(e) == "MalformedPolicyDocument"
    assert message(e) == 'Partition "aws" is not valid for resource "arn:aws:s3:::x".'
    user = iam.create_user(UserName=name("i"))["User"]["UserName"]
    with pytest.raises(ClientError) as e:
        iam.put_user_policy(
            UserName=user, PolicyName="p", PolicyDocument=policy("arn:aws:s3:::x/*")
        )
    assert message(e) == 'Partition "aws" is not valid for resource "arn:aws:s3:::x/*".'
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []


def test_assume_role_of_another_partitions_role_arn_is_refused(cn_server):
    iam = cn_server.client("iam", region=CN)
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    role_name = name("ar")
    role = iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws-cn:iam::{account}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    iam.put_role_policy(RoleName=role_name, PolicyName="all", PolicyDocument=policy("*", "sts:*"))
    user = iam.create_user(UserName=name("caller"))["User"]["UserName"]
    iam.put_user_policy(
        UserName=user, PolicyName="assume", PolicyDocument=policy("*", "sts:AssumeRole")
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = cn_server.client(
        "sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"], region=CN
    )
    session = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1")
    assert session["AssumedRoleUser"]["Arn"] == (
        f"arn:aws-cn:sts::{account}:assumed-role/{role_name}/s1"
    )
    commercial = role["Arn"].replace("arn:aws-cn:", "arn:aws:", 1)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=commercial, RoleSessionName="s1")
    assert code(e) == "AccessDenied"
    assert message(e).startswith(f"User: arn:aws-cn:iam::{account}:user/{user} ")


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_the_fidelity_tables_partition_cases_through_the_api(partition, cn_server, gov_server):
    server, region = {"aws-cn": (cn_server, CN), "aws-us-gov": (gov_server, GOV)}[partition]
    iam = server.client("iam", region=region)
    user = iam.create_user(UserName=name("t"))["User"]["UserName"]
    with open(CASES) as f:
        cases = [c for c in json.load(f) if c.get("partition") == partition]
    assert cases
    for c in cases:
        doc = body(c["document"])
        if c["as"] == "managed":
            got = attempt(lambda: iam.create_policy(PolicyName=name("p"), PolicyDocument=doc))
        else:
            got = attempt(
                lambda: iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc)
            )
        assert got == c["answer"], c["name"]


def test_kms_keys_and_secrets_are_in_the_china_partition(cn_server):
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    kms = cn_server.client("kms", region=CN)
    key = kms.create_key()["KeyMetadata"]
    assert key["Arn"] == f"arn:aws-cn:kms:{CN}:{account}:key/{key['KeyId']}"
    # The default key policy names the account's root in the partition.
    key_policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"])["Policy"])
    assert key_policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws-cn:iam::{account}:root"}
    # A key ARN of the partition is a key id; the commercial spelling is not.
    assert kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId=key["Arn"].replace("arn:aws-cn:", "arn:aws:", 1))
    assert code(e) == "NotFoundException"
    sm = cn_server.client("secretsmanager", region=CN)
    secret = sm.create_secret(Name=name("s"), SecretString="v", KmsKeyId=key["KeyId"])
    assert secret["ARN"].startswith(f"arn:aws-cn:secretsmanager:{CN}:{account}:secret:")
    assert sm.get_secret_value(SecretId=secret["ARN"])["SecretString"] == "v"


def test_s3_bucket_arns_are_in_the_china_partition(cn_server):
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    s3 = cn_server.client("s3", region=CN)
    bucket = name("b")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": CN})
    own = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws-cn:iam::{account}:root"},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws-cn:s3:::{bucket}/*",
                }
            ],
        }
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=own)
    # A bucket policy naming the bucket in another partition names no resource of it.
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(
            Bucket=bucket, Policy=own.replace("arn:aws-cn:s3:::", "arn:aws:s3:::")
        )
    assert code(e) == "MalformedPolicy"
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(own)
    # Block Public Access names the caller and the bucket by their ARNs.
    public = own.replace(f'{{"AWS": "arn:aws-cn:iam::{account}:root"}}', '"*"')
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert code(e) == "AccessDenied"
    assert f"User: arn:aws-cn:iam::{account}:root " in message(e)
    assert f'"arn:aws-cn:s3:::{bucket}"' in message(e)


def test_a_request_signed_for_another_partitions_region_is_refused(cn_server):
    for service, call in (
        ("sts", lambda c: c.get_caller_identity()),
        ("kms", lambda c: c.list_keys()),
    ):
        client = cn_server.client(service, region="us-east-1")
        with pytest.raises(ClientError) as e:
            call(client)
        assert code(e) in ("SignatureDoesNotMatch", "InvalidSignatureException")
        assert message(e) == "Credential should be scoped to a valid region, not 'us-east-1'."
    # The partition's other region is served.
    other = cn_server.client("sts", region="cn-northwest-1").get_caller_identity()
    assert other["Arn"].startswith("arn:aws-cn:iam::")


def test_govcloud_mints_and_checks_aws_us_gov_arns(gov_server):
    account = gov_server.client("sts", region=GOV).get_caller_identity()["Account"]
    iam = gov_server.client("iam", region=GOV)
    user = iam.create_user(UserName=name("g"))["User"]
    assert user["Arn"] == f"arn:aws-us-gov:iam::{account}:user/{user['UserName']}"
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName=name("p"), PolicyDocument=policy("arn:aws:logs:*:*:*"))
    assert message(e) == 'Partition "aws" is not valid for resource "arn:aws:logs:*:*:*".'
    iam.create_policy(
        PolicyName=name("p"), PolicyDocument=policy("arn:aws-us-gov:logs:*:*:*", "logs:*")
    )
    key = gov_server.client("kms", region=GOV).create_key()["KeyMetadata"]
    assert key["Arn"].startswith(f"arn:aws-us-gov:kms:{GOV}:{account}:key/")
    secret = gov_server.client("secretsmanager", region="us-gov-east-1").create_secret(
        Name=name("s"), SecretString="v"
    )
    assert secret["ARN"].startswith(f"arn:aws-us-gov:secretsmanager:us-gov-east-1:{account}:")
    with pytest.raises(ClientError) as e:
        gov_server.client("sts", region=CN).get_caller_identity()
    assert message(e) == "Credential should be scoped to a valid region, not 'cn-north-1'."


def test_a_commercial_installation_does_not_restart_in_another_partition(tmp_path):
    first = Server("--region", "eu-west-1", data_dir=str(tmp_path / "d"))
    first.stop()
    with pytest.raises(RuntimeError) as e:
        Server("--region", CN, data_dir=str(tmp_path / "d"))
    assert "partition aws" in str(e.value)


def test_kms_key_policies_name_principals_of_the_partition(cn_server):
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    kms = cn_server.client("kms", region=CN)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    before = kms.get_key_policy(KeyId=key)["Policy"]

    def key_policy(root):
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}
                ],
            }
        )

    with pytest.raises(ClientError) as e:
        kms.put_key_policy(KeyId=key, Policy=key_policy(f"arn:aws:iam::{account}:root"))
    assert code(e) == "MalformedPolicyDocumentException"
    assert message(e) == "Policy contains a statement with one or more invalid principals."
    assert kms.get_key_policy(KeyId=key)["Policy"] == before
    with pytest.raises(ClientError) as e:
        kms.create_key(Policy=key_policy(f"arn:aws:iam::{account}:root"))
    assert code(e) == "MalformedPolicyDocumentException"
    kms.put_key_policy(KeyId=key, Policy=key_policy(f"arn:aws-cn:iam::{account}:root"))


def test_cloudtrail_data_event_selectors_name_s3_in_the_partition(cn_server):
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    s3 = cn_server.client("s3", region=CN)
    bucket = name("ct")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": CN})
    service = {"Service": "cloudtrail.amazonaws.com"}
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": service, "Action": "s3:GetBucketAcl",
                     "Resource": f"arn:aws-cn:s3:::{bucket}"},
                    {"Effect": "Allow", "Principal": service, "Action": "s3:PutObject",
                     "Resource": f"arn:aws-cn:s3:::{bucket}/AWSLogs/{account}/*",
                     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
                ],
            }
        ),
    )
    ct = cn_server.client("cloudtrail", region=CN)
    trail = ct.create_trail(Name=name("t"), S3BucketName=bucket)
    assert trail["TrailARN"] == f"arn:aws-cn:cloudtrail:{CN}:{account}:trail/{trail['Name']}"
    selectors = [
        {
            "ReadWriteType": "All",
            "IncludeManagementEvents": True,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws-cn:s3:::{bucket}/"]}],
        }
    ]
    ct.put_event_selectors(TrailName=trail["TrailARN"], EventSelectors=selectors)
    got = ct.get_event_selectors(TrailName=trail["TrailARN"])["EventSelectors"]
    assert got[0]["DataResources"][0]["Values"] == [f"arn:aws-cn:s3:::{bucket}/"]
    # The commercial spelling names no bucket of this partition.
    commercial = json.loads(json.dumps(selectors).replace("arn:aws-cn:s3", "arn:aws:s3"))
    with pytest.raises(ClientError) as e:
        ct.put_event_selectors(TrailName=trail["TrailARN"], EventSelectors=commercial)
    assert code(e) == "InvalidEventSelectorsException"
    again = ct.get_event_selectors(TrailName=trail["TrailARN"])["EventSelectors"]
    assert again[0]["DataResources"][0]["Values"] == [f"arn:aws-cn:s3:::{bucket}/"]


def test_eventbridge_rule_arns_are_read_in_the_partition(cn_server):
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    events = cn_server.client("events", region=CN)
    rule = name("r")
    arn = events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app"]}))["RuleArn"]
    assert arn == f"arn:aws-cn:events:{CN}:{account}:rule/{rule}"
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "blue"}])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "blue"}
    ]
    with pytest.raises(ClientError) as e:
        events.list_tags_for_resource(ResourceARN=arn.replace("arn:aws-cn:", "arn:aws:", 1))
    assert code(e) == "ResourceNotFoundException"


def test_guardduty_arns_are_in_the_partition(cn_server):
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    gd = cn_server.client("guardduty", region=CN)
    detector = gd.create_detector(Enable=True)["DetectorId"]
    got = gd.get_detector(DetectorId=detector)
    assert got["ServiceRole"] == (
        f"arn:aws-cn:iam::{account}:role/aws-service-role/guardduty.amazonaws.com/"
        "AWSServiceRoleForAmazonGuardDuty"
    )
    arn = f"arn:aws-cn:guardduty:{CN}:{account}:detector/{detector}"
    gd.tag_resource(ResourceArn=arn, Tags={"team": "sec"})
    assert gd.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "sec"}
    with pytest.raises(ClientError) as e:
        gd.list_tags_for_resource(ResourceArn=arn.replace("arn:aws-cn:", "arn:aws:", 1))
    assert code(e) == "BadRequestException"


def test_config_arns_and_roles_are_in_the_partition(cn_server):
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    iam = cn_server.client("iam", region=CN)
    role = iam.create_role(
        RoleName=name("config"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
                     "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    cfg = cn_server.client("config", region=CN)
    recorder = {"name": "default", "recordingGroup": {"allSupported": True}}
    with pytest.raises(ClientError) as e:
        cfg.put_configuration_recorder(
            ConfigurationRecorder={**recorder, "roleARN": role.replace("arn:aws-cn:", "arn:aws:", 1)}
        )
    assert code(e) == "InvalidRoleException"
    assert cfg.describe_configuration_recorders()["ConfigurationRecorders"] == []
    cfg.put_configuration_recorder(ConfigurationRecorder={**recorder, "roleARN": role})
    rule = name("versioning")
    cfg.put_config_rule(
        ConfigRule={
            "ConfigRuleName": rule,
            "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_VERSIONING_ENABLED"},
        }
    )
    described = cfg.describe_config_rules(ConfigRuleNames=[rule])["ConfigRules"]
    assert described[0]["ConfigRuleArn"].startswith(f"arn:aws-cn:config:{CN}:{account}:config-rule/")


def test_access_analyzer_findings_name_buckets_in_the_partition(cn_server):
    aa = cn_server.client("accessanalyzer", region=CN)
    analyzer = aa.create_analyzer(analyzerName=name("a"), type="ACCOUNT")["arn"]
    assert analyzer.startswith("arn:aws-cn:access-analyzer:cn-north-1:")
    s3 = cn_server.client("s3", region=CN)
    bucket = name("shared")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": CN})
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "arn:aws-cn:iam::444455556666:root"},
                     "Action": "s3:GetObject", "Resource": f"arn:aws-cn:s3:::{bucket}/*"}
                ],
            }
        ),
    )
    resource = f"arn:aws-cn:s3:::{bucket}"
    deadline = time.time() + 15
    found = []
    while not found and time.time() < deadline:
        found = aa.list_findings(analyzerArn=analyzer, filter={"resource": {"eq": [resource]}})[
            "findings"
        ]
        time.sleep(0.2)
    assert found and found[0]["resource"] == resource
    assert found[0]["principal"] == {"AWS": "444455556666"} or found[0]["principal"] == {
        "AWS": "arn:aws-cn:iam::444455556666:root"
    }


def test_shield_arns_are_in_the_partition(cn_server):
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    shield = cn_server.client("shield", region=CN)
    try:
        shield.create_subscription()
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    group = name("g")
    shield.create_protection_group(ProtectionGroupId=group, Aggregation="SUM", Pattern="ALL")
    got = shield.describe_protection_group(ProtectionGroupId=group)["ProtectionGroup"]
    arn = f"arn:aws-cn:shield::{account}:protection-group/{group}"
    assert got["ProtectionGroupArn"] == arn
    shield.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "blue"}])
    assert shield.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "blue"}
    ]


def test_organizations_arns_are_in_the_partition(cn_server):
    account = cn_server.client("sts", region=CN).get_caller_identity()["Account"]
    org = cn_server.client("organizations", region=CN)
    made = org.create_organization(FeatureSet="ALL")["Organization"]
    org_id = made["Id"]
    assert made["Arn"] == f"arn:aws-cn:organizations::{account}:organization/{org_id}"
    assert made["MasterAccountArn"] == (
        f"arn:aws-cn:organizations::{account}:account/{org_id}/{account}"
    )
    root = org.list_roots()["Roots"][0]
    assert root["Arn"] == f"arn:aws-cn:organizations::{account}:root/{org_id}/{root['Id']}"
    ou = org.create_organizational_unit(ParentId=root["Id"], Name="team")["OrganizationalUnit"]
    assert ou["Arn"] == f"arn:aws-cn:organizations::{account}:ou/{org_id}/{ou['Id']}"
    # The AWS managed SCP lives in the `aws` account of the partition.
    managed = org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert [p["Arn"] for p in managed if p["AwsManaged"]] == [
        "arn:aws-cn:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
    ]
    scp = org.create_policy(
        Name="deny-leave",
        Description="",
        Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
                ],
            }
        ),
    )["Policy"]["PolicySummary"]
    assert scp["Arn"] == (
        f"arn:aws-cn:organizations::{account}:policy/{org_id}/service_control_policy/{scp['Id']}"
    )
    me = org.describe_account(AccountId=account)["Account"]
    assert me["Arn"] == f"arn:aws-cn:organizations::{account}:account/{org_id}/{account}"
