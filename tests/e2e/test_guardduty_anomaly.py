"""GuardDuty's `*/AnomalousBehavior` findings end to end with boto3: each principal's baseline is
learned from its real calls, the dev clock ends the learning period, and then a burst of denied
List calls is `Discovery:IAMUser/AnomalousBehavior` (one finding whose count grows), a tactic
family never seen from a new user agent is its family's type (`Persistence:IAMUser/...`,
`Impact:S3/AnomalousBehavior.Delete`), the same from the usual agent or during learning is
nothing, and a replay of 10,000 ordinary calls by five principals is nothing either.

A dev-mode server of its own (learning is on the request clock); everything is in us-east-1."""

import http.client
import json
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Server, advance

DISCOVERY = "Discovery:IAMUser/AnomalousBehavior"
PERSISTENCE = "Persistence:IAMUser/AnomalousBehavior"
S3_DELETE = "Impact:S3/AnomalousBehavior.Delete"
S3_WRITE = "Impact:S3/AnomalousBehavior.Write"
ROOT_USAGE = "Policy:IAMUser/RootCredentialUsage"
LEARNING = 8 * 86400
BUCKET = "anomaly-data"


@pytest.fixture(scope="module")
def env():
    s = Server("--dev")
    s.gd = s.client("guardduty")
    s.detector = s.gd.create_detector(Enable=True)["DetectorId"]
    s3 = s.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="small.txt", Body=b"ordinary")
    yield s
    s.stop()


def user(env, name, actions, config=None):
    """A user allowed `actions` on everything, and a client maker with its keys."""
    iam = env.client("iam")
    iam.create_user(UserName=name)
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(doc))
    key = iam.create_access_key(UserName=name)["AccessKey"]

    def client(service, agent=None):
        config = Config(user_agent=agent) if agent else None
        return env.client(service, key=key["AccessKeyId"], secret=key["SecretAccessKey"], config=config)

    return client


def of(kind, name):
    return {"Criterion": {"type": {"Eq": [kind]}, "resource.accessKeyDetails.userName": {"Eq": [name]}}}


