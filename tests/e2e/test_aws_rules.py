"""AWS's fixed rules (AWS managed policies, alias/aws/ aliases, protected roles, the always
allowed GetCallerIdentity): one corpus (data/aws_rules.json, the simulate format) through the
offline simulator (`rampart policy simulate`) and through the server with boto3 must give the
same decisions."""

import json
import os
import subprocess
import tempfile

import pytest
from botocore.exceptions import ClientError

from conftest import BIN

CORPUS = os.path.join(os.path.dirname(__file__), "data", "aws_rules.json")
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "ACCOUNT"}, "Action": "sts:AssumeRole"}],
    }
)


def load(account):
    with open(CORPUS) as f:
        return json.loads(f.read().replace("ACCOUNT", account))


def simulate(corpus):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(corpus, f)
    out = subprocess.run([BIN, "policy", "simulate", "--json", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    assert out.returncode == 0, out.stdout + out.stderr
    return {r["name"]: r["decision"] for r in json.loads(out.stdout)}


def prepare(server, account):
    """Root creates the resources the corpus names."""
    iam = server.client("iam")
    trust = TRUST.replace("ACCOUNT", account)
    iam.create_role(RoleName="AWSReservedSSO_Admin_0123", Path="/aws-reserved/sso.amazonaws.com/",
                    AssumeRolePolicyDocument=trust)
    iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    iam.create_role(RoleName="ordinary", AssumeRolePolicyDocument=trust)
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trust)
    return server.client("kms").create_key()["KeyMetadata"]["KeyId"], trust


def caller(server, case, account):
    """Clients for the case's principal: a user holding the identity policies, or that user's
    session of role `worker` (holding them) with the case's session policy."""
    iam = server.client("iam")
    name = f"caller{abs(hash(case['name'])) % 10**8}"
    iam.create_user(UserName=name)
    for p in case["policies"].get("identity", []):
        iam.put_user_policy(UserName=name, PolicyName=p["id"], PolicyDocument=json.dumps(p["document"]))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    creds = (key["AccessKeyId"], key["SecretAccessKey"], None)
    if not case["call"].get("session"):
        return lambda service: server.client(service, key=creds[0], secret=creds[1])
    for p in case["policies"]["identity"]:
        iam.put_role_policy(RoleName="worker", PolicyName=p["id"], PolicyDocument=json.dumps(p["document"]))
    sts = server.client("sts", key=creds[0], secret=creds[1])
    session = json.dumps(case["policies"]["session"][0]["document"])
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/worker", RoleSessionName="ses", Policy=session)
    c = c["Credentials"]
    return lambda service: server.client(
        service, key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"]
    )


def test_simulator_and_server_decide_alike(fresh_server):
    server = fresh_server
    account = server.client("sts").get_caller_identity()["Account"]
    corpus = load(account)
    offline = simulate(corpus)
    key_id, trust = prepare(server, account)
    for case in corpus["cases"]:
        assert offline[case["name"]] == case["expect"]["decision"], case["name"]
        call = case["call"]
        client = caller(server, case, account)(call["service"])
        params = {
            k: (key_id if v == "KEY" else trust if v == "TRUST" else v) for k, v in call["params"].items()
        }
        try:
            getattr(client, call["op"])(**params)
            online, code = "Allow", None
        except ClientError as e:
            online, code = "Denied", e.response["Error"]["Code"]
        want_allowed = offline[case["name"]] == "Allow"
        assert (online == "Allow") == want_allowed, f"{case['name']}: server {online} {code}"
        if "error" in call:
            assert code == call["error"], f"{case['name']}: {code}"


def test_protected_roles_are_still_readable(fresh_server):
    iam = fresh_server.client("iam")
    account = fresh_server.client("sts").get_caller_identity()["Account"]
    iam.create_role(RoleName="AWSReservedSSO_Read_1", Path="/aws-reserved/sso.amazonaws.com/",
                    AssumeRolePolicyDocument=TRUST.replace("ACCOUNT", account))
    assert iam.get_role(RoleName="AWSReservedSSO_Read_1")["Role"]["Path"] == "/aws-reserved/sso.amazonaws.com/"
    with pytest.raises(ClientError) as e:
        iam.tag_role(RoleName="AWSReservedSSO_Read_1", Tags=[{"Key": "a", "Value": "b"}])
    err = e.value.response["Error"]
    assert err["Code"] == "UnmodifiableEntity"
    assert err["Message"] == (
        "Cannot perform the operation on the protected role 'AWSReservedSSO_Read_1' - "
        "this role is only modifiable by AWS"
    )
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
