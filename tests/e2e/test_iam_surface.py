"""IAM's less travelled surface with boto3: service-linked roles, SSH public keys and signing
certificates, with AWS's names, formats and errors; service last-accessed data that belongs
to the user or role, not to its name."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_service_linked_roles(server):
    iam = server.client("iam")
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", Description="d")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForAutoScaling"
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert role["Arn"].endswith(":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
    trust = role["AssumeRolePolicyDocument"]
    trust = trust if isinstance(trust, dict) else json.loads(trust)
    assert trust["Statement"][0]["Principal"]["Service"] == ["autoscaling.amazonaws.com"]
    got = iam.get_role(RoleName="AWSServiceRoleForAutoScaling")["Role"]
    assert got["Description"] == "d"

    # The same service again needs a different suffix; a suffix where the service allows one.
    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    assert code(e) == "InvalidInput"
    suffixed = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="web")
    assert suffixed["Role"]["RoleName"] == "AWSServiceRoleForAutoScaling_web"
    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName="elasticloadbalancing.amazonaws.com", CustomSuffix="x")
    assert code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName="nosuchservice.amazonaws.com")
    assert code(e) == "InvalidInput"

    # Ordinary edits are refused, as AWS does.
    name = "AWSServiceRoleForAutoScaling"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    edits = [
        lambda: iam.update_role(RoleName=name, Description="x"),
        lambda: iam.delete_role(RoleName=name),
        lambda: iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy),
        lambda: iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"),
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=policy),
    ]
    for edit in edits:
        with pytest.raises(ClientError) as e:
            edit()
        assert code(e) == "UnmodifiableEntity"
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "d"

    # Deletion goes through a task whose status reads back.
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert task.startswith("task/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling/")
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert code(e) == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        iam.get_service_linked_role_deletion_status(DeletionTaskId="nonsense")
    assert code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:
        iam.get_service_linked_role_deletion_status(
            DeletionTaskId=f"task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/{uuid.uuid4()}"
        )
    assert code(e) == "NoSuchEntity"

    # The service-linked path is reserved; an ordinary role is not deleted through this path.
    with pytest.raises(ClientError) as e:
        iam.create_role(
            RoleName="AWSServiceRoleForECS", Path="/aws-service-role/ecs.amazonaws.com/",
            AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }),
        )
    assert code(e) == "InvalidInput"
    iam.create_role(RoleName="plain-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))
    with pytest.raises(ClientError) as e:
        iam.delete_service_linked_role(RoleName="plain-role")
    assert code(e) == "InvalidInput"
    iam.delete_role(RoleName="plain-role")


def rsa_key(bits=2048):
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def openssh(key):
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def spki_pem(key):
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def md5_fingerprint(ssh_body):
    import base64
    import hashlib

    digest = hashlib.md5(base64.b64decode(ssh_body.split()[1])).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def test_ssh_public_keys(server):
    iam = server.client("iam")
    user = f"ssh-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = rsa_key()
    body = openssh(key) + " me@laptop"
    up = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)["SSHPublicKey"]
    kid = up["SSHPublicKeyId"]
    assert kid.startswith("APKA") and len(kid) == 20
    assert up["Status"] == "Active"
    assert up["Fingerprint"] == md5_fingerprint(body)

    ssh = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=kid, Encoding="SSH")["SSHPublicKey"]
    assert ssh["SSHPublicKeyBody"].split()[:2] == openssh(key).split()[:2]
    pem = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=kid, Encoding="PEM")["SSHPublicKey"]
    assert pem["SSHPublicKeyBody"].strip() == spki_pem(key).strip()

    # A PEM upload is the same key format; the same key again is a duplicate.
    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=spki_pem(key))
    assert code(e) == "DuplicateSSHPublicKey"
    other = rsa_key()
    up2 = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=spki_pem(other))["SSHPublicKey"]
    assert up2["Fingerprint"] == md5_fingerprint(openssh(other))

    for bad, want in [
        ("not a key", "UnrecognizedPublicKeyEncoding"),
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQ==", "InvalidPublicKey"),
        (openssh(rsa_key(1024)), "InvalidPublicKey"),
    ]:
        with pytest.raises(ClientError) as e:
            iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=bad)
        assert code(e) == want, bad

    listed = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]
    assert sorted(k["SSHPublicKeyId"] for k in listed) == sorted([kid, up2["SSHPublicKeyId"]])
    iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=kid, Status="Inactive")
    got = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=kid, Encoding="SSH")["SSHPublicKey"]
    assert got["Status"] == "Inactive"

    # At most 5 per user.
    for _ in range(3):
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=openssh(rsa_key()))
    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=openssh(rsa_key()))
    assert code(e) == "LimitExceeded"

    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert code(e) == "DeleteConflict"
    for k in iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]:
        iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"])
    with pytest.raises(ClientError) as e:
        iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=kid, Encoding="SSH")
    assert code(e) == "NoSuchEntity"
    iam.delete_user(UserName=user)


def self_signed(key, days_valid=365, start_days_ago=1):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"rampart-{uuid.uuid4().hex[:6]}")])
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=start_days_ago)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days_valid))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_signing_certificates(server):
    iam = server.client("iam")
    user = f"cert-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = rsa_key()
    pem = self_signed(key)
    up = iam.upload_signing_certificate(UserName=user, CertificateBody=pem)["Certificate"]
    cid = up["CertificateId"]
    assert up["Status"] == "Active" and up["UserName"] == user and len(cid) >= 24
    assert up["CertificateBody"].strip() == pem.strip()

    # The same certificate again, for this user or another, is a duplicate.
    other = f"cert-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=other)
    for who in (user, other):
        with pytest.raises(ClientError) as e:
            iam.upload_signing_certificate(UserName=who, CertificateBody=pem)
        assert code(e) == "DuplicateCertificate"

    for bad in [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        spki_pem(key),
        self_signed(key, days_valid=1, start_days_ago=10),
    ]:
        with pytest.raises(ClientError) as e:
            iam.upload_signing_certificate(UserName=user, CertificateBody=bad)
        assert code(e) == "MalformedCertificate", bad

    second = iam.upload_signing_certificate(UserName=user, CertificateBody=self_signed(rsa_key()))
    with pytest.raises(ClientError) as e:
        iam.upload_signing_certificate(UserName=user, CertificateBody=self_signed(rsa_key()))
    assert code(e) == "LimitExceeded"

    listed = iam.list_signing_certificates(UserName=user)["Certificates"]
    assert sorted(c["CertificateId"] for c in listed) == sorted([cid, second["Certificate"]["CertificateId"]])
    iam.update_signing_certificate(UserName=user, CertificateId=cid, Status="Inactive")
    statuses = {c["CertificateId"]: c["Status"] for c in iam.list_signing_certificates(UserName=user)["Certificates"]}
    assert statuses[cid] == "Inactive"

    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert code(e) == "DeleteConflict"
    for c in listed:
        iam.delete_signing_certificate(UserName=user, CertificateId=c["CertificateId"])
    with pytest.raises(ClientError) as e:
        iam.delete_signing_certificate(UserName=user, CertificateId=cid)
    assert code(e) == "NoSuchEntity"
    assert iam.list_signing_certificates(UserName=user)["Certificates"] == []
    iam.delete_user(UserName=user)
    iam.delete_user(UserName=other)


def private_pem(key, fmt="PKCS8"):
    from cryptography.hazmat.primitives import serialization

    f = serialization.PrivateFormat.PKCS8 if fmt == "PKCS8" else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, f, serialization.NoEncryption()).decode()


def stored(server, marker):
    import os

    for root, _, files in os.walk(server.data_dir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                if marker.encode() in fh.read():
                    return True
    return False


def audit_record(server, event_name, request_id):
    import time

    trail = server.client("cloudtrail")
    deadline = time.time() + 5
    while True:
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}]
        )["Events"]
        records = [json.loads(e["CloudTrailEvent"]) for e in events]
        found = [r for r in records if r["requestID"] == request_id]
        if found or time.time() > deadline:
            assert len(found) == 1, records
            return found[0]
        time.sleep(0.1)


def test_server_certificates(server):
    from cryptography.hazmat.primitives.asymmetric import ec

    iam = server.client("iam")
    key = rsa_key()
    body = self_signed(key)
    chain = self_signed(rsa_key())
    name = f"web-{uuid.uuid4().hex[:6]}"
    uploaded = iam.upload_server_certificate(
        Path="/cloudfront/", ServerCertificateName=name, CertificateBody=body,
        PrivateKey=private_pem(key, "PKCS1"), CertificateChain=chain,
        Tags=[{"Key": "env", "Value": "prod"}],
    )
    meta = uploaded["ServerCertificateMetadata"]
    assert meta["ServerCertificateId"].startswith("ASCA")
    assert meta["Arn"].endswith(f":server-certificate/cloudfront/{name}")
    assert "Expiration" in meta

    got = iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]
    assert got["CertificateBody"].strip() == body.strip()
    assert got["CertificateChain"].strip() == chain.strip()
    assert got["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert "PrivateKey" not in got
    # The private key is sealed at rest: its text is nowhere in the data dir.
    # The trail records the upload with the key hidden.
    record = audit_record(server, "UploadServerCertificate", uploaded["ResponseMetadata"]["RequestId"])
    assert record["requestParameters"]["serverCertificateName"] == name
    assert "privateKey" in record["requestParameters"]
    assert "PRIVATE KEY" not in json.dumps(record)
    # (The certificate, which is public, is found by the same scan.)
    assert stored(server, body.splitlines()[5])
    assert not stored(server, private_pem(key, "PKCS1").splitlines()[5])

    # An EC key (PKCS#8) works too; a key that is not the certificate's is refused.
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_name = f"ec-{uuid.uuid4().hex[:6]}"
    iam.upload_server_certificate(ServerCertificateName=ec_name, CertificateBody=self_signed(ec_key), PrivateKey=private_pem(ec_key))
    for bad_key, want in [(private_pem(rsa_key()), "KeyPairMismatch"), ("garbage", "MalformedCertificate")]:
        with pytest.raises(ClientError) as e:
            iam.upload_server_certificate(ServerCertificateName="x-" + name, CertificateBody=self_signed(key), PrivateKey=bad_key)
        assert code(e) == want
    with pytest.raises(ClientError) as e:
        iam.upload_server_certificate(ServerCertificateName="y-" + name, CertificateBody="nope", PrivateKey=private_pem(key))
    assert code(e) == "MalformedCertificate"
    with pytest.raises(ClientError) as e:
        iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=body, PrivateKey=private_pem(key))
    assert code(e) == "EntityAlreadyExists"

    iam.tag_server_certificate(ServerCertificateName=name, Tags=[{"Key": "team", "Value": "edge"}])
    iam.untag_server_certificate(ServerCertificateName=name, TagKeys=["env"])
    assert iam.list_server_certificate_tags(ServerCertificateName=name)["Tags"] == [{"Key": "team", "Value": "edge"}]
    names = [m["ServerCertificateName"] for m in iam.list_server_certificates(PathPrefix="/cloudfront/")["ServerCertificateMetadataList"]]
    assert names == [name]
    iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=name + "-2", NewPath="/elb/")
    moved = iam.get_server_certificate(ServerCertificateName=name + "-2")["ServerCertificate"]["ServerCertificateMetadata"]
    assert moved["Path"] == "/elb/" and moved["ServerCertificateId"] == meta["ServerCertificateId"]
    with pytest.raises(ClientError) as e:
        iam.get_server_certificate(ServerCertificateName=name)
    assert code(e) == "NoSuchEntity"
    iam.delete_server_certificate(ServerCertificateName=name + "-2")
    iam.delete_server_certificate(ServerCertificateName=ec_name)
    assert iam.list_server_certificates()["ServerCertificateMetadataList"] == []


def test_service_specific_credentials(server):
    iam = server.client("iam")
    user = f"git-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    account = server.client("sts").get_caller_identity()["Account"]
    cred = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")[
        "ServiceSpecificCredential"
    ]
    cid = cred["ServiceSpecificCredentialId"]
    assert cid.startswith("ACCA") and len(cid) == 20
    assert cred["ServiceUserName"] == f"{user}-at-{account}"
    assert cred["Status"] == "Active" and len(cred["ServicePassword"]) >= 32
    # The password is shown once and is nowhere in the store.
    assert not stored(server, cred["ServicePassword"])

    listed = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in listed] == [cid]
    assert "ServicePassword" not in listed[0]
    assert iam.list_service_specific_credentials(UserName=user, ServiceName="cassandra.amazonaws.com")[
        "ServiceSpecificCredentials"
    ] == []

    reset = iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cid)["ServiceSpecificCredential"]
    assert reset["ServicePassword"] != cred["ServicePassword"]
    iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cid, Status="Inactive")
    assert iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"][0]["Status"] == "Inactive"

    with pytest.raises(ClientError) as e:
        iam.create_service_specific_credential(UserName=user, ServiceName="s3.amazonaws.com")
    assert code(e) == "NotSupportedService"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    with pytest.raises(ClientError) as e:
        iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    assert code(e) == "LimitExceeded"
    iam.create_service_specific_credential(UserName=user, ServiceName="cassandra.amazonaws.com")

    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert code(e) == "DeleteConflict"
    for c in iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
    with pytest.raises(ClientError) as e:
        iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cid)
    assert code(e) == "NoSuchEntity"
    iam.delete_user(UserName=user)


def test_service_linked_role_authorization(fresh_server):
    """CreateServiceLinkedRole goes through the authorizer with `iam:AWSServiceName`, as
    AWS managed policies such as AWSOrganizationsFullAccess expect."""
    iam = fresh_server.client("iam")
    user = "slr-maker"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="slr", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": "organizations.amazonaws.com"}},
        }],
    }))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    mine = fresh_server.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    role = mine.create_service_linked_role(AWSServiceName="organizations.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForOrganizations"
    with pytest.raises(ClientError) as e:
        mine.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        mine.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=openssh(rsa_key()))
    assert code(e) == "AccessDenied"
    assert iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"] == []


def test_sts_preferences_and_account_summary(fresh_server):
    iam = fresh_server.client("iam")
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["GlobalEndpointTokenVersion"] == 1
    assert summary["ServerCertificates"] == 0
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    key = rsa_key()
    iam.upload_server_certificate(ServerCertificateName="one", CertificateBody=self_signed(key), PrivateKey=private_pem(key))
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["GlobalEndpointTokenVersion"] == 2
    assert summary["ServerCertificates"] == 1
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v1Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1


def test_policies_granting_service_access(fresh_server):
    iam = fresh_server.client("iam")

    def doc(effect, actions, key="Action"):
        return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": effect, key: actions, "Resource": "*"}]})

    s3_read = iam.create_policy(PolicyName="S3Read", PolicyDocument=doc("Allow", ["s3:Get*", "s3:List*"]))["Policy"]["Arn"]
    kms_use = iam.create_policy(PolicyName="KmsUse", PolicyDocument=doc("Allow", "kms:Decrypt"))["Policy"]["Arn"]
    iam.create_user(UserName="ana")
    iam.create_group(GroupName="ops")
    iam.add_user_to_group(GroupName="ops", UserName="ana")
    iam.attach_user_policy(UserName="ana", PolicyArn=s3_read)
    iam.put_user_policy(UserName="ana", PolicyName="not-iam", PolicyDocument=doc("Allow", ["iam:*"], key="NotAction"))
    iam.put_user_policy(UserName="ana", PolicyName="deny-s3", PolicyDocument=doc("Deny", "s3:*"))
    iam.attach_group_policy(GroupName="ops", PolicyArn=kms_use)
    iam.put_group_policy(GroupName="ops", PolicyName="ops-s3", PolicyDocument=doc("Allow", "S3:PutObject"))
    user_arn = iam.get_user(UserName="ana")["User"]["Arn"]
    group_arn = iam.get_group(GroupName="ops")["Group"]["Arn"]

    out = iam.list_policies_granting_service_access(Arn=user_arn, ServiceNamespaces=["s3", "kms", "iam"])
    assert out["IsTruncated"] is False
    by_ns = {e["ServiceNamespace"]: e["Policies"] for e in out["PoliciesGrantingServiceAccess"]}
    assert [e["ServiceNamespace"] for e in out["PoliciesGrantingServiceAccess"]] == ["s3", "kms", "iam"]
    s3 = sorted(by_ns["s3"], key=lambda p: p["PolicyName"])
    assert s3 == [
        {"PolicyName": "S3Read", "PolicyType": "MANAGED", "PolicyArn": s3_read},
        {"PolicyName": "not-iam", "PolicyType": "INLINE", "EntityType": "USER", "EntityName": "ana"},
        {"PolicyName": "ops-s3", "PolicyType": "INLINE", "EntityType": "GROUP", "EntityName": "ops"},
    ]
    assert {p["PolicyName"] for p in by_ns["kms"]} == {"KmsUse", "not-iam"}
    # The NotAction statement leaves all of IAM out; a Deny grants nothing.
    assert by_ns["iam"] == []

    # A group's list holds only its own policies.
    out = iam.list_policies_granting_service_access(Arn=group_arn, ServiceNamespaces=["s3"])
    assert [p["PolicyName"] for p in out["PoliciesGrantingServiceAccess"][0]["Policies"]] == ["ops-s3"]

    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))
    iam.put_role_policy(RoleName="worker", PolicyName="all", PolicyDocument=doc("Allow", "*"))
    role_arn = iam.get_role(RoleName="worker")["Role"]["Arn"]
    out = iam.list_policies_granting_service_access(Arn=role_arn, ServiceNamespaces=["ec2"])
    assert out["PoliciesGrantingServiceAccess"][0]["Policies"] == [
        {"PolicyName": "all", "PolicyType": "INLINE", "EntityType": "ROLE", "EntityName": "worker"}
    ]

    account = user_arn.split(":")[4]
    with pytest.raises(ClientError) as e:
        iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{account}:user/nobody", ServiceNamespaces=["s3"])
    assert code(e) == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        iam.list_policies_granting_service_access(Arn=s3_read, ServiceNamespaces=["s3"])
    assert code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:
        iam.list_policies_granting_service_access(Arn=user_arn, ServiceNamespaces=[f"s{i}" for i in range(201)])
    # More than the model's 200: refused by the model's length check, as AWS does.
    assert code(e) == "ValidationError"


IAM_ALL = json.dumps({"Version": "2012-10-17",
                      "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})


def last_accessed(iam, arn, level="SERVICE_LEVEL"):
    """The `iam` entry of a fresh last-accessed job for `arn`."""
    job = iam.generate_service_last_accessed_details(Arn=arn, Granularity=level)["JobId"]
    details = iam.get_service_last_accessed_details(JobId=job)
    assert details["JobStatus"] == "COMPLETED"
    return next(x for x in details["ServicesLastAccessed"] if x["ServiceNamespace"] == "iam")


def used_iam(iam, arn):
    """Polls until the (background) record of `arn`'s IAM use shows; that `iam` entry."""
    for _ in range(100):
        entry = last_accessed(iam, arn, "ACTION_LEVEL")
        if "LastAuthenticated" in entry:
            return entry
        time.sleep(0.1)
    raise AssertionError(f"no IAM use recorded for {arn}")


