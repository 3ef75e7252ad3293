"""GuardDuty filters and console sign-in findings end to end with boto3: filter CRUD with
AWS's shapes, errors and paging; an ARCHIVE filter (a suppression rule) storing matching new
findings archived while other findings stay active; and bursts of failed console logins,
made through Rampart's real sign-in endpoint, becoming findings on the request clock.

A dev-mode server of its own (the sign-in windows are moved with the dev clock); each test
watches its own region, except sign-in, which CloudTrail records in us-east-1."""

import json
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Server, advance, signin

KALI = "PenTest:IAMUser/KaliLinux"
ROOT_USAGE = "Policy:IAMUser/RootCredentialUsage"
BRUTE_FORCE = "CredentialAccess:IAMUser/AnomalousBehavior"
LOGIN_AFTER_BURST = "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def env():
    s = Server("--dev")
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
    s.account = s.client("sts").get_caller_identity()["Account"]
    yield s
    s.stop()


def admin(env, service, region="us-east-1", config=None):
    key, secret = env.admin
    return env.client(service, key=key, secret=secret, region=region, config=config)


def of_type(kind, **more):
    return {"Criterion": {"type": {"Eq": [kind]}, **more}}


def findings(gd, detector, criteria, count=1, timeout=5.0):
    """The findings matching `criteria` once there are `count` of them (or the timeout)."""
    deadline = time.time() + timeout
    while True:
        ids = gd.list_findings(DetectorId=detector, FindingCriteria=criteria)["FindingIds"]
        if len(ids) >= count or time.time() > deadline:
            return gd.get_findings(DetectorId=detector, FindingIds=ids)["Findings"] if ids else []
        time.sleep(0.1)


