"""STS `GetFederationToken` called with the root user's credentials, as AWS allows: the
federated user's permissions are the intersection of root's (everything) and the session
policies passed, and its session lasts at most an hour."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def session_client(server, service, creds):
    return server.client(
        service,
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )


@pytest.fixture(scope="module")
def env(server):
    sts = server.client("sts")
    return server, sts, sts.get_caller_identity()["Account"]


def test_root_gets_a_federated_user_capped_by_its_session_policy(env):
    server, sts, account = env
    out = sts.get_federation_token(Name="root-proxy", Policy=doc(allow("kms:ListKeys")))
    arn = f"arn:aws:sts::{account}:federated-user/root-proxy"
    assert out["FederatedUser"] == {"FederatedUserId": f"{account}:root-proxy", "Arn": arn}
    assert 0 <= out["PackedPolicySize"] <= 100
    creds = out["Credentials"]
    assert session_client(server, "sts", creds).get_caller_identity()["Arn"] == arn
    # Allowed by root and by the session policy.
    session_client(server, "kms", creds).list_keys()
    # Root may, the session policy does not: refused.
    with pytest.raises(ClientError) as e:
        session_client(server, "kms", creds).list_aliases()
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        session_client(server, "secretsmanager", creds).list_secrets()
    assert code(e) == "AccessDeniedException"


def test_root_federated_user_without_a_policy_can_do_nothing(env):
    server, sts, _ = env
    creds = sts.get_federation_token(Name="bare")["Credentials"]
    with pytest.raises(ClientError) as e:
        session_client(server, "kms", creds).list_keys()
    assert code(e) == "AccessDeniedException"


def test_a_deny_in_the_session_policy_binds_the_root_federated_user(env):
    server, sts, _ = env
    policy = doc(allow("kms:*"), {"Effect": "Deny", "Action": "kms:ListAliases", "Resource": "*"})
    creds = sts.get_federation_token(Name="denied", Policy=policy)["Credentials"]
    session_client(server, "kms", creds).list_keys()
    with pytest.raises(ClientError) as e:
        session_client(server, "kms", creds).list_aliases()
    assert code(e) == "AccessDeniedException"


def test_root_sessions_last_at_most_an_hour(env):
    _, sts, _ = env
    for asked in (None, 7200, 129600):
        kwargs = {} if asked is None else {"DurationSeconds": asked}
        creds = sts.get_federation_token(Name="hourly", Policy=doc(allow("kms:ListKeys")), **kwargs)[
            "Credentials"
        ]
        left = creds["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
        assert datetime.timedelta(minutes=55) < left <= datetime.timedelta(hours=1, minutes=1), asked
    short = sts.get_federation_token(Name="short", DurationSeconds=900)["Credentials"]
    left = short["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
    assert left <= datetime.timedelta(minutes=16)
    for bad in (129601,):
        with pytest.raises(ClientError) as e:
            sts.get_federation_token(Name="bad", DurationSeconds=bad)
        assert code(e) == "ValidationError"


def test_root_federated_sessions_cannot_get_more_tokens(env):
    server, sts, _ = env
    creds = sts.get_federation_token(Name="chain", Policy=doc(allow("sts:*")))["Credentials"]
    with pytest.raises(ClientError) as e:
        session_client(server, "sts", creds).get_federation_token(Name="again")
    assert code(e) == "AccessDenied"
