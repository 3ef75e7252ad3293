"""CloudTrail trails end to end: the trail API with boto3 (AWS's shapes and errors, the
destination bucket policy check), log files delivered to Rampart's S3 as the service
principal, and digest files that the unmodified `aws cloudtrail validate-logs` verifies and
that reveal tampering."""

import gzip
import json
import os
import subprocess
import time

import pytest
from botocore.exceptions import ClientError
from conftest import advance

REGION = "us-east-1"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]




def account_of(server):
    return server.client("sts").get_caller_identity()["Account"]


def trail_policy(bucket, account, prefix=None, trail_arn=None):
    """The bucket policy AWS documents for a trail's bucket."""
    root = f"{prefix}/AWSLogs/{account}/*" if prefix else f"AWSLogs/{account}/*"
    condition = {"StringEquals": {"aws:SourceArn": trail_arn}} if trail_arn else {}
    write_condition = {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    if trail_arn:
        write_condition["StringEquals"]["aws:SourceArn"] = trail_arn
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                    **({"Condition": condition} if condition else {}),
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{root}",
                    "Condition": write_condition,
                },
            ],
        }
    )


def make_bucket(server, bucket, prefix=None, trail_arn=None):
    s3 = server.client("s3")
    s3.create_bucket(Bucket=bucket)
    account = account_of(server)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=trail_policy(bucket, account, prefix, trail_arn)
    )
    return s3


def test_trail_api_shapes_errors_and_the_bucket_policy_check(server):
    ct = server.client("cloudtrail")
    s3 = server.client("s3")
    account = account_of(server)
    s3.create_bucket(Bucket="ct-no-policy")
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="trail1", S3BucketName="ct-no-policy")
    assert code(e) == "InsufficientS3BucketPolicyException"
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="trail1", S3BucketName="ct-missing-bucket")
    assert code(e) == "S3BucketDoesNotExistException"
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="-bad", S3BucketName="ct-no-policy")
    assert code(e) == "InvalidTrailNameException"
    # A policy for another prefix does not let CloudTrail write under this one.
    make_bucket(server, "ct-api", prefix="right")
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="trail1", S3BucketName="ct-api", S3KeyPrefix="wrong")
    assert code(e) == "InsufficientS3BucketPolicyException"

    out = ct.create_trail(
        Name="trail1",
        S3BucketName="ct-api",
        S3KeyPrefix="right",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        TagsList=[{"Key": "team", "Value": "blue"}],
    )
    arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/trail1"
    assert out["TrailARN"] == arn
    assert out["LogFileValidationEnabled"] is True and out["IsMultiRegionTrail"] is True
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="trail1", S3BucketName="ct-api", S3KeyPrefix="right")
    assert code(e) == "TrailAlreadyExistsException"

    trail = ct.get_trail(Name=arn)["Trail"]
    assert trail["HomeRegion"] == REGION and trail["S3KeyPrefix"] == "right"
    assert trail["HasCustomEventSelectors"] is False
    assert [t["TrailARN"] for t in ct.describe_trails()["trailList"]] == [arn]
    # A multi-region trail shows in other regions as a shadow trail.
    west = server.client("cloudtrail", region="eu-west-1")
    assert [t["Name"] for t in west.describe_trails()["trailList"]] == ["trail1"]
    assert west.describe_trails(includeShadowTrails=False)["trailList"] == []
    with pytest.raises(ClientError) as e:
        west.start_logging(Name=arn)
    assert code(e) == "InvalidHomeRegionException"
    assert ct.list_trails()["Trails"] == [{"TrailARN": arn, "Name": "trail1", "HomeRegion": REGION}]

    assert ct.get_trail_status(Name="trail1")["IsLogging"] is False
    ct.start_logging(Name="trail1")
    status = ct.get_trail_status(Name="trail1")
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    ct.stop_logging(Name="trail1")
    assert "StopLoggingTime" in ct.get_trail_status(Name="trail1")

    sel = ct.get_event_selectors(TrailName="trail1")
    assert sel["EventSelectors"][0]["ReadWriteType"] == "All"
    ct.put_event_selectors(
        TrailName="trail1",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::ct-api/"]}],
            }
        ],
    )
    assert ct.get_trail(Name="trail1")["Trail"]["HasCustomEventSelectors"] is True
    with pytest.raises(ClientError) as e:
        ct.put_event_selectors(
            TrailName="trail1",
            EventSelectors=[{"ReadWriteType": "All"}],
            AdvancedEventSelectors=[
                {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}
            ],
        )
    assert code(e) == "InvalidEventSelectorsException"
    adv = ct.put_event_selectors(
        TrailName="trail1",
        AdvancedEventSelectors=[
            {"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
        ],
    )
    assert adv["AdvancedEventSelectors"][0]["Name"] == "mgmt"

    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "prod"}])
    ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}])
    tags = ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "env", "Value": "prod"}]

    ct.update_trail(Name="trail1", EnableLogFileValidation=False)
    assert ct.get_trail(Name="trail1")["Trail"]["LogFileValidationEnabled"] is False
    ct.delete_trail(Name=arn)
    with pytest.raises(ClientError) as e:
        ct.get_trail(Name="trail1")
    assert code(e) == "TrailNotFoundException"


