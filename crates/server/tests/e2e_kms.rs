//! End-to-end KMS with aws-sdk-kms against the real binary: round trips for every key spec and
//! algorithm, encryption context binding, rotation, key states and their errors, deletion at
//! the end of the window (test clock, across a restart), key policies, grants, cross-account.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    reason = "test and bench code, not the request path"
)]

mod support;

use aws_sdk_kms::{
    error::ProvideErrorMetadata,
    primitives::Blob,
    types::{
        DataKeyPairSpec, EncryptionAlgorithmSpec, GrantOperation, KeySpec, KeyState, KeyUsageType,
        MacAlgorithmSpec, MessageType, SigningAlgorithmSpec,
    },
    Client,
};
use support::Server;

const REGION: &str = "us-east-1";

async fn kms(server: &Server, key: &str, secret: &str) -> Client {
    Client::new(&server.sdk_config(key, secret, REGION).await)
}

async fn root_kms(server: &Server) -> Client {
    kms(server, &server.root_key, &server.root_secret).await
}

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("<none>").to_string()
}

async fn symmetric_key(c: &Client) -> String {
    c.create_key()
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_string()
}

#[tokio::test]
async fn symmetric_encryption_context_rotation_and_aliases() {
    let server = Server::start(&[]);
    let c = root_kms(&server).await;
    let created = c
        .create_key()
        .description("app data")
        .send()
        .await
        .expect("CreateKey");
    let meta = created.key_metadata().expect("metadata");
    assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
    assert_eq!(meta.key_spec(), Some(&KeySpec::SymmetricDefault));
    assert_eq!(meta.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    let key_id = meta.key_id().to_string();
    let arn = meta.arn().expect("arn").to_string();
    assert!(arn.starts_with("arn:aws:kms:us-east-1:") && arn.ends_with(&key_id));

    let enc = c
        .encrypt()
        .key_id(&key_id)
        .plaintext(Blob::new(b"top secret".to_vec()))
        .encryption_context("purpose", "test")
        .send()
        .await
        .expect("Encrypt");
    assert_eq!(enc.key_id(), Some(arn.as_str()));
    let blob = enc.ciphertext_blob().expect("blob").clone();

    // Decrypt needs no key id: the ciphertext names its key.
    let dec = c
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("purpose", "test")
        .send()
        .await
        .expect("Decrypt");
    assert_eq!(dec.plaintext().expect("plaintext").as_ref(), b"top secret");
    assert_eq!(dec.key_id(), Some(arn.as_str()));

    // The context is bound: a different or missing one fails.
    for ctx in [Some(("purpose", "other")), None] {
        let mut req = c.decrypt().ciphertext_blob(blob.clone());
        if let Some((k, v)) = ctx {
            req = req.encryption_context(k, v);
        }
        let err = req.send().await.expect_err("wrong context");
        assert_eq!(code(&err), "InvalidCiphertextException");
    }
    // A tampered blob fails the same way.
    let mut bad = blob.as_ref().to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let err = c
        .decrypt()
        .ciphertext_blob(Blob::new(bad))
        .encryption_context("purpose", "test")
        .send()
        .await
        .expect_err("tampered");
    assert_eq!(code(&err), "InvalidCiphertextException");

    // Rotation on demand: old ciphertexts keep decrypting, new ones use new material.
    c.rotate_key_on_demand()
        .key_id(&key_id)
        .send()
        .await
        .expect("RotateKeyOnDemand");
    let rotations = c
        .list_key_rotations()
        .key_id(&key_id)
        .send()
        .await
        .expect("ListKeyRotations");
    assert_eq!(rotations.rotations().len(), 1);
    let dec = c
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("purpose", "test")
        .send()
        .await
        .expect("Decrypt after rotation");
    assert_eq!(dec.plaintext().expect("plaintext").as_ref(), b"top secret");
    let enc2 = c
        .encrypt()
        .key_id(&key_id)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect("Encrypt");
    let dec2 = c
        .decrypt()
        .ciphertext_blob(enc2.ciphertext_blob().expect("blob").clone())
        .send()
        .await
        .expect("Decrypt new");
    assert_ne!(dec2.key_material_id(), dec.key_material_id());

    // Data keys.
    let dk = c
        .generate_data_key()
        .key_id(&key_id)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await
        .expect("GenerateDataKey");
    assert_eq!(dk.plaintext().expect("plaintext").as_ref().len(), 32);
    let back = c
        .decrypt()
        .ciphertext_blob(dk.ciphertext_blob().expect("blob").clone())
        .send()
        .await
        .expect("Decrypt data key");
    assert_eq!(
        back.plaintext().expect("p").as_ref(),
        dk.plaintext().expect("p").as_ref()
    );
    let err = c
        .generate_data_key()
        .key_id(&key_id)
        .send()
        .await
        .expect_err("neither spec nor bytes");
    assert_eq!(code(&err), "ValidationException");

    // Aliases, usable wherever a key id is.
    c.create_alias()
        .alias_name("alias/app")
        .target_key_id(&key_id)
        .send()
        .await
        .expect("CreateAlias");
    let err = c
        .create_alias()
        .alias_name("alias/app")
        .target_key_id(&key_id)
        .send()
        .await
        .expect_err("duplicate alias");
    assert_eq!(code(&err), "AlreadyExistsException");
    let err = c
        .create_alias()
        .alias_name("alias/aws/s3")
        .target_key_id(&key_id)
        .send()
        .await
        .expect_err("reserved alias");
    assert_eq!(code(&err), "InvalidAliasNameException");
    let via_alias = c
        .encrypt()
        .key_id("alias/app")
        .plaintext(Blob::new(b"y".to_vec()))
        .send()
        .await
        .expect("Encrypt via alias");
    assert_eq!(via_alias.key_id(), Some(arn.as_str()));
    let described = c
        .describe_key()
        .key_id(&arn)
        .send()
        .await
        .expect("DescribeKey by ARN");
    assert_eq!(
        described.key_metadata().expect("m").description(),
        Some("app data")
    );
    let aliases = c
        .list_aliases()
        .key_id(&key_id)
        .send()
        .await
        .expect("ListAliases");
    assert_eq!(aliases.aliases().len(), 1);

    // ReEncrypt to a second key.
    let other = symmetric_key(&c).await;
    let re = c
        .re_encrypt()
        .ciphertext_blob(blob.clone())
        .source_encryption_context("purpose", "test")
        .destination_key_id(&other)
        .send()
        .await
        .expect("ReEncrypt");
    let dec3 = c
        .decrypt()
        .ciphertext_blob(re.ciphertext_blob().expect("blob").clone())
        .send()
        .await
        .expect("Decrypt re-encrypted");
    assert_eq!(dec3.plaintext().expect("p").as_ref(), b"top secret");
    assert!(dec3.key_id().expect("id").ends_with(&other));
    // Naming the wrong key is refused.
    let err = c
        .decrypt()
        .key_id(&other)
        .ciphertext_blob(blob)
        .encryption_context("purpose", "test")
        .send()
        .await
        .expect_err("wrong key");
    assert_eq!(code(&err), "IncorrectKeyException");

    let keys = c.list_keys().send().await.expect("ListKeys");
    assert_eq!(keys.keys().len(), 2);
    let random = c
        .generate_random()
        .number_of_bytes(64)
        .send()
        .await
        .expect("GenerateRandom");
    assert_eq!(random.plaintext().expect("p").as_ref().len(), 64);
}

#[tokio::test]
async fn every_asymmetric_and_hmac_spec_round_trips() {
    let server = Server::start(&[]);
    let c = root_kms(&server).await;
    let message = b"message to sign".to_vec();
    let signing: &[(KeySpec, &[SigningAlgorithmSpec])] = &[
        (
            KeySpec::Rsa2048,
            &[
                SigningAlgorithmSpec::RsassaPssSha256,
                SigningAlgorithmSpec::RsassaPssSha384,
                SigningAlgorithmSpec::RsassaPssSha512,
                SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
                SigningAlgorithmSpec::RsassaPkcs1V15Sha384,
                SigningAlgorithmSpec::RsassaPkcs1V15Sha512,
            ],
        ),
        (KeySpec::Rsa3072, &[SigningAlgorithmSpec::RsassaPssSha256]),
        (
            KeySpec::Rsa4096,
            &[SigningAlgorithmSpec::RsassaPkcs1V15Sha512],
        ),
        (KeySpec::EccNistP256, &[SigningAlgorithmSpec::EcdsaSha256]),
        (KeySpec::EccNistP384, &[SigningAlgorithmSpec::EcdsaSha384]),
        (KeySpec::EccNistP521, &[SigningAlgorithmSpec::EcdsaSha512]),
        (KeySpec::EccSecgP256K1, &[SigningAlgorithmSpec::EcdsaSha256]),
    ];
    for (spec, algorithms) in signing {
        let key = c
            .create_key()
            .key_spec(spec.clone())
            .key_usage(KeyUsageType::SignVerify)
            .send()
            .await
            .expect("CreateKey");
        let meta = key.key_metadata().expect("m");
        let id = meta.key_id().to_string();
        assert_eq!(
            meta.signing_algorithms().len(),
            if spec.as_str().starts_with("RSA") {
                6
            } else {
                1
            }
        );
        let public = c
            .get_public_key()
            .key_id(&id)
            .send()
            .await
            .expect("GetPublicKey");
        let der = public.public_key().expect("der").as_ref();
        assert_eq!(der[0], 0x30, "{spec:?}: DER SEQUENCE");
        for alg in *algorithms {
            let sig = c
                .sign()
                .key_id(&id)
                .message(Blob::new(message.clone()))
                .signing_algorithm(alg.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic!("Sign {spec:?} {alg:?}: {e:?}"));
            let signature = sig.signature().expect("sig").clone();
            let ok = c
                .verify()
                .key_id(&id)
                .message(Blob::new(message.clone()))
                .signature(signature.clone())
                .signing_algorithm(alg.clone())
                .send()
                .await
                .expect("Verify");
            assert!(ok.signature_valid());
            let err = c
                .verify()
                .key_id(&id)
                .message(Blob::new(b"other".to_vec()))
                .signature(signature)
                .signing_algorithm(alg.clone())
                .send()
                .await
                .expect_err("bad signature");
            assert_eq!(code(&err), "KMSInvalidSignatureException");
        }
        // Encrypt is not this key's usage.
        let err = c
            .encrypt()
            .key_id(&id)
            .plaintext(Blob::new(b"x".to_vec()))
            .send()
            .await
            .expect_err("sign key cannot encrypt");
        assert_eq!(code(&err), "InvalidKeyUsageException");
    }

    // DIGEST message type: a SHA-256 digest signed and verified as RAW of the message.
    let ecc = c
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .expect("m")
        .key_id()
        .to_string();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &message);
    let sig = c
        .sign()
        .key_id(&ecc)
        .message(Blob::new(digest.as_ref().to_vec()))
        .message_type(MessageType::Digest)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .expect("Sign digest");
    c.verify()
        .key_id(&ecc)
        .message(Blob::new(message.clone()))
        .signature(sig.signature().expect("s").clone())
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .expect("Verify raw of a digest signature");
    let err = c
        .sign()
        .key_id(&ecc)
        .message(Blob::new(vec![1, 2, 3]))
        .message_type(MessageType::Digest)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .expect_err("short digest");
    assert_eq!(code(&err), "ValidationException");
    let err = c
        .sign()
        .key_id(&ecc)
        .message(Blob::new(message.clone()))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .expect_err("wrong algorithm for ECC");
    assert_eq!(code(&err), "InvalidKeyUsageException");

    // RSA encryption with both OAEP variants.
    for spec in [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096] {
        let id = c
            .create_key()
            .key_spec(spec)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .send()
            .await
            .expect("CreateKey")
            .key_metadata()
            .expect("m")
            .key_id()
            .to_string();
        for alg in [
            EncryptionAlgorithmSpec::RsaesOaepSha1,
            EncryptionAlgorithmSpec::RsaesOaepSha256,
        ] {
            let enc = c
                .encrypt()
                .key_id(&id)
                .plaintext(Blob::new(b"rsa secret".to_vec()))
                .encryption_algorithm(alg.clone())
                .send()
                .await
                .expect("Encrypt RSA");
            let dec = c
                .decrypt()
                .key_id(&id)
                .ciphertext_blob(enc.ciphertext_blob().expect("b").clone())
                .encryption_algorithm(alg)
                .send()
                .await
                .expect("Decrypt RSA");
            assert_eq!(dec.plaintext().expect("p").as_ref(), b"rsa secret");
        }
    }

    // HMAC keys.
    for (spec, alg) in [
        (KeySpec::Hmac224, MacAlgorithmSpec::HmacSha224),
        (KeySpec::Hmac256, MacAlgorithmSpec::HmacSha256),
        (KeySpec::Hmac384, MacAlgorithmSpec::HmacSha384),
        (KeySpec::Hmac512, MacAlgorithmSpec::HmacSha512),
    ] {
        let id = c
            .create_key()
            .key_spec(spec)
            .key_usage(KeyUsageType::GenerateVerifyMac)
            .send()
            .await
            .expect("CreateKey HMAC")
            .key_metadata()
            .expect("m")
            .key_id()
            .to_string();
        let mac = c
            .generate_mac()
            .key_id(&id)
            .message(Blob::new(message.clone()))
            .mac_algorithm(alg.clone())
            .send()
            .await
            .expect("GenerateMac");
        let tag = mac.mac().expect("mac").clone();
        let ok = c
            .verify_mac()
            .key_id(&id)
            .message(Blob::new(message.clone()))
            .mac(tag.clone())
            .mac_algorithm(alg.clone())
            .send()
            .await
            .expect("VerifyMac");
        assert!(ok.mac_valid());
        let err = c
            .verify_mac()
            .key_id(&id)
            .message(Blob::new(b"tampered".to_vec()))
            .mac(tag)
            .mac_algorithm(alg)
            .send()
            .await
            .expect_err("bad mac");
        assert_eq!(code(&err), "KMSInvalidMacException");
    }

    // Data key pairs under a symmetric key; the private key decrypts back.
    let sym = symmetric_key(&c).await;
    for spec in [
        DataKeyPairSpec::Rsa2048,
        DataKeyPairSpec::EccNistP256,
        DataKeyPairSpec::EccSecgP256K1,
    ] {
        let pair = c
            .generate_data_key_pair()
            .key_id(&sym)
            .key_pair_spec(spec)
            .send()
            .await
            .expect("GenerateDataKeyPair");
        let dec = c
            .decrypt()
            .ciphertext_blob(pair.private_key_ciphertext_blob().expect("b").clone())
            .send()
            .await
            .expect("Decrypt private key");
        assert_eq!(
            dec.plaintext().expect("p").as_ref(),
            pair.private_key_plaintext().expect("p").as_ref()
        );
        assert_eq!(pair.public_key().expect("pub").as_ref()[0], 0x30);
    }
    let without = c
        .generate_data_key_pair_without_plaintext()
        .key_id(&sym)
        .key_pair_spec(DataKeyPairSpec::EccNistP384)
        .send()
        .await
        .expect("GenerateDataKeyPairWithoutPlaintext");
    assert!(without.private_key_ciphertext_blob().is_some());

    // Invalid spec/usage combinations.
    let err = c
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .expect_err("ECC cannot encrypt");
    assert_eq!(code(&err), "ValidationException");
}

