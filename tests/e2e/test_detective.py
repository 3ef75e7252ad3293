"""Detective end to end with boto3: behavior graphs and members with AWS's shapes and errors,
and investigations computed from what a principal really did against Rampart (its calls,
their source addresses and user agents, a GuardDuty threat list and finding), geolocated with
small MaxMind-format databases the test writes, and `rampart investigate`'s timeline.

Calls come from chosen loopback addresses (127.0.0.x): the client's connections are bound to
them, so the server records them as the source address. The fixture databases place
127.0.0.1 in Seattle (Amazon's network) and 127.0.0.9 in Sydney (Telstra's)."""

import json
import os
import subprocess
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from mmdb_writer import MMDBWriter, MmdbF64
from netaddr import IPSet

from conftest import BIN, RUN_DIR, Server, advance

SEATTLE = "127.0.0.1"
SYDNEY = "127.0.0.9"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def write_databases(folder):
    """A GeoLite2-City and a GeoLite2-ASN database for the two loopback addresses."""
    city = MMDBWriter(ip_version=4, database_type="GeoLite2-City", languages=["en"], description="rampart test")
    asn = MMDBWriter(ip_version=4, database_type="GeoLite2-ASN", languages=["en"], description="rampart test")
    places = [
        (SEATTLE, "Seattle", "US", 47.61, -122.33, 16509, "AMAZON-02"),
        (SYDNEY, "Sydney", "AU", -33.87, 151.21, 1221, "Telstra Limited"),
    ]
    for ip, name, cc, lat, lon, number, org in places:
        city.insert_network(
            IPSet([ip + "/32"]),
            {
                "city": {"names": {"en": name}},
                "country": {"iso_code": cc, "names": {"en": cc}},
                "location": {"latitude": MmdbF64(lat), "longitude": MmdbF64(lon)},
            },
        )
        asn.insert_network(
            IPSet([ip + "/32"]),
            {"autonomous_system_number": number, "autonomous_system_organization": org},
        )
    paths = (os.path.join(folder, "city.mmdb"), os.path.join(folder, "asn.mmdb"))
    city.to_db_file(paths[0])
    asn.to_db_file(paths[1])
    return paths


@pytest.fixture(scope="module")
def env():
    """A dev-mode server (its clock moves) with the fixture databases."""
    folder = os.path.join(RUN_DIR, "detective-geo")
    os.makedirs(folder, exist_ok=True)
    city, asn = write_databases(folder)
    s = Server("--dev", "--geoip-city-db", city, "--geoip-asn-db", asn)
    s.geo = (city, asn)
    s.account = s.client("sts").get_caller_identity()["Account"]
    yield s
    s.stop()


def user(env, name):
    """An IAM user allowed everything; its keys."""
    iam = env.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=ADMIN_POLICY)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def client(env, service, keys, source=SEATTLE, agent=None, region="us-east-1"):
    """A client signing with `keys` whose connections come from `source`."""
    config = Config(user_agent_extra=agent) if agent else None
    c = env.client(service, key=keys[0], secret=keys[1], region=region, config=config)
    c._endpoint.http_session._manager.connection_pool_kw["source_address"] = (source, 0)
    return c


