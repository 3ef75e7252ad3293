"""MFA, passwords and credential hygiene with boto3 and the aws CLI against the real binary:
virtual MFA devices enabled with codes this test computes (RFC 6238 with hmac), an MFA-gated
policy, single-use codes, password policy, console sign-in with and without MFA, lockout, root
access keys and the credential report."""

import base64
import csv
import hashlib
import hmac
import io
import json
import os
import struct
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Server, signin

ROOT_EMAIL = "root-py@example.com"
ROOT_PASSWORD = "Py-Root-pass-1!"


def totp(seed_b32, offset=0, now=None):
    """RFC 6238: HMAC-SHA1 over the 30-second counter, dynamic truncation, 6 digits."""
    key = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
    counter = int((now or time.time()) // 30) + offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    pos = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[pos : pos + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def test_totp_matches_rfc6238_vector():
    seed = base64.b32encode(b"12345678901234567890").decode()
    assert totp(seed, now=59) == "287082"
    assert totp(seed, now=1111111109) == "081804"


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def srv():
    os.environ["RAMPART_ROOT_EMAIL"] = ROOT_EMAIL
    os.environ["RAMPART_ROOT_PASSWORD"] = ROOT_PASSWORD
    try:
        s = Server()
    finally:
        del os.environ["RAMPART_ROOT_EMAIL"]
        del os.environ["RAMPART_ROOT_PASSWORD"]
    yield s
    s.stop()


@pytest.fixture(scope="module")
def account(srv):
    return srv.client("sts").get_caller_identity()["Account"]


def new_user(srv, name, policy):
    iam = srv.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def enable_device(iam, user, name):
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    seed = dev["Base32StringSeed"].decode()
    assert dev["QRCodePNG"].startswith(b"\x89PNG\r\n\x1a\n")
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=dev["SerialNumber"],
        AuthenticationCode1=totp(seed, -2),
        AuthenticationCode2=totp(seed, -1),
    )
    return dev["SerialNumber"], seed


MFA_GATED = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Effect": "Deny",
            "NotAction": [
                "iam:CreateVirtualMFADevice",
                "iam:EnableMFADevice",
                "iam:ListMFADevices",
                "sts:GetSessionToken",
            ],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ],
}