#[tokio::test]
async fn key_states_deletion_window_and_automatic_rotation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key_id, doomed, blob) = {
        let server = Server::start_in(dir.path(), &["--dev"]);
        let c = root_kms(&server).await;
        let key_id = symmetric_key(&c).await;
        let blob = c
            .encrypt()
            .key_id(&key_id)
            .plaintext(Blob::new(b"keep".to_vec()))
            .send()
            .await
            .expect("Encrypt")
            .ciphertext_blob()
            .expect("b")
            .clone();

        // Disabled: cryptographic operations fail with DisabledException.
        c.disable_key()
            .key_id(&key_id)
            .send()
            .await
            .expect("DisableKey");
        let err = c
            .encrypt()
            .key_id(&key_id)
            .plaintext(Blob::new(b"x".to_vec()))
            .send()
            .await
            .expect_err("disabled");
        assert_eq!(code(&err), "DisabledException");
        let err = c
            .enable_key_rotation()
            .key_id(&key_id)
            .send()
            .await
            .expect_err("rotation on disabled");
        assert_eq!(code(&err), "DisabledException");
        c.enable_key()
            .key_id(&key_id)
            .send()
            .await
            .expect("EnableKey");

        // The deletion window is 7-30 days.
        for days in [6, 31] {
            let err = c
                .schedule_key_deletion()
                .key_id(&key_id)
                .pending_window_in_days(days)
                .send()
                .await
                .expect_err("window out of range");
            assert_eq!(code(&err), "ValidationException", "{days} days");
        }
        let scheduled = c
            .schedule_key_deletion()
            .key_id(&key_id)
            .pending_window_in_days(7)
            .send()
            .await
            .expect("ScheduleKeyDeletion");
        assert_eq!(scheduled.key_state(), Some(&KeyState::PendingDeletion));
        assert_eq!(scheduled.pending_window_in_days(), Some(7));
        let err = c
            .decrypt()
            .ciphertext_blob(blob.clone())
            .send()
            .await
            .expect_err("pending deletion");
        assert_eq!(code(&err), "KMSInvalidStateException");
        let err = c
            .enable_key()
            .key_id(&key_id)
            .send()
            .await
            .expect_err("enable pending");
        assert_eq!(code(&err), "KMSInvalidStateException");
        let err = c
            .schedule_key_deletion()
            .key_id(&key_id)
            .send()
            .await
            .expect_err("already pending");
        assert_eq!(code(&err), "KMSInvalidStateException");

        // Cancelling leaves the key disabled.
        c.cancel_key_deletion()
            .key_id(&key_id)
            .send()
            .await
            .expect("CancelKeyDeletion");
        let m = c
            .describe_key()
            .key_id(&key_id)
            .send()
            .await
            .expect("DescribeKey");
        assert_eq!(
            m.key_metadata().expect("m").key_state(),
            Some(&KeyState::Disabled)
        );
        let err = c
            .cancel_key_deletion()
            .key_id(&key_id)
            .send()
            .await
            .expect_err("not pending");
        assert_eq!(code(&err), "KMSInvalidStateException");
        c.enable_key()
            .key_id(&key_id)
            .send()
            .await
            .expect("EnableKey");

        // Automatic rotation: 90-2560 days; due rotations happen on the test clock.
        let err = c
            .enable_key_rotation()
            .key_id(&key_id)
            .rotation_period_in_days(89)
            .send()
            .await
            .expect_err("period too short");
        assert_eq!(code(&err), "ValidationException");
        c.enable_key_rotation()
            .key_id(&key_id)
            .rotation_period_in_days(90)
            .send()
            .await
            .expect("EnableKeyRotation");
        let status = c
            .get_key_rotation_status()
            .key_id(&key_id)
            .send()
            .await
            .expect("status");
        assert!(status.key_rotation_enabled());
        assert_eq!(status.rotation_period_in_days(), Some(90));
        server.advance_clock(91 * 86_400).await;
        let rotations = c
            .list_key_rotations()
            .key_id(&key_id)
            .send()
            .await
            .expect("rotations");
        assert_eq!(rotations.rotations().len(), 1);
        assert_eq!(
            rotations.rotations()[0].rotation_type().map(|t| t.as_str()),
            Some("AUTOMATIC")
        );
        let dec = c
            .decrypt()
            .ciphertext_blob(blob.clone())
            .send()
            .await
            .expect("Decrypt after rotation");
        assert_eq!(dec.plaintext().expect("p").as_ref(), b"keep");

        // A second key scheduled for deletion, then the server stops.
        let doomed = symmetric_key(&c).await;
        c.schedule_key_deletion()
            .key_id(&doomed)
            .pending_window_in_days(7)
            .send()
            .await
            .expect("ScheduleKeyDeletion");
        (key_id, doomed, blob)
    };

    // After a restart the schedule is still known: at the end of the window the key is gone.
    let server = Server::start_in(dir.path(), &["--dev"]);
    let c = root_kms(&server).await;
    let still = c
        .describe_key()
        .key_id(&doomed)
        .send()
        .await
        .expect("DescribeKey");
    assert_eq!(
        still.key_metadata().expect("m").key_state(),
        Some(&KeyState::PendingDeletion)
    );
    // The clock's offset is not persisted: the restarted clock starts at the real time again.
    server.advance_clock((91 + 8) * 86_400).await;
    let err = c
        .describe_key()
        .key_id(&doomed)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code(&err), "NotFoundException");
    let keys = c.list_keys().send().await.expect("ListKeys");
    assert_eq!(keys.keys().len(), 1, "the deleted key is no longer listed");
    let dec = c
        .decrypt()
        .ciphertext_blob(blob)
        .send()
        .await
        .expect("other key unaffected");
    assert!(dec.key_id().expect("id").ends_with(&key_id));
}