def test_filter_crud_errors_tags_and_paging(env):
    region = "eu-west-2"
    gd = admin(env, "guardduty", region=region)
    detector = gd.create_detector(Enable=True)["DetectorId"]
    criteria = of_type(KALI, severity={"Gte": 4})
    made = gd.create_filter(
        DetectorId=detector,
        Name="kali-suppress",
        Description="Known pentest host",
        Action="ARCHIVE",
        Rank=1,
        FindingCriteria=criteria,
        Tags={"team": "sec"},
    )
    assert made["Name"] == "kali-suppress"
    got = gd.get_filter(DetectorId=detector, FilterName="kali-suppress")
    assert got["Action"] == "ARCHIVE" and got["Rank"] == 1
    assert got["Description"] == "Known pentest host"
    assert got["FindingCriteria"]["Criterion"]["type"]["Eq"] == [KALI]
    assert got["FindingCriteria"]["Criterion"]["severity"]["Gte"] == 4
    assert got["Tags"] == {"team": "sec"}

    # A retry with the same client token is the same create; without it, a duplicate.
    again = dict(DetectorId=detector, Name="kali-suppress", FindingCriteria=criteria)
    gd.create_filter(ClientToken="retry-1", **dict(again, Name="tokened"))
    assert gd.create_filter(ClientToken="retry-1", **dict(again, Name="tokened"))["Name"] == "tokened"
    with pytest.raises(ClientError) as e:
        gd.create_filter(ClientToken="retry-2", **dict(again, Name="tokened"))
    assert code(e) == "BadRequestException"
    gd.delete_filter(DetectorId=detector, FilterName="tokened")

    # Action defaults to NOOP; the rank defaults to the next place.
    gd.create_filter(DetectorId=detector, Name="view.1", FindingCriteria=of_type(ROOT_USAGE))
    got = gd.get_filter(DetectorId=detector, FilterName="view.1")
    assert (got["Action"], got["Rank"]) == ("NOOP", 2)

    bad = [
        dict(Name="kali-suppress", FindingCriteria=criteria),  # duplicate name
        dict(Name="has space", FindingCriteria=criteria),
        dict(Name="ok-name", Description="two\nlines", FindingCriteria=criteria),
        dict(Name="ok-name", FindingCriteria={"Criterion": {}}),
    ]
    for kwargs in bad:
        with pytest.raises(ClientError) as e:
            gd.create_filter(DetectorId=detector, **kwargs)
        assert code(e) == "BadRequestException", kwargs
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Lengths, ranges and enums of the model are refused by the common input validation.
    out_of_model = [
        dict(Name="x" * 65, FindingCriteria=criteria),
        dict(Name="ok-name", Rank=101, FindingCriteria=criteria),
        dict(Name="ok-name", Action="DELETE", FindingCriteria=criteria),
        dict(Name="ok-name", Description="d" * 513, FindingCriteria=criteria),
    ]
    for kwargs in out_of_model:
        with pytest.raises(ClientError) as e:
            gd.create_filter(DetectorId=detector, **kwargs)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, kwargs
    assert gd.list_filters(DetectorId=detector)["FilterNames"] == ["kali-suppress", "view.1"]
    for call in (gd.get_filter, gd.delete_filter, gd.update_filter):
        with pytest.raises(ClientError) as e:
            call(DetectorId=detector, FilterName="no-such-filter")
        assert code(e) == "BadRequestException"
    with pytest.raises(ClientError) as e:
        gd.list_filters(DetectorId="0" * 32)
    assert code(e) == "BadRequestException"

    # Update: description, action, rank, criteria.
    assert gd.update_filter(
        DetectorId=detector, FilterName="view.1", Action="ARCHIVE", Rank=5,
        Description="now a rule", FindingCriteria=of_type(KALI),
    )["Name"] == "view.1"
    got = gd.get_filter(DetectorId=detector, FilterName="view.1")
    assert (got["Action"], got["Rank"], got["Description"]) == ("ARCHIVE", 5, "now a rule")
    assert got["FindingCriteria"]["Criterion"]["type"]["Eq"] == [KALI]
    with pytest.raises(ClientError) as e:
        gd.update_filter(DetectorId=detector, FilterName="view.1", Rank=500)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert gd.get_filter(DetectorId=detector, FilterName="view.1")["Rank"] == 5

    # Tags through the filter's ARN.
    arn = f"arn:aws:guardduty:{region}:{env.account}:detector/{detector}/filter/kali-suppress"
    gd.tag_resource(ResourceArn=arn, Tags={"env": "prod"})
    assert gd.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "sec", "env": "prod"}
    gd.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert gd.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "prod"}

    # The authorizer is asked about the filter's ARN.
    iam = env.client("iam")
    iam.create_user(UserName="filter-reader")
    iam.put_user_policy(UserName="filter-reader", PolicyName="one", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "guardduty:GetFilter", "Resource": arn}],
    }))
    k = iam.create_access_key(UserName="filter-reader")["AccessKey"]
    reader = env.client("guardduty", key=k["AccessKeyId"], secret=k["SecretAccessKey"], region=region)
    assert reader.get_filter(DetectorId=detector, FilterName="kali-suppress")["Name"] == "kali-suppress"
    with pytest.raises(ClientError) as e:
        reader.get_filter(DetectorId=detector, FilterName="view.1")
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        reader.delete_filter(DetectorId=detector, FilterName="kali-suppress")
    assert code(e) == "AccessDeniedException"

    # Paging by name.
    for i in range(3):
        gd.create_filter(DetectorId=detector, Name=f"page-{i}", FindingCriteria=criteria)
    names, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = gd.list_filters(DetectorId=detector, MaxResults=2, **kw)
        assert len(page["FilterNames"]) <= 2
        names += page["FilterNames"]
        token = page.get("NextToken")
        if not token:
            break
    assert names == sorted(["kali-suppress", "view.1", "page-0", "page-1", "page-2"])
    with pytest.raises(ClientError) as e:
        gd.list_filters(DetectorId=detector, MaxResults=51)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    gd.delete_filter(DetectorId=detector, FilterName="page-0")
    assert "page-0" not in gd.list_filters(DetectorId=detector)["FilterNames"]

    # Deleting the detector deletes its filters.
    gd.delete_detector(DetectorId=detector)
    detector = gd.create_detector(Enable=True)["DetectorId"]
    assert gd.list_filters(DetectorId=detector)["FilterNames"] == []
    gd.delete_detector(DetectorId=detector)


