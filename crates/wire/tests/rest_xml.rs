//! restXml (S3) decoding and encoding against the real S3 model: requests as botocore 1.43.11
//! serializes them (path style, virtual-hosted style, anonymous), and outputs in the shapes
//! botocore's parser and AWS's documentation expect.

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

use proptest::prelude::*;
use rampart_model::*;
use rampart_wire::{
    decode_request, default_virtual_host_domains, encode_error, encode_output, identify, ApiError,
    DecodeFailure, Decoded, HttpRequest, WireHeader, WireResponse,
};
use serde_json::json;

const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

fn s3() -> &'static Service {
    service("s3").unwrap()
}

fn req<'a>(
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(&'a str, &'a [u8])],
    body: &'a [u8],
) -> HttpRequest<'a> {
    HttpRequest {
        method,
        path,
        query,
        signed_service: Some("s3"),
        headers,
        body,
        host: Some("localhost:4566"),
        virtual_host_domains: default_virtual_host_domains(),
        ..Default::default()
    }
}

fn send(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Result<Decoded, DecodeFailure> {
    decode_request(&req(method, path, query, headers, body))
}

fn body_text(r: &WireResponse) -> &str {
    std::str::from_utf8(&r.body).unwrap()
}

#[test]
fn put_object_reads_headers_metadata_and_a_key_with_slashes_and_escapes() {
    let headers: &[(&str, &[u8])] = &[
        ("content-type", b"text/plain"),
        ("content-length", b"11"),
        ("content-md5", b"XrY7u+Ae7tCTyyK7j1rNww=="),
        ("x-amz-meta-Color", b"blue"),
        ("x-amz-meta-shape", b" round "),
        ("x-amz-meta-", b"no name"),
        ("x-amz-storage-class", b"STANDARD_IA"),
        ("x-amz-server-side-encryption-bucket-key-enabled", b"true"),
        (
            "x-amz-object-lock-retain-until-date",
            b"2026-12-06T17:00:00Z",
        ),
        ("Expires", b"Tue, 02 Jan 2024 03:04:05 GMT"),
    ];
    let d = send(
        "PUT",
        "/my-bucket/photos/2026/a%20b%2Bc%25d.jpg",
        "",
        headers,
        b"",
    )
    .unwrap();
    assert_eq!((d.service.name, d.operation.name), ("s3", "PutObject"));
    assert!(d.operation.streaming_input);
    assert_eq!(
        d.input,
        json!({
            "Bucket": "my-bucket",
            "ContentLength": 11,
            "ContentMD5": "XrY7u+Ae7tCTyyK7j1rNww==",
            "ContentType": "text/plain",
            "Expires": "Tue, 02 Jan 2024 03:04:05 GMT",
            "Key": "photos/2026/a b+c%d.jpg",
            "Metadata": {"color": "blue", "shape": "round"},
            "StorageClass": "STANDARD_IA",
            "BucketKeyEnabled": true,
            "ObjectLockRetainUntilDate": 1796576400,
        })
    );
    // The object data is the server's to stage, never part of the input.
    let d = send("PUT", "/b/k", "", &[], b"object data").unwrap();
    assert_eq!(d.input, json!({"Bucket": "b", "Key": "k"}));
    let payload = s3().payload_member(d.operation.input.unwrap()).unwrap();
    assert!(payload.streaming && payload.name == "Body");
}

#[test]
fn keys_keep_empty_segments_and_trailing_slashes() {
    let d = send("PUT", "/b/dir/", "", &[], b"").unwrap();
    assert_eq!(d.operation.name, "PutObject");
    assert_eq!(d.input["Key"], "dir/");
    let d = send("GET", "/b//a//b", "", &[], b"").unwrap();
    assert_eq!(
        (d.operation.name, d.input["Key"].as_str()),
        ("GetObject", Some("/a//b"))
    );
    let d = send("GET", "/b/", "", &[], b"").unwrap();
    assert_eq!(d.operation.name, "ListObjects");
    // Keys of slashes alone are keys, not the bucket.
    for (path, key) in [("/b//", "/"), ("/b///", "//")] {
        let d = send("PUT", path, "", &[], b"").unwrap();
        assert_eq!(
            (d.operation.name, d.input["Key"].as_str()),
            ("PutObject", Some(key))
        );
    }
}

#[test]
fn get_object_reads_conditional_headers_and_routes_by_query_literals() {
    let headers: &[(&str, &[u8])] = &[
        ("If-Modified-Since", b"Tue, 02 Jan 2024 03:04:05 GMT"),
        ("Range", b"bytes=0-9"),
    ];
    let d = send("GET", "/b/a%20b/c", "partNumber=2", headers, b"").unwrap();
    assert_eq!(d.operation.name, "GetObject");
    assert!(d.operation.streaming_output);
    assert_eq!(
        d.input,
        json!({"Bucket": "b", "Key": "a b/c", "IfModifiedSince": 1704164645, "Range": "bytes=0-9", "PartNumber": 2})
    );
    let op = |method, path, query| send(method, path, query, &[], b"").unwrap().operation.name;
    assert_eq!(op("GET", "/b/k", "tagging"), "GetObjectTagging");
    assert_eq!(op("GET", "/b", "policy"), "GetBucketPolicy");
    assert_eq!(op("GET", "/b", "location"), "GetBucketLocation");
    assert_eq!(op("POST", "/b/k", "uploads"), "CreateMultipartUpload");
    assert_eq!(op("PUT", "/b/k", "partNumber=1&uploadId=u"), "UploadPart");
    assert_eq!(op("GET", "/", ""), "ListBuckets");
    assert_eq!(op("HEAD", "/b/k", ""), "HeadObject");
    assert_eq!(op("DELETE", "/b", ""), "DeleteBucket");
    assert_eq!(op("DELETE", "/b/k", ""), "DeleteObject");
    assert_eq!(op("DELETE", "/b/k", "uploadId=u"), "AbortMultipartUpload");
    assert_eq!(op("GET", "/b/k", "uploadId=u"), "ListParts");
    assert_eq!(
        op("GET", "/b", "lifecycle"),
        "GetBucketLifecycleConfiguration"
    );
    assert_eq!(
        op("GET", "/b", "analytics"),
        "ListBucketAnalyticsConfigurations"
    );
    assert_eq!(
        op("GET", "/b", "analytics&id=x"),
        "GetBucketAnalyticsConfiguration"
    );
    let copy = |query| {
        send(
            "PUT",
            "/b/k",
            query,
            &[("x-amz-copy-source", b"src/k")],
            b"",
        )
        .unwrap()
        .operation
        .name
    };
    assert_eq!(copy(""), "CopyObject");
    assert_eq!(copy("partNumber=1&uploadId=u"), "UploadPartCopy");
    let bad = send("GET", "/b/k", "", &[("If-Modified-Since", b"someday")], b"").unwrap_err();
    assert_eq!(
        (bad.error.code.as_str(), bad.error.status),
        ("InvalidArgument", 400)
    );
    let bad = send("PATCH", "/b/k", "", &[], b"").unwrap_err();
    assert_eq!(
        (bad.error.code.as_str(), bad.error.status),
        ("MethodNotAllowed", 405)
    );
}

#[test]
fn list_objects_v2_reads_query_members() {
    let d = send(
        "GET",
        "/b",
        "list-type=2&prefix=a%2F&delimiter=%2F&max-keys=5&continuation-token=t&fetch-owner=true",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(d.operation.name, "ListObjectsV2");
    assert_eq!(
        d.input,
        json!({"Bucket": "b", "Delimiter": "/", "MaxKeys": 5, "Prefix": "a/", "ContinuationToken": "t", "FetchOwner": true})
    );
    let bad = send("GET", "/b", "list-type=2&max-keys=many", &[], b"").unwrap_err();
    assert_eq!(bad.error.code, "InvalidArgument");
}

#[test]
fn delete_objects_reads_its_xml_payload() {
    let body = br#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object><Object><Key>b c</Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>"#;
    let d = send("POST", "/b", "delete", &[("content-md5", b"x")], body).unwrap();
    assert_eq!(d.operation.name, "DeleteObjects");
    assert!(d.operation.checksum_required);
    assert_eq!(
        d.input,
        json!({
            "Bucket": "b",
            "Delete": {"Objects": [{"Key": "a"}, {"Key": "b c", "VersionId": "v1"}], "Quiet": true},
        })
    );
    for bad in [
        &b"<Delete><Object><Key>a</Key></Delete>"[..],
        b"<Delete><Quiet>maybe</Quiet></Delete>",
        b"<Remove/>",
        b"not xml",
    ] {
        let e = send("POST", "/b", "delete", &[], bad).unwrap_err().error;
        assert_eq!((e.code.as_str(), e.status), ("MalformedXML", 400));
        assert_eq!(
            e.message,
            "The XML you provided was not well-formed or did not validate against our published schema"
        );
    }
}

#[test]
fn body_timestamps_read_in_the_shapes_format() {
    // `ObjectIdentifier.LastModifiedTime` is an `rfc822` timestamp: SDKs send an HTTP date.
    let body = br#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key><LastModifiedTime>Tue, 02 Jan 2024 03:04:05 GMT</LastModifiedTime></Object></Delete>"#;
    let d = send("POST", "/b", "delete", &[], body).unwrap();
    assert_eq!(
        d.input["Delete"]["Objects"][0]["LastModifiedTime"],
        json!(1_704_164_645)
    );
}

#[test]
fn create_bucket_with_and_without_a_configuration() {
    let body = br#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#;
    let d = send("PUT", "/new-bucket", "", &[("x-amz-acl", b"private")], body).unwrap();
    assert_eq!(d.operation.name, "CreateBucket");
    assert_eq!(
        d.input,
        json!({"ACL": "private", "Bucket": "new-bucket", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})
    );
    let d = send("PUT", "/new-bucket", "", &[], b"").unwrap();
    assert_eq!(d.input, json!({"Bucket": "new-bucket"}));
}

#[test]
fn other_payloads_tagging_multipart_acl_and_policy() {
    let body = br#"<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"#;
    let d = send("PUT", "/b", "tagging", &[], body).unwrap();
    assert_eq!(
        d.input["Tagging"],
        json!({"TagSet": [{"Key": "k", "Value": "v"}]})
    );
    let body = br#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"e1"</ETag><PartNumber>1</PartNumber></Part><Part><ETag>"e2"</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>"#;
    let d = send("POST", "/b/k", "uploadId=u", &[], body).unwrap();
    assert_eq!(d.operation.name, "CompleteMultipartUpload");
    assert_eq!(
        d.input["MultipartUpload"],
        json!({"Parts": [{"ETag": "\"e1\"", "PartNumber": 1}, {"ETag": "\"e2\"", "PartNumber": 2}]})
    );
    assert_eq!(d.input["UploadId"], "u");
    let body = br#"<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>abc</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList><Owner><ID>abc</ID></Owner></AccessControlPolicy>"#;
    let d = send("PUT", "/b/k", "acl", &[], body).unwrap();
    assert_eq!(
        d.input["AccessControlPolicy"],
        json!({"Grants": [{"Grantee": {"ID": "abc", "Type": "CanonicalUser"}, "Permission": "READ"}], "Owner": {"ID": "abc"}})
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    let d = send("PUT", "/b", "policy", &[], policy.as_bytes()).unwrap();
    assert_eq!(d.operation.name, "PutBucketPolicy");
    assert_eq!(d.input["Policy"], policy);
}

#[test]
fn virtual_hosted_style_names_the_bucket_in_the_host() {
    let mut r = req("GET", "/photos/cat.jpg", "", &[], b"");
    r.host = Some("mybucket.s3.localhost:4566");
    let d = decode_request(&r).unwrap();
    assert_eq!(d.operation.name, "GetObject");
    assert_eq!(
        d.input,
        json!({"Bucket": "mybucket", "Key": "photos/cat.jpg"})
    );
    let mut r = req("GET", "/", "list-type=2", &[], b"");
    r.host = Some("mybucket.localhost");
    let d = decode_request(&r).unwrap();
    assert_eq!(
        (d.operation.name, &d.input),
        ("ListObjectsV2", &json!({"Bucket": "mybucket"}))
    );
    // Off when no domains are configured: the path is the bucket.
    let mut r = req("GET", "/photos/cat.jpg", "", &[], b"");
    r.host = Some("mybucket.s3.localhost:4566");
    r.virtual_host_domains = &[];
    let d = decode_request(&r).unwrap();
    assert_eq!(d.input, json!({"Bucket": "photos", "Key": "cat.jpg"}));
}

#[test]
fn s3_control_routes_by_its_path_whatever_the_host() {
    const CONTROL_NS: &str = "http://awss3control.amazonaws.com/doc/2018-08-20/";
    let headers: &[(&str, &[u8])] = &[("x-amz-account-id", b"123456789012")];
    let body = format!(
        r#"<PublicAccessBlockConfiguration xmlns="{CONTROL_NS}"><BlockPublicPolicy>true</BlockPublicPolicy></PublicAccessBlockConfiguration>"#
    );
    let path = "/v20180820/configuration/publicAccessBlock";
    // The SDKs put the account id in front of a custom endpoint's host, which looks like a
    // virtual-hosted bucket under `localhost`.
    for host in [
        "123456789012.localhost:4566",
        "localhost:4566",
        "123456789012.127.0.0.1:4566",
    ] {
        let mut r = req("PUT", path, "", headers, body.as_bytes());
        r.host = Some(host);
        let d = decode_request(&r).unwrap();
        assert_eq!(
            (d.service.name, d.operation.name),
            ("s3control", "PutPublicAccessBlock"),
            "{host}"
        );
        assert_eq!(
            d.input,
            json!({
                "AccountId": "123456789012",
                "PublicAccessBlockConfiguration": { "BlockPublicPolicy": true },
            })
        );
    }
    let control = service("s3control").unwrap();
    let op = control.operation("GetPublicAccessBlock").unwrap();
    let out = json!({ "PublicAccessBlockConfiguration": { "BlockPublicAcls": true } });
    let resp = encode_output(control, op, &out, "req-1").unwrap();
    let text = body_text(&resp);
    assert!(
        text.contains(&format!(
            r#"<PublicAccessBlockConfiguration xmlns="{CONTROL_NS}"><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>"#
        )),
        "{text}"
    );
}

#[test]
fn anonymous_requests_go_to_s3() {
    let mut r = req("GET", "/public-bucket/index.html", "", &[], b"");
    r.signed_service = None;
    let d = decode_request(&r).unwrap();
    assert_eq!((d.service.name, d.operation.name), ("s3", "GetObject"));
    // An anonymous upload's body is not read as a form.
    let mut r = req("PUT", "/b/k", "", &[], b"Action=CreateUser&UserName=x");
    r.signed_service = None;
    let d = decode_request(&r).unwrap();
    assert_eq!(d.operation.name, "PutObject");
    // awsQuery's Action and restJson1 paths still route as before.
    let mut r = req("GET", "/", "Action=GetCallerIdentity", &[], b"");
    r.signed_service = None;
    assert_eq!(decode_request(&r).unwrap().service.name, "sts");
    let mut r = req("GET", "/detector", "", &[], b"");
    r.signed_service = None;
    assert_eq!(decode_request(&r).unwrap().service.name, "guardduty");
}

#[test]
fn identify_needs_no_body() {
    let r = req("PUT", "/b/k", "partNumber=1&uploadId=u", &[], b"");
    let (svc, op) = identify(&r).unwrap();
    assert_eq!(
        (svc.name, op.name, op.streaming_input),
        ("s3", "UploadPart", true)
    );
    let r = req("GET", "/b/k", "", &[], b"");
    let (_, op) = identify(&r).unwrap();
    assert!(op.streaming_output && !op.streaming_input);
    let r = req("GET", "/b", "list-type=2", &[], b"");
    let (_, op) = identify(&r).unwrap();
    assert!(!op.streaming_output && !op.streaming_input);
    let mut r = req("POST", "/", "", &[], b"");
    r.signed_service = Some("kms");
    r.target = Some("TrentService.Encrypt");
    assert!(identify(&r).is_none());
}

fn encode(op: &str, output: serde_json::Value) -> WireResponse {
    let s3 = s3();
    encode_output(s3, s3.operation(op).unwrap(), &output, "REQ1").unwrap()
}

#[test]
fn list_buckets_output() {
    let r = encode(
        "ListBuckets",
        json!({
            "Buckets": [
                {"Name": "a", "CreationDate": 1796576400, "BucketRegion": "us-east-1"},
                {"Name": "b&c", "CreationDate": "2026-12-06T17:00:00.5Z"}
            ],
            "Owner": {"ID": "owner-id", "DisplayName": "me"}
        }),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header(WireHeader::ContentType), Some("application/xml"));
    assert_eq!(
        r.header(WireHeader::Named("x-amz-request-id")),
        Some("REQ1")
    );
    assert!(r.header(WireHeader::Named("x-amz-id-2")).is_some());
    assert_eq!(
        body_text(&r),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"{NS}\"><Buckets><Bucket><Name>a</Name><CreationDate>2026-12-06T17:00:00.000Z</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket><Bucket><Name>b&amp;c</Name><CreationDate>2026-12-06T17:00:00.500Z</CreationDate></Bucket></Buckets><Owner><DisplayName>me</DisplayName><ID>owner-id</ID></Owner></ListAllMyBucketsResult>")
    );
}

#[test]
fn list_objects_v2_output_is_flattened() {
    let r = encode(
        "ListObjectsV2",
        json!({
            "IsTruncated": false,
            "Contents": [
                {"Key": "a/1", "LastModified": 1796576400, "ETag": "\"e1\"", "Size": 3, "StorageClass": "STANDARD"},
                {"Key": "a/2", "LastModified": 1796576400, "ETag": "\"e2\"", "Size": 0, "StorageClass": "STANDARD"}
            ],
            "Name": "b",
            "Prefix": "a/",
            "Delimiter": "/",
            "MaxKeys": 1000,
            "CommonPrefixes": [{"Prefix": "a/x/"}, {"Prefix": "a/y/"}],
            "KeyCount": 4
        }),
    );
    assert_eq!(
        body_text(&r),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"{NS}\"><IsTruncated>false</IsTruncated><Contents><Key>a/1</Key><LastModified>2026-12-06T17:00:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>a/2</Key><LastModified>2026-12-06T17:00:00.000Z</LastModified><ETag>&quot;e2&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents><Name>b</Name><Prefix>a/</Prefix><Delimiter>/</Delimiter><MaxKeys>1000</MaxKeys><CommonPrefixes><Prefix>a/x/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>a/y/</Prefix></CommonPrefixes><KeyCount>4</KeyCount></ListBucketResult>")
    );
}

#[test]
fn head_and_get_object_outputs_are_headers_only() {
    let output = json!({
        "ContentLength": 11,
        "ContentType": "text/plain",
        "ETag": "\"abc\"",
        "LastModified": 1796576400,
        "VersionId": "v1",
        "Metadata": {"color": "blue"},
        "AcceptRanges": "bytes",
    });
    let r = encode("HeadObject", output.clone());
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let h = |r: &WireResponse, n: &'static str| r.header(WireHeader::Named(n)).map(str::to_string);
    assert_eq!(h(&r, "Content-Length").as_deref(), Some("11"));
    assert_eq!(h(&r, "Content-Type").as_deref(), Some("text/plain"));
    assert_eq!(h(&r, "ETag").as_deref(), Some("\"abc\""));
    assert_eq!(
        h(&r, "Last-Modified").as_deref(),
        Some("Sun, 06 Dec 2026 17:00:00 GMT")
    );
    assert_eq!(h(&r, "x-amz-version-id").as_deref(), Some("v1"));
    assert_eq!(
        r.header(WireHeader::Owned("x-amz-meta-color".into())),
        Some("blue")
    );
    assert_eq!(r.header(WireHeader::ContentType), None);
    // GetObject: the same headers, a Content-Range, and no body: the server attaches the data.
    let mut output = output;
    output["ContentRange"] = json!("bytes 0-10/11");
    output["Body"] = json!("aGVsbG8gd29ybGQ=");
    let r = encode("GetObject", output);
    assert!(r.body.is_empty());
    assert_eq!(h(&r, "Content-Range").as_deref(), Some("bytes 0-10/11"));
    // 204s have no body.
    let r = encode(
        "DeleteObject",
        json!({"VersionId": "v1", "DeleteMarker": true}),
    );
    assert_eq!((r.status, r.body.len()), (204, 0));
    assert_eq!(h(&r, "x-amz-delete-marker").as_deref(), Some("true"));
}

#[test]
fn payload_outputs_location_and_policy() {
    let r = encode(
        "GetBucketLocation",
        json!({"LocationConstraint": "eu-west-1"}),
    );
    assert_eq!(
        body_text(&r),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{NS}\">eu-west-1</LocationConstraint>")
    );
    let r = encode("GetBucketLocation", json!({}));
    assert_eq!(
        body_text(&r),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{NS}\"></LocationConstraint>")
    );
    let policy = r#"{"Version":"2012-10-17"}"#;
    let r = encode("GetBucketPolicy", json!({"Policy": policy}));
    assert_eq!(body_text(&r), policy);
    let r = encode("GetBucketVersioning", json!({"Status": "Enabled"}));
    assert_eq!(
        body_text(&r),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VersioningConfiguration xmlns=\"{NS}\"><Status>Enabled</Status></VersioningConfiguration>")
    );
    let r = encode(
        "GetBucketEncryption",
        json!({"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}),
    );
    assert_eq!(
        body_text(&r),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServerSideEncryptionConfiguration xmlns=\"{NS}\"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>")
    );
    let r = encode(
        "GetObjectAcl",
        json!({"Owner": {"ID": "o"}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "o"}, "Permission": "FULL_CONTROL"}]}),
    );
    assert_eq!(
        body_text(&r),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AccessControlPolicy xmlns=\"{NS}\"><Owner><ID>o</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>o</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>")
    );
}

