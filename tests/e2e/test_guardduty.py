"""GuardDuty end to end with boto3: detectors with AWS's shapes and errors, and findings that
come from doing the thing (root credentials, a Kali user agent, StopLogging, a public bucket
policy, a call from an address on a threat list uploaded to Rampart's S3), counted on repeat,
silenced by a trusted IP list, archived and filtered with AWS's criteria.

Each test watches its own region (a detector is per account and region), and everything but
the deliberate root calls is done by an administrator IAM user, so root findings count only
what the test does."""

import json
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Server
from test_cloudtrail_trails import trail_policy

ROOT_USAGE = "Policy:IAMUser/RootCredentialUsage"
KALI = "PenTest:IAMUser/KaliLinux"
LOGGING_DISABLED = "Stealth:IAMUser/CloudTrailLoggingDisabled"
BPA_DISABLED = "Policy:S3/BucketBlockPublicAccessDisabled"
ANONYMOUS = "Policy:S3/BucketAnonymousAccessGranted"
MALICIOUS_IP = "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def env():
    """A server of its own, and an administrator user's keys."""
    s = Server()
    iam = s.client("iam")
    iam.create_user(UserName="admin")
    iam.put_user_policy(
        UserName="admin",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    s.admin = (key["AccessKeyId"], key["SecretAccessKey"])
    yield s
    s.stop()


def admin(env, service, region="us-east-1", config=None):
    key, secret = env.admin
    return env.client(service, key=key, secret=secret, region=region, config=config)


def criterion(**conditions):
    return {"Criterion": conditions}


def of_type(kind):
    return criterion(type={"Eq": [kind]})


def wait_for(gd, detector, criteria, count=1, timeout=5.0):
    """The findings matching `criteria` once there are `count` of them."""
    deadline = time.time() + timeout
    while True:
        ids = gd.list_findings(DetectorId=detector, FindingCriteria=criteria)["FindingIds"]
        if len(ids) >= count or time.time() > deadline:
            if not ids:
                return []
            return gd.get_findings(DetectorId=detector, FindingIds=ids)["Findings"]
        time.sleep(0.1)


def wait_count(gd, detector, criteria, count, timeout=5.0):
    """The one finding matching `criteria` once its count reaches `count`."""
    deadline = time.time() + timeout
    while True:
        found = wait_for(gd, detector, criteria, 1, timeout=timeout)
        if (found and found[0]["Service"]["Count"] >= count) or time.time() > deadline:
            return found
        time.sleep(0.1)


def test_detectors_follow_aws(env):
    gd = admin(env, "guardduty", region="ap-south-1")
    detector = gd.create_detector(Enable=True, Tags={"team": "sec"})["DetectorId"]
    assert len(detector) == 32
    with pytest.raises(ClientError) as e:
        gd.create_detector(Enable=True)
    assert code(e) == "BadRequestException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert gd.list_detectors()["DetectorIds"] == [detector]
    got = gd.get_detector(DetectorId=detector)
    assert got["Status"] == "ENABLED"
    assert got["FindingPublishingFrequency"] == "SIX_HOURS"
    assert got["ServiceRole"].endswith("AWSServiceRoleForAmazonGuardDuty")
    assert got["Tags"] == {"team": "sec"}
    features = {f["Name"]: f["Status"] for f in got["Features"]}
    assert features["CLOUD_TRAIL"] == "ENABLED"
    assert features["S3_DATA_EVENTS"] == "ENABLED"
    assert features["RUNTIME_MONITORING"] == "DISABLED"
    assert got["DataSources"]["S3Logs"]["Status"] == "ENABLED"

    gd.update_detector(
        DetectorId=detector,
        Enable=False,
        FindingPublishingFrequency="FIFTEEN_MINUTES",
        Features=[{"Name": "S3_DATA_EVENTS", "Status": "DISABLED"}],
    )
    got = gd.get_detector(DetectorId=detector)
    assert got["Status"] == "DISABLED"
    assert got["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
    assert {f["Name"]: f["Status"] for f in got["Features"]}["S3_DATA_EVENTS"] == "DISABLED"
    with pytest.raises(ClientError) as e:
        gd.update_detector(
            DetectorId=detector,
            Features=[
                {"Name": "EKS_RUNTIME_MONITORING", "Status": "ENABLED"},
                {"Name": "RUNTIME_MONITORING", "Status": "ENABLED"},
            ],
        )
    assert code(e) == "BadRequestException"

    arn = f"arn:aws:guardduty:ap-south-1:{env.client('sts').get_caller_identity()['Account']}:detector/{detector}"
    gd.tag_resource(ResourceArn=arn, Tags={"env": "test"})
    assert gd.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "sec", "env": "test"}
    gd.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert gd.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "test"}

    # Another region has its own (none yet); an unknown id is AWS's BadRequestException.
    assert admin(env, "guardduty", region="ap-northeast-1").list_detectors()["DetectorIds"] == []
    with pytest.raises(ClientError) as e:
        gd.get_detector(DetectorId="0" * 32)
    assert code(e) == "BadRequestException"
    gd.delete_detector(DetectorId=detector)
    assert gd.list_detectors()["DetectorIds"] == []
    with pytest.raises(ClientError) as e:
        gd.get_detector(DetectorId=detector)
    assert code(e) == "BadRequestException"