/// An IAM user of the server's account with an access key, and optionally an inline policy.
async fn user(server: &Server, name: &str, policy: Option<&str>) -> (String, String, String) {
    let iam = server.iam(&server.root_key, &server.root_secret).await;
    let created = iam
        .create_user()
        .user_name(name)
        .send()
        .await
        .expect("CreateUser");
    let arn = created.user().expect("user").arn().to_string();
    if let Some(p) = policy {
        iam.put_user_policy()
            .user_name(name)
            .policy_name("kms")
            .policy_document(p)
            .send()
            .await
            .expect("PutUserPolicy");
    }
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .expect("CreateAccessKey");
    let key = key.access_key().expect("key");
    (
        arn,
        key.access_key_id().to_string(),
        key.secret_access_key().to_string(),
    )
}

const KMS_USE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}"#;

#[tokio::test]
async fn key_policies_and_grants_decide() {
    let server = Server::start(&[]);
    let root = root_kms(&server).await;
    let account = server
        .sts(&server.root_key, &server.root_secret, REGION)
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("identity")
        .account()
        .expect("account")
        .to_string();
    let (alice_arn, ak, sk) = user(&server, "alice", Some(KMS_USE)).await;
    let (bob_arn, bk, bs) = user(&server, "bob", None).await;
    let alice = kms(&server, &ak, &sk).await;
    let bob = kms(&server, &bk, &bs).await;

    // The default key policy delegates to IAM: alice (IAM allows) may, bob (no IAM) may not.
    let delegated = symmetric_key(&root).await;
    alice
        .encrypt()
        .key_id(&delegated)
        .plaintext(Blob::new(b"a".to_vec()))
        .send()
        .await
        .expect("alice via IAM delegation");
    let err = bob
        .encrypt()
        .key_id(&delegated)
        .plaintext(Blob::new(b"b".to_vec()))
        .send()
        .await
        .expect_err("bob has no IAM permission");
    assert_eq!(code(&err), "AccessDeniedException");

    // A key policy that names bob directly and does not delegate to the account.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Sid":"Bob","Effect":"Allow","Principal":{{"AWS":"{bob_arn}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
              "Condition":{{"StringEquals":{{"kms:EncryptionContext:team":"blue"}}}}}},
            {{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"{alice_arn}"}},"Action":["kms:CreateGrant","kms:RevokeGrant","kms:ListGrants","kms:DescribeKey"],"Resource":"*"}}]}}"#
    );
    // Without the bypass flag the lockout safety check refuses a policy the caller cannot update.
    let err = root
        .create_key()
        .policy(&policy)
        .send()
        .await
        .expect_err("lockout check");
    assert_eq!(code(&err), "MalformedPolicyDocumentException");
    let direct = root
        .create_key()
        .policy(&policy)
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await
        .expect("CreateKey with policy")
        .key_metadata()
        .expect("m")
        .key_id()
        .to_string();
    let arn = format!("arn:aws:kms:{REGION}:{account}:key/{direct}");
    // Bob needs no IAM policy when the key policy names him, within its condition.
    bob.encrypt()
        .key_id(&arn)
        .plaintext(Blob::new(b"b".to_vec()))
        .encryption_context("team", "blue")
        .send()
        .await
        .expect("bob named by the key policy");
    let err = bob
        .encrypt()
        .key_id(&arn)
        .plaintext(Blob::new(b"b".to_vec()))
        .encryption_context("team", "red")
        .send()
        .await
        .expect_err("condition on kms:EncryptionContext");
    assert_eq!(code(&err), "AccessDeniedException");
    // Alice has IAM permission for kms:Encrypt, but the key policy does not delegate.
    let err = alice
        .encrypt()
        .key_id(&arn)
        .plaintext(Blob::new(b"a".to_vec()))
        .send()
        .await
        .expect_err("IAM permission without key-policy delegation");
    assert_eq!(code(&err), "AccessDeniedException");
    // Even the root user is refused when the key policy does not name the account.
    let err = root
        .describe_key()
        .key_id(&direct)
        .send()
        .await
        .expect_err("root not in policy");
    assert_eq!(code(&err), "AccessDeniedException");

    // A grant to alice, constrained to an encryption context.
    let grant = alice
        .create_grant()
        .key_id(&arn)
        .grantee_principal(&alice_arn)
        .operations(GrantOperation::Encrypt)
        .operations(GrantOperation::Decrypt)
        .constraints(
            aws_sdk_kms::types::GrantConstraints::builder()
                .encryption_context_subset("app", "billing")
                .build(),
        )
        .send()
        .await
        .expect("CreateGrant");
    let grant_id = grant.grant_id().expect("id").to_string();
    let enc = alice
        .encrypt()
        .key_id(&arn)
        .plaintext(Blob::new(b"granted".to_vec()))
        .encryption_context("app", "billing")
        .send()
        .await
        .expect("alice via grant");
    let err = alice
        .encrypt()
        .key_id(&arn)
        .plaintext(Blob::new(b"granted".to_vec()))
        .send()
        .await
        .expect_err("grant constraint not met");
    assert_eq!(code(&err), "AccessDeniedException");
    let grants = alice
        .list_grants()
        .key_id(&arn)
        .send()
        .await
        .expect("ListGrants");
    assert_eq!(grants.grants().len(), 1);
    assert_eq!(
        grants.grants()[0].grantee_principal(),
        Some(alice_arn.as_str())
    );
    alice
        .revoke_grant()
        .key_id(&arn)
        .grant_id(&grant_id)
        .send()
        .await
        .expect("RevokeGrant");
    let err = alice
        .decrypt()
        .ciphertext_blob(enc.ciphertext_blob().expect("b").clone())
        .encryption_context("app", "billing")
        .send()
        .await
        .expect_err("grant revoked");
    assert_eq!(code(&err), "AccessDeniedException");

    // A retiring principal retires a grant by its token.
    let g = alice
        .create_grant()
        .key_id(&arn)
        .grantee_principal(&alice_arn)
        .retiring_principal(&bob_arn)
        .operations(GrantOperation::Encrypt)
        .send()
        .await
        .expect("CreateGrant");
    let retirable = bob
        .list_retirable_grants()
        .retiring_principal(&bob_arn)
        .send()
        .await;
    // ListRetirableGrants is an IAM permission bob lacks.
    assert_eq!(
        code(&retirable.expect_err("no IAM permission")),
        "AccessDeniedException"
    );
    bob.retire_grant()
        .grant_token(g.grant_token().expect("token"))
        .send()
        .await
        .expect("RetireGrant by the retiring principal");
    let grants = alice
        .list_grants()
        .key_id(&arn)
        .send()
        .await
        .expect("ListGrants");
    assert!(grants.grants().is_empty());

    // Key policy administration.
    let got = root
        .get_key_policy()
        .key_id(&delegated)
        .send()
        .await
        .expect("GetKeyPolicy");
    assert!(got
        .policy()
        .expect("p")
        .contains(&format!("arn:aws:iam::{account}:root")));
    let names = root
        .list_key_policies()
        .key_id(&delegated)
        .send()
        .await
        .expect("ListKeyPolicies");
    assert_eq!(names.policy_names(), ["default"]);
    let err = root
        .put_key_policy()
        .key_id(&delegated)
        .policy("{not json")
        .send()
        .await
        .expect_err("malformed");
    assert_eq!(code(&err), "MalformedPolicyDocumentException");
}

