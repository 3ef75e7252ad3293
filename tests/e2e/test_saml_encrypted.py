"""Encrypted SAML assertions end to end with boto3, on a dev-mode server (account
000000000000): a SAML provider with private keys (`AddPrivateKey`, `RemovePrivateKey`,
`AssertionEncryptionMode`), and `AssumeRoleWithSAML` decrypting an `EncryptedAssertion`
(AES-CBC or AES-GCM content key wrapped with RSA-OAEP or RSA 1.5) before verifying its
signature. The signed assertion is test_saml.py's fixture (signed with the xmlsec1 tool); this
test encrypts it with Python's `cryptography`, as an identity provider does."""

import base64
import json
import os
import re
import time

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, padding as sym_padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
DEV_KEY = "AKIAIOSFODNN7EXAMPLE"
DEV_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ROLE = "arn:aws:iam::000000000000:role/SamlCli"
XENC = "http://www.w3.org/2001/04/xmlenc#"
DS = "http://www.w3.org/2000/09/xmldsig#"


def read(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read().strip()


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def new_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key, pem


def b64(data):
    return base64.b64encode(data).decode()


def encrypt_content(plain, content):
    """The assertion encrypted with a fresh AES key: (algorithm URI, key, cipher value)."""
    if content == "aes256-cbc":
        key, iv = os.urandom(32), os.urandom(16)
        padder = sym_padding.PKCS7(128).padder()
        padded = padder.update(plain) + padder.finalize()
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        return XENC + "aes256-cbc", key, iv + enc.update(padded) + enc.finalize()
    key, iv = os.urandom(16), os.urandom(12)
    return "http://www.w3.org/2009/xmlenc11#aes128-gcm", key, iv + AESGCM(key).encrypt(iv, plain, None)


def wrap_key(public, key, transport):
    if transport == "rsa-oaep-mgf1p":
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
        method = (f'<xenc:EncryptionMethod Algorithm="{XENC}rsa-oaep-mgf1p">'
                  f'<ds:DigestMethod Algorithm="{DS}sha1"/></xenc:EncryptionMethod>')
        return method, public.encrypt(key, oaep)
    return f'<xenc:EncryptionMethod Algorithm="{XENC}rsa-1_5"/>', public.encrypt(key, padding.PKCS1v15())


def encrypted_response(public, content="aes256-cbc", transport="rsa-oaep-mgf1p", beside=False):
    """The fixture response with its signed assertion replaced by an EncryptedAssertion; with
    `beside`, the wrapped key sits beside EncryptedData (as Shibboleth sends it)."""
    xml = base64.b64decode(read("saml_cli_response.b64")).decode()
    assertion = re.search(r"<saml:Assertion\b.*</saml:Assertion>", xml, re.S).group(0)
    algorithm, key, cipher = encrypt_content(assertion.encode(), content)
    method, wrapped = wrap_key(public, key, transport)
    encrypted_key = (f'<xenc:EncryptedKey Id="_k1" xmlns:xenc="{XENC}">{method}'
                     f'<xenc:CipherData><xenc:CipherValue>{b64(wrapped)}</xenc:CipherValue>'
                     f'</xenc:CipherData></xenc:EncryptedKey>')
    key_info = (f'<ds:KeyInfo xmlns:ds="{DS}"><ds:RetrievalMethod URI="#_k1" '
                f'Type="{XENC}EncryptedKey"/></ds:KeyInfo>' if beside
                else f'<ds:KeyInfo xmlns:ds="{DS}">{encrypted_key}</ds:KeyInfo>')
    data = (f'<xenc:EncryptedData xmlns:xenc="{XENC}" Type="{XENC}Element">'
            f'<xenc:EncryptionMethod Algorithm="{algorithm}"/>{key_info}'
            f'<xenc:CipherData><xenc:CipherValue>{b64(cipher)}</xenc:CipherValue></xenc:CipherData>'
            f'</xenc:EncryptedData>')
    wrapper = f"<saml:EncryptedAssertion>{data}{encrypted_key if beside else ''}</saml:EncryptedAssertion>"
    return b64(xml.replace(assertion, wrapper).encode())


def assume(server, provider_arn, assertion):
    sts = server.client("sts", key=DEV_KEY, secret=DEV_SECRET)
    return sts.assume_role_with_saml(RoleArn=ROLE, PrincipalArn=provider_arn, SAMLAssertion=assertion)


@pytest.fixture
def setup(dev_server):
    server = dev_server
    iam = server.client("iam", key=DEV_KEY, secret=DEV_SECRET)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::000000000000:saml-provider/CliIdp"},
        "Action": "sts:AssumeRoleWithSAML"}]}
    iam.create_role(RoleName="SamlCli", AssumeRolePolicyDocument=json.dumps(trust))
    return server, iam


