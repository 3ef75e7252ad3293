"""Security Hub's AWS integrations end to end with boto3: findings that GuardDuty, IAM Access
Analyzer and Config produce from real activity reach `GetFindings` in ASFF, as AWS's
integrations send them, updated in place as the source changes; the product integrations API
turns each import off and on.

The server is the module's own (in dev mode, for its clock), with Security Hub enabled in
us-east-1 before anything else, so every finding here is produced after the integrations
were on."""

import json
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Server, advance
from test_accessanalyzer import EXTERNAL, trust
from test_config import ensure_recording, put_rule, unique

REGION = "us-east-1"
KALI = "PenTest:IAMUser/KaliLinux"
KALI_ASFF = "TTPs/PenTest:IAMUser/KaliLinux"
CROSS_ACCOUNT = "Software and Configuration Checks/AWS Security Best Practices/External Access Granted"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def eq(value):
    return [{"Value": value, "Comparison": "EQUALS"}]


def product_arn(key):
    return f"arn:aws:securityhub:{REGION}::product/aws/{key}"


@pytest.fixture(scope="module")
def env():
    """A server of its own with Security Hub on, an administrator and a second user."""
    s = Server("--dev")
    s.sh = s.client("securityhub")
    s.sh.enable_security_hub(EnableDefaultStandards=False)
    s.account = s.client("sts").get_caller_identity()["Account"]
    iam = s.client("iam")
    everything = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    s.keys = {}
    for user in ["admin", "intruder"]:
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="all", PolicyDocument=everything)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        s.keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
    yield s
    s.stop()


def as_user(env, user, service, config=None):
    key, secret = env.keys[user]
    return env.client(service, key=key, secret=secret, region=REGION, config=config)


def kali_call(env, user):
    agent = Config(user_agent_extra="Linux/6.6.9-amd64.kali")
    as_user(env, user, "sts", config=agent).get_caller_identity()


def hub_findings(env, **filters):
    return env.sh.get_findings(Filters=filters, MaxResults=100)["Findings"]


def wait_for(check, timeout=10.0):
    """Polls `check` until it returns a truthy value; returns it."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.2)


def one_finding(env, fid, check=lambda f: True):
    """The hub's finding `fid` once `check` holds for it."""

    def found():
        fs = [f for f in hub_findings(env, Id=eq(fid)) if check(f)]
        return fs[0] if fs else None

    return wait_for(found)


def test_products_are_listed_and_imported_by_default(env):
    products = env.sh.describe_products()["Products"]
    by_arn = {p["ProductArn"]: p for p in products}
    assert by_arn[product_arn("guardduty")]["ProductName"] == "GuardDuty"
    assert by_arn[product_arn("config")]["CompanyName"] == "AWS"
    assert by_arn[product_arn("access-analyzer")]["ProductName"] == "IAM Access Analyzer"
    assert by_arn[product_arn("guardduty")]["IntegrationTypes"] == ["SEND_FINDINGS_TO_SECURITY_HUB"]
    one = env.sh.describe_products(ProductArn=product_arn("config"))["Products"]
    assert [p["ProductName"] for p in one] == ["Config"]
    subs = env.sh.list_enabled_products_for_import()["ProductSubscriptions"]
    prefix = f"arn:aws:securityhub:{REGION}:{env.account}:product-subscription/aws/"
    assert sorted(subs) == sorted(prefix + p for p in ["guardduty", "config", "access-analyzer"])
    with pytest.raises(ClientError) as e:
        env.sh.enable_import_findings_for_product(ProductArn=product_arn("guardduty"))
    assert code(e) == "ResourceConflictException"
    with pytest.raises(ClientError) as e:
        env.sh.enable_import_findings_for_product(ProductArn=product_arn("nothing"))
    assert code(e) == "InvalidInputException"