#[tokio::test]
async fn cross_account_needs_both_sides() {
    // In dev mode the root credentials belong to the management account and unknown
    // credentials act as the root of the dev account 000000000000.
    let server = Server::start(&["--dev"]);
    let owner = root_kms(&server).await;
    let other = kms(&server, "AKIADEVACCOUNTROOT00", "dev-secret").await;
    let account = server
        .sts(&server.root_key, &server.root_secret, REGION)
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("identity")
        .account()
        .expect("account")
        .to_string();
    assert_ne!(account, "000000000000");

    let shared_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Sid":"Owner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}},
            {{"Sid":"Partner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:root"}},"Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}}]}}"#
    );
    let shared = owner
        .create_key()
        .policy(&shared_policy)
        .send()
        .await
        .expect("CreateKey shared")
        .key_metadata()
        .expect("m")
        .arn()
        .expect("arn")
        .to_string();
    let private = owner
        .create_key()
        .send()
        .await
        .expect("CreateKey private")
        .key_metadata()
        .expect("m")
        .arn()
        .expect("arn")
        .to_string();

    // The other account's root may use the shared key by ARN.
    let enc = other
        .encrypt()
        .key_id(&shared)
        .plaintext(Blob::new(b"partner".to_vec()))
        .send()
        .await
        .expect("cross-account Encrypt");
    let dec = other
        .decrypt()
        .ciphertext_blob(enc.ciphertext_blob().expect("b").clone())
        .send()
        .await
        .expect("cross-account Decrypt");
    assert_eq!(dec.plaintext().expect("p").as_ref(), b"partner");
    // The private key's policy names only its own account.
    let err = other
        .encrypt()
        .key_id(&private)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect_err("not shared");
    assert_eq!(code(&err), "AccessDeniedException");
    // Operations the shared policy does not list are refused.
    let err = other
        .disable_key()
        .key_id(&shared)
        .send()
        .await
        .expect_err("not granted");
    assert_eq!(code(&err), "AccessDeniedException");
    // A bare key id names a key of the caller's own account.
    let bare = shared.rsplit('/').next().expect("id");
    let err = other
        .describe_key()
        .key_id(bare)
        .send()
        .await
        .expect_err("bare id");
    assert_eq!(code(&err), "NotFoundException");

    // The other direction: a key of the dev account shared with the management account. A
    // user of the management account needs its own IAM permission as well.
    let dev_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Sid":"Owner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:root"}},"Action":"kms:*","Resource":"*"}},
            {{"Sid":"Partner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}}]}}"#
    );
    let dev_key = other
        .create_key()
        .policy(&dev_policy)
        .send()
        .await
        .expect("CreateKey in the dev account")
        .key_metadata()
        .expect("m")
        .arn()
        .expect("arn")
        .to_string();
    assert!(dev_key.contains(":000000000000:key/"));
    let (_, pk, ps) = user(&server, "partner", None).await;
    let partner = kms(&server, &pk, &ps).await;
    let err = partner
        .encrypt()
        .key_id(&dev_key)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect_err("no IAM policy on the caller's side");
    assert_eq!(code(&err), "AccessDeniedException");
    server
        .iam(&server.root_key, &server.root_secret)
        .await
        .put_user_policy()
        .user_name("partner")
        .policy_name("kms")
        .policy_document(KMS_USE)
        .send()
        .await
        .expect("PutUserPolicy");
    partner
        .encrypt()
        .key_id(&dev_key)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect("both sides allow");
}

