"""AWS Config beyond managed rules, end to end with boto3: custom policy rules in
CloudFormation Guard (Owner CUSTOM_POLICY) flipping as the real resource is fixed and refused
when the Guard text is invalid, SelectResourceConfig's SQL subset over the recorded items, and
a conformance pack's life cycle with its compliance."""

import json
import time

import pytest
from botocore.exceptions import ClientError
from conftest import advance
from test_config import code, ensure_recording, eventually, unique, wait_compliance

VERSIONING_GUARD = """
rule bucket_versioning when resourceType == "AWS::S3::Bucket" {
    supplementaryConfiguration.BucketVersioningConfiguration.status == "Enabled"
}
"""

NAMED_GUARD = """
rule named_as_asked when resourceType == "AWS::S3::Bucket" {
    configuration.name == InputParameters.wantedName
}
"""


def guard_rule(name, text, scope=None, params=None, details=None):
    rule = {
        "ConfigRuleName": name,
        "Source": {
            "Owner": "CUSTOM_POLICY",
            "SourceDetails": details
            or [{"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"}],
            "CustomPolicyDetails": {
                "PolicyRuntime": "guard-2.x.x",
                "PolicyText": text,
                "EnableDebugLogDelivery": False,
            },
        },
    }
    if scope:
        rule["Scope"] = scope
    if params is not None:
        rule["InputParameters"] = json.dumps(params)
    return rule


def test_guard_rule_flips_when_the_bucket_is_fixed(server):
    cfg = ensure_recording(server)
    s3 = server.client("s3")
    bucket = unique("cfg-guard")
    s3.create_bucket(Bucket=bucket)
    rule = unique("guard-versioning")
    cfg.put_config_rule(
        ConfigRule=guard_rule(
            rule, VERSIONING_GUARD, scope={"ComplianceResourceTypes": ["AWS::S3::Bucket"]}
        )
    )
    first = wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "NON_COMPLIANT")
    assert "bucket_versioning" in first["Annotation"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "COMPLIANT")

    described = cfg.describe_config_rules(ConfigRuleNames=[rule])["ConfigRules"][0]
    assert described["Source"]["Owner"] == "CUSTOM_POLICY"
    assert described["Source"]["CustomPolicyDetails"]["PolicyRuntime"] == "guard-2.x.x"
    assert cfg.get_custom_rule_policy(ConfigRuleName=rule)["PolicyText"] == VERSIONING_GUARD
    by_rule = cfg.describe_compliance_by_config_rule(ConfigRuleNames=[rule])["ComplianceByConfigRules"]
    assert by_rule[0]["Compliance"]["ComplianceType"] in ("COMPLIANT", "NON_COMPLIANT")
    # Resources of other types are not in the rule's scope.
    results = cfg.get_compliance_details_by_config_rule(
        ConfigRuleName=rule, ComplianceTypes=["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"]
    )["EvaluationResults"]
    kinds = {r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceType"] for r in results}
    assert kinds == {"AWS::S3::Bucket"}
    cfg.delete_config_rule(ConfigRuleName=rule)


def test_guard_rule_reads_its_input_parameters(server):
    cfg = ensure_recording(server)
    s3 = server.client("s3")
    bucket = unique("cfg-guard-param")
    s3.create_bucket(Bucket=bucket)
    rule = unique("guard-named")
    scope = {"ComplianceResourceTypes": ["AWS::S3::Bucket"], "ComplianceResourceId": bucket}
    cfg.put_config_rule(ConfigRule=guard_rule(rule, NAMED_GUARD, scope, {"wantedName": "other"}))
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "NON_COMPLIANT")
    cfg.put_config_rule(ConfigRule=guard_rule(rule, NAMED_GUARD, scope, {"wantedName": bucket}))
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "COMPLIANT")
    cfg.delete_config_rule(ConfigRuleName=rule)