def test_guardduty_findings_reach_security_hub(env):
    gd = as_user(env, "admin", "guardduty")
    detector = gd.create_detector(Enable=True)["DetectorId"]
    kali_call(env, "admin")
    criteria = {"Criterion": {"type": {"Eq": [KALI]}}}
    [gd_id] = wait_for(lambda: gd.list_findings(DetectorId=detector, FindingCriteria=criteria)["FindingIds"])
    [source] = gd.get_findings(DetectorId=detector, FindingIds=[gd_id])["Findings"]

    f = one_finding(env, source["Arn"])
    assert f["ProductArn"] == product_arn("guardduty")
    assert f["ProductName"] == "GuardDuty" and f["CompanyName"] == "Amazon"
    assert f["GeneratorId"] == f"arn:aws:guardduty:{REGION}:{env.account}:detector/{detector}"
    assert f["Types"] == [KALI_ASFF]
    assert f["Severity"]["Label"] == "MEDIUM" and f["Severity"]["Original"] == "5"
    assert f["Severity"]["Normalized"] == 40
    assert f["Title"] == source["Title"] and f["CreatedAt"] == source["CreatedAt"]
    [res] = f["Resources"]
    assert res["Type"] == "AwsIamAccessKey"
    assert res["Id"] == f"AWS::IAM::AccessKey:{env.keys['admin'][0]}"
    assert res["Details"]["AwsIamAccessKey"]["PrincipalName"] == "admin"
    assert f["ProductFields"]["aws/guardduty/service/count"] == "1"
    assert f["RecordState"] == "ACTIVE" and f["Workflow"]["Status"] == "NEW"
    by_product = hub_findings(env, ProductName=eq("GuardDuty"), Type=eq(KALI_ASFF))
    assert [x["Id"] for x in by_product] == [source["Arn"]]

    # A repeat reaches Security Hub at the detector's publishing frequency (six hours by
    # default), updating the same finding in place.
    kali_call(env, "admin")
    wait_for(lambda: gd.get_findings(DetectorId=detector, FindingIds=[gd_id])["Findings"][0]["Service"]["Count"] == 2)
    time.sleep(2.5)
    assert one_finding(env, source["Arn"])["ProductFields"]["aws/guardduty/service/count"] == "1"
    gd.update_detector(DetectorId=detector, FindingPublishingFrequency="FIFTEEN_MINUTES")
    advance(env, 15 * 60)
    again = one_finding(env, source["Arn"], lambda x: x["ProductFields"]["aws/guardduty/service/count"] == "2")
    assert again["UpdatedAt"] > f["UpdatedAt"] and again["CreatedAt"] == f["CreatedAt"]
    assert len(hub_findings(env, ProductName=eq("GuardDuty"), Type=eq(KALI_ASFF))) == 1

    # GuardDuty does not send archiving to Security Hub (GuardDuty User Guide, "Updating
    # existing findings in Security Hub CSPM"): the finding stays active there.
    gd.archive_findings(DetectorId=detector, FindingIds=[gd_id])
    time.sleep(2.5)
    kept = one_finding(env, source["Arn"])
    assert kept["RecordState"] == "ACTIVE" and kept["UpdatedAt"] == again["UpdatedAt"]


def test_disabling_guardduty_import_stops_new_findings(env):
    gd = as_user(env, "admin", "guardduty")
    detectors = gd.list_detectors()["DetectorIds"]
    detector = detectors[0] if detectors else gd.create_detector(Enable=True)["DetectorId"]
    sub = f"arn:aws:securityhub:{REGION}:{env.account}:product-subscription/aws/guardduty"
    env.sh.disable_import_findings_for_product(ProductSubscriptionArn=sub)
    assert sub not in env.sh.list_enabled_products_for_import()["ProductSubscriptions"]
    with pytest.raises(ClientError) as e:
        env.sh.disable_import_findings_for_product(ProductSubscriptionArn=sub)
    assert code(e) == "ResourceNotFoundException"

    # The intruder's activity is a GuardDuty finding but not a Security Hub one.
    kali_call(env, "intruder")
    criteria = {"Criterion": {"type": {"Eq": [KALI]}}}

    def intruders():
        ids = gd.list_findings(DetectorId=detector, FindingCriteria=criteria)["FindingIds"]
        fs = gd.get_findings(DetectorId=detector, FindingIds=ids)["Findings"] if ids else []
        return [f for f in fs if f["Resource"]["AccessKeyDetails"]["UserName"] == "intruder"]

    [source] = wait_for(intruders)
    time.sleep(2.5)
    assert hub_findings(env, Id=eq(source["Arn"])) == []

    # Turned on again, the finding arrives once it changes.
    got = env.sh.enable_import_findings_for_product(ProductArn=product_arn("guardduty"))
    assert got["ProductSubscriptionArn"] == sub
    time.sleep(2.5)
    assert hub_findings(env, Id=eq(source["Arn"])) == []
    kali_call(env, "intruder")
    f = one_finding(env, source["Arn"])
    assert f["ProductFields"]["aws/guardduty/service/count"] == "2"
    assert f["Resources"][0]["Details"]["AwsIamAccessKey"]["PrincipalName"] == "intruder"