def wait_investigation(dt, graph, investigation, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        got = dt.get_investigation(GraphArn=graph, InvestigationId=investigation)
        if got["Status"] != "RUNNING" or time.time() > deadline:
            return got
        time.sleep(0.2)


def indicators(dt, graph, investigation, **filters):
    out, token = [], None
    while True:
        page = dt.list_indicators(
            GraphArn=graph, InvestigationId=investigation, MaxResults=2, **({"NextToken": token} if token else {}), **filters
        )
        out.extend(page["Indicators"])
        token = page.get("NextToken")
        if not token:
            return out


def test_graph_life_cycle_members_and_errors(env):
    dt = env.client("detective", region="eu-west-2")
    graph = dt.create_graph(Tags={"team": "sec"})["GraphArn"]
    assert graph.startswith(f"arn:aws:detective:eu-west-2:{env.account}:graph:")

    with pytest.raises(ClientError) as e:
        dt.create_graph()
    assert code(e) == "ConflictException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    graphs = dt.list_graphs()["GraphList"]
    assert [g["Arn"] for g in graphs] == [graph]

    dt.tag_resource(ResourceArn=graph, Tags={"env": "prod"})
    dt.untag_resource(ResourceArn=graph, TagKeys=["team"])
    assert dt.list_tags_for_resource(ResourceArn=graph)["Tags"] == {"env": "prod"}

    created = dt.create_members(
        GraphArn=graph,
        Accounts=[
            {"AccountId": "111111111111", "EmailAddress": "one@example.com"},
            {"AccountId": env.account, "EmailAddress": "me@example.com"},
        ],
    )
    assert [m["AccountId"] for m in created["Members"]] == ["111111111111"]
    assert created["Members"][0]["Status"] == "INVITED"
    assert created["Members"][0]["AdministratorId"] == env.account
    assert [u["AccountId"] for u in created["UnprocessedAccounts"]] == [env.account]
    listed = dt.list_members(GraphArn=graph)["MemberDetails"]
    assert [m["AccountId"] for m in listed] == ["111111111111"]
    got = dt.get_members(GraphArn=graph, AccountIds=["111111111111", "222222222222"])
    assert got["MemberDetails"][0]["EmailAddress"] == "one@example.com"
    assert [u["AccountId"] for u in got["UnprocessedAccounts"]] == ["222222222222"]
    assert dt.list_invitations()["Invitations"] == []
    with pytest.raises(ClientError) as e:
        dt.accept_invitation(GraphArn=graph)
    assert code(e) == "ResourceNotFoundException"
    deleted = dt.delete_members(GraphArn=graph, AccountIds=["111111111111"])
    assert deleted["AccountIds"] == ["111111111111"]
    assert dt.list_members(GraphArn=graph)["MemberDetails"] == []

    # Bad input changes nothing.
    with pytest.raises(ClientError) as e:
        dt.list_members(GraphArn=graph, NextToken="not-a-token")
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        dt.delete_graph(GraphArn=f"arn:aws:detective:eu-west-2:{env.account}:graph:" + "0" * 32)
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        dt.delete_graph(GraphArn="not-an-arn")
    assert code(e) == "ValidationException"
    assert [g["Arn"] for g in dt.list_graphs()["GraphList"]] == [graph]

    dt.delete_graph(GraphArn=graph)
    assert dt.list_graphs()["GraphList"] == []
    with pytest.raises(ClientError) as e:
        dt.list_tags_for_resource(ResourceArn=graph)
    assert code(e) == "ResourceNotFoundException"


def test_an_investigation_lists_the_indicators_of_what_the_user_did(env):
    mallory = user(env, "mallory")
    olivia = user(env, "olivia")

    # GuardDuty watches the account, with a threat list naming the Sydney address.
    s3 = env.client("s3")
    s3.create_bucket(Bucket="dt-lists")
    s3.put_object(Bucket="dt-lists", Key="threats.txt", Body=f"{SYDNEY}\n".encode())
    gd = env.client("guardduty")
    detector = gd.create_detector(Enable=True)["DetectorId"]
    gd.create_threat_intel_set(
        DetectorId=detector, Name="known-bad", Format="TXT", Location="s3://dt-lists/threats.txt", Activate=True
    )

    # Their history: both work from Seattle with the stock client.
    for keys in (mallory, olivia):
        client(env, "sts", keys).get_caller_identity()
        client(env, "iam", keys).get_user()

    # Two days later, Mallory works from Seattle, then minutes later from Sydney with another
    # tool, listing the account's users; Olivia works as before.
    advance(env, 2 * 86400)
    client(env, "sts", mallory).get_caller_identity()
    advance(env, 300)
    evil = client(env, "iam", mallory, source=SYDNEY, agent="evil-tool/6.6")
    evil.list_users()
    evil.list_roles()
    client(env, "sts", olivia).get_caller_identity()
    client(env, "iam", olivia).get_user()
    now = advance(env, 60)["epoch_seconds"]

    # GuardDuty flags the call from the listed address before the investigation starts.
    criteria = {"Criterion": {"type": {"Eq": ["UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"]}}}
    deadline = time.time() + 5
    findings = []
    while not findings and time.time() < deadline:
        findings = gd.list_findings(DetectorId=detector, FindingCriteria=criteria)["FindingIds"]
        time.sleep(0.1)
    malicious = gd.get_findings(DetectorId=detector, FindingIds=findings)["Findings"]
    assert [f["Resource"]["AccessKeyDetails"]["UserName"] for f in malicious] == ["mallory"]

    dt = env.client("detective")
    graph = dt.create_graph()["GraphArn"]
    window = {"ScopeStartTime": now - 3600, "ScopeEndTime": now}
    mallory_arn = f"arn:aws:iam::{env.account}:user/mallory"
    started = dt.start_investigation(GraphArn=graph, EntityArn=mallory_arn, **window)
    investigation = started["InvestigationId"]
    assert len(investigation) == 21
    got = wait_investigation(dt, graph, investigation)
    assert got["Status"] == "SUCCESSFUL"
    assert got["EntityArn"] == mallory_arn
    assert got["EntityType"] == "IAM_USER"
    assert got["State"] == "ACTIVE"
    assert got["Severity"] == "CRITICAL"

    found = indicators(dt, graph, investigation)
    kinds = {i["IndicatorType"] for i in found}
    assert kinds == {
        "TTP_OBSERVED",
        "FLAGGED_IP_ADDRESS",
        "NEW_USER_AGENT",
        "NEW_GEOLOCATION",
        "NEW_ASO",
        "IMPOSSIBLE_TRAVEL",
        "RELATED_FINDING",
    }
    detail = lambda kind, member: [i["IndicatorDetail"][member] for i in found if i["IndicatorType"] == kind]
    assert detail("FLAGGED_IP_ADDRESS", "FlaggedIpAddressDetail") == [
        {"IpAddress": SYDNEY, "Reason": "AWS_THREAT_INTELLIGENCE"}
    ]
    agents = detail("NEW_USER_AGENT", "NewUserAgentDetail")
    assert len(agents) == 1 and "evil-tool/6.6" in agents[0]["UserAgent"]
    assert agents[0]["IsNewForEntireAccount"] is True
    assert detail("NEW_GEOLOCATION", "NewGeolocationDetail") == [
        {"Location": "Sydney, AU", "IpAddress": SYDNEY, "IsNewForEntireAccount": True}
    ]
    assert detail("NEW_ASO", "NewAsoDetail") == [{"Aso": "Telstra Limited", "IsNewForEntireAccount": True}]
    travel = detail("IMPOSSIBLE_TRAVEL", "ImpossibleTravelDetail")
    assert travel == [
        {
            "StartingIpAddress": SEATTLE,
            "EndingIpAddress": SYDNEY,
            "StartingLocation": "Seattle, US",
            "EndingLocation": "Sydney, AU",
            "HourlyTimeDelta": 0,
        }
    ]
    ttps = detail("TTP_OBSERVED", "TTPsObservedDetail")
    apis = {t.get("APIName") for t in ttps if t["Tactic"] == "Discovery"}
    assert {"ListUsers", "ListRoles"} <= apis
    related = detail("RELATED_FINDING", "RelatedFindingDetail")
    assert {r["Arn"] for r in related} >= {f["Arn"] for f in malicious}

    # One type at a time.
    only = indicators(dt, graph, investigation, IndicatorType="NEW_USER_AGENT")
    assert [i["IndicatorType"] for i in only] == ["NEW_USER_AGENT"]

    # Olivia's ordinary day yields nothing new.
    olivia_arn = f"arn:aws:iam::{env.account}:user/olivia"
    calm = dt.start_investigation(GraphArn=graph, EntityArn=olivia_arn, **window)["InvestigationId"]
    got = wait_investigation(dt, graph, calm)
    assert got["Status"] == "SUCCESSFUL"
    assert got["Severity"] == "INFORMATIONAL"
    assert not [i for i in indicators(dt, graph, calm) if i["IndicatorType"].startswith("NEW_")]

    # Both are listed, most severe first when asked; archived ones filter out.
    listed = dt.list_investigations(GraphArn=graph, SortCriteria={"Field": "SEVERITY", "SortOrder": "DESC"})
    assert [i["InvestigationId"] for i in listed["InvestigationDetails"]] == [investigation, calm]
    dt.update_investigation_state(GraphArn=graph, InvestigationId=calm, State="ARCHIVED")
    active = dt.list_investigations(GraphArn=graph, FilterCriteria={"State": {"Value": "ACTIVE"}})
    assert [i["InvestigationId"] for i in active["InvestigationDetails"]] == [investigation]

    # Errors: a group is not investigated, an unknown investigation is not found.
    with pytest.raises(ClientError) as e:
        dt.start_investigation(GraphArn=graph, EntityArn=f"arn:aws:iam::{env.account}:group/g", **window)
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        dt.get_investigation(GraphArn=graph, InvestigationId="0" * 21)
    assert code(e) == "ResourceNotFoundException"

    # The terminal timeline of the same window.
    city, asn = env.geo
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    out = subprocess.run(
        [BIN, "investigate", mallory_arn, "--since", "1h", "--until", until, "--data-dir", env.data_dir,
         "--geoip-city-db", city, "--geoip-asn-db", asn],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"{mallory_arn} (IAM_USER)")
    calls = [l for l in lines if "  iam:ListUsers " in l]
    assert len(calls) == 1
    assert SYDNEY in calls[0] and "(Sydney, AU)" in calls[0] and "evil-tool/6.6" in calls[0]
    assert "[FLAGGED IP]" in calls[0]
    assert "[FINDING UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom]" in calls[0]
    assert any("sts:GetCallerIdentity" in l and "(Seattle, US)" in l for l in lines)
    assert "Severity: CRITICAL" in lines


def test_a_roles_sessions_count_for_the_role(env):
    dt = env.client("detective", region="ap-southeast-2")
    graph = dt.create_graph()["GraphArn"]
    iam = env.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{env.account}:root"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="ops", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="ops", PolicyName="all", PolicyDocument=ADMIN_POLICY)
    caller = user(env, "operator")
    creds = client(env, "sts", caller).assume_role(RoleArn=f"arn:aws:iam::{env.account}:role/ops", RoleSessionName="s1")[
        "Credentials"
    ]
    session = env.client(
        "iam", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"], region="ap-southeast-2"
    )
    session.list_users()
    session.list_users()
    now = advance(env, 1)["epoch_seconds"]

    role_arn = f"arn:aws:iam::{env.account}:role/ops"
    started = dt.start_investigation(GraphArn=graph, EntityArn=role_arn, ScopeStartTime=now - 600, ScopeEndTime=now)
    got = wait_investigation(dt, graph, started["InvestigationId"])
    assert got["Status"] == "SUCCESSFUL"
    assert got["EntityType"] == "IAM_ROLE"
    ttps = [
        i["IndicatorDetail"]["TTPsObservedDetail"]
        for i in indicators(dt, graph, started["InvestigationId"], IndicatorType="TTP_OBSERVED")
    ]
    assert [(t["APIName"], t["APISuccessCount"]) for t in ttps] == [("ListUsers", 2)]
    # The user who assumed the role did not list users itself.
    user_arn = f"arn:aws:iam::{env.account}:user/operator"
    other = dt.start_investigation(GraphArn=graph, EntityArn=user_arn, ScopeStartTime=now - 600, ScopeEndTime=now)
    assert wait_investigation(dt, graph, other["InvestigationId"])["Status"] == "SUCCESSFUL"
    assert indicators(dt, graph, other["InvestigationId"], IndicatorType="TTP_OBSERVED") == []


def test_an_unreadable_geolocation_database_stops_start_up():
    missing = os.path.join(RUN_DIR, "no-such-city.mmdb")
    with pytest.raises(RuntimeError) as e:
        Server("--geoip-city-db", missing)
    assert "no-such-city.mmdb" in str(e.value)


def test_investigate_refuses_a_data_dir_without_a_store():
    missing = os.path.join(RUN_DIR, "no-data-dir")
    out = subprocess.run(
        [BIN, "investigate", "arn:aws:iam::123456789012:user/x", "--data-dir", missing],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 1
    assert "no Rampart store" in out.stderr
    assert not os.path.exists(missing)
