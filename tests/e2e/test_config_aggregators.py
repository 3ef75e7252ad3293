"""AWS Config aggregators end to end with boto3: an organization aggregator over two member
accounts that each run a rule (aggregate compliance, details, summaries, discovered resources,
counts, batch and single reads, advanced queries), the management account or Config's
delegated administrator only, and an account aggregator collecting a source account only
once it authorizes the aggregator account and region."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from orgs import create_account, member_root

TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def eventually(read, ok, timeout=10):
    """Polls `read()` until `ok` holds of its result and returns that result."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = read()
        if ok(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s; last read {last}")


def start_recording(server, key, secret):
    """Recorder and channel in an account, recording started; returns its Config client."""
    cfg = server.client("config", key=key, secret=secret)
    s3 = server.client("s3", key=key, secret=secret)
    bucket = unique("delivery")
    s3.create_bucket(Bucket=bucket)
    cfg.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": "arn:aws:iam::123456789012:role/config",
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": bucket})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    return cfg


def member_with_rule(server, account):
    """A member recording, with an unversioned bucket and a versioning rule on it."""
    key, secret = member_root(server, account)
    cfg = start_recording(server, key, secret)
    s3 = server.client("s3", key=key, secret=secret)
    bucket = unique("data")
    s3.create_bucket(Bucket=bucket)
    eventually(lambda: cfg.list_discovered_resources(resourceType="AWS::S3::Bucket",
                                                     resourceIds=[bucket])["resourceIdentifiers"],
               bool)
    cfg.put_config_rule(ConfigRule={
        "ConfigRuleName": "versioning",
        "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_VERSIONING_ENABLED"},
        "Scope": {"ComplianceResourceTypes": ["AWS::S3::Bucket"], "ComplianceResourceId": bucket}})
    return key, secret, bucket


@pytest.fixture
def org_with_members(fresh_server):
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    first = create_account(orgs, "first", "first@example.com")
    second = create_account(orgs, "second", "second@example.com")
    return fresh_server, orgs, first, second


def aggregate_compliance(cfg, name):
    rows = cfg.describe_aggregate_compliance_by_config_rules(
        ConfigurationAggregatorName=name)["AggregateComplianceByConfigRules"]
    return {(r["AccountId"], r["ConfigRuleName"]): r["Compliance"]["ComplianceType"] for r in rows}