#[tokio::test]
async fn imported_key_material() {
    let server = Server::start(&["--dev"]);
    let c = root_kms(&server).await;
    let key = c
        .create_key()
        .origin(aws_sdk_kms::types::OriginType::External)
        .send()
        .await
        .expect("CreateKey EXTERNAL");
    let meta = key.key_metadata().expect("m");
    assert_eq!(meta.key_state(), Some(&KeyState::PendingImport));
    let id = meta.key_id().to_string();
    let err = c
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect_err("pending import");
    assert_eq!(code(&err), "KMSInvalidStateException");

    let params = c
        .get_parameters_for_import()
        .key_id(&id)
        .wrapping_algorithm(aws_sdk_kms::types::AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(aws_sdk_kms::types::WrappingKeySpec::Rsa2048)
        .send()
        .await
        .expect("GetParametersForImport");
    let mut material = [0u8; 32];
    aws_lc_rs::rand::fill(&mut material).expect("rand");
    let public =
        aws_lc_rs::rsa::PublicEncryptingKey::from_der(params.public_key().expect("pk").as_ref())
            .expect("wrapping key");
    let oaep = aws_lc_rs::rsa::OaepPublicEncryptingKey::new(public).expect("oaep");
    let mut wrapped = vec![0u8; oaep.ciphertext_size()];
    let wrapped = oaep
        .encrypt(
            &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256,
            &material,
            &mut wrapped,
            None,
        )
        .expect("wrap")
        .to_vec();
    c.import_key_material()
        .key_id(&id)
        .import_token(params.import_token().expect("token").clone())
        .encrypted_key_material(Blob::new(wrapped))
        .expiration_model(aws_sdk_kms::types::ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .expect("ImportKeyMaterial");
    let enc = c
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new(b"imported".to_vec()))
        .send()
        .await
        .expect("Encrypt with imported material");
    c.delete_imported_key_material()
        .key_id(&id)
        .send()
        .await
        .expect("DeleteImportedKeyMaterial");
    let err = c
        .decrypt()
        .ciphertext_blob(enc.ciphertext_blob().expect("b").clone())
        .send()
        .await
        .expect_err("material deleted");
    assert_eq!(code(&err), "KMSInvalidStateException");

    // Re-importing the same material restores the key; a token is single-use.
    let err = c
        .import_key_material()
        .key_id(&id)
        .import_token(params.import_token().expect("token").clone())
        .encrypted_key_material(Blob::new(vec![0u8; 256]))
        .expiration_model(aws_sdk_kms::types::ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .expect_err("used token");
    assert_eq!(code(&err), "InvalidImportTokenException");
    let params = c
        .get_parameters_for_import()
        .key_id(&id)
        .wrapping_algorithm(aws_sdk_kms::types::AlgorithmSpec::RsaesOaepSha1)
        .wrapping_key_spec(aws_sdk_kms::types::WrappingKeySpec::Rsa3072)
        .send()
        .await
        .expect("GetParametersForImport");
    let public =
        aws_lc_rs::rsa::PublicEncryptingKey::from_der(params.public_key().expect("pk").as_ref())
            .expect("wrapping key");
    let oaep = aws_lc_rs::rsa::OaepPublicEncryptingKey::new(public).expect("oaep");
    let mut buf = vec![0u8; oaep.ciphertext_size()];
    let wrapped = oaep
        .encrypt(
            &aws_lc_rs::rsa::OAEP_SHA1_MGF1SHA1,
            &material,
            &mut buf,
            None,
        )
        .expect("wrap")
        .to_vec();
    c.import_key_material()
        .key_id(&id)
        .import_token(params.import_token().expect("token").clone())
        .encrypted_key_material(Blob::new(wrapped))
        .expiration_model(aws_sdk_kms::types::ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .expect("re-import");
    let dec = c
        .decrypt()
        .ciphertext_blob(enc.ciphertext_blob().expect("b").clone())
        .send()
        .await
        .expect("Decrypt after re-import");
    assert_eq!(dec.plaintext().expect("p").as_ref(), b"imported");
    let err = c
        .enable_key_rotation()
        .key_id(&id)
        .send()
        .await
        .expect_err("imported keys do not rotate");
    assert_eq!(code(&err), "UnsupportedOperationException");
}

#[tokio::test]
async fn aws_managed_key_created_on_first_describe() {
    let server = Server::start(&[]);
    let c = root_kms(&server).await;
    let meta = c
        .describe_key()
        .key_id("alias/aws/s3")
        .send()
        .await
        .expect("DescribeKey alias/aws/s3");
    let meta = meta.key_metadata().expect("m");
    assert_eq!(meta.key_manager().map(|m| m.as_str()), Some("AWS"));
    let id = meta.key_id().to_string();
    // The same key the next time.
    let again = c
        .describe_key()
        .key_id("alias/aws/s3")
        .send()
        .await
        .expect("DescribeKey");
    assert_eq!(again.key_metadata().expect("m").key_id(), id);
    let aliases = c
        .list_aliases()
        .key_id(&id)
        .send()
        .await
        .expect("ListAliases");
    assert_eq!(aliases.aliases()[0].alias_name(), Some("alias/aws/s3"));
    // Usable only through the service (kms:ViaService), and not manageable.
    let err = c
        .encrypt()
        .key_id("alias/aws/s3")
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect_err("direct use of an AWS managed key");
    assert_eq!(code(&err), "AccessDeniedException");
    let err = c
        .schedule_key_deletion()
        .key_id(&id)
        .send()
        .await
        .expect_err("manage");
    assert_eq!(code(&err), "AccessDeniedException");
    let policy = c
        .get_key_policy()
        .key_id(&id)
        .send()
        .await
        .expect("GetKeyPolicy");
    assert!(policy
        .policy()
        .expect("p")
        .contains("s3.us-east-1.amazonaws.com"));
}

/// A marker that is not a position in the list (here the largest u64, which overflowed the
/// page arithmetic) is KMS's `InvalidMarkerException`, and the server keeps serving.
#[tokio::test]
async fn list_markers_out_of_range_are_invalid() {
    let server = Server::start(&[]);
    let c = root_kms(&server).await;
    let key = symmetric_key(&c).await;
    let huge = u64::MAX.to_string();
    let err = c
        .list_grants()
        .key_id(&key)
        .marker(&huge)
        .send()
        .await
        .expect_err("ListGrants with an out-of-range marker");
    assert_eq!(code(&err), "InvalidMarkerException");
    let err = c
        .list_resource_tags()
        .key_id(&key)
        .marker(&huge)
        .send()
        .await
        .expect_err("ListResourceTags with an out-of-range marker");
    assert_eq!(code(&err), "InvalidMarkerException");
    let grants = c
        .list_grants()
        .key_id(&key)
        .send()
        .await
        .expect("ListGrants after the refusals");
    assert!(grants.grants().is_empty());
}

/// Every list pages to its end one item at a time: each `NextMarker` is accepted back as the
/// `Marker`, no item repeats or goes missing, and `Truncated` is false on the last page.
#[tokio::test]
async fn lists_page_through_their_markers() {
    let server = Server::start(&[]);
    let c = root_kms(&server).await;
    let mut keys = Vec::new();
    for i in 0..3 {
        let key = symmetric_key(&c).await;
        c.create_alias()
            .alias_name(format!("alias/paged-{i}"))
            .target_key_id(&key)
            .send()
            .await
            .expect("CreateAlias");
        keys.push(key);
    }
    let key = keys[0].clone();
    for (k, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
        c.tag_resource()
            .key_id(&key)
            .tags(
                aws_sdk_kms::types::Tag::builder()
                    .tag_key(k)
                    .tag_value(v)
                    .build()
                    .expect("tag"),
            )
            .send()
            .await
            .expect("TagResource");
    }
    let me = format!(
        "arn:aws:iam::{}:root",
        c.describe_key()
            .key_id(&key)
            .send()
            .await
            .expect("DescribeKey")
            .key_metadata()
            .and_then(|m| m.aws_account_id())
            .expect("account")
    );
    for _ in 0..3 {
        c.create_grant()
            .key_id(&key)
            .grantee_principal(&me)
            .operations(GrantOperation::Encrypt)
            .send()
            .await
            .expect("CreateGrant");
    }

    let mut listed = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = c
            .list_keys()
            .limit(1)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListKeys");
        listed.extend(
            page.keys()
                .iter()
                .filter_map(|k| k.key_id())
                .map(str::to_string),
        );
        marker = page.next_marker().map(str::to_string);
        assert_eq!(page.truncated(), marker.is_some());
        if marker.is_none() {
            break;
        }
    }
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(listed, expected);

    let mut aliases = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = c
            .list_aliases()
            .limit(1)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListAliases");
        aliases.extend(
            page.aliases()
                .iter()
                .filter_map(|a| a.alias_name())
                .map(str::to_string),
        );
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    let paged: Vec<&String> = aliases
        .iter()
        .filter(|a| a.starts_with("alias/paged-"))
        .collect();
    assert_eq!(paged, ["alias/paged-0", "alias/paged-1", "alias/paged-2"]);

    let mut tags = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = c
            .list_resource_tags()
            .key_id(&key)
            .limit(1)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListResourceTags");
        tags.extend(page.tags().iter().map(|t| t.tag_key().to_string()));
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(tags, ["a", "b", "c"]);

    let grants: Vec<_> = c
        .list_grants()
        .key_id(&key)
        .limit(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListGrants pages");
    assert_eq!(grants.len(), 3);

    for bad in ["not-a-marker", "zz"] {
        let err = c
            .list_keys()
            .marker(bad)
            .send()
            .await
            .expect_err("ListKeys with a marker it did not issue");
        assert_eq!(code(&err), "InvalidMarkerException");
    }
}