def dev_now(server):
    return advance(server, 0)["epoch_seconds"]


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def log_files(s3, bucket, kind="CloudTrail"):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            if f"/{kind}/" in o["Key"]:
                keys.append(o["Key"])
    return sorted(keys)


def records(s3, bucket):
    out = []
    for key in log_files(s3, bucket):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        out.extend(json.loads(gzip.decompress(body))["Records"])
    return out


@pytest.fixture
def trail_server():
    from conftest import Server

    s = Server("--dev", "--trail-delivery-secs", "60")
    yield s
    s.stop()


def validate(server, arn, start, end, *extra):
    return server.cli(
        "cloudtrail", "validate-logs", "--trail-arn", arn,
        "--start-time", iso(start), "--end-time", iso(end), "--verbose", *extra,
        check=False, env={"AWS_ENDPOINT_URL": server.endpoint},
    )


def rampart_validate(server, arn, api=False):
    """`rampart trail validate` over the server's data dir (read while the server runs), or
    with `api` through the server's API, signed with the root user's credentials file."""
    from conftest import BIN

    where = (
        ["--endpoint-url", server.endpoint,
         "--credentials-file", os.path.join(server.data_dir, "root-credentials")]
        if api else ["--data-dir", server.data_dir]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(
        [BIN, "trail", "validate", "--trail-arn", arn, "--verbose", *where],
        capture_output=True, text=True, env=env,
    )
    return proc


def both_detect(server, arn, start, end, aws_says, rampart_says):
    """Both validators fail, each naming what is wrong; `rampart trail validate` does in both
    of its modes."""
    bad = validate(server, arn, start, end)
    assert bad.returncode == 1 and aws_says in bad.stderr, bad.stderr
    for api in (False, True):
        ours = rampart_validate(server, arn, api)
        assert ours.returncode == 1 and rampart_says in ours.stdout, (api, ours.stdout + ours.stderr)


def both_pass(server, arn, start, end):
    ok = validate(server, arn, start, end)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for api in (True, False):
        ours = rampart_validate(server, arn, api)
        assert ours.returncode == 0, (api, ours.stdout + ours.stderr)
    return ours


def test_log_files_and_digests_validate_and_tampering_is_detected(trail_server):
    server = trail_server
    account = account_of(server)
    s3 = make_bucket(server, "ct-logs")
    ct = server.client("cloudtrail")
    arn = ct.create_trail(Name="main", S3BucketName="ct-logs", EnableLogFileValidation=True)["TrailARN"]
    start = dev_now(server) - 60
    ct.start_logging(Name="main")
    iam = server.client("iam")
    iam.create_user(UserName="alice")
    iam.list_users()
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = server.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError):
        alice.list_roles()

    # Nothing is delivered before the interval; then every call, refused ones included.
    assert log_files(s3, "ct-logs") == []
    advance(server, 120)
    recs = records(s3, "ct-logs")
    names = [r["eventName"] for r in recs]
    for name in ["StartLogging", "CreateUser", "ListUsers", "CreateAccessKey", "ListRoles"]:
        assert names.count(name) == 1, (name, names)
    denied = next(r for r in recs if r["eventName"] == "ListRoles")
    assert denied["errorCode"].startswith("AccessDenied")
    first = log_files(s3, "ct-logs")[0]
    assert first.startswith(f"AWSLogs/{account}/CloudTrail/{REGION}/")
    assert first.split("/")[-1].startswith(f"{account}_CloudTrail_{REGION}_")
    head = s3.head_object(Bucket="ct-logs", Key=first)
    assert head["ServerSideEncryption"] == "AES256"
    status = ct.get_trail_status(Name="main")
    assert "LatestDeliveryTime" in status and "LatestDeliveryError" not in status

    # Three digests: the hour runs out three times, with calls in between.
    for i in range(3):
        iam.create_user(UserName=f"user{i}")
        advance(server, 120)
        advance(server, 3600)
    digests = log_files(s3, "ct-logs", "CloudTrail-Digest")
    assert len(digests) == 3, digests
    meta = s3.head_object(Bucket="ct-logs", Key=digests[0])["Metadata"]
    assert meta["signature-algorithm"] == "SHA256withRSA" and len(meta["signature"]) == 512
    d1 = json.loads(gzip.decompress(s3.get_object(Bucket="ct-logs", Key=digests[1])["Body"].read()))
    assert d1["previousDigestS3Object"] == digests[0]
    assert d1["logFiles"] and d1["logFiles"][0]["hashAlgorithm"] == "SHA-256"
    assert "LatestDigestDeliveryTime" in ct.get_trail_status(Name="main")
    keys = ct.list_public_keys()["PublicKeyList"]
    assert keys and keys[0]["Fingerprint"] == d1["digestPublicKeyFingerprint"]

    end = dev_now(server) + 60
    ok = validate(server, arn, start, end)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    logs = log_files(s3, "ct-logs")
    assert f"3/3 digest files valid" in ok.stdout, ok.stdout
    assert f"{len(logs)}/{len(logs)} log files valid" in ok.stdout, ok.stdout

    ours = both_pass(server, arn, start, end)
    assert "3/3 digest files valid" in ours.stdout, ours.stdout
    assert f"{len(logs)}/{len(logs)} log files valid" in ours.stdout, ours.stdout

    # A log file altered, then deleted.
    victim = logs[0]
    url = f"s3://ct-logs/{victim}"
    original = s3.get_object(Bucket="ct-logs", Key=victim)["Body"].read()
    forged = json.loads(gzip.decompress(original))
    forged["Records"] = forged["Records"][1:]
    s3.put_object(Bucket="ct-logs", Key=victim, Body=gzip.compress(json.dumps(forged).encode()))
    both_detect(server, arn, start, end, "hash value doesn't match",
                f"Log file\t{url}\tINVALID: hash value doesn't match")
    s3.delete_object(Bucket="ct-logs", Key=victim)
    both_detect(server, arn, start, end, f"{victim}\tINVALID: not found",
                f"Log file\t{url}\tINVALID: not found")
    s3.put_object(Bucket="ct-logs", Key=victim, Body=original)
    both_pass(server, arn, start, end)

    # A digest altered (its signature no longer holds), then one deleted from the middle.
    middle = digests[1]
    murl = f"s3://ct-logs/{middle}"
    obj = s3.get_object(Bucket="ct-logs", Key=middle)
    body, meta = obj["Body"].read(), obj["Metadata"]
    doc = json.loads(gzip.decompress(body))
    doc["logFiles"] = []
    s3.put_object(Bucket="ct-logs", Key=middle, Body=gzip.compress(json.dumps(doc).encode()), Metadata=meta)
    both_detect(server, arn, start, end, "signature verification failed",
                f"Digest file\t{murl}\tINVALID: signature verification failed")
    s3.delete_object(Bucket="ct-logs", Key=middle)
    both_detect(server, arn, start, end, f"{middle}\tINVALID: not found",
                f"Digest file\t{murl}\tINVALID: not found")
    s3.put_object(Bucket="ct-logs", Key=middle, Body=body, Metadata=meta)
    both_pass(server, arn, start, end)

    # A forged log file added under the trail's root: validate-logs checks only the files
    # the digests list and passes; `rampart trail validate` names it.
    added = victim.rsplit("_", 1)[0] + "_ForgedForgedForg.json.gz"
    s3.put_object(Bucket="ct-logs", Key=added, Body=original)
    assert validate(server, arn, start, end).returncode == 0
    for api in (False, True):
        ours = rampart_validate(server, arn, api)
        assert ours.returncode == 1, ours.stdout
        assert f"Log file\ts3://ct-logs/{added}\tINVALID: not listed in any digest" in ours.stdout, ours.stdout
    s3.delete_object(Bucket="ct-logs", Key=added)
    # So is a forged digest outside the chain.
    forged_digest = digests[0][:-24] + "20000101T000000Z.json.gz"
    s3.put_object(Bucket="ct-logs", Key=forged_digest, Body=body, Metadata=meta)
    for api in (False, True):
        ours = rampart_validate(server, arn, api)
        assert ours.returncode == 1, ours.stdout
        assert f"s3://ct-logs/{forged_digest}\tINVALID: not in the digest chain" in ours.stdout, ours.stdout
    s3.delete_object(Bucket="ct-logs", Key=forged_digest)

    # Through the API, log files delivered after the newest digest are not digested yet:
    # counted, not flagged.
    iam.create_user(UserName="late")
    advance(server, 120)
    ours = rampart_validate(server, arn, api=True)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    assert "log files delivered after the newest digest" in ours.stdout, ours.stdout
    # Without credentials that may read the trail, the validator says so.
    from conftest import BIN

    server.client("iam").create_user(UserName="nobody")
    k = server.client("iam").create_access_key(UserName="nobody")["AccessKey"]
    proc = subprocess.run(
        [BIN, "trail", "validate", "--trail-arn", arn, "--endpoint-url", server.endpoint],
        capture_output=True, text=True,
        env={"PATH": os.environ.get("PATH", ""), "AWS_ACCESS_KEY_ID": k["AccessKeyId"],
             "AWS_SECRET_ACCESS_KEY": k["SecretAccessKey"]},
    )
    assert proc.returncode == 1 and "AccessDenied" in proc.stderr, proc.stdout + proc.stderr