def test_access_analyzer_findings_reach_security_hub(env):
    aa = env.client("accessanalyzer")
    analyzer = aa.create_analyzer(analyzerName="account", type="ACCOUNT")["arn"]
    role = env.client("iam").create_role(
        RoleName="shared", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{EXTERNAL}:root"})
    )["Role"]["Arn"]
    fid = f"{analyzer}/{role}"
    f = one_finding(env, fid)
    assert f["ProductArn"] == product_arn("access-analyzer")
    assert f["ProductName"] == "IAM Access Analyzer" and f["CompanyName"] == "AWS"
    assert f["GeneratorId"] == "aws/access-analyzer"
    assert f["Types"] == [CROSS_ACCOUNT]
    assert f["Title"] == f"AwsIamRole/{role}/ allows cross-account access"
    assert f["Severity"]["Label"] == "LOW"
    [res] = f["Resources"]
    assert res["Type"] == "AwsIamRole" and res["Id"] == role
    assert res["Details"]["Other"]["External Principal"] == EXTERNAL
    assert res["Details"]["Other"]["Action Granted"] == "sts:AssumeRole"
    assert [x["Id"] for x in hub_findings(env, ProductName=eq("IAM Access Analyzer"))] == [fid]

    # Archiving the Access Analyzer finding archives the Security Hub finding.
    [source] = aa.list_findings(analyzerArn=analyzer)["findings"]
    aa.update_findings(analyzerArn=analyzer, ids=[source["id"]], status="ARCHIVED")
    archived = one_finding(env, fid, lambda x: x["RecordState"] == "ARCHIVED")
    assert archived["Workflow"]["Status"] == "NEW"
    assert hub_findings(env, ProductName=eq("IAM Access Analyzer"), RecordState=eq("ACTIVE")) == []


def test_config_rule_results_reach_security_hub(env):
    cfg = ensure_recording(env)
    iam = env.client("iam")
    user = unique("cfg-user")
    user_arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.put_user_policy(
        UserName=user,
        PolicyName="inline",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
        ),
    )
    rule = unique("no-user-policies")
    put_rule(cfg, rule, "IAM_USER_NO_POLICIES_CHECK", scope={"ComplianceResourceTypes": ["AWS::IAM::User"]})
    rule_arn = cfg.describe_config_rules(ConfigRuleNames=[rule])["ConfigRules"][0]["ConfigRuleArn"]
    by_rule = {"ProductFields": [{"Key": "aws/config/ConfigRuleName", "Value": rule, "Comparison": "EQUALS"}]}

    def result(status):
        fs = hub_findings(env, ProductName=eq("Config"), ResourceId=eq(user_arn), **by_rule)
        return fs[0] if fs and fs[0]["Compliance"]["Status"] == status else None

    f = wait_for(lambda: result("FAILED"))
    assert f["ProductArn"] == product_arn("config") and f["CompanyName"] == "AWS"
    assert f["GeneratorId"] == rule_arn and f["Id"].startswith(f"{rule_arn}/finding/")
    assert f["Types"] == ["Software and Configuration Checks"]
    assert f["Title"] == rule and f["Severity"]["Label"] == "MEDIUM"
    assert f["Description"] == f"This finding is created for a resource compliance change for config rule: {rule}"
    assert f["Resources"][0]["Type"] == "AwsIamUser"
    assert f["ProductFields"]["aws/config/ConfigComplianceType"] == "NON_COMPLIANT"
    assert f["RecordState"] == "ACTIVE" and f["Workflow"]["Status"] == "NEW"

    # Fixing the user passes the same finding; deleting the rule archives it.
    iam.delete_user_policy(UserName=user, PolicyName="inline")
    passed = wait_for(lambda: result("PASSED"))
    assert passed["Id"] == f["Id"] and passed["Workflow"]["Status"] == "RESOLVED"
    assert passed["ProductFields"]["aws/config/ConfigComplianceType"] == "COMPLIANT"
    cfg.delete_config_rule(ConfigRuleName=rule)
    gone = one_finding(env, f["Id"], lambda x: x["RecordState"] == "ARCHIVED")
    assert gone["Compliance"]["Status"] == "PASSED"


def test_delivery_resumes_after_a_restart_without_duplicates():
    """A change made just before the server stops reaches Security Hub after the restart,
    once: delivery is an upsert keyed by the source's identity."""
    first = Server()
    try:
        first.client("securityhub").enable_security_hub(EnableDefaultStandards=False)
        aa = first.client("accessanalyzer")
        analyzer = aa.create_analyzer(analyzerName="account", type="ACCOUNT")["arn"]
        role = first.client("iam").create_role(
            RoleName="shared", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{EXTERNAL}:root"})
        )["Role"]["Arn"]
    finally:
        first.stop()
    second = Server(data_dir=first.data_dir)
    try:
        sh = second.client("securityhub")
        fid = f"{analyzer}/{role}"

        def found():
            return sh.get_findings(Filters={"Id": eq(fid)})["Findings"]

        [f] = wait_for(found)
        assert f["RecordState"] == "ACTIVE"
        aa = second.client("accessanalyzer")
        [source] = aa.list_findings(analyzerArn=analyzer)["findings"]
        aa.update_findings(analyzerArn=analyzer, ids=[source["id"]], status="ARCHIVED")
        wait_for(lambda: [x for x in found() if x["RecordState"] == "ARCHIVED"])
        assert len(found()) == 1
        products = sh.get_findings(Filters={"ProductName": eq("IAM Access Analyzer")})["Findings"]
        assert [x["Id"] for x in products] == [fid]
    finally:
        second.stop()