def test_input_off_the_model_is_guarddutys_bad_request(env):
    """An enum value or a detector id off its model constraints is GuardDuty's
    BadRequestException (400), not the generic ValidationException, and changes nothing."""
    gd = admin(env, "guardduty", region="sa-east-1")
    with pytest.raises(ClientError) as e:
        gd.create_detector(Enable=True, FindingPublishingFrequency="HOURLY")
    assert code(e) == "BadRequestException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Message"] == (
        "The request is rejected because the parameter findingPublishingFrequency has an invalid value.")
    assert gd.list_detectors()["DetectorIds"] == []
    with pytest.raises(ClientError) as e:
        gd.list_findings(DetectorId="x" * 400)
    assert code(e) == "BadRequestException"


def test_root_credentials_are_found_counted_archived_and_filtered(env):
    region = "us-west-2"
    gd = admin(env, "guardduty", region=region)
    detector = gd.create_detector(Enable=True)["DetectorId"]
    root_gd = env.client("guardduty", region=region)

    started = time.time()
    root_gd.list_detectors()
    found = wait_for(gd, detector, of_type(ROOT_USAGE))
    seen_after = time.time() - started
    assert len(found) == 1, found
    f = found[0]
    assert seen_after < 2.0, f"visible after {seen_after:.2f}s"
    assert f["Severity"] == 2.0
    assert f["SchemaVersion"] == "2.0"
    assert f["Region"] == region
    assert f["Resource"]["ResourceType"] == "AccessKey"
    assert f["Resource"]["AccessKeyDetails"]["UserType"] == "Root"
    assert f["Resource"]["AccessKeyDetails"]["AccessKeyId"] == env.root_key
    assert f["Service"]["Count"] == 1
    assert f["Service"]["Archived"] is False
    assert f["Service"]["DetectorId"] == detector
    call = f["Service"]["Action"]["AwsApiCallAction"]
    assert call["Api"] == "ListDetectors"
    assert call["ServiceName"] == "guardduty.amazonaws.com"
    assert call["RemoteIpDetails"]["IpAddressV4"] == "127.0.0.1"
    assert f["Arn"].endswith(f"detector/{detector}/finding/{f['Id']}")

    # The same activity again updates the one finding.
    root_gd.list_detectors()
    root_gd.list_detectors()
    updated = wait_count(gd, detector, of_type(ROOT_USAGE), 3)
    assert len(updated) == 1
    assert updated[0]["Id"] == f["Id"]
    assert updated[0]["Service"]["Count"] == 3
    assert updated[0]["Service"]["EventFirstSeen"] == f["Service"]["EventFirstSeen"]
    assert updated[0]["Service"]["EventLastSeen"] >= f["Service"]["EventLastSeen"]

    # The administrator's own calls found nothing.
    assert gd.list_findings(DetectorId=detector)["FindingIds"] == [f["Id"]]

    # Archive and unarchive, seen through the criteria.
    unarchived = criterion(**{"service.archived": {"Eq": ["false"]}})
    archived = criterion(**{"service.archived": {"Eq": ["true"]}})
    gd.archive_findings(DetectorId=detector, FindingIds=[f["Id"]])
    assert gd.list_findings(DetectorId=detector, FindingCriteria=unarchived)["FindingIds"] == []
    assert gd.list_findings(DetectorId=detector, FindingCriteria=archived)["FindingIds"] == [f["Id"]]
    gd.unarchive_findings(DetectorId=detector, FindingIds=[f["Id"]])
    assert gd.list_findings(DetectorId=detector, FindingCriteria=unarchived)["FindingIds"] == [f["Id"]]
    gd.update_findings_feedback(DetectorId=detector, FindingIds=[f["Id"]], Feedback="USEFUL")
    got = gd.get_findings(DetectorId=detector, FindingIds=[f["Id"]])["Findings"][0]
    assert got["Service"]["UserFeedback"] == "USEFUL"

    # Criteria on severity, resource and account.
    assert gd.list_findings(DetectorId=detector, FindingCriteria=criterion(severity={"Gte": 4}))["FindingIds"] == []
    assert gd.list_findings(DetectorId=detector, FindingCriteria=criterion(severity={"Lt": 4}))["FindingIds"] == [f["Id"]]
    assert gd.list_findings(
        DetectorId=detector,
        FindingCriteria=criterion(**{"resource.resourceType": {"Eq": ["AccessKey"]}, "accountId": {"Eq": [f["AccountId"]]}}),
    )["FindingIds"] == [f["Id"]]

    # Samples are marked as AWS marks them.
    gd.create_sample_findings(DetectorId=detector, FindingTypes=["Recon:IAMUser/MaliciousIPCaller"])
    samples = criterion(**{"service.additionalInfo.sample": {"Eq": ["true"]}})
    ids = gd.list_findings(DetectorId=detector, FindingCriteria=samples)["FindingIds"]
    assert len(ids) == 1
    sample = gd.get_findings(DetectorId=detector, FindingIds=ids)["Findings"][0]
    assert sample["Type"] == "Recon:IAMUser/MaliciousIPCaller"
    assert json.loads(sample["Service"]["AdditionalInfo"]["Value"]) == {"sample": True}
    stats = gd.get_findings_statistics(DetectorId=detector, FindingStatisticTypes=["COUNT_BY_SEVERITY"])
    assert stats["FindingStatistics"]["CountBySeverity"] == {"2.0": 1, "5.0": 1}

    # Sorted and paged.
    page = gd.list_findings(
        DetectorId=detector, SortCriteria={"AttributeName": "severity", "OrderBy": "DESC"}, MaxResults=1
    )
    assert page["FindingIds"] == [sample["Id"]]
    rest = gd.list_findings(
        DetectorId=detector,
        SortCriteria={"AttributeName": "severity", "OrderBy": "DESC"},
        MaxResults=1,
        NextToken=page["NextToken"],
    )
    assert rest["FindingIds"] == [f["Id"]]

    # A disabled detector finds nothing.
    gd.update_detector(DetectorId=detector, Enable=False)
    root_gd.list_detectors()
    time.sleep(1.5)
    assert wait_for(gd, detector, of_type(ROOT_USAGE))[0]["Service"]["Count"] == 3