def test_required_encryption_decrypts_and_refuses_plaintext(setup):
    server, iam = setup
    key, pem = new_key()
    created = iam.create_saml_provider(
        Name="CliIdp", SAMLMetadataDocument=read("saml_cli_metadata.xml"),
        AssertionEncryptionMode="Required", AddPrivateKey=pem,
    )
    arn = created["SAMLProviderArn"]
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["AssertionEncryptionMode"] == "Required"
    [entry] = got["PrivateKeyList"]
    assert re.fullmatch(r"[A-Z0-9]{22,64}", entry["KeyId"]) and entry["Timestamp"]
    assert "PRIVATE KEY" not in json.dumps(got, default=str)

    out = assume(server, arn, encrypted_response(key.public_key()))
    assert out["Subject"] == "cli-user"
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/SamlCli/cli-user"
    # AES-GCM content, RSA 1.5 key transport, the key beside the data.
    out = assume(server, arn, encrypted_response(key.public_key(), "aes128-gcm", "rsa-1_5", beside=True))
    assert out["Subject"] == "cli-user"

    with pytest.raises(ClientError) as e:
        assume(server, arn, read("saml_cli_response.b64"))
    assert code(e) == "InvalidIdentityToken"
    # Encrypted for another key: refused.
    other, _ = new_key()
    with pytest.raises(ClientError) as e:
        assume(server, arn, encrypted_response(other.public_key()))
    assert code(e) == "InvalidIdentityToken"
    # A tampered ciphertext is refused too (GCM's tag, or the signature after CBC).
    bad = base64.b64decode(encrypted_response(key.public_key(), "aes128-gcm")).decode()
    value = re.findall(r"<xenc:CipherValue>([^<]+)</xenc:CipherValue>", bad)[-1]
    flipped = bytearray(base64.b64decode(value))
    flipped[20] ^= 1
    bad = bad.replace(value, b64(bytes(flipped)))
    with pytest.raises(ClientError) as e:
        assume(server, arn, b64(bad.encode()))
    assert code(e) == "InvalidIdentityToken"

    # The private key never reaches the audit record.
    trail = server.client("cloudtrail", key=DEV_KEY, secret=DEV_SECRET)
    body = pem.splitlines()[1]
    for _ in range(50):
        events = trail.lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "CreateSAMLProvider"}])["Events"]
        if events:
            break
        time.sleep(0.1)
    assert events and all(body not in e["CloudTrailEvent"] for e in events)


def test_key_rotation_and_modes(setup):
    server, iam = setup
    first, first_pem = new_key()
    second, second_pem = new_key()
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="CliIdp", SAMLMetadataDocument=read("saml_cli_metadata.xml"),
                                 AssertionEncryptionMode="Required")
    assert code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="CliIdp", SAMLMetadataDocument=read("saml_cli_metadata.xml"),
                                 AddPrivateKey="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
    assert code(e) == "InvalidInput"
    arn = iam.create_saml_provider(
        Name="CliIdp", SAMLMetadataDocument=read("saml_cli_metadata.xml"), AddPrivateKey=first_pem,
    )["SAMLProviderArn"]
    # Without a mode, plaintext and encrypted assertions both work.
    assert "AssertionEncryptionMode" not in iam.get_saml_provider(SAMLProviderArn=arn)
    assume(server, arn, read("saml_cli_response.b64"))
    assume(server, arn, encrypted_response(first.public_key()))

    iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=second_pem,
                             AssertionEncryptionMode="Required")
    keys = iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]
    assert len(keys) == 2
    third, third_pem = new_key()
    with pytest.raises(ClientError) as e:
        iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=third_pem)
    assert code(e) == "LimitExceeded"
    # Both keys decrypt during the rotation.
    assume(server, arn, encrypted_response(first.public_key()))
    assume(server, arn, encrypted_response(second.public_key(), "aes128-gcm"))
    iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=keys[0]["KeyId"])
    [left] = iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]
    assert left["KeyId"] == keys[1]["KeyId"]
    with pytest.raises(ClientError) as e:
        assume(server, arn, encrypted_response(first.public_key()))
    assert code(e) == "InvalidIdentityToken"
    assume(server, arn, encrypted_response(second.public_key()))
    with pytest.raises(ClientError) as e:
        iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey="A" * 32)
    assert code(e) == "NoSuchEntity"
    # Required cannot lose its last key.
    with pytest.raises(ClientError) as e:
        iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=left["KeyId"])
    assert code(e) == "InvalidInput"
    iam.update_saml_provider(SAMLProviderArn=arn, AssertionEncryptionMode="Allowed")
    assume(server, arn, read("saml_cli_response.b64"))
    iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=left["KeyId"])
    assert "PrivateKeyList" not in iam.get_saml_provider(SAMLProviderArn=arn)
    # No key left: an encrypted assertion cannot be read.
    with pytest.raises(ClientError) as e:
        assume(server, arn, encrypted_response(second.public_key()))
    assert code(e) == "InvalidIdentityToken"