def test_periodic_guard_rule_follows_the_clock(dev_server):
    cfg = ensure_recording(dev_server)
    s3 = dev_server.client("s3")
    bucket = unique("cfg-guard-periodic")
    s3.create_bucket(Bucket=bucket)
    rule = unique("guard-periodic")
    scope = {"ComplianceResourceTypes": ["AWS::S3::Bucket"], "ComplianceResourceId": bucket}
    body = guard_rule(
        rule,
        VERSIONING_GUARD,
        scope,
        details=[{"EventSource": "aws.config", "MessageType": "ScheduledNotification",
                  "MaximumExecutionFrequency": "One_Hour"}],
    )
    body["MaximumExecutionFrequency"] = "One_Hour"
    cfg.put_config_rule(ConfigRule=body)
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "NON_COMPLIANT")
    # A periodic-only rule is not re-run by the change; the next period picks it up.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    eventually(
        lambda: cfg.select_resource_config(
            Expression=f"SELECT supplementaryConfiguration.BucketVersioningConfiguration.status "
            f"WHERE resourceId = '{bucket}'"
        )["Results"],
        lambda r: r and "Enabled" in r[0],
    )
    time.sleep(2.5)  # the recording job runs every second: a change-triggered rule would re-run
    still = cfg.get_compliance_details_by_config_rule(ConfigRuleName=rule)["EvaluationResults"]
    assert [r["ComplianceType"] for r in still] == ["NON_COMPLIANT"]
    advance(dev_server, 3700)
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "COMPLIANT")


def test_invalid_guard_rules_are_refused(server):
    cfg = ensure_recording(server)
    rule = unique("guard-bad")
    # Guard that does not parse is refused by Config; another runtime by the model's pattern.
    for text, runtime, error in [
        ("rule broken { configuration.x == ", "guard-2.x.x", "InvalidParameterValueException"),
        ("not guard at all {{", "guard-2.x.x", "InvalidParameterValueException"),
        (VERSIONING_GUARD, "guard-1.0.0", "ValidationException"),
    ]:
        body = guard_rule(rule, text)
        body["Source"]["CustomPolicyDetails"]["PolicyRuntime"] = runtime
        with pytest.raises(ClientError) as e:
            cfg.put_config_rule(ConfigRule=body)
        assert code(e) == error, text
    body = guard_rule(rule, VERSIONING_GUARD)
    body["InputParameters"] = "[1, 2]"
    with pytest.raises(ClientError) as e:
        cfg.put_config_rule(ConfigRule=body)
    assert code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        cfg.describe_config_rules(ConfigRuleNames=[rule])
    assert code(e) == "NoSuchConfigRuleException"


