"""AWS behaviour that a peer emulator's suite (moto's tests in server mode, scripts/peer_suite.sh,
docs/PEER_SUITE.md) found Rampart getting wrong, each checked against AWS's documentation or a
test the peer verified against AWS."""

import csv
import io
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from test_iam_surface import rsa_key, self_signed

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


def uid(prefix):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def error(excinfo):
    return excinfo.value.response["Error"]


def report_rows(iam):
    iam.generate_credential_report()
    for _ in range(50):
        try:
            content = iam.get_credential_report()["Content"]
            return {row["user"]: row for row in csv.DictReader(io.StringIO(content.decode()))}
        except ClientError as e:
            if e.response["Error"]["Code"] != "ReportInProgress":
                raise
            time.sleep(0.1)
    raise AssertionError("no credential report")


def test_signing_certificate_quota_message(server):
    iam = server.client("iam")
    user = uid("u")
    iam.create_user(UserName=user)
    for _ in range(2):
        iam.upload_signing_certificate(UserName=user, CertificateBody=self_signed(rsa_key()))
    with pytest.raises(ClientError) as e:
        iam.upload_signing_certificate(UserName=user, CertificateBody=self_signed(rsa_key()))
    assert error(e)["Code"] == "LimitExceeded"
    assert error(e)["Message"] == "Cannot exceed quota for CertificatesPerUser: 2"


def test_credential_report_shows_signing_certificates(fresh_server):
    iam = fresh_server.client("iam")
    iam.create_user(UserName="certs")
    iam.create_user(UserName="none")
    first = iam.upload_signing_certificate(UserName="certs", CertificateBody=self_signed(rsa_key()))
    iam.upload_signing_certificate(UserName="certs", CertificateBody=self_signed(rsa_key()))
    iam.update_signing_certificate(
        UserName="certs", CertificateId=first["Certificate"]["CertificateId"], Status="Inactive"
    )
    rows = report_rows(iam)
    certs, none = rows["certs"], rows["none"]
    assert (certs["cert_1_active"], certs["cert_2_active"]) == ("false", "true")
    assert certs["cert_1_last_rotated"].startswith(first["Certificate"]["UploadDate"].strftime("%Y-%m-%dT"))
    assert certs["cert_2_last_rotated"] != "N/A"
    assert [none[c] for c in ("cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated")] == [
        "false", "N/A", "false", "N/A"]


def test_get_policy_always_carries_tags(server):
    iam = server.client("iam")
    created = iam.create_policy(PolicyName=uid("p"), PolicyDocument=POLICY)["Policy"]
    assert "Tags" not in created
    assert iam.get_policy(PolicyArn=created["Arn"])["Policy"]["Tags"] == []
    listed = iam.list_policies(Scope="Local", PathPrefix="/")["Policies"]
    assert all("Tags" not in p for p in listed)


def test_organizations_answers_bad_input_with_invalid_input(fresh_server):
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]["Id"]
    cases = [
        (lambda: orgs.list_policies(Filter="MOTO"), "INVALID_ENUM", "You specified an invalid value."),
        (lambda: orgs.list_children(ParentId=root, ChildType="BLEE"), "INVALID_ENUM",
         "You specified an invalid value."),
        (lambda: orgs.tag_resource(ResourceId="0A000000X000", Tags=[{"Key": "k", "Value": "v"}]),
         "INVALID_PATTERN", "You provided a value that does not match the required pattern."),
        (lambda: orgs.describe_organizational_unit(OrganizationalUnitId="r-abcd"), "INVALID_PATTERN",
         "You provided a value that does not match the required pattern."),
        (lambda: orgs.list_policies_for_target(TargetId="nope", Filter="SERVICE_CONTROL_POLICY"),
         "INVALID_PATTERN_TARGET_ID", "You specified a policy target ID that doesn't match the required pattern."),
        (lambda: orgs.create_organizational_unit(ParentId=root, Name="n" * 129), "MAX_LENGTH_EXCEEDED",
         "You provided a string parameter that is longer than allowed."),
    ]
    for call, reason, message in cases:
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert (error(e)["Code"], e.value.response.get("Reason"), error(e)["Message"]) == (
            "InvalidInputException", reason, message)
    # A well-formed id that names nothing is still its own not-found error.
    with pytest.raises(ClientError) as e:
        orgs.describe_organizational_unit(OrganizationalUnitId="ou-abcd-abcdefgh")
    assert error(e)["Code"] == "OrganizationalUnitNotFoundException"