def test_an_archive_filter_suppresses_new_matching_findings(env):
    region = "eu-west-3"
    gd = admin(env, "guardduty", region=region)
    root_sts = env.client("sts", region=region)
    detector = gd.create_detector(Enable=True)["DetectorId"]

    # A finding from before the filter is not changed by it.
    root_sts.get_caller_identity()
    before = findings(gd, detector, of_type(ROOT_USAGE))
    assert before and before[0]["Service"]["Archived"] is False

    gd.create_filter(
        DetectorId=detector, Name="suppress-kali", Action="ARCHIVE", Rank=1,
        FindingCriteria=of_type(KALI),
    )
    gd.create_filter(
        DetectorId=detector, Name="view-root", Action="NOOP", Rank=2,
        FindingCriteria=of_type(ROOT_USAGE),
    )
    assert findings(gd, detector, of_type(ROOT_USAGE))[0]["Service"]["Archived"] is False

    kali = admin(env, "sts", region=region, config=Config(user_agent_extra="Linux/6.6.9-amd64.kali"))
    kali.get_caller_identity()
    archived = findings(gd, detector, of_type(KALI, **{"service.archived": {"Eq": ["true"]}}))
    assert len(archived) == 1 and archived[0]["Service"]["Archived"] is True
    active_kali = gd.list_findings(
        DetectorId=detector,
        FindingCriteria=of_type(KALI, **{"service.archived": {"Eq": ["false"]}}),
    )["FindingIds"]
    assert active_kali == []

    # A finding no ARCHIVE filter matches stays active (a NOOP filter is only a view).
    root_sts.get_caller_identity()
    root = findings(gd, detector, of_type(ROOT_USAGE))
    deadline = time.time() + 5
    while root[0]["Service"]["Count"] < 2 and time.time() < deadline:
        time.sleep(0.1)
        root = findings(gd, detector, of_type(ROOT_USAGE))
    assert root[0]["Service"]["Count"] == 2 and root[0]["Service"]["Archived"] is False

    # Once the filter is gone, new matching findings are active again.
    gd.delete_filter(DetectorId=detector, FilterName="suppress-kali")
    parrot = admin(env, "sts", region=region, config=Config(user_agent_extra="parrot"))
    parrot.get_caller_identity()
    found = findings(gd, detector, of_type("PenTest:IAMUser/ParrotLinux"))
    assert found and found[0]["Service"]["Archived"] is False




def test_bursts_of_failed_console_logins_are_found(env):
    gd = admin(env, "guardduty")  # sign-in is recorded in us-east-1
    detector = gd.create_detector(Enable=True)["DetectorId"]
    iam = env.client("iam")
    for user in ("mallory", "bob"):
        iam.create_user(UserName=user)
        iam.create_login_profile(UserName=user, Password=f"{user.title()}-pass-1234!")
    account = env.account

    # A success with no failures before it is no finding.
    assert signin(env, account=account, user="bob", password="Bob-pass-1234!")[0] == 200
    # Nine failures are below the threshold.
    for _ in range(9):
        assert signin(env, account=account, user="mallory", password="wrong-pass-9!")[0] in (401, 429)
    assert findings(gd, detector, of_type(BRUTE_FORCE), timeout=1.0) == []

    # The tenth within ten minutes is a burst (locked-out attempts still count as failures).
    signin(env, account=account, user="mallory", password="wrong-pass-9!")
    found = findings(gd, detector, of_type(BRUTE_FORCE))
    assert len(found) == 1
    f = found[0]
    assert f["Resource"]["AccessKeyDetails"]["UserName"] == "mallory"
    assert f["Service"]["Action"]["AwsApiCallAction"]["Api"] == "ConsoleLogin"
    assert f["Service"]["Action"]["AwsApiCallAction"]["ServiceName"] == "signin.amazonaws.com"
    assert json.loads(f["Service"]["AdditionalInfo"]["Value"])["failedConsoleLogins"] == 10
    assert f["Severity"] == 5.0

    # A success from the same address after the burst is an anomalous login.
    assert signin(env, account=account, user="bob", password="Bob-pass-1234!")[0] == 200
    found = findings(gd, detector, of_type(LOGIN_AFTER_BURST))
    assert len(found) == 1
    assert found[0]["Resource"]["AccessKeyDetails"]["UserName"] == "bob"
    assert found[0]["Service"]["Count"] == 1

    # The window follows the request clock: eleven minutes on, the burst has passed.
    advance(env, 660)
    assert signin(env, account=account, user="bob", password="Bob-pass-1234!")[0] == 200
    iam.get_user(UserName="bob")  # a later record, so the sign-in has surely been looked at
    time.sleep(1.0)
    found = findings(gd, detector, of_type(LOGIN_AFTER_BURST))
    assert found[0]["Service"]["Count"] == 1