def test_select_resource_config(server):
    cfg = ensure_recording(server)
    s3 = server.client("s3")
    prefix = unique("cfg-select")
    for suffix in ("a", "b", "c"):
        s3.create_bucket(Bucket=f"{prefix}-{suffix}")
    s3.put_bucket_versioning(Bucket=f"{prefix}-b", VersioningConfiguration={"Status": "Enabled"})
    status = "supplementaryConfiguration.BucketVersioningConfiguration.status"
    expr = (f"SELECT resourceId, {status} WHERE resourceType = 'AWS::S3::Bucket' "
            f"AND resourceId LIKE '{prefix}%' ORDER BY resourceId")
    out = eventually(
        lambda: cfg.select_resource_config(Expression=expr),
        lambda o: [json.loads(r) for r in o["Results"]]
        == [
            {"resourceId": f"{prefix}-a", "supplementaryConfiguration": {"BucketVersioningConfiguration": {"status": "Off"}}},
            {"resourceId": f"{prefix}-b", "supplementaryConfiguration": {"BucketVersioningConfiguration": {"status": "Enabled"}}},
            {"resourceId": f"{prefix}-c", "supplementaryConfiguration": {"BucketVersioningConfiguration": {"status": "Off"}}},
        ],
    )
    assert out["QueryInfo"]["SelectFields"] == [{"Name": "resourceId"}, {"Name": status}]

    off = cfg.select_resource_config(
        Expression=f"SELECT configuration.name WHERE resourceId LIKE '{prefix}%' "
        f"AND NOT {status} = 'Enabled' AND resourceId IN ('{prefix}-a', '{prefix}-b')"
    )["Results"]
    assert [json.loads(r) for r in off] == [{"configuration": {"name": f"{prefix}-a"}}]

    counted = cfg.select_resource_config(
        Expression=f"SELECT {status}, COUNT(*) WHERE resourceId LIKE '{prefix}%' GROUP BY {status}"
    )
    rows = {json.loads(r)["supplementaryConfiguration"]["BucketVersioningConfiguration"]["status"]:
            json.loads(r)["COUNT(*)"] for r in counted["Results"]}
    assert rows == {"Off": 2, "Enabled": 1}

    page = cfg.select_resource_config(Expression=expr, Limit=2)
    assert len(page["Results"]) == 2 and page["NextToken"]
    rest = cfg.select_resource_config(Expression=expr, Limit=2, NextToken=page["NextToken"])
    assert [json.loads(r)["resourceId"] for r in rest["Results"]] == [f"{prefix}-c"]
    assert "NextToken" not in rest

    for bad in ["SELECT", "SELECT resourceId WHERE", "SELECT resourceId FROM buckets",
                "SELECT resourceId WHERE resourceId LIKE '%x'", "UPDATE x"]:
        with pytest.raises(ClientError) as e:
            cfg.select_resource_config(Expression=bad)
        assert code(e) == "InvalidExpressionException", bad
    with pytest.raises(ClientError) as e:
        cfg.select_resource_config(Expression=expr, Limit=101)
    assert code(e) in ("InvalidLimitException", "ValidationException")


PACK_TEMPLATE = """
Parameters:
  PackBucket:
    Type: String
Resources:
  BucketVersioning:
    Type: AWS::Config::ConfigRule
    Properties:
      ConfigRuleName: s3-bucket-versioning-enabled
      Scope:
        ComplianceResourceTypes: [AWS::S3::Bucket]
        ComplianceResourceId: !Ref PackBucket
      Source:
        Owner: AWS
        SourceIdentifier: S3_BUCKET_VERSIONING_ENABLED
  GuardVersioning:
    Type: AWS::Config::ConfigRule
    Properties:
      ConfigRuleName: guard-versioning
      Scope:
        ComplianceResourceTypes: [AWS::S3::Bucket]
        ComplianceResourceId:
          Ref: PackBucket
      Source:
        Owner: CUSTOM_POLICY
        SourceDetails:
          - EventSource: aws.config
            MessageType: ConfigurationItemChangeNotification
        CustomPolicyDetails:
          PolicyRuntime: guard-2.x.x
          PolicyText: |
            rule bucket_versioning when resourceType == "AWS::S3::Bucket" {
                supplementaryConfiguration.BucketVersioningConfiguration.status == "Enabled"
            }
"""