def test_mfa_gated_policy(srv, account):
    key, secret = new_user(srv, "erin", MFA_GATED)
    iam = srv.client("iam", key, secret)
    sts = srv.client("sts", key, secret)
    serial, seed = enable_device(iam, "erin", "erin-phone")
    assert serial == f"arn:aws:iam::{account}:mfa/erin-phone"

    with pytest.raises(ClientError) as e:
        iam.list_users()
    assert code_of(e) == "AccessDenied"

    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=serial, TokenCode="12345a")
    assert code_of(e) in ("ValidationError", "AccessDenied")

    current = totp(seed, 0)
    creds = sts.get_session_token(SerialNumber=serial, TokenCode=current)["Credentials"]
    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=serial, TokenCode=current)
    assert code_of(e) == "AccessDenied"

    session = srv.client(
        "iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    names = [u["UserName"] for u in session.list_users()["Users"]]
    assert "erin" in names

    # Service last-accessed data from that real use (recorded in the background: poll).
    root_iam = srv.client("iam")
    erin_arn = f"arn:aws:iam::{account}:user/erin"
    for _ in range(50):
        job = root_iam.generate_service_last_accessed_details(Arn=erin_arn)["JobId"]
        details = root_iam.get_service_last_accessed_details(JobId=job)
        iam_entry = next(x for x in details["ServicesLastAccessed"] if x["ServiceNamespace"] == "iam")
        if "LastAuthenticated" in iam_entry:
            break
        time.sleep(0.1)
    assert details["JobStatus"] == "COMPLETED"
    assert iam_entry["LastAuthenticatedEntity"] == erin_arn
    assert iam_entry["ServiceName"] == "AWS Identity and Access Management"
    kms = next(x for x in details["ServicesLastAccessed"] if x["ServiceNamespace"] == "kms")
    assert "LastAuthenticated" not in kms  # allowed by Action "*", never used
    with_entities = root_iam.get_service_last_accessed_details_with_entities(
        JobId=job, ServiceNamespace="iam"
    )
    [entity] = with_entities["EntityDetailsList"]
    assert entity["EntityInfo"]["Name"] == "erin" and entity["EntityInfo"]["Type"] == "USER"
    assert "LastAuthenticated" in entity

    devices = srv.client("iam").list_virtual_mfa_devices(AssignmentStatus="Assigned")
    assert [d["SerialNumber"] for d in devices["VirtualMFADevices"]] == [serial]
    assert devices["VirtualMFADevices"][0]["User"]["UserName"] == "erin"

    # Resync takes two consecutive codes, newer than any used; the same pair works once.
    # (The gated policy does not list it, so only the MFA session may call it.)
    with pytest.raises(ClientError) as e:
        iam.resync_mfa_device(
            UserName="erin", SerialNumber=serial,
            AuthenticationCode1=totp(seed, 1), AuthenticationCode2=totp(seed, 2),
        )
    assert code_of(e) == "AccessDenied"
    session.resync_mfa_device(
        UserName="erin", SerialNumber=serial,
        AuthenticationCode1=totp(seed, 1), AuthenticationCode2=totp(seed, 2),
    )
    with pytest.raises(ClientError) as e:
        session.resync_mfa_device(
            UserName="erin", SerialNumber=serial,
            AuthenticationCode1=totp(seed, 1), AuthenticationCode2=totp(seed, 2),
        )
    assert code_of(e) == "InvalidAuthenticationCode"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    # The aws CLI sees the same device.
    out = srv.cli("iam", "list-mfa-devices", "--user-name", "erin").stdout
    assert json.loads(out)["MFADevices"][0]["SerialNumber"] == serial




def test_password_policy_signin_and_lockout(srv, account):
    iam = srv.client("iam")
    iam.update_account_password_policy(
        MinimumPasswordLength=10,
        RequireNumbers=True,
        RequireSymbols=True,
        AllowUsersToChangePassword=True,
    )
    assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 10
    iam.create_user(UserName="frank")
    for weak in ["short-1", "no-digits-here", "NoSymbols123"]:
        with pytest.raises(ClientError) as e:
            iam.create_login_profile(UserName="frank", Password=weak)
        assert code_of(e) == "PasswordPolicyViolation"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    profile = iam.create_login_profile(
        UserName="frank", Password="frank-pass-1!", PasswordResetRequired=True
    )["LoginProfile"]
    assert profile["PasswordResetRequired"] is True

    # A required reset must be done at sign-in, and the new password obeys the policy.
    status, body = signin(srv, account=account, user="frank", password="frank-pass-1!")
    assert (status, body["error"]) == (403, "PasswordResetRequired")
    status, body = signin(
        srv, account=account, user="frank", password="frank-pass-1!", new_password="weak"
    )
    assert (status, body["error"]) == (403, "PasswordPolicyViolation")
    status, body = signin(
        srv,
        account=account,
        user="frank",
        password="frank-pass-1!",
        new_password="frank-pass-2!",
    )
    assert status == 200 and body["result"] == "Success"
    assert body["mfa_authenticated"] is False
    assert iam.get_login_profile(UserName="frank")["LoginProfile"]["PasswordResetRequired"] is False
    assert "PasswordLastUsed" in iam.get_user(UserName="frank")["User"]

    # With an MFA device the code is required.
    serial, seed = enable_device(iam, "frank", "frank-phone")
    status, body = signin(srv, account=account, user="frank", password="frank-pass-2!")
    assert (status, body["error"]) == (401, "MfaRequired")
    status, body = signin(
        srv, account=account, user="frank", password="frank-pass-2!", mfa_code="000000"
        if totp(seed, 0) != "000000" else "111111"
    )
    assert (status, body["error"]) == (401, "InvalidMfaCode")
    status, body = signin(
        srv, account=account, user="frank", password="frank-pass-2!", mfa_code=totp(seed, 0)
    )
    assert status == 200 and body["mfa_authenticated"] is True

    # The root user signs in with its email and password.
    status, body = signin(srv, email=ROOT_EMAIL, password=ROOT_PASSWORD)
    assert status == 200 and body["arn"] == f"arn:aws:iam::{account}:root"

    # Lockout: five failures in a row, then even the right password waits.
    for _ in range(5):
        status, body = signin(srv, account=account, user="frank", password="wrong-pass-9!")
        assert status == 401
    status, body = signin(
        srv, account=account, user="frank", password="frank-pass-2!", mfa_code=totp(seed, 1)
    )
    assert status == 429 and body["error"] == "LockedOut" and body["retry_after_secs"] > 0


def test_root_access_keys_and_credential_report(srv, account):
    iam = srv.client("iam")
    # The root user creates and deletes its own access keys (no UserName).
    created = iam.create_access_key()["AccessKey"]
    assert "UserName" not in created
    keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert created["AccessKeyId"] in [k["AccessKeyId"] for k in keys]
    iam.delete_access_key(AccessKeyId=created["AccessKeyId"])

    # An administrator cannot act on the root user's keys or password.
    key, secret = new_user(srv, "gina", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    })
    admin = srv.client("iam", key, secret)
    root_key = srv.root_key
    with pytest.raises(ClientError) as e:
        admin.update_access_key(AccessKeyId=root_key, Status="Inactive")
    assert code_of(e) == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        admin.delete_access_key(AccessKeyId=root_key)
    assert code_of(e) == "NoSuchEntity"
    own = admin.create_access_key()["AccessKey"]
    assert own["UserName"] == "gina"

    # The root user's own MFA device: only root may create and enable it; an administrator
    # can neither take it over nor remove it.
    root_serial = f"arn:aws:iam::{account}:mfa/root-account-mfa-device"
    with pytest.raises(ClientError) as e:
        admin.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
    assert code_of(e) == "InvalidInput"
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
    seed = dev["VirtualMFADevice"]["Base32StringSeed"].decode()
    iam.enable_mfa_device(
        UserName="root",
        SerialNumber=root_serial,
        AuthenticationCode1=totp(seed, -2),
        AuthenticationCode2=totp(seed, -1),
    )
    assert [d["SerialNumber"] for d in iam.list_mfa_devices()["MFADevices"]] == [root_serial]
    with pytest.raises(ClientError) as e:
        admin.deactivate_mfa_device(UserName="gina", SerialNumber=root_serial)
    assert code_of(e) == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        admin.delete_virtual_mfa_device(SerialNumber=root_serial)
    assert code_of(e) == "DeleteConflict"
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["AccountMFAEnabled"] == 1
    assert summary["AccountPasswordPresent"] == 1
    assert summary["MFADevicesInUse"] == 3 and summary["MFADevices"] == 3
    # Root sign-in now needs the root device's code too.
    status, body = signin(srv, email=ROOT_EMAIL, password=ROOT_PASSWORD)
    assert (status, body["error"]) == (401, "MfaRequired")

    # The root password is changed by the root user alone (ChangePassword changes the caller's).
    iam.change_password(OldPassword=ROOT_PASSWORD, NewPassword="Py-Root-pass-2!")
    status, body = signin(srv, email=ROOT_EMAIL, password="Py-Root-pass-2!", mfa_code=totp(seed, 0))
    assert status == 200 and body["mfa_authenticated"] is True
    with pytest.raises(ClientError) as e:
        admin.change_password(OldPassword="Py-Root-pass-2!", NewPassword="Hijack-pass-3!")
    assert code_of(e) == "InvalidUserType"

    iam.generate_credential_report()
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
    header = report["Content"].decode().splitlines()[0].split(",")
    assert header[:8] == [
        "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
        "password_last_changed", "password_next_rotation", "mfa_active",
    ]
    assert header[-4:] == ["cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"]
    by_user = {r["user"]: r for r in rows}
    root = by_user["<root_account>"]
    assert root["arn"] == f"arn:aws:iam::{account}:root"
    assert root["password_enabled"] == "not_supported"
    assert root["password_last_used"] != "no_information"  # signed in above
    assert root["mfa_active"] == "true"
    gina = by_user["gina"]
    assert gina["password_enabled"] == "false"
    assert gina["password_last_used"] == "N/A"
    assert gina["access_key_1_active"] == "true"
    assert gina["access_key_2_active"] == "true"
    assert by_user["erin"]["mfa_active"] == "true"
    assert by_user["frank"]["password_enabled"] == "true"
    assert by_user["frank"]["mfa_active"] == "true"
