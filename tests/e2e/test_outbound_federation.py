"""Outbound web identity federation with boto3: IAM enables the account's issuer, STS
GetWebIdentityToken signs JWTs (RS256, ES384) that an external verifier checks against the
discovery document and JWKS the server publishes, IAM policies limit audiences and lifetimes
with AWS's condition keys, and a session cannot vend a token that outlives it."""

import base64
import json
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

AUDIENCE = "https://api.example.com"
NAMESPACE = "https://sts.amazonaws.com/"


def _b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(text):
    return int.from_bytes(_b64(text), "big")


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def _verify(token, issuer):
    """What an external service does: discovery, JWKS, signature, then the claims."""
    discovery = _get(issuer + "/.well-known/openid-configuration")
    assert discovery["issuer"] == issuer
    keys = _get(discovery["jwks_uri"])["keys"]
    head, body, sig = token.split(".")
    header = json.loads(_b64(head))
    key = next(k for k in keys if k["kid"] == header["kid"])
    assert "d" not in key
    message, signature = f"{head}.{body}".encode(), _b64(sig)
    if header["alg"] == "RS256":
        public = rsa.RSAPublicNumbers(_int(key["e"]), _int(key["n"])).public_key()
        public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert header["alg"] == "ES384" and key["crv"] == "P-384"
        public = ec.EllipticCurvePublicNumbers(
            _int(key["x"]), _int(key["y"]), ec.SECP384R1()
        ).public_key()
        half = len(signature) // 2
        der = encode_dss_signature(
            int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        )
        public.verify(der, message, ec.ECDSA(hashes.SHA384()))
    return header, json.loads(_b64(body))


def _code(err):
    return err.value.response["Error"]["Code"]


def test_tokens_from_the_accounts_issuer_verify_outside(fresh_server):
    server = fresh_server
    iam, sts = server.client("iam"), server.client("sts")
    with pytest.raises(ClientError) as e:
        iam.get_outbound_web_identity_federation_info()
    assert _code(e) == "FeatureDisabled"
    with pytest.raises(ClientError) as e:
        sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    assert _code(e) == "OutboundWebIdentityFederationDisabledException"

    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    with pytest.raises(ClientError) as e:
        iam.enable_outbound_web_identity_federation()
    assert _code(e) == "FeatureEnabled"
    info = iam.get_outbound_web_identity_federation_info()
    assert info["IssuerIdentifier"] == issuer and info["JwtVendingEnabled"] is True

    me = sts.get_caller_identity()
    for alg in ("RS256", "ES384"):
        before = int(time.time())
        out = sts.get_web_identity_token(
            Audience=[AUDIENCE],
            SigningAlgorithm=alg,
            DurationSeconds=120,
            Tags=[{"Key": "job", "Value": "nightly"}],
        )
        header, claims = _verify(out["WebIdentityToken"], issuer)
        assert header["alg"] == alg
        assert claims["iss"] == issuer and claims["aud"] == AUDIENCE
        assert claims["sub"] == me["Arn"]
        assert claims["exp"] - claims["iat"] == 120 and claims["iat"] >= before - 5
        ours = claims[NAMESPACE]
        assert ours["aws_account"] == me["Account"] and ours["request_tags"] == {"job": "nightly"}
        assert abs(out["Expiration"].timestamp() - claims["exp"]) < 2

    two = sts.get_web_identity_token(Audience=["a", "b"], SigningAlgorithm="ES384")
    assert _verify(two["WebIdentityToken"], issuer)[1]["aud"] == ["a", "b"]

    # Disabled: no more tokens, but the keys stay published for the tokens already out.
    iam.disable_outbound_web_identity_federation()
    with pytest.raises(ClientError) as e:
        sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    assert _code(e) == "OutboundWebIdentityFederationDisabledException"
    _verify(out["WebIdentityToken"], issuer)
    assert iam.enable_outbound_web_identity_federation()["IssuerIdentifier"] == issuer


def test_policies_bound_audience_and_lifetime_and_sessions_cannot_escalate(fresh_server):
    server = fresh_server
    iam = server.client("iam")
    iam.enable_outbound_web_identity_federation()
    account = server.client("sts").get_caller_identity()["Account"]
    iam.create_user(UserName="worker")
    iam.put_user_policy(
        UserName="worker",
        PolicyName="tokens",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:GetWebIdentityToken",
                        "Resource": "*",
                        "Condition": {
                            "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": AUDIENCE},
                            "NumericLessThanEquals": {"sts:DurationSeconds": 300},
                        },
                    },
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="worker")["AccessKey"]
    sts = server.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256", DurationSeconds=300)
    for kwargs in (
        dict(Audience=["https://elsewhere.example.com"]),
        dict(Audience=[AUDIENCE], DurationSeconds=600),
    ):
        with pytest.raises(ClientError) as e:
            sts.get_web_identity_token(SigningAlgorithm="RS256", **kwargs)
        assert _code(e) == "AccessDenied", kwargs

    # A role session of 15 minutes cannot vend a token for an hour.
    iam.create_role(
        RoleName="minter",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    iam.put_role_policy(
        RoleName="minter",
        PolicyName="tokens",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*"}
                ],
            }
        ),
    )
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/minter", RoleSessionName="minting", DurationSeconds=900
    )["Credentials"]
    session = server.client(
        "sts",
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )
    with pytest.raises(ClientError) as e:
        session.get_web_identity_token(
            Audience=[AUDIENCE], SigningAlgorithm="ES384", DurationSeconds=3600
        )
    assert _code(e) == "SessionDurationEscalationException"
    token = session.get_web_identity_token(
        Audience=[AUDIENCE], SigningAlgorithm="ES384", DurationSeconds=600
    )["WebIdentityToken"]
    claims = json.loads(_b64(token.split(".")[1]))
    # A role session's token names the role.
    assert claims["sub"] == f"arn:aws:iam::{account}:role/minter"


def test_a_payload_over_the_limit_is_refused(fresh_server):
    """A token whose claims would exceed the largest payload STS signs (8 KiB of claims JSON,
    Rampart's choice: AWS does not publish its limit) is refused with AWS's
    JWTPayloadSizeExceededException; just under it, the token is signed and verifies."""
    server = fresh_server
    iam, sts = server.client("iam"), server.client("sts")
    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]

    def tags(count, size):
        return [{"Key": f"tag{i:02d}", "Value": "v" * size} for i in range(count)]

    for request in (
        {"Audience": [AUDIENCE], "Tags": tags(50, 256)},
        {"Audience": [f"https://{i}.example.com/" + "a" * 970 for i in range(10)]},
    ):
        with pytest.raises(ClientError) as e:
            sts.get_web_identity_token(SigningAlgorithm="RS256", **request)
        assert _code(e) == "JWTPayloadSizeExceededException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "Reduce the number of request tags" in e.value.response["Error"]["Message"]

    out = sts.get_web_identity_token(
        Audience=[AUDIENCE], SigningAlgorithm="ES384", Tags=tags(26, 256)
    )
    _, claims = _verify(out["WebIdentityToken"], issuer)
    size = len(_b64(out["WebIdentityToken"].split(".")[1]))
    assert 6 * 1024 < size <= 8 * 1024, size
    assert len(claims[NAMESPACE]["request_tags"]) == 26
