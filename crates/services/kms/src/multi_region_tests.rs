//! Tests of multi-Region keys through the handlers, on a real embedded store.

use super::*;
use crate::{crypto_ops, deletion, keys, rotation};
use rampart_kit::test_support;
use rampart_store::Store;

/// Runs a write handler in its own transaction, committing when it succeeds.
macro_rules! call {
    ($store:expr, $f:path, $ctx:expr, $input:expr) => {{
        let mut tx = $store.begin().await.unwrap();
        let out = $f(&$input, &$ctx, Db::Write(&mut tx)).await;
        if out.is_ok() {
            tx.commit().await.unwrap();
        }
        out
    }};
}

fn in_region(region: &str) -> CallContext {
    CallContext {
        region: region.into(),
        ..test_support::root_context()
    }
}

async fn primary(store: &Store, east: &CallContext) -> String {
    let out = call!(store, keys::create_key, east, json!({"MultiRegion": true})).unwrap();
    out["KeyMetadata"]["KeyId"].as_str().unwrap().to_string()
}

async fn describe(store: &Store, ctx: &CallContext, id: &str) -> Value {
    call!(store, keys::describe_key, ctx, json!({"KeyId": id})).unwrap()["KeyMetadata"].clone()
}

#[test]
fn region_names_follow_aws_pattern() {
    for ok in ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"] {
        assert!(valid_region(ok), "{ok}");
    }
    for bad in [
        "",
        "us",
        "us-east",
        "US-east-1",
        "us-east-1a",
        "a-b-c-d-1",
        "us--1",
    ] {
        assert!(!valid_region(bad), "{bad}");
    }
}

#[test]
fn new_ids_are_multi_region_ids() {
    let id = new_key_id().unwrap();
    assert!(id.starts_with("mrk-") && id.len() == 36);
    assert_eq!(
        crypto::key_id_bytes(&id).map(|(f, _)| f),
        Some(crypto::FORMAT_V1_MULTI_REGION)
    );
}

#[tokio::test]
async fn a_replica_shares_id_and_material_and_decrypts_the_primarys_ciphertext() {
    let (store, _dir) = test_support::store().await;
    let (east, west) = (in_region("us-east-1"), in_region("eu-west-1"));
    let id = primary(&store, &east).await;
    assert!(id.starts_with("mrk-"));
    let m = describe(&store, &east, &id).await;
    assert_eq!(m["MultiRegion"], true);
    assert_eq!(
        m["MultiRegionConfiguration"]["MultiRegionKeyType"],
        "PRIMARY"
    );
    assert_eq!(m["MultiRegionConfiguration"]["ReplicaKeys"], json!([]));

    let input = json!({"KeyId": id, "ReplicaRegion": "eu-west-1", "Description": "west",
        "Tags": [{"TagKey": "k", "TagValue": "v"}]});
    let out = call!(store, replicate, east, input).unwrap();
    let replica = &out["ReplicaKeyMetadata"];
    assert_eq!(replica["KeyId"], json!(id));
    assert_eq!(
        replica["Arn"],
        json!(format!("arn:aws:kms:eu-west-1:111122223333:key/{id}"))
    );
    assert_eq!(replica["KeyState"], "Enabled");
    assert_eq!(replica["Description"], "west");
    assert_eq!(
        out["ReplicaTags"],
        json!([{"TagKey": "k", "TagValue": "v"}])
    );

    let plaintext = crate::common::b64(b"across regions");
    let ct = call!(
        store,
        crypto_ops::encrypt,
        east,
        json!({"KeyId": id, "Plaintext": plaintext})
    )
    .unwrap()["CiphertextBlob"]
        .clone();
    let back = call!(
        store,
        crypto_ops::decrypt,
        west,
        json!({"CiphertextBlob": ct})
    )
    .unwrap();
    assert_eq!(back["Plaintext"], json!(plaintext));
    assert_eq!(back["KeyId"], replica["Arn"]);

    // Both sides show the relationship; each region lists its own member.
    for ctx in [&east, &west] {
        let m = describe(&store, ctx, &id).await;
        let c = &m["MultiRegionConfiguration"];
        assert_eq!(c["PrimaryKey"]["Region"], "us-east-1");
        assert_eq!(c["ReplicaKeys"][0]["Region"], "eu-west-1");
        let listed = call!(store, keys::list_keys, *ctx, json!({})).unwrap();
        assert_eq!(listed["Keys"][0]["KeyId"], json!(id));
        assert_eq!(listed["Keys"][0]["KeyArn"], m["Arn"]);
    }
    assert_eq!(
        describe(&store, &west, &id).await["MultiRegionConfiguration"]["MultiRegionKeyType"],
        "REPLICA"
    );
}