def test_an_aggregator_over_two_member_accounts(org_with_members):
    server, _, first, second = org_with_members
    _, _, first_bucket = member_with_rule(server, first)
    second_key, second_secret, second_bucket = member_with_rule(server, second)

    role = server.client("iam").create_role(RoleName="config-aggregator",
                                            AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    cfg = server.client("config")
    agg = cfg.put_configuration_aggregator(
        ConfigurationAggregatorName="org",
        OrganizationAggregationSource={"RoleArn": role, "AllAwsRegions": True},
    )["ConfigurationAggregator"]
    assert agg["ConfigurationAggregatorArn"].startswith("arn:aws:config:us-east-1:")
    assert agg["OrganizationAggregationSource"]["RoleArn"] == role
    described = cfg.describe_configuration_aggregators()["ConfigurationAggregators"]
    assert [a["ConfigurationAggregatorName"] for a in described] == ["org"]
    status = cfg.describe_configuration_aggregator_sources_status(
        ConfigurationAggregatorName="org")["AggregatedSourceStatusList"]
    assert [(s["SourceType"], s["LastUpdateStatus"]) for s in status] == [("ORGANIZATION", "SUCCEEDED")]

    # Both members' rules, each with its own account, from the management account.
    both = eventually(lambda: aggregate_compliance(cfg, "org"), lambda c: len(c) == 2)
    assert both == {(first, "versioning"): "NON_COMPLIANT", (second, "versioning"): "NON_COMPLIANT"}
    details = cfg.get_aggregate_compliance_details_by_config_rule(
        ConfigurationAggregatorName="org", ConfigRuleName="versioning", AccountId=first,
        AwsRegion="us-east-1")["AggregateEvaluationResults"]
    assert [(d["AccountId"], d["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"],
             d["ComplianceType"]) for d in details] == [(first, first_bucket, "NON_COMPLIANT")]
    summary = cfg.get_aggregate_config_rule_compliance_summary(
        ConfigurationAggregatorName="org", GroupByKey="ACCOUNT_ID")
    assert summary["GroupByKey"] == "ACCOUNT_ID"
    groups = {g["GroupName"]: g["ComplianceSummary"]["NonCompliantResourceCount"]["CappedCount"]
              for g in summary["AggregateComplianceCounts"]}
    assert groups == {first: 1, second: 1}

    # Fixing one member's bucket shows through the aggregator; the other stays non-compliant.
    server.client("s3", key=second_key, secret=second_secret).put_bucket_versioning(
        Bucket=second_bucket, VersioningConfiguration={"Status": "Enabled"})
    eventually(lambda: aggregate_compliance(cfg, "org"),
               lambda c: c.get((second, "versioning")) == "COMPLIANT")
    assert aggregate_compliance(cfg, "org")[(first, "versioning")] == "NON_COMPLIANT"
    filtered = cfg.describe_aggregate_compliance_by_config_rules(
        ConfigurationAggregatorName="org", Filters={"ComplianceType": "COMPLIANT"},
    )["AggregateComplianceByConfigRules"]
    assert [r["AccountId"] for r in filtered] == [second]

    # Inventory across the members.
    buckets = cfg.list_aggregate_discovered_resources(
        ConfigurationAggregatorName="org", ResourceType="AWS::S3::Bucket")["ResourceIdentifiers"]
    found = {(b["SourceAccountId"], b["ResourceId"]) for b in buckets}
    assert {(first, first_bucket), (second, second_bucket)} <= found
    only_first = cfg.list_aggregate_discovered_resources(
        ConfigurationAggregatorName="org", ResourceType="AWS::S3::Bucket",
        Filters={"AccountId": first})["ResourceIdentifiers"]
    assert {b["SourceAccountId"] for b in only_first} == {first}
    counts = cfg.get_aggregate_discovered_resource_counts(
        ConfigurationAggregatorName="org", GroupByKey="ACCOUNT_ID",
        Filters={"ResourceType": "AWS::S3::Bucket"})
    by_account = {g["GroupName"]: g["ResourceCount"] for g in counts["GroupedResourceCounts"]}
    assert by_account[first] == 2 and by_account[second] == 2  # delivery and data buckets
    assert counts["TotalDiscoveredResources"] >= 4

    ident = {"SourceAccountId": first, "SourceRegion": "us-east-1",
             "ResourceId": first_bucket, "ResourceType": "AWS::S3::Bucket"}
    missing = dict(ident, ResourceId="no-such-bucket")
    batch = cfg.batch_get_aggregate_resource_config(
        ConfigurationAggregatorName="org", ResourceIdentifiers=[ident, missing])
    assert [i["resourceId"] for i in batch["BaseConfigurationItems"]] == [first_bucket]
    assert batch["BaseConfigurationItems"][0]["accountId"] == first
    assert [u["ResourceId"] for u in batch["UnprocessedResourceIdentifiers"]] == ["no-such-bucket"]
    item = cfg.get_aggregate_resource_config(ConfigurationAggregatorName="org",
                                             ResourceIdentifier=ident)["ConfigurationItem"]
    assert item["accountId"] == first and item["resourceType"] == "AWS::S3::Bucket"
    with pytest.raises(ClientError) as e:
        cfg.get_aggregate_resource_config(ConfigurationAggregatorName="org", ResourceIdentifier=missing)
    assert code(e) == "ResourceNotDiscoveredException"

    rows = cfg.select_aggregate_resource_config(
        ConfigurationAggregatorName="org",
        Expression="SELECT accountId, resourceId WHERE resourceType = 'AWS::S3::Bucket' "
                   f"AND resourceId IN ('{first_bucket}', '{second_bucket}') ORDER BY resourceId",
    )["Results"]
    assert sorted((json.loads(r)["accountId"], json.loads(r)["resourceId"]) for r in rows) == sorted(
        [(first, first_bucket), (second, second_bucket)])
    grouped = cfg.select_aggregate_resource_config(
        ConfigurationAggregatorName="org",
        Expression="SELECT accountId, COUNT(*) WHERE resourceType = 'AWS::S3::Bucket' GROUP BY accountId",
    )["Results"]
    assert {json.loads(r)["accountId"]: json.loads(r)["COUNT(*)"] for r in grouped}[first] == 2

    cfg.delete_configuration_aggregator(ConfigurationAggregatorName="org")
    with pytest.raises(ClientError) as e:
        aggregate_compliance(cfg, "org")
    assert code(e) == "NoSuchConfigurationAggregatorException"


def test_only_the_management_account_or_delegated_admin_aggregates_the_organization(org_with_members):
    server, orgs, first, _ = org_with_members
    key, secret = member_root(server, first)
    member_iam = server.client("iam", key=key, secret=secret)
    role = member_iam.create_role(RoleName="aggregator", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    member_cfg = server.client("config", key=key, secret=secret)
    source = {"RoleArn": role, "AwsRegions": ["us-east-1"]}
    with pytest.raises(ClientError) as e:
        member_cfg.put_configuration_aggregator(ConfigurationAggregatorName="org",
                                                OrganizationAggregationSource=source)
    assert code(e) == "OrganizationAccessDeniedException"
    assert member_cfg.describe_configuration_aggregators()["ConfigurationAggregators"] == []

    orgs.register_delegated_administrator(AccountId=first, ServicePrincipal="config.amazonaws.com")
    member_cfg.put_configuration_aggregator(ConfigurationAggregatorName="org",
                                            OrganizationAggregationSource=source)
    assert member_cfg.describe_configuration_aggregator_sources_status(
        ConfigurationAggregatorName="org")["AggregatedSourceStatusList"][0]["LastUpdateStatus"] == "SUCCEEDED"

    # Once no longer delegated, the aggregator collects nothing and says why.
    orgs.deregister_delegated_administrator(AccountId=first, ServicePrincipal="config.amazonaws.com")
    failed = member_cfg.describe_configuration_aggregator_sources_status(
        ConfigurationAggregatorName="org", UpdateStatus=["FAILED"])["AggregatedSourceStatusList"]
    assert failed[0]["LastErrorCode"] == "OrganizationAccessDeniedException"
    assert member_cfg.list_aggregate_discovered_resources(
        ConfigurationAggregatorName="org", ResourceType="AWS::IAM::Role")["ResourceIdentifiers"] == []

    cfg = server.client("config")
    bad = [
        ({"OrganizationAggregationSource": {"RoleArn": "arn:aws:iam::123456789012:role/nope",
                                            "AllAwsRegions": True}}, "InvalidRoleException"),
        ({"OrganizationAggregationSource": {"RoleArn": role, "AllAwsRegions": True}}, "InvalidRoleException"),
        ({}, "InvalidParameterValueException"),
        ({"AccountAggregationSources": [{"AccountIds": [first], "AllAwsRegions": True,
                                         "AwsRegions": ["us-east-1"]}]}, "InvalidParameterValueException"),
        ({"AccountAggregationSources": [{"AccountIds": [first]}]}, "InvalidParameterValueException"),
    ]
    for extra, want in bad:
        with pytest.raises(ClientError) as e:
            cfg.put_configuration_aggregator(ConfigurationAggregatorName="bad", **extra)
        assert code(e) == want, extra
    for call in (cfg.delete_configuration_aggregator, cfg.describe_configuration_aggregator_sources_status):
        with pytest.raises(ClientError) as e:
            call(ConfigurationAggregatorName="nope")
        assert code(e) == "NoSuchConfigurationAggregatorException"
    with pytest.raises(ClientError) as e:
        cfg.describe_configuration_aggregators(ConfigurationAggregatorNames=["nope"])
    assert code(e) == "NoSuchConfigurationAggregatorException"


def test_an_account_source_is_collected_once_it_authorizes_the_aggregator(org_with_members):
    server, orgs, first, _ = org_with_members
    _, _, bucket = member_with_rule(server, first)
    key, secret = member_root(server, first)
    member_cfg = server.client("config", key=key, secret=secret)
    management = server.client("sts").get_caller_identity()["Account"]
    cfg = server.client("config")
    cfg.put_configuration_aggregator(
        ConfigurationAggregatorName="accounts",
        AccountAggregationSources=[{"AccountIds": [first], "AwsRegions": ["us-east-1"]}])

    status = cfg.describe_configuration_aggregator_sources_status(
        ConfigurationAggregatorName="accounts")["AggregatedSourceStatusList"]
    assert [(s["SourceId"], s["SourceType"], s["LastUpdateStatus"]) for s in status] == [
        (first, "ACCOUNT", "FAILED")]
    assert aggregate_compliance(cfg, "accounts") == {}

    auth = member_cfg.put_aggregation_authorization(
        AuthorizedAccountId=management, AuthorizedAwsRegion="us-east-1")["AggregationAuthorization"]
    assert auth["AggregationAuthorizationArn"] == (
        f"arn:aws:config:us-east-1:{first}:aggregation-authorization/{management}/us-east-1")
    again = member_cfg.put_aggregation_authorization(
        AuthorizedAccountId=management, AuthorizedAwsRegion="us-east-1")["AggregationAuthorization"]
    assert again["CreationTime"] == auth["CreationTime"]
    listed = member_cfg.describe_aggregation_authorizations()["AggregationAuthorizations"]
    assert [(a["AuthorizedAccountId"], a["AuthorizedAwsRegion"]) for a in listed] == [(management, "us-east-1")]

    assert cfg.describe_configuration_aggregator_sources_status(
        ConfigurationAggregatorName="accounts")["AggregatedSourceStatusList"][0]["LastUpdateStatus"] == "SUCCEEDED"
    compliance = eventually(lambda: aggregate_compliance(cfg, "accounts"), bool)
    assert compliance == {(first, "versioning"): "NON_COMPLIANT"}
    buckets = cfg.list_aggregate_discovered_resources(
        ConfigurationAggregatorName="accounts", ResourceType="AWS::S3::Bucket")["ResourceIdentifiers"]
    assert bucket in {b["ResourceId"] for b in buckets}

    # An authorization for another region does not let this one collect.
    member_cfg.delete_aggregation_authorization(AuthorizedAccountId=management, AuthorizedAwsRegion="us-east-1")
    member_cfg.put_aggregation_authorization(AuthorizedAccountId=management, AuthorizedAwsRegion="eu-west-1")
    assert aggregate_compliance(cfg, "accounts") == {}
    assert cfg.describe_configuration_aggregator_sources_status(
        ConfigurationAggregatorName="accounts", UpdateStatus=["FAILED"])["AggregatedSourceStatusList"]
    with pytest.raises(ClientError) as e:
        member_cfg.put_aggregation_authorization(AuthorizedAccountId="12", AuthorizedAwsRegion="us-east-1")
    assert code(e) == "ValidationException"  # the model's AccountId pattern
