"""SAML federation with the aws CLI and boto3, on a dev-mode server (account 000000000000).

The fixtures were made once with the xmlsec1 command-line tool (an independent signer): a
SAML response whose assertion is signed with RSA-SHA256 and valid until 2099, pairing
arn:aws:iam::000000000000:role/SamlCli with the provider CliIdp, and the identity provider's
metadata holding the signing certificate (its private key was not kept)."""

import base64
import json
import os

import pytest
from botocore.exceptions import ClientError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
DEV_KEY = "AKIAIOSFODNN7EXAMPLE"
DEV_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def read(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read().strip()


def test_cli_assumes_a_role_with_a_signed_saml_response(dev_server):
    s = dev_server
    created = s.cli(
        "iam", "create-saml-provider", "--name", "CliIdp",
        "--saml-metadata-document", read("saml_cli_metadata.xml"),
        key=DEV_KEY, secret=DEV_SECRET,
    )
    provider_arn = json.loads(created.stdout)["SAMLProviderArn"]
    assert provider_arn == "arn:aws:iam::000000000000:saml-provider/CliIdp"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"saml:iss": "https://idp.cli.test/saml"}},
        }],
    }
    s.cli(
        "iam", "create-role", "--role-name", "SamlCli",
        "--assume-role-policy-document", json.dumps(trust),
        key=DEV_KEY, secret=DEV_SECRET,
    )
    out = s.cli(
        "sts", "assume-role-with-saml",
        "--role-arn", "arn:aws:iam::000000000000:role/SamlCli",
        "--principal-arn", provider_arn,
        "--saml-assertion", read("saml_cli_response.b64"),
        key=DEV_KEY, secret=DEV_SECRET,
    )
    body = json.loads(out.stdout)
    assert body["Subject"] == "cli-user"
    assert body["SubjectType"] == "persistent"
    assert body["Issuer"] == "https://idp.cli.test/saml"
    assert body["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/SamlCli/cli-user"

    # boto3: the same response with its subject changed is refused.
    signed = base64.b64decode(read("saml_cli_response.b64")).decode()
    forged = base64.b64encode(signed.replace(">cli-user<", ">admin<").encode()).decode()
    sts = s.client("sts", key=DEV_KEY, secret=DEV_SECRET)
    with pytest.raises(ClientError) as e:
        sts.assume_role_with_saml(
            RoleArn="arn:aws:iam::000000000000:role/SamlCli",
            PrincipalArn=provider_arn,
            SAMLAssertion=forged,
        )
    assert e.value.response["Error"]["Code"] == "InvalidIdentityToken"