def lookup_ids(ct):
    """Every management event id `LookupEvents` returns."""
    ids = []
    for page in ct.get_paginator("lookup_events").paginate():
        ids.extend(e["EventId"] for e in page["Events"])
    return ids


def test_kill_9_then_restart_delivers_every_record_once(tmp_path):
    import signal

    from conftest import Server

    # Short leases: the restarted node takes the delivery job over from the killed one soon.
    lease = ("--job-lease-ms", "300")
    s = Server("--dev", "--trail-delivery-secs", "60", *lease)
    try:
        s3 = make_bucket(s, "ct-crash")
        ct = s.client("cloudtrail")
        ct.create_trail(Name="crashy", S3BucketName="ct-crash")
        ct.start_logging(Name="crashy")
        s3.create_bucket(Bucket="ct-crash-data")
        ct.put_event_selectors(
            TrailName="crashy",
            EventSelectors=[{
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::ct-crash-data/"]}],
            }],
        )
        big = os.urandom(1 << 20)
        s3.put_object(Bucket="ct-crash-data", Key="big", Body=big)
        iam = s.client("iam")
        for i in range(40):
            iam.create_user(UserName=f"c{i}")
            iam.get_user(UserName=f"c{i}")
            if i == 20:
                advance(s, 120)  # a delivery in the middle
        killed_at = dev_now(s)
        # Reads answered just before the kill: each record is durable before its answer (a
        # streamed object's last bytes wait for it).
        iam.get_user(UserName="c0")
        assert s3.get_object(Bucket="ct-crash-data", Key="big")["Body"].read() == big
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait()
    except BaseException:
        s.stop()
        raise
    again = Server("--dev", "--trail-delivery-secs", "60", *lease, data_dir=s.data_dir)
    try:
        ct = again.client("cloudtrail")
        time.sleep(1)  # the killed node's lease runs out
        advance(again, 3 * 3600)
        delivered = [r["eventID"] for r in records(again.client("s3"), "ct-crash")]
        assert len(delivered) == len(set(delivered)), "a record was delivered twice"
        recorded = set(lookup_ids(ct))
        # Every management event recorded after logging started is in a log file.
        started = [r for r in records(again.client("s3"), "ct-crash") if r["eventName"] == "StartLogging"]
        assert len(started) == 1
        missing = [
            (e["EventName"], e["EventTime"])
            # From the second after logging started (event times in files are to the second).
            for page in ct.get_paginator("lookup_events").paginate(
                StartTime=time.mktime(time.strptime(started[0]["eventTime"], "%Y-%m-%dT%H:%M:%SZ"))
                - time.timezone + 1,
                EndTime=killed_at,
            )
            for e in page["Events"]
            if e["EventName"] != "LookupEvents" and e["EventId"] not in delivered
        ]
        assert not missing, (missing, started[0]["eventTime"])
        names = [r["eventName"] for r in records(again.client("s3"), "ct-crash")]
        assert names.count("CreateUser") == 40 and names.count("GetUser") == 41
        data = [r for r in records(again.client("s3"), "ct-crash") if r.get("eventCategory") == "Data"]
        gets = [r for r in data if r["eventName"] == "GetObject"]
        assert len(gets) == 1 and gets[0]["requestParameters"]["key"] == "big", data
        assert recorded
    finally:
        again.stop()


