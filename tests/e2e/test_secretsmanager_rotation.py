"""Secrets Manager rotation end to end: a rotation hook (a small HTTP server standing in for a
rotation Lambda, running AWS's four steps with boto3 against Rampart exactly as the Lambda
template does), a failed step leaving AWSCURRENT untouched and the failure in the trail, the
dev clock bringing a schedule due, and CancelRotateSecret."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Server
from conftest import advance
from local_http import LambdaHook, wait_for

ACCOUNT = "123456789012"
GOOD = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotate"
FAILING = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotate-fails"
UNKNOWN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:nobody"


class Hook(LambdaHook):
    """A rotation function behind HTTP: the four steps of AWS's generic rotation template,
    calling back into Rampart with its own credentials; `/fails` fails the test step."""

    def invoke(self, path, event):
        self.step(event, fail_test=path == "/fails")

    def step(self, event, fail_test):
        sm, arn, token, step = self.client, event["SecretId"], event["ClientRequestToken"], event["Step"]
        versions = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        if token not in versions or "AWSPENDING" not in versions[token]:
            raise ValueError(f"version {token} is not set as AWSPENDING for rotation of {arn}")
        if step == "createSecret":
            current = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
            try:
                sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            except sm.exceptions.ResourceNotFoundException:
                current["password"] = sm.get_random_password(ExcludeCharacters="/@\"'\\")["RandomPassword"]
                sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                    SecretString=json.dumps(current), VersionStages=["AWSPENDING"])
        elif step == "setSecret":
            pass
        elif step == "testSecret":
            sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            if fail_test:
                raise RuntimeError("the new password does not log in")
        elif step == "finishSecret":
            current = next(v for v, s in versions.items() if "AWSCURRENT" in s)
            if current != token:
                sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                               MoveToVersionId=token, RemoveFromVersionId=current)


@pytest.fixture(scope="module")
def rig():
    hook = Hook()
    server = Server("--dev",
                    "--rotation-hook", f"{GOOD}={hook.url}/rotate",
                    "--rotation-hook", f"{FAILING}={hook.url}/fails")
    hook.client = server.client("secretsmanager")
    yield server, hook
    server.stop()
    hook.stop()


def trail_events(server, name, arn):
    events = server.client("cloudtrail").lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": name}])["Events"]
    out = [json.loads(e["CloudTrailEvent"]) for e in events]
    return [e for e in out if e.get("resources") and e["resources"][0]["ARN"] == arn]


def value(sm, arn, **kw):
    return json.loads(sm.get_secret_value(SecretId=arn, **kw)["SecretString"])


def test_a_hook_rotates_with_the_four_steps(rig):
    server, hook = rig
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name="rot/app", SecretString=json.dumps({"username": "app", "password": "old"}))["ARN"]
    first = sm.get_secret_value(SecretId=arn)["VersionId"]
    out = sm.rotate_secret(SecretId=arn, RotationLambdaARN=GOOD,
                           RotationRules={"ScheduleExpression": "rate(10 days)", "Duration": "2h"})
    token = out["VersionId"]
    desc = wait_for(lambda: (d := sm.describe_secret(SecretId=arn)).get("LastRotatedDate") and d)
    steps = [e["Step"] for p, e in hook.events if e["SecretId"] == arn]
    assert steps == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    assert all(e["ClientRequestToken"] == token for p, e in hook.events if e["SecretId"] == arn)
    assert desc["RotationEnabled"] is True
    assert desc["RotationLambdaARN"] == GOOD
    assert desc["RotationRules"] == {"ScheduleExpression": "rate(10 days)", "Duration": "2h"}
    gap = desc["NextRotationDate"] - desc["LastRotatedDate"]
    assert abs(gap.total_seconds() - 10 * 86400) < 5
    assert desc["VersionIdsToStages"] == {token: ["AWSCURRENT"], first: ["AWSPREVIOUS"]}
    assert value(sm, arn)["password"] not in ("old", "")
    assert value(sm, arn, VersionStage="AWSPREVIOUS")["password"] == "old"
    assert trail_events(server, "RotationSucceeded", arn)
    assert trail_events(server, "RotationStarted", arn)
    # Retrying the same request starts nothing new.
    again = sm.rotate_secret(SecretId=arn, ClientRequestToken=token)
    assert again["VersionId"] == token


def test_a_failed_step_leaves_the_current_value(rig):
    server, hook = rig
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name="rot/fails", SecretString=json.dumps({"password": "keep"}))["ARN"]
    current = sm.get_secret_value(SecretId=arn)["VersionId"]
    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=FAILING,
                             RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]
    failed = wait_for(lambda: trail_events(server, "RotationFailed", arn))
    details = failed[0]["serviceEventDetails"]
    assert details["step"] == "testSecret"
    assert "does not log in" in details["failureReason"]
    assert "keep" not in json.dumps(failed)
    assert value(sm, arn)["password"] == "keep"
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages == {current: ["AWSCURRENT"], token: ["AWSPENDING"]}
    assert "LastRotatedDate" not in sm.describe_secret(SecretId=arn)
    # AWS refuses a new rotation while AWSPENDING sits apart from AWSCURRENT.
    with pytest.raises(ClientError) as err:
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=GOOD)
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "previous rotation isn't complete" in err.value.response["Error"]["Message"]
    # Cleared by hand, a rotation with a working function succeeds.
    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=GOOD)
    wait_for(lambda: sm.describe_secret(SecretId=arn).get("LastRotatedDate"))
    assert value(sm, arn)["password"] != "keep"


def test_an_unregistered_function_fails_the_rotation(rig):
    server, _ = rig
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name="rot/unknown", SecretString="{}")["ARN"]
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=UNKNOWN)
    failed = wait_for(lambda: trail_events(server, "RotationFailed", arn))
    assert "not registered" in failed[0]["serviceEventDetails"]["failureReason"]
    assert failed[0]["serviceEventDetails"]["step"] == "createSecret"
    with pytest.raises(ClientError) as err:
        sm.rotate_secret(SecretId=arn, RotationLambdaARN="not-an-arn")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        sm.rotate_secret(SecretId=arn, RotationRules={"ScheduleExpression": "cron(0 12 * * * *)"})
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_the_dev_clock_brings_a_schedule_due_and_cancel_stops_it(rig):
    server, _ = rig
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name="rot/scheduled", SecretString=json.dumps({"password": "p0"}))["ARN"]
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=GOOD, RotateImmediately=False,
                     RotationRules={"ScheduleExpression": "cron(0 3 * * ? *)"})
    desc = sm.describe_secret(SecretId=arn)
    assert desc["RotationEnabled"] is True and "LastRotatedDate" not in desc
    next_date = desc["NextRotationDate"]
    assert (next_date.hour, next_date.minute) == (3, 0)
    time.sleep(2)
    assert value(sm, arn)["password"] == "p0"
    advance(server, 86400 + 60)
    desc = wait_for(lambda: (d := sm.describe_secret(SecretId=arn)).get("LastRotatedDate") and d)
    assert value(sm, arn)["password"] != "p0"
    assert desc["NextRotationDate"] > next_date

    out = sm.cancel_rotate_secret(SecretId=arn)
    assert out["ARN"] == arn
    desc = sm.describe_secret(SecretId=arn)
    assert desc["RotationEnabled"] is False
    assert "NextRotationDate" not in desc
    rotated = value(sm, arn)["password"]
    advance(server, 3 * 86400)
    assert value(sm, arn)["password"] == rotated


def test_the_builtin_strategy_rotates_an_iam_users_access_keys():
    server = Server()
    try:
        iam = server.client("iam")
        sm = server.client("secretsmanager")
        account = server.client("sts").get_caller_identity()["Account"]
        iam.create_user(UserName="rotator")
        old = iam.create_access_key(UserName="rotator")["AccessKey"]
        arn = sm.create_secret(Name="rot/iam", SecretString=json.dumps({
            "UserName": "rotator", "AccessKeyId": old["AccessKeyId"],
            "SecretAccessKey": old["SecretAccessKey"]}))["ARN"]
        strategy = f"arn:aws:lambda:us-east-1:{account}:function:rampart-builtin-iam-access-keys"
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=strategy,
                         RotationRules={"AutomaticallyAfterDays": 90})
        wait_for(lambda: sm.describe_secret(SecretId=arn).get("LastRotatedDate"))
        new = value(sm, arn)
        assert new["UserName"] == "rotator"
        assert new["AccessKeyId"] != old["AccessKeyId"]
        keys = iam.list_access_keys(UserName="rotator")["AccessKeyMetadata"]
        assert [k["AccessKeyId"] for k in keys] == [new["AccessKeyId"]]
        who = server.client("sts", key=new["AccessKeyId"], secret=new["SecretAccessKey"]).get_caller_identity()
        assert who["Arn"].endswith(":user/rotator")
        with pytest.raises(ClientError) as err:
            server.client("sts", key=old["AccessKeyId"], secret=old["SecretAccessKey"]).get_caller_identity()
        assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
        assert value(sm, arn, VersionStage="AWSPREVIOUS")["AccessKeyId"] == old["AccessKeyId"]
        # The test step went through the request path, signed with the new key.
        seen = trail_events(server, "RotationSucceeded", arn)
        assert seen
        calls = server.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "AccessKeyId", "AttributeValue": new["AccessKeyId"]}])["Events"]
        assert any(e["EventName"] == "GetCallerIdentity" for e in calls)
        # The built-in IAM calls are audited as Secrets Manager's, for the account.
        made = server.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "CreateAccessKey"}])["Events"]
        made = [json.loads(e["CloudTrailEvent"]) for e in made]
        by_rotation = [e for e in made if e["userIdentity"].get("invokedBy") == "secretsmanager.amazonaws.com"]
        assert by_rotation and by_rotation[0]["requestParameters"]["userName"] == "rotator"
        assert new["SecretAccessKey"] not in json.dumps(made)
        puts = server.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "PutSecretValue"}])["Events"]
        assert new["SecretAccessKey"] not in json.dumps([json.loads(e["CloudTrailEvent"]) for e in puts])

        # A secret without a UserName fails at createSecret and keeps its value.
        bad = sm.create_secret(Name="rot/iam-bad", SecretString=json.dumps({"AccessKeyId": "x"}))["ARN"]
        sm.rotate_secret(SecretId=bad, RotationLambdaARN=strategy)
        failed = wait_for(lambda: trail_events(server, "RotationFailed", bad))
        assert failed[0]["serviceEventDetails"]["step"] == "createSecret"
        assert "UserName" in failed[0]["serviceEventDetails"]["failureReason"]
        assert value(sm, bad) == {"AccessKeyId": "x"}
    finally:
        server.stop()


def psql(sql):
    """Runs SQL as postgres on the local PostgreSQL (trust auth); None when there is none."""
    import shutil
    import subprocess
    if not shutil.which("psql"):
        return None
    proc = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", sql],
                          capture_output=True, text=True, timeout=20)
    return proc.stdout.strip() if proc.returncode == 0 else None


def scram_matches(verifier, password):
    """True when a PostgreSQL SCRAM-SHA-256 verifier was made from `password`."""
    import base64
    import hashlib
    import hmac
    method, rest = verifier.split("$", 1)
    assert method == "SCRAM-SHA-256"
    iter_salt, keys = rest.split("$")
    iterations, salt = iter_salt.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key


def test_the_builtin_strategy_rotates_a_postgresql_password(rig):
    if psql("select 1") != "1":
        pytest.skip("no local PostgreSQL at 127.0.0.1:5432")
    server, _ = rig
    sm = server.client("secretsmanager")
    role = "rampart_rotation_e2e"
    psql(f"DROP ROLE IF EXISTS {role}")
    assert psql(f"CREATE ROLE {role} LOGIN PASSWORD 'old-password'") is not None
    try:
        creds = {"engine": "postgres", "host": "127.0.0.1", "port": 5432, "username": role,
                 "password": "old-password", "dbname": "postgres"}
        arn = sm.create_secret(Name="rot/postgres", SecretString=json.dumps(creds))["ARN"]
        strategy = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rampart-builtin-postgresql-single-user"
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=strategy, RotationRules={"AutomaticallyAfterDays": 30})
        wait_for(lambda: sm.describe_secret(SecretId=arn).get("LastRotatedDate"))
        new = value(sm, arn)
        assert new["password"] != "old-password" and len(new["password"]) == 32
        assert {k: v for k, v in new.items() if k != "password"} == {
            k: v for k, v in creds.items() if k != "password"}
        # The role's stored verifier is now the new password's, no longer the old one's (the
        # local server trusts loopback logins, so a refused old login cannot be shown here).
        verifier = psql(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'")
        assert scram_matches(verifier, new["password"])
        assert not scram_matches(verifier, "old-password")
        assert value(sm, arn, VersionStage="AWSPREVIOUS")["password"] == "old-password"

        # A database that cannot be reached fails setSecret and keeps the current value.
        bad = dict(creds, port=1)
        bad_arn = sm.create_secret(Name="rot/postgres-down", SecretString=json.dumps(bad))["ARN"]
        sm.rotate_secret(SecretId=bad_arn, RotationLambdaARN=strategy)
        failed = wait_for(lambda: trail_events(server, "RotationFailed", bad_arn))
        assert failed[0]["serviceEventDetails"]["step"] == "setSecret"
        assert value(sm, bad_arn) == bad
        assert "old-password" not in json.dumps(failed)
    finally:
        psql(f"DROP ROLE IF EXISTS {role}")


def test_the_alternating_users_strategy_keeps_the_previous_login(rig):
    if psql("select 1") != "1":
        pytest.skip("no local PostgreSQL at 127.0.0.1:5432")
    server, _ = rig
    sm = server.client("secretsmanager")
    role, clone = "rampart_alt_e2e", "rampart_alt_e2e_clone"
    for r in (clone, role):
        psql(f"DROP ROLE IF EXISTS {r}")
    assert psql(f"CREATE ROLE {role} LOGIN PASSWORD 'old-password'") is not None
    try:
        master = {"engine": "postgres", "host": "127.0.0.1", "port": 5432, "username": "postgres",
                  "password": "unused-with-trust", "dbname": "postgres"}
        master_arn = sm.create_secret(Name="rot/pg-master", SecretString=json.dumps(master))["ARN"]
        creds = {"engine": "postgres", "host": "127.0.0.1", "port": 5432, "username": role,
                 "password": "old-password", "dbname": "postgres", "masterarn": master_arn}
        arn = sm.create_secret(Name="rot/pg-alt", SecretString=json.dumps(creds))["ARN"]
        strategy = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rampart-builtin-postgresql-multi-user"
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=strategy)
        wait_for(lambda: sm.describe_secret(SecretId=arn).get("LastRotatedDate"))
        first = value(sm, arn)
        assert first["username"] == clone and first["masterarn"] == master_arn
        # The clone logs in with the new password and holds the first role's privileges; the
        # first role's password is untouched, so its sessions keep working.
        verifier = lambda r: psql(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{r}'")
        assert scram_matches(verifier(clone), first["password"])
        assert scram_matches(verifier(role), "old-password")
        assert psql(f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{clone}'") == "t"
        assert psql(f"SELECT pg_has_role('{clone}', '{role}', 'MEMBER')") == "t"
        assert value(sm, arn, VersionStage="AWSPREVIOUS")["username"] == role
        # The next rotation switches back to the first role, with a new password of its own.
        rotated = sm.describe_secret(SecretId=arn)["LastRotatedDate"]
        sm.rotate_secret(SecretId=arn)
        wait_for(lambda: sm.describe_secret(SecretId=arn).get("LastRotatedDate") != rotated
                 and value(sm, arn)["username"] == role)
        second = value(sm, arn)
        assert second["password"] not in ("old-password", first["password"])
        assert scram_matches(verifier(role), second["password"])
        assert scram_matches(verifier(clone), first["password"])
        # Without a master secret, createSecret fails and the value stays.
        lone = sm.create_secret(Name="rot/pg-alt-lone", SecretString=json.dumps(
            {k: v for k, v in creds.items() if k != "masterarn"}))["ARN"]
        sm.rotate_secret(SecretId=lone, RotationLambdaARN=strategy)
        failed = wait_for(lambda: trail_events(server, "RotationFailed", lone))
        assert failed[0]["serviceEventDetails"]["step"] == "createSecret"
        assert "masterarn" in failed[0]["serviceEventDetails"]["failureReason"]
    finally:
        for r in (clone, role):
            psql(f"DROP OWNED BY {r}")
            psql(f"DROP ROLE IF EXISTS {r}")


def test_restore_records_its_event(rig):
    server, _ = rig
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name="rot/restored", SecretString="v")["ARN"]
    sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    sm.restore_secret(SecretId=arn)
    event = trail_events(server, "CancelSecretVersionDelete", arn)[0]
    assert event["eventType"] == "AwsServiceEvent"
