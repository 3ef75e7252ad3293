//! End-to-end: S3 through aws-sdk-rust against the real `rampart` binary (path-style
//! addressing, the SDK's default checksums and body forms).

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

use aws_sdk_s3::{
    error::ProvideErrorMetadata,
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption},
};
use support::Server;

async fn s3(server: &Server) -> aws_sdk_s3::Client {
    let config = server
        .sdk_config(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

#[tokio::test]
async fn objects_round_trip_through_the_rust_sdk() {
    let server = Server::start(&[]);
    let s3 = s3(&server).await;
    s3.create_bucket()
        .bucket("sdk-bucket")
        .send()
        .await
        .expect("create");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let put = s3
        .put_object()
        .bucket("sdk-bucket")
        .key("dir/data.bin")
        .content_type("application/x-test")
        .metadata("owner", "rust")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("put");
    assert_eq!(
        put.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
    let got = s3
        .get_object()
        .bucket("sdk-bucket")
        .key("dir/data.bin")
        .send()
        .await
        .expect("get");
    assert_eq!(got.content_type(), Some("application/x-test"));
    assert_eq!(
        got.metadata()
            .and_then(|m| m.get("owner"))
            .map(String::as_str),
        Some("rust")
    );
    let bytes = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.as_ref(), body.as_slice());
    let range = s3
        .get_object()
        .bucket("sdk-bucket")
        .key("dir/data.bin")
        .range("bytes=100-199")
        .send()
        .await
        .expect("range");
    let bytes = range.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.as_ref(), &body[100..200]);

    let listed = s3
        .list_objects_v2()
        .bucket("sdk-bucket")
        .prefix("dir/")
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["dir/data.bin"]);

    let err = s3
        .get_object()
        .bucket("sdk-bucket")
        .key("missing")
        .send()
        .await
        .expect_err("missing key");
    assert_eq!(err.code(), Some("NoSuchKey"));
    let err = s3
        .delete_bucket()
        .bucket("sdk-bucket")
        .send()
        .await
        .expect_err("not empty");
    assert_eq!(err.code(), Some("BucketNotEmpty"));
}

#[tokio::test]
async fn multipart_upload_through_the_rust_sdk() {
    let server = Server::start(&[]);
    let s3 = s3(&server).await;
    s3.create_bucket()
        .bucket("sdk-mp")
        .send()
        .await
        .expect("create");
    let up = s3
        .create_multipart_upload()
        .bucket("sdk-mp")
        .key("big")
        .send()
        .await
        .expect("create upload");
    let id = up.upload_id().expect("upload id");
    let parts = [vec![1u8; 5 * 1024 * 1024], vec![2u8; 1234]];
    let mut done = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = s3
            .upload_part()
            .bucket("sdk-mp")
            .key("big")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("part");
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .build(),
        );
    }
    let out = s3
        .complete_multipart_upload()
        .bucket("sdk-mp")
        .key("big")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    assert!(out.e_tag().expect("etag").ends_with("-2\""));
    let got = s3
        .get_object()
        .bucket("sdk-mp")
        .key("big")
        .send()
        .await
        .expect("get");
    let bytes = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.len(), parts[0].len() + parts[1].len());
    assert_eq!(&bytes[..parts[0].len()], parts[0].as_slice());
    assert_eq!(&bytes[parts[0].len()..], parts[1].as_slice());
}