def test_stop_logging_stops_delivery_and_data_events_only_when_selected(trail_server):
    server = trail_server
    s3 = make_bucket(server, "ct-stop")
    s3.create_bucket(Bucket="ct-data")
    ct = server.client("cloudtrail")
    ct.create_trail(Name="stopper", S3BucketName="ct-stop")
    ct.start_logging(Name="stopper")
    s3.put_object(Bucket="ct-data", Key="before-selectors", Body=b"x")
    ct.put_event_selectors(
        TrailName="stopper",
        EventSelectors=[
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::ct-data/in/"]}],
            }
        ],
    )
    s3.put_object(Bucket="ct-data", Key="in/selected", Body=b"x")
    s3.put_object(Bucket="ct-data", Key="out/not-selected", Body=b"x")
    s3.get_object(Bucket="ct-data", Key="in/selected")
    advance(server, 120)
    recs = records(s3, "ct-stop")
    puts = [r["requestParameters"]["key"] for r in recs if r["eventName"] == "PutObject"]
    assert puts == ["in/selected"], puts
    assert not [r for r in recs if r["eventName"] == "GetObject"]
    put = next(r for r in recs if r["eventName"] == "PutObject")
    assert put["eventCategory"] == "Data" and put["managementEvent"] is False

    ct.stop_logging(Name="stopper")
    server.client("iam").create_user(UserName="after-stop")
    advance(server, 120)
    recs = records(s3, "ct-stop")
    names = [r["eventName"] for r in recs]
    assert names.count("StopLogging") == 1, names
    assert "CreateUser" not in names, names
    # Deliveries are CloudTrail's own writes, decided by the bucket policy.
    deliveries = [
        r for r in recs
        if r["eventName"] == "PutObject" and r["userIdentity"].get("type") == "AWSService"
    ]
    assert deliveries == []  # the trail does not select its own bucket's objects
    assert ct.get_trail_status(Name="stopper")["IsLogging"] is False