#[tokio::test]
async fn replicate_refuses_what_aws_refuses() {
    let (store, _dir) = test_support::store().await;
    let east = in_region("us-east-1");
    let id = primary(&store, &east).await;
    let to = |region: &str| json!({"KeyId": id, "ReplicaRegion": region});
    call!(store, replicate, east, to("eu-west-1")).unwrap();
    assert!(matches!(
        call!(store, replicate, east, to("eu-west-1")),
        Err(KmsError::AlreadyExistsException(_))
    ));
    assert!(matches!(
        call!(store, replicate, east, to("us-east-1")),
        Err(KmsError::UnsupportedOperationException(_))
    ));
    assert!(matches!(
        call!(store, replicate, east, to("Mars")),
        Err(KmsError::ValidationException(_))
    ));
    let single =
        call!(store, keys::create_key, east, json!({})).unwrap()["KeyMetadata"]["KeyId"].clone();
    assert!(matches!(
        call!(
            store,
            replicate,
            east,
            json!({"KeyId": single, "ReplicaRegion": "eu-west-1"})
        ),
        Err(KmsError::UnsupportedOperationException(_))
    ));
    // A replica cannot be replicated.
    let west = in_region("eu-west-1");
    assert!(matches!(
        call!(
            store,
            replicate,
            west,
            json!({"KeyId": id, "ReplicaRegion": "ap-south-1"})
        ),
        Err(KmsError::UnsupportedOperationException(_))
    ));
}