def user_using_iam(server, iam, name):
    """User `name` allowed iam:*, having called ListUsers with its own key; its key id."""
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="iam", PolicyDocument=IAM_ALL)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    server.client("iam", key["AccessKeyId"], key["SecretAccessKey"]).list_users()
    return key["AccessKeyId"]


def test_last_accessed_data_goes_with_the_user_or_role(server):
    iam = server.client("iam")
    account = server.client("sts").get_caller_identity()["Account"]
    name = f"lena-{uuid.uuid4().hex[:6]}"
    arn = f"arn:aws:iam::{account}:user/{name}"
    key_id = user_using_iam(server, iam, name)
    entry = used_iam(iam, arn)
    assert entry["LastAuthenticatedEntity"] == arn
    assert [a["ActionName"] for a in entry["TrackedActionsLastAccessed"]] == ["ListUsers"]

    # A rename keeps the history; a new user under the old name starts with none.
    renamed = f"{name}-x"
    iam.update_user(UserName=name, NewUserName=renamed)
    assert used_iam(iam, f"arn:aws:iam::{account}:user/{renamed}")["LastAuthenticatedEntity"] == \
        f"arn:aws:iam::{account}:user/{renamed}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="iam", PolicyDocument=IAM_ALL)
    fresh = last_accessed(iam, arn, "ACTION_LEVEL")
    assert "LastAuthenticated" not in fresh and "TrackedActionsLastAccessed" not in fresh, fresh
    iam.delete_user_policy(UserName=name, PolicyName="iam")
    iam.delete_user(UserName=name)

    # Deleted and created again under the same name: no history, at service or action level.
    iam.delete_access_key(UserName=renamed, AccessKeyId=key_id)
    iam.delete_user_policy(UserName=renamed, PolicyName="iam")
    iam.delete_user(UserName=renamed)
    iam.create_user(UserName=renamed)
    iam.put_user_policy(UserName=renamed, PolicyName="iam", PolicyDocument=IAM_ALL)
    again = last_accessed(iam, f"arn:aws:iam::{account}:user/{renamed}", "ACTION_LEVEL")
    assert "LastAuthenticated" not in again and "TrackedActionsLastAccessed" not in again, again

    # A role's history goes with it too.
    role = f"worker-{uuid.uuid4().hex[:6]}"
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}),
    )["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="iam", PolicyDocument=IAM_ALL)
    caller = f"caller-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=caller)
    iam.put_user_policy(UserName=caller, PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}))
    key = iam.create_access_key(UserName=caller)["AccessKey"]
    sts = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="worker")["Credentials"]
    server.client("iam", creds["AccessKeyId"], creds["SecretAccessKey"],
                  creds["SessionToken"]).list_users()
    assert used_iam(iam, role_arn)["LastAuthenticatedEntity"] == role_arn
    iam.delete_role_policy(RoleName=role, PolicyName="iam")
    iam.delete_role(RoleName=role)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}))
    iam.put_role_policy(RoleName=role, PolicyName="iam", PolicyDocument=IAM_ALL)
    assert "LastAuthenticated" not in last_accessed(iam, role_arn)