def findings(env, criteria, count=1, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        ids = env.gd.list_findings(DetectorId=env.detector, FindingCriteria=criteria)["FindingIds"]
        if len(ids) >= count or time.time() > deadline:
            return env.gd.get_findings(DetectorId=env.detector, FindingIds=ids)["Findings"] if ids else []
        time.sleep(0.1)


def caught_up(env, timeout=60.0):
    """Waits until the detection consumer has read every record made so far: two more of its
    runs after this call, the last with nothing left to read."""
    def job():
        with urllib.request.urlopen(env.endpoint + "/_rampart/health") as resp:
            jobs = json.loads(resp.read())["jobs"]
        return next(j for j in jobs if j["name"] == "guardduty-detection")

    start = job()["runs_here"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        j = job()
        if j["runs_here"] >= start + 2 and j["lag"] == 0:
            return
        time.sleep(0.2)
    raise AssertionError("the detection consumer did not catch up")


def info(finding):
    return json.loads(finding["Service"]["AdditionalInfo"]["Value"])


def test_a_burst_of_denied_list_calls_is_discovery_counted_on_one_finding(env):
    client = user(env, "scout", ["iam:ListUsers", "iam:GetUser"])
    iam = client("iam")
    for i in range(25):
        if i % 2:
            iam.list_users()
        else:
            iam.get_user(UserName="scout")
    advance(env, LEARNING)
    # A few denied calls are not a burst.
    for _ in range(3):
        with pytest.raises(ClientError):
            iam.list_roles()
    for call in [iam.list_roles, iam.list_policies, iam.list_groups, iam.list_instance_profiles] * 3:
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "AccessDenied"
    burst_end = time.time()
    [f] = findings(env, of(DISCOVERY, "scout"), timeout=5.0)
    assert time.time() - burst_end < 2.0, "finding visible within 2 s"
    assert f["Severity"] == 2.0
    assert f["Resource"]["ResourceType"] == "AccessKey"
    assert f["Resource"]["AccessKeyDetails"]["UserName"] == "scout"
    assert f["Title"] == "User IAMUser : scout is anomalously invoking APIs commonly used in Discovery tactics."
    assert f["Service"]["Action"]["AwsApiCallAction"]["ErrorCode"] == "AccessDenied"
    more = info(f)
    assert more["anomalies"]["anomalousAPIs"].startswith("iam.amazonaws.com:[")
    assert "ListRoles:failure" in more["anomalies"]["anomalousAPIs"]
    assert "iam:ListUsers" in more["profiledBehavior"]["frequentProfiledAPIsUserIdentityProfiling"]
    assert more["anomalyScore"] >= 3
    # 15 denied calls within the minute: the 10th and every later one is an occurrence.
    deadline = time.time() + 5
    while f["Service"]["Count"] < 6 and time.time() < deadline:
        [f] = findings(env, of(DISCOVERY, "scout"))
    assert f["Service"]["Count"] == 6
    first_id, first_seen = f["Id"], f["Service"]["EventFirstSeen"]
    # A repeat updates the same finding: its count and last-seen time, not a new finding.
    for _ in range(3):
        with pytest.raises(ClientError):
            iam.list_roles()
    deadline = time.time() + 5
    while f["Service"]["Count"] < 9 and time.time() < deadline:
        found = findings(env, of(DISCOVERY, "scout"))
        assert len(found) == 1
        f = found[0]
    assert f["Id"] == first_id and f["Service"]["Count"] == 9
    assert f["Service"]["EventFirstSeen"] == first_seen
    assert f["Service"]["EventLastSeen"] >= first_seen


def test_a_family_never_seen_from_a_new_agent_is_its_type(env):
    client = user(env, "builder", ["iam:ListUsers", "iam:CreateAccessKey", "s3:*"])
    fresh = user(env, "fresh", ["iam:ListUsers", "iam:CreateAccessKey"])
    for _ in range(25):
        client("iam").list_users()
        fresh("iam").list_users()
    # While learning, a new family from a new agent is nothing.
    fresh("iam", agent="exfil-kit/0.1").create_access_key(UserName="fresh")
    advance(env, LEARNING)
    # After learning, a new family from the usual agent is not enough (score 2).
    client("s3").put_object(Bucket=BUCKET, Key="ordinary.txt", Body=b"x")
    start = time.time()
    client("iam", agent="exfil-kit/0.1").create_access_key(UserName="builder")
    [f] = findings(env, of(PERSISTENCE, "builder"))
    assert time.time() - start < 2.0, "finding visible within 2 s"
    assert f["Severity"] == 5.0
    assert f["Service"]["Action"]["AwsApiCallAction"]["Api"] == "CreateAccessKey"
    assert f["Service"]["Action"]["AwsApiCallAction"]["UserAgent"].startswith("exfil-kit/0.1")
    more = info(f)
    assert more["unusualBehavior"]["unusualUserAgentsUserIdentityProfiling"] == "exfil-kit"
    assert more["unusualBehavior"]["unusualAPIsUserIdentityProfiling"] == "CreateAccessKey"
    assert more["userAgent"]["userAgentCategory"] == "exfil-kit"
    anomaly = f["Service"]["Detection"]["Anomaly"]
    unusual = anomaly["Unusual"]["Behavior"]["USER_IDENTITY"]
    assert unusual["USER_AGENT"]["ProfileSubtype"] == "UNSEEN"
    assert unusual["USER_AGENT"]["Observations"]["Text"] == ["exfil-kit"]
    apis = anomaly["Profiles"]["USER_IDENTITY"]["API"]
    assert {"ProfileType": "FREQUENCY", "ProfileSubtype": "FREQUENT",
            "Observations": {"Text": ["iam:ListUsers"]}} in apis
    # An S3 delete, a family never seen, from another new agent: Impact on the bucket.
    client("s3", agent="wiper/1.0").delete_object(Bucket=BUCKET, Key="ordinary.txt")
    [d] = findings(env, of(S3_DELETE, "builder"))
    assert d["Severity"] == 8.0
    assert d["Resource"]["ResourceType"] == "S3Bucket"
    assert d["Resource"]["S3BucketDetails"][0]["Name"] == BUCKET
    assert d["Title"] == "User IAMUser : builder is anomalously invoking APIs commonly used in Impact tactics."
    # The write from the usual agent and the call made while learning were nothing.
    assert findings(env, of(S3_WRITE, "builder"), timeout=0) == []
    assert findings(env, of(PERSISTENCE, "fresh"), timeout=0) == []


MIX_ACTIONS = ["sts:GetCallerIdentity", "iam:ListUsers", "iam:GetUser", "s3:ListAllMyBuckets",
               "s3:ListBucket", "s3:GetObject"]


def ordinary(clients, name, i):
    """The `i`th call of a principal's ordinary mix: IAM and STS reads, bucket listings and
    now and then a small object read."""
    sts, iam, s3 = clients
    step = i % 20
    if step == 0:
        s3.get_object(Bucket=BUCKET, Key="small.txt")["Body"].read()
    elif step % 5 == 1:
        iam.get_user(UserName=name)
    elif step % 5 == 2:
        iam.list_users(MaxItems=5)
    elif step % 5 == 3:
        s3.list_objects_v2(Bucket=BUCKET, MaxKeys=5)
    elif step % 5 == 4:
        s3.list_buckets()
    else:
        sts.get_caller_identity()


def recording(clients):
    """`clients` with every request they send kept (method, URL, headers, body), signed."""
    sent = []

    def keep(request, **_):
        sent.append((request.method, request.url, dict(request.headers.items()), request.body))

    for c in clients:
        c.meta.events.register("before-send", keep)
    return clients, sent


def send_again(endpoint, requests, count):
    """Sends `count` of the signed `requests` again, in turn, on one connection: the same bytes
    boto3 signed (SigV4 accepts a signature for 15 minutes and verifies it in full each time),
    without boto3's own cost per call."""
    netloc = urllib.parse.urlsplit(endpoint).netloc
    conn = http.client.HTTPConnection(netloc, timeout=30)
    for i in range(count):
        method, url, headers, body = requests[i % len(requests)]
        parts = urllib.parse.urlsplit(url)
        conn.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, (url, resp.status)
    conn.close()
    return count


def test_a_replay_of_ten_thousand_ordinary_calls_is_no_finding(env):
    names = [f"worker{n}" for n in range(5)]
    makers = {n: user(env, n, MIX_ACTIONS) for n in names}
    sent = {}
    for n in names:
        clients, sent[n] = recording((makers[n]("sts"), makers[n]("iam"), makers[n]("s3")))
        for i in range(40):
            ordinary(clients, n, i)
    advance(env, LEARNING)

    # Each principal's 40 ordinary calls, as boto3 signed them, sent again in turn (the same
    # mix) by four threads per principal until 10,000 calls have been made.
    jobs = [sent[n] for n in names for _ in range(4)]
    start = time.time()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        done = sum(pool.map(lambda reqs: send_again(env.endpoint, reqs, 10_000 // len(jobs)), jobs))
    took = time.time() - start
    assert done == 10_000
    caught_up(env)
    print(f"replayed {done} calls in {took:.1f} s")
    for n in names:
        f = findings(env, {"Criterion": {"resource.accessKeyDetails.userName": {"Eq": [n]}}}, timeout=0)
        assert f == [], [x["Type"] for x in f]
    # The detection was live all along: one unusual call by a worker is found.
    # (A denied read of a new API from a new agent: API 1 + agent 1 + denial 1.)
    with pytest.raises(ClientError):
        makers["worker0"]("iam", agent="recon-kit/2.0").list_access_keys()
    [f] = findings(env, of(DISCOVERY, "worker0"))
    assert f["Service"]["Action"]["AwsApiCallAction"]["Api"] == "ListAccessKeys"


def test_baselines_survive_a_restart():
    """A baseline learned before a restart is the one scored against after it: had it been
    lost, the principal would be learning again and its unusual call found nothing."""
    first = Server("--dev")
    try:
        first.gd = first.client("guardduty")
        detector = first.gd.create_detector(Enable=True)["DetectorId"]
        iam = first.client("iam")
        iam.create_user(UserName="keeper")
        doc = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": ["iam:ListUsers", "iam:CreateAccessKey"], "Resource": "*"}]}
        iam.put_user_policy(UserName="keeper", PolicyName="p", PolicyDocument=json.dumps(doc))
        key = iam.create_access_key(UserName="keeper")["AccessKey"]
        keeper = first.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        for _ in range(25):
            keeper.list_users()
        caught_up(first)
    finally:
        first.stop()
    again = Server("--dev", data_dir=first.data_dir)
    try:
        again.gd, again.detector = again.client("guardduty"), detector
        advance(again, LEARNING)
        keeper = again.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"],
                              config=Config(user_agent="exfil-kit/0.1"))
        keeper.create_access_key(UserName="keeper")
        [f] = findings(again, of(PERSISTENCE, "keeper"))
        assert info(f)["profiledBehavior"]["frequentProfiledAPIsUserIdentityProfiling"] == "iam:ListUsers"
    finally:
        again.stop()