#[test]
fn errors_are_s3_error_documents() {
    let s3 = s3();
    let err = ApiError::from_code(s3, "NoSuchBucket", "The specified bucket does not exist");
    let r = encode_error(s3, &err, "REQ2");
    assert_eq!(r.status, 404);
    assert_eq!(
        body_text(&r),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><RequestId>REQ2</RequestId><HostId>UkVRMg==</HostId></Error>"
    );
    assert_eq!(r.header(WireHeader::ContentType), Some("application/xml"));
    assert_eq!(
        r.header(WireHeader::Named("x-amz-request-id")),
        Some("REQ2")
    );
    for (code, status) in [
        ("NoSuchKey", 404),
        ("BucketNotEmpty", 409),
        ("InvalidRange", 416),
        ("PreconditionFailed", 412),
        ("NotModified", 304),
        ("MissingContentLength", 411),
        ("SlowDown", 503),
    ] {
        assert_eq!(ApiError::from_code(s3, code, "m").status, status, "{code}");
    }
    // A decode failure renders the same way.
    let f = send("POST", "/b", "delete", &[], b"<oops").unwrap_err();
    let r = f.encode("REQ3");
    assert_eq!(r.status, 400);
    assert!(body_text(&r).contains("<Code>MalformedXML</Code>"));
}

/// Percent-encodes a key as botocore does (`quote(key, safe='/~')`).
fn encode_key(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

proptest! {
    /// Any key, sent as botocore encodes it, decodes to itself (percent-decoded exactly once,
    /// slashes, empty segments and trailing slashes kept), as PutObject or with a query literal.
    #[test]
    fn keys_decode_to_themselves(key in "[a-zA-Z0-9/ %+&?#=.~_é-]{1,40}") {
        let path = format!("/bucket/{}", encode_key(&key));
        let d = send("PUT", &path, "", &[], b"").unwrap();
        prop_assert_eq!(d.operation.name, "PutObject");
        prop_assert_eq!(d.input["Key"].as_str(), Some(key.as_str()));
        let d = send("GET", &path, "tagging", &[], b"").unwrap();
        prop_assert_eq!(d.operation.name, "GetObjectTagging");
        prop_assert_eq!(d.input["Key"].as_str(), Some(key.as_str()));
    }
}