def test_suppressed_findings_are_not_sent_to_eventbridge(env):
    """A rule on every GuardDuty finding receives the unsuppressed finding only."""
    from test_events import Receiver, api_key_destination

    region = "ca-central-1"
    receiver = Receiver().start()
    try:
        events = admin(env, "events", region=region)
        _, dest = api_key_destination(events, "gd", receiver.url())
        events.put_rule(Name="findings", EventPattern=json.dumps(
            {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}))
        events.put_targets(Rule="findings", Targets=[{"Id": "hook", "Arn": dest}])
        gd = admin(env, "guardduty", region=region)
        detector = gd.create_detector(Enable=True)["DetectorId"]
        gd.create_filter(
            DetectorId=detector, Name="suppress-kali", Action="ARCHIVE",
            FindingCriteria=of_type(KALI),
        )
        admin(env, "sts", region=region, config=Config(user_agent_extra="kali")).get_caller_identity()
        assert findings(gd, detector, of_type(KALI))[0]["Service"]["Archived"] is True
        admin(env, "sts", region=region, config=Config(user_agent_extra="parrot")).get_caller_identity()
        [parrot] = findings(gd, detector, of_type("PenTest:IAMUser/ParrotLinux"))
        got = receiver.wait(1)
        time.sleep(1.0)
        got = receiver.events()
        assert [e["detail"]["type"] for e in got] == ["PenTest:IAMUser/ParrotLinux"], got
        assert got[0]["detail"]["id"] == parrot["Id"]
    finally:
        receiver.stop()


def test_sign_in_windows_survive_a_restart():
    """Five failures before a restart and five after make one burst: the windows are stored."""
    first = Server("--dev")
    try:
        account = first.client("sts").get_caller_identity()["Account"]
        gd = first.client("guardduty")
        detector = gd.create_detector(Enable=True)["DetectorId"]
        iam = first.client("iam")
        iam.create_user(UserName="eve")
        iam.create_login_profile(UserName="eve", Password="Eve-pass-1234!")
        for _ in range(5):
            signin(first, account=account, user="eve", password="wrong-pass-9!")
        iam.get_user(UserName="eve")
        time.sleep(1.0)  # let the consumer pass the failures before the restart
    finally:
        first.stop()
    again = Server("--dev", data_dir=first.data_dir)
    try:
        gd = again.client("guardduty")
        assert findings(gd, detector, of_type(BRUTE_FORCE), timeout=0.5) == []
        for _ in range(5):
            signin(again, account=account, user="eve", password="wrong-pass-9!")
        [found] = findings(gd, detector, of_type(BRUTE_FORCE))
        assert found["Resource"]["AccessKeyDetails"]["UserName"] == "eve"
        assert json.loads(found["Service"]["AdditionalInfo"]["Value"])["failedConsoleLogins"] == 10
    finally:
        again.stop()