#[tokio::test]
async fn update_primary_region_swaps_roles_and_rotation_follows_the_primary() {
    let (store, _dir) = test_support::store().await;
    let (east, west) = (in_region("us-east-1"), in_region("eu-west-1"));
    let id = primary(&store, &east).await;
    call!(
        store,
        replicate,
        east,
        json!({"KeyId": id, "ReplicaRegion": "eu-west-1"})
    )
    .unwrap();
    call!(
        store,
        replicate,
        east,
        json!({"KeyId": id, "ReplicaRegion": "ap-south-1"})
    )
    .unwrap();

    // Rotation is the primary's; the replicas get its material and schedule.
    assert!(matches!(
        call!(store, rotation::enable, west, json!({"KeyId": id})),
        Err(KmsError::UnsupportedOperationException(_))
    ));
    call!(store, rotation::enable, east, json!({"KeyId": id})).unwrap();
    call!(
        store,
        rotation::rotate_on_demand,
        east,
        json!({"KeyId": id})
    )
    .unwrap();
    let east_key = describe(&store, &east, &id).await;
    let west_key = describe(&store, &west, &id).await;
    assert_eq!(
        east_key["CurrentKeyMaterialId"],
        west_key["CurrentKeyMaterialId"]
    );
    let status = call!(store, rotation::status, west, json!({"KeyId": id})).unwrap();
    assert_eq!(status["KeyRotationEnabled"], true);

    assert!(matches!(
        call!(
            store,
            update_primary_region,
            west,
            json!({"KeyId": id, "PrimaryRegion": "us-east-1"})
        ),
        Err(KmsError::UnsupportedOperationException(_))
    ));
    assert!(matches!(
        call!(
            store,
            update_primary_region,
            east,
            json!({"KeyId": id, "PrimaryRegion": "us-west-2"})
        ),
        Err(KmsError::NotFoundException(_))
    ));
    call!(
        store,
        update_primary_region,
        east,
        json!({"KeyId": id, "PrimaryRegion": "eu-west-1"})
    )
    .unwrap();
    let c = describe(&store, &west, &id).await["MultiRegionConfiguration"].clone();
    assert_eq!(c["MultiRegionKeyType"], "PRIMARY");
    assert_eq!(c["PrimaryKey"]["Region"], "eu-west-1");
    let regions: Vec<&Value> = c["ReplicaKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["Region"])
        .collect();
    assert_eq!(regions, vec!["us-east-1", "ap-south-1"]);
    let c =
        describe(&store, &in_region("ap-south-1"), &id).await["MultiRegionConfiguration"].clone();
    assert_eq!(c["PrimaryKey"]["Region"], "eu-west-1");
    assert_eq!(
        describe(&store, &east, &id).await["MultiRegionConfiguration"]["MultiRegionKeyType"],
        "REPLICA"
    );
    // Rotation moved with the primary role.
    call!(
        store,
        rotation::rotate_on_demand,
        west,
        json!({"KeyId": id})
    )
    .unwrap();
    assert!(matches!(
        call!(
            store,
            rotation::rotate_on_demand,
            east,
            json!({"KeyId": id})
        ),
        Err(KmsError::UnsupportedOperationException(_))
    ));
}

#[tokio::test]
async fn a_primary_waits_for_its_replicas_to_be_deleted() {
    let (store, _dir) = test_support::store().await;
    let (east, west) = (in_region("us-east-1"), in_region("eu-west-1"));
    let id = primary(&store, &east).await;
    call!(
        store,
        replicate,
        east,
        json!({"KeyId": id, "ReplicaRegion": "eu-west-1"})
    )
    .unwrap();

    let out = call!(
        store,
        deletion::schedule,
        east,
        json!({"KeyId": id, "PendingWindowInDays": 7})
    )
    .unwrap();
    assert_eq!(out["KeyState"], "PendingReplicaDeletion");
    assert!(out.get("DeletionDate").is_none());
    let m = describe(&store, &east, &id).await;
    assert_eq!(m["KeyState"], "PendingReplicaDeletion");
    assert_eq!(m["PendingDeletionWindowInDays"], 7);
    assert!(matches!(
        call!(
            store,
            crypto_ops::encrypt,
            east,
            json!({"KeyId": id, "Plaintext": "eA=="})
        ),
        Err(KmsError::KMSInvalidStateException(_))
    ));
    assert!(matches!(
        call!(
            store,
            replicate,
            east,
            json!({"KeyId": id, "ReplicaRegion": "ap-south-1"})
        ),
        Err(KmsError::KMSInvalidStateException(_))
    ));

    // Nothing happens to the primary while its replica lives, however long.
    let later = east.now + chrono::Duration::days(60);
    deletion::run_due(&store, later, None).await.unwrap();
    assert_eq!(
        describe(&store, &east, &id).await["KeyState"],
        "PendingReplicaDeletion"
    );

    call!(
        store,
        deletion::schedule,
        west,
        json!({"KeyId": id, "PendingWindowInDays": 7})
    )
    .unwrap();
    let replica_gone = east.now + chrono::Duration::days(8);
    let report = deletion::run_due(&store, replica_gone, None).await.unwrap();
    assert_eq!(report.destroyed, 1);
    let m = describe(&store, &east, &id).await;
    assert_eq!(m["KeyState"], "PendingDeletion");
    assert_eq!(m["MultiRegionConfiguration"]["ReplicaKeys"], json!([]));
    assert!(m["DeletionDate"].is_number());

    let all_gone = replica_gone + chrono::Duration::days(8);
    let report = deletion::run_due(&store, all_gone, None).await.unwrap();
    assert_eq!(report.destroyed, 1);
    assert!(
        repo::load(&mut Db::Read(&store), "111122223333", "us-east-1", &id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn cancelling_a_primarys_deletion_brings_it_back_disabled() {
    let (store, _dir) = test_support::store().await;
    let east = in_region("us-east-1");
    let id = primary(&store, &east).await;
    call!(
        store,
        replicate,
        east,
        json!({"KeyId": id, "ReplicaRegion": "eu-west-1"})
    )
    .unwrap();
    call!(store, deletion::schedule, east, json!({"KeyId": id})).unwrap();
    call!(store, deletion::cancel, east, json!({"KeyId": id})).unwrap();
    let m = describe(&store, &east, &id).await;
    assert_eq!(m["KeyState"], "Disabled");
    assert!(m.get("PendingDeletionWindowInDays").is_none());
}

/// Wraps `material` for `key_id` with fresh import parameters and imports it.
async fn import(
    store: &Store,
    ctx: &CallContext,
    key_id: &str,
    material: &[u8],
) -> KmsResult<Value> {
    let params = call!(
        store,
        crate::import::get_parameters,
        ctx,
        json!({"KeyId": key_id, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"})
    )?;
    let spki = crate::common::blob(&params, "PublicKey")?.unwrap();
    let wrapped = crypto::rsa_encrypt_spki(&spki, "RSAES_OAEP_SHA_256", material).unwrap();
    call!(
        store,
        crate::import::import,
        ctx,
        json!({"KeyId": key_id, "ImportToken": params["ImportToken"],
            "EncryptedKeyMaterial": crate::common::b64(&wrapped),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"})
    )
}

#[tokio::test]
async fn a_replica_of_imported_material_takes_only_the_primarys_material() {
    let (store, _dir) = test_support::store().await;
    let (east, west) = (in_region("us-east-1"), in_region("eu-west-1"));
    let out = call!(
        store,
        keys::create_key,
        east,
        json!({"MultiRegion": true, "Origin": "EXTERNAL"})
    )
    .unwrap();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    assert_eq!(out["KeyMetadata"]["KeyState"], "PendingImport");
    let replica = call!(
        store,
        replicate,
        east,
        json!({"KeyId": id, "ReplicaRegion": "eu-west-1"})
    )
    .unwrap();
    assert_eq!(replica["ReplicaKeyMetadata"]["KeyState"], "PendingImport");

    let material = [7u8; 32];
    import(&store, &east, &id, &material).await.unwrap();
    assert_eq!(describe(&store, &east, &id).await["KeyState"], "Enabled");
    // The replica still has no material, and takes no other.
    assert_eq!(
        describe(&store, &west, &id).await["KeyState"],
        "PendingImport"
    );
    assert!(matches!(
        import(&store, &west, &id, &[8u8; 32]).await,
        Err(KmsError::IncorrectKeyMaterialException(_))
    ));
    import(&store, &west, &id, &material).await.unwrap();
    assert_eq!(describe(&store, &west, &id).await["KeyState"], "Enabled");

    let ct = call!(
        store,
        crypto_ops::encrypt,
        west,
        json!({"KeyId": id, "Plaintext": "aGk="})
    )
    .unwrap()["CiphertextBlob"]
        .clone();
    let back = call!(
        store,
        crypto_ops::decrypt,
        east,
        json!({"CiphertextBlob": ct})
    )
    .unwrap();
    assert_eq!(back["Plaintext"], "aGk=");
}

#[tokio::test]
async fn a_replica_imported_first_fixes_the_primarys_material() {
    let (store, _dir) = test_support::store().await;
    let (east, west) = (in_region("us-east-1"), in_region("eu-west-1"));
    let out = call!(
        store,
        keys::create_key,
        east,
        json!({"MultiRegion": true, "Origin": "EXTERNAL"})
    )
    .unwrap();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    call!(
        store,
        replicate,
        east,
        json!({"KeyId": id, "ReplicaRegion": "eu-west-1"})
    )
    .unwrap();
    import(&store, &west, &id, &[1u8; 32]).await.unwrap();
    assert!(matches!(
        import(&store, &east, &id, &[2u8; 32]).await,
        Err(KmsError::IncorrectKeyMaterialException(_))
    ));
    import(&store, &east, &id, &[1u8; 32]).await.unwrap();
}