def test_kms_encrypted_log_files_need_the_key(trail_server):
    server = trail_server
    account = account_of(server)
    kms = server.client("kms")
    region = kms.meta.region_name
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "cloudtrail", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "kms:GenerateDataKey*", "Resource": "*",
             # AWS's documented policy: the trail's own ARN (`aws:SourceArn`) as well, which
             # S3's KMS call made for CloudTrail carries.
             "Condition": {"StringEquals": {"AWS:SourceArn": f"arn:aws:cloudtrail:{region}:{account}:trail/sealed"},
                           "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"}}},
        ],
    }
    bare = kms.create_key()["KeyMetadata"]["Arn"]
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    s3 = make_bucket(server, "ct-kms")
    ct = server.client("cloudtrail")
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="sealed", S3BucketName="ct-kms", KmsKeyId=bare)
    assert code(e) == "InsufficientEncryptionPolicyException"
    out = ct.create_trail(
        Name="sealed", S3BucketName="ct-kms", KmsKeyId=key, EnableLogFileValidation=True
    )
    assert out["KmsKeyId"] == key
    ct.start_logging(Name="sealed")
    advance(server, 120)
    # CloudTrail's own write of a log file is a use of the key (GetKeyLastUsage), with the
    # record of the KMS call S3 made for it.
    from test_kms_last_usage import _event, _last

    last = _last(kms, key, "GenerateDataKey")["KeyLastUsage"]
    record = _event(server, last["CloudTrailEventId"], "GenerateDataKey")
    assert record["requestID"] == last["KmsRequestId"]
    assert record["userIdentity"]["invokedBy"] == "cloudtrail.amazonaws.com", record
    # The validator reading through the API gets the files S3 decrypts for the caller.
    advance(server, 3600)
    ours = rampart_validate(server, out["TrailARN"], api=True)
    assert ours.returncode == 0 and "1/1 digest files valid" in ours.stdout, ours.stdout + ours.stderr
    first = log_files(s3, "ct-kms")[0]
    head = s3.head_object(Bucket="ct-kms", Key=first)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key
    assert json.loads(gzip.decompress(s3.get_object(Bucket="ct-kms", Key=first)["Body"].read()))["Records"]
    iam = server.client("iam")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }))
    k = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = server.client("s3", key=k["AccessKeyId"], secret=k["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        reader.get_object(Bucket="ct-kms", Key=first)
    assert code(e) == "AccessDenied"


def create_member(server, orgs, name):
    """A member account made by the organization, and a client factory for its root."""
    import configparser

    status = orgs.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    for _ in range(100):
        status = orgs.describe_create_account_status(CreateAccountRequestId=status["Id"])[
            "CreateAccountStatus"
        ]
        if status["State"] != "IN_PROGRESS":
            break
        time.sleep(0.1)
    assert status["State"] == "SUCCEEDED", status
    account = status["AccountId"]
    creds = configparser.ConfigParser()
    creds.read(os.path.join(server.data_dir, "accounts", account, "root-credentials"))
    key = creds["default"]["aws_access_key_id"], creds["default"]["aws_secret_access_key"]
    return account, lambda service: server.client(service, key=key[0], secret=key[1])


def test_organization_trail_delivers_member_accounts_records(trail_server):
    server = trail_server
    orgs = server.client("organizations")
    org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    management = account_of(server)
    member, member_client = create_member(server, orgs, "member")
    quiet, _ = create_member(server, orgs, "quiet")
    s3 = server.client("s3")
    s3.create_bucket(Bucket="ct-org")
    policy = json.loads(trail_policy("ct-org", management))
    policy["Statement"][1]["Resource"] = [
        f"arn:aws:s3:::ct-org/AWSLogs/{management}/*",
        f"arn:aws:s3:::ct-org/AWSLogs/{org_id}/*",
    ]
    s3.put_bucket_policy(Bucket="ct-org", Policy=json.dumps(policy))
    ct = server.client("cloudtrail")
    arn = ct.create_trail(
        Name="org", S3BucketName="ct-org", IsOrganizationTrail=True, EnableLogFileValidation=True
    )["TrailARN"]
    ct.start_logging(Name="org")

    # The member sees the trail, as AWS shows it, and cannot change it.
    member_ct = member_client("cloudtrail")
    seen = member_ct.describe_trails()["trailList"]
    assert [(t["TrailARN"], t["IsOrganizationTrail"]) for t in seen] == [(arn, True)]
    assert member_ct.get_trail(Name=arn)["Trail"]["TrailARN"] == arn
    assert [t["TrailARN"] for t in member_ct.list_trails()["Trails"]] == [arn]
    assert "IsLogging" in member_ct.get_trail_status(Name=arn)
    for change in (
        lambda: member_ct.stop_logging(Name=arn),
        lambda: member_ct.delete_trail(Name=arn),
        lambda: member_ct.update_trail(Name=arn, S3BucketName="ct-org"),
        lambda: member_ct.put_event_selectors(
            TrailName=arn, EventSelectors=[{"ReadWriteType": "WriteOnly"}]
        ),
    ):
        with pytest.raises(ClientError) as e:
            change()
        assert code(e) == "NotOrganizationMasterAccountException"
    assert ct.get_trail_status(Name="org")["IsLogging"] is True
    # An account outside the organization does not see it.
    with pytest.raises(ClientError) as e:
        server.client("cloudtrail").get_trail(Name=arn.replace(management, "999999999999"))
    assert code(e) == "TrailNotFoundException"

    # The member's calls are delivered under the organization's prefix, in its own files.
    member_client("iam").create_user(UserName="bob")
    server.client("iam").create_user(UserName="carol")
    advance(server, 120)
    keys = log_files(s3, "ct-org")
    member_keys = [k for k in keys if k.startswith(f"AWSLogs/{org_id}/{member}/CloudTrail/{REGION}/")]
    own_keys = [k for k in keys if k.startswith(f"AWSLogs/{org_id}/{management}/CloudTrail/{REGION}/")]
    assert member_keys and own_keys and len(member_keys) + len(own_keys) == len(keys), keys

    def recs(ks):
        out = []
        for k in ks:
            body = s3.get_object(Bucket="ct-org", Key=k)["Body"].read()
            out.extend(json.loads(gzip.decompress(body))["Records"])
        return out

    member_recs = recs(member_keys)
    bob = [r for r in member_recs if r["eventName"] == "CreateUser"]
    assert len(bob) == 1 and bob[0]["recipientAccountId"] == member, member_recs
    assert {r["recipientAccountId"] for r in member_recs} == {member}
    refused = [r for r in member_recs if r["eventName"] == "StopLogging"]
    assert refused and refused[0]["errorCode"] == "NotOrganizationMasterAccountException"
    own = [r["eventName"] for r in recs(own_keys)]
    assert "CreateUser" in own and "StartLogging" in own

    # Each account's files have their own signed digest chain, also an account that made no
    # call (an empty digest); the validator checks them all.
    advance(server, 3600)
    digests = log_files(s3, "ct-org", "CloudTrail-Digest")
    assert sorted(d.split("/")[2] for d in digests) == sorted([management, member, quiet]), digests
    quiet_digest = next(d for d in digests if d.split("/")[2] == quiet)
    doc = json.loads(gzip.decompress(s3.get_object(Bucket="ct-org", Key=quiet_digest)["Body"].read()))
    assert doc["awsAccountId"] == quiet and doc["logFiles"] == [], doc
    member_digest = next(d for d in digests if d.split("/")[2] == member)
    doc = json.loads(gzip.decompress(s3.get_object(Bucket="ct-org", Key=member_digest)["Body"].read()))
    assert doc["awsAccountId"] == member
    assert {f["s3Object"] for f in doc["logFiles"]} == set(member_keys)
    for api in (False, True):
        ours = rampart_validate(server, arn, api)
        assert ours.returncode == 0, ours.stdout + ours.stderr
        assert "3/3 digest files valid" in ours.stdout, ours.stdout
    # validate-logs checks a member's chain with --account-id.
    start, end = dev_now(server) - 7200, dev_now(server) + 60
    theirs = validate(server, arn, start, end, "--account-id", member)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert "1/1 digest files valid" in theirs.stdout, theirs.stdout
    assert f"{len(member_keys)}/{len(member_keys)} log files valid" in theirs.stdout, theirs.stdout
    victim = member_keys[0]
    s3.put_object(Bucket="ct-org", Key=victim, Body=gzip.compress(b'{"Records":[]}'))
    ours = rampart_validate(server, arn)
    assert ours.returncode == 1
    assert f"s3://ct-org/{victim}\tINVALID: hash value doesn't match" in ours.stdout, ours.stdout