def test_a_kali_user_agent_is_a_pentest_finding(env):
    region = "us-east-2"
    gd = admin(env, "guardduty", region=region)
    detector = gd.create_detector(Enable=True)["DetectorId"]
    kali = admin(env, "sts", region=region, config=Config(user_agent_extra="Linux/6.6.9-amd64.kali"))
    kali.get_caller_identity()
    found = wait_for(gd, detector, of_type(KALI))
    assert len(found) == 1
    assert found[0]["Severity"] == 5.0
    assert found[0]["Resource"]["AccessKeyDetails"]["UserName"] == "admin"
    assert "kali" in found[0]["Service"]["Action"]["AwsApiCallAction"]["UserAgent"]
    kali.get_caller_identity()
    assert wait_count(gd, detector, of_type(KALI), 2)[0]["Service"]["Count"] == 2
    # Nothing else was found: the same user's ordinary calls are not findings.
    assert len(gd.list_findings(DetectorId=detector)["FindingIds"]) == 1


def test_stopping_a_trail_is_found(env):
    region = "us-east-1"
    account = env.client("sts").get_caller_identity()["Account"]
    s3 = admin(env, "s3")
    s3.create_bucket(Bucket="gd-trail-logs")
    s3.put_bucket_policy(Bucket="gd-trail-logs", Policy=trail_policy("gd-trail-logs", account))
    ct = admin(env, "cloudtrail")
    ct.create_trail(Name="watched", S3BucketName="gd-trail-logs")
    ct.start_logging(Name="watched")
    gd = admin(env, "guardduty", region=region)
    detector = gd.create_detector(Enable=True)["DetectorId"]
    ct.stop_logging(Name="watched")
    found = wait_for(gd, detector, of_type(LOGGING_DISABLED))
    assert len(found) == 1
    assert found[0]["Severity"] == 2.0
    assert found[0]["Service"]["Action"]["AwsApiCallAction"]["Api"] == "StopLogging"
    ct.delete_trail(Name="watched")
    found = wait_count(gd, detector, of_type(LOGGING_DISABLED), 2)
    assert found[0]["Service"]["Count"] == 2
    assert found[0]["Service"]["Action"]["AwsApiCallAction"]["Api"] == "DeleteTrail"

    # A public bucket policy (after turning Block Public Access off) is found, High.
    s3.create_bucket(Bucket="gd-public")
    s3.delete_public_access_block(Bucket="gd-public")
    s3.put_bucket_policy(
        Bucket="gd-public",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::gd-public/*"}
                ],
            }
        ),
    )
    found = wait_for(gd, detector, of_type(ANONYMOUS))
    assert len(found) == 1
    assert found[0]["Severity"] == 8.0
    assert found[0]["Resource"]["S3BucketDetails"][0]["Name"] == "gd-public"
    assert wait_for(gd, detector, of_type(BPA_DISABLED))[0]["Severity"] == 2.0
    high = gd.list_findings(DetectorId=detector, FindingCriteria=criterion(severity={"Gte": 7}))["FindingIds"]
    assert high == [found[0]["Id"]]
    # A policy that is not public is not a finding.
    s3.create_bucket(Bucket="gd-private")
    s3.put_bucket_policy(
        Bucket="gd-private",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::gd-private/*",
                    }
                ],
            }
        ),
    )
    time.sleep(1.5)
    assert len(wait_for(gd, detector, of_type(ANONYMOUS))) == 1


def upload_list(env, bucket, key, body):
    s3 = admin(env, "s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def test_a_threat_list_in_s3_flags_its_addresses(env):
    region = "eu-west-1"
    gd = admin(env, "guardduty", region=region)
    detector = gd.create_detector(Enable=True)["DetectorId"]

    # A list that cannot be read is refused, and nothing is stored.
    with pytest.raises(ClientError) as e:
        gd.create_threat_intel_set(
            DetectorId=detector, Name="missing", Format="TXT", Location="s3://gd-lists/none.txt", Activate=True
        )
    assert code(e) == "BadRequestException"
    assert gd.list_threat_intel_sets(DetectorId=detector)["ThreatIntelSetIds"] == []

    location = upload_list(env, "gd-lists", "threats.txt", b"# loopback, for the test\n127.0.0.1\n203.0.113.0/24\n")
    created = gd.create_threat_intel_set(
        DetectorId=detector, Name="known-bad", Format="TXT", Location=location, Activate=True
    )
    set_id = created["ThreatIntelSetId"]
    got = gd.get_threat_intel_set(DetectorId=detector, ThreatIntelSetId=set_id)
    assert got["Status"] == "ACTIVE"
    assert got["Location"] == location
    assert gd.list_threat_intel_sets(DetectorId=detector)["ThreatIntelSetIds"] == [set_id]

    admin(env, "sts", region=region).get_caller_identity()
    found = wait_for(gd, detector, of_type(MALICIOUS_IP))
    assert len(found) == 1
    assert found[0]["Severity"] == 5.0
    info = json.loads(found[0]["Service"]["AdditionalInfo"]["Value"])
    assert info["threatListName"] == "known-bad"

    # Deactivated, the list flags nothing more.
    gd.update_threat_intel_set(DetectorId=detector, ThreatIntelSetId=set_id, Activate=False)
    assert gd.get_threat_intel_set(DetectorId=detector, ThreatIntelSetId=set_id)["Status"] == "INACTIVE"
    before = wait_for(gd, detector, of_type(MALICIOUS_IP))[0]["Service"]["Count"]
    admin(env, "sts", region=region).get_caller_identity()
    time.sleep(1.5)
    assert wait_for(gd, detector, of_type(MALICIOUS_IP))[0]["Service"]["Count"] == before
    gd.delete_threat_intel_set(DetectorId=detector, ThreatIntelSetId=set_id)
    assert gd.list_threat_intel_sets(DetectorId=detector)["ThreatIntelSetIds"] == []


def test_a_trusted_ip_list_is_never_flagged(env):
    region = "eu-central-1"
    gd = admin(env, "guardduty", region=region)
    detector = gd.create_detector(Enable=True)["DetectorId"]
    # The trusted list first: the calls that follow come from the listed address, and none
    # of them (the threat list's own creation included) may be flagged.
    trusted = upload_list(env, "gd-lists-2", "trusted.txt", b"127.0.0.0/8\n")
    ip_set = gd.create_ip_set(
        DetectorId=detector, Name="office", Format="TXT", Location=trusted, Activate=True
    )["IpSetId"]
    threats = upload_list(env, "gd-lists-2", "threats.txt", b"127.0.0.1\n")
    gd.create_threat_intel_set(DetectorId=detector, Name="bad", Format="TXT", Location=threats, Activate=True)
    assert gd.get_ip_set(DetectorId=detector, IpSetId=ip_set)["Status"] == "ACTIVE"
    with pytest.raises(ClientError) as e:
        gd.create_ip_set(
            DetectorId=detector, Name="second", Format="TXT", Location="s3://gd-lists-2/trusted.txt", Activate=True
        )
    assert code(e) == "BadRequestException"

    # Root, a Kali agent and a listed address: all from a trusted address, no finding.
    env.client("guardduty", region=region).list_detectors()
    admin(env, "sts", region=region, config=Config(user_agent_extra="kali")).get_caller_identity()
    time.sleep(2.0)
    assert gd.list_findings(DetectorId=detector)["FindingIds"] == []

    # Without the trusted list the same calls are found.
    gd.delete_ip_set(DetectorId=detector, IpSetId=ip_set)
    env.client("guardduty", region=region).list_detectors()
    assert len(wait_for(gd, detector, of_type(ROOT_USAGE))) == 1
    # One per caller from the listed address: the root user and the administrator.
    callers = {f["Resource"]["AccessKeyDetails"]["UserType"] for f in wait_for(gd, detector, of_type(MALICIOUS_IP), 2)}
    assert callers == {"Root", "IAMUser"}


def test_findings_reach_an_eventbridge_rule_as_guardduty_finding_events(env):
    """A rule on `aws.guardduty` findings delivers each new finding to an HTTP receiver;
    a repeat within the publishing frequency updates the finding without a second event."""
    from test_events import Receiver, api_key_destination

    region = "ap-southeast-2"
    receiver = Receiver().start()
    try:
        events = admin(env, "events", region=region)
        _, dest = api_key_destination(events, "gd", receiver.url())
        events.put_rule(Name="findings", EventPattern=json.dumps(
            {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
             "detail": {"severity": [{"numeric": [">=", 4]}]}}))
        events.put_targets(Rule="findings", Targets=[{"Id": "hook", "Arn": dest}])
        gd = admin(env, "guardduty", region=region)
        detector = gd.create_detector(Enable=True)["DetectorId"]
        kali = admin(env, "sts", region=region, config=Config(user_agent_extra="kali"))
        kali.get_caller_identity()
        [finding] = wait_for(gd, detector, of_type(KALI))
        got = receiver.wait(1)
        assert len(got) == 1, got
        event = got[0]
        assert (event["source"], event["detail-type"], event["region"]) == (
            "aws.guardduty", "GuardDuty Finding", region)
        assert event["detail"]["id"] == finding["Id"] and event["detail"]["type"] == KALI
        kali.get_caller_identity()
        assert wait_count(gd, detector, of_type(KALI), 2)[0]["Service"]["Count"] == 2
        time.sleep(2)
        assert len(receiver.events()) == 1, "a repeat within the frequency is not published again"
    finally:
        receiver.stop()