def test_conformance_pack_life_cycle(server):
    cfg = ensure_recording(server)
    s3 = server.client("s3")
    bucket = unique("cfg-pack")
    s3.create_bucket(Bucket=bucket)
    pack = unique("pack")
    arn = cfg.put_conformance_pack(
        ConformancePackName=pack,
        TemplateBody=PACK_TEMPLATE,
        ConformancePackInputParameters=[{"ParameterName": "PackBucket", "ParameterValue": bucket}],
    )["ConformancePackArn"]
    assert arn.startswith("arn:aws:config:") and f":conformance-pack/{pack}/conformance-pack-" in arn

    details = cfg.describe_conformance_packs(ConformancePackNames=[pack])["ConformancePackDetails"]
    assert details[0]["ConformancePackArn"] == arn
    assert details[0]["ConformancePackInputParameters"] == [
        {"ParameterName": "PackBucket", "ParameterValue": bucket}
    ]
    status = cfg.describe_conformance_pack_status(ConformancePackNames=[pack])
    assert status["ConformancePackStatusDetails"][0]["ConformancePackState"] == "CREATE_COMPLETE"

    listed = cfg.describe_conformance_pack_compliance(ConformancePackName=pack)
    rules = sorted(r["ConfigRuleName"] for r in listed["ConformancePackRuleComplianceList"])
    assert len(rules) == 2
    assert rules[0].startswith("guard-versioning-conformance-pack-")
    assert rules[1].startswith("s3-bucket-versioning-enabled-conformance-pack-")
    described = cfg.describe_config_rules(ConfigRuleNames=rules)["ConfigRules"]
    assert {r["CreatedBy"] for r in described} == {"config-conforms.amazonaws.com"}

    for rule in rules:
        wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "NON_COMPLIANT")
    summary = cfg.get_conformance_pack_compliance_summary(ConformancePackNames=[pack])
    assert summary["ConformancePackComplianceSummaryList"] == [
        {"ConformancePackName": pack, "ConformancePackComplianceStatus": "NON_COMPLIANT"}
    ]
    failing = cfg.get_conformance_pack_compliance_details(
        ConformancePackName=pack, Filters={"ComplianceType": "NON_COMPLIANT"}
    )["ConformancePackRuleEvaluationResults"]
    assert {r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"] for r in failing} == {bucket}
    assert {r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ConfigRuleName"] for r in failing} == set(rules)
    assert all(r["ResultRecordedTime"] and r["ConfigRuleInvokedTime"] for r in failing)

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for rule in rules:
        wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "COMPLIANT")
    compliant = cfg.describe_conformance_pack_compliance(
        ConformancePackName=pack, Filters={"ComplianceType": "COMPLIANT"}
    )["ConformancePackRuleComplianceList"]
    assert sorted(r["ConfigRuleName"] for r in compliant) == rules
    summary = cfg.get_conformance_pack_compliance_summary(ConformancePackNames=[pack])
    assert summary["ConformancePackComplianceSummaryList"][0]["ConformancePackComplianceStatus"] == "COMPLIANT"
    with pytest.raises(ClientError) as e:
        cfg.describe_conformance_pack_compliance(
            ConformancePackName=pack, Filters={"ConfigRuleNames": ["not-in-pack"]}
        )
    assert code(e) == "NoSuchConfigRuleInConformancePackException"

    cfg.delete_conformance_pack(ConformancePackName=pack)
    with pytest.raises(ClientError) as e:
        cfg.describe_conformance_packs(ConformancePackNames=[pack])
    assert code(e) == "NoSuchConformancePackException"
    with pytest.raises(ClientError) as e:
        cfg.describe_config_rules(ConfigRuleNames=[rules[0]])
    assert code(e) == "NoSuchConfigRuleException"


def all_rule_names(cfg):
    pages = cfg.get_paginator("describe_config_rules").paginate()
    return sorted(r["ConfigRuleName"] for p in pages for r in p["ConfigRules"])


def test_bad_conformance_packs_change_nothing(server):
    cfg = ensure_recording(server)
    pack = unique("pack-bad")
    before = all_rule_names(cfg)
    bad_rule = PACK_TEMPLATE.replace("S3_BUCKET_VERSIONING_ENABLED", "NOT_A_MANAGED_RULE")
    bad_guard = PACK_TEMPLATE.replace('== "Enabled"', "== ")
    for template in ["Resources: [", bad_rule, bad_guard,
                     "Resources:\n  B:\n    Type: AWS::S3::Bucket\n"]:
        with pytest.raises(ClientError) as e:
            cfg.put_conformance_pack(
                ConformancePackName=pack,
                TemplateBody=template,
                ConformancePackInputParameters=[{"ParameterName": "PackBucket", "ParameterValue": "x"}],
            )
        assert code(e) == "ConformancePackTemplateValidationException", template
    with pytest.raises(ClientError) as e:
        cfg.describe_conformance_packs(ConformancePackNames=[pack])
    assert code(e) == "NoSuchConformancePackException"
    assert all_rule_names(cfg) == before
    with pytest.raises(ClientError) as e:
        cfg.delete_conformance_pack(ConformancePackName=pack)
    assert code(e) == "NoSuchConformancePackException"
