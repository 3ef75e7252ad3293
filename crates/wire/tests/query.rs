//! awsQuery: decoding forms, validation messages and exact XML bodies.

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

mod common;

use common::*;
use rampart_wire::*;
use serde_json::json;

fn decode(
    svc: &'static Service,
    form: &str,
) -> Result<(&'static str, serde_json::Value), ApiError> {
    decode_query(svc, &parse_form(form.as_bytes())).map(|(op, v)| (op.name, v))
}

fn body(r: &WireResponse) -> &str {
    std::str::from_utf8(&r.body).unwrap()
}

fn request(form: &str, signed: Option<&str>) -> Result<Decoded, DecodeFailure> {
    decode_request(&HttpRequest {
        method: "POST",
        query: "",
        content_type: Some("application/x-www-form-urlencoded; charset=utf-8"),
        target: None,
        signed_service: signed,
        body: form.as_bytes(),
        ..Default::default()
    })
}

fn failure(form: &str, signed: Option<&str>) -> ApiError {
    request(form, signed).unwrap_err().error
}

#[test]
fn decodes_lists_of_structures_in_index_order() {
    let (op, v) = decode(
        iam(),
        "Action=CreateUser&Version=2010-05-08&UserName=alice&Path=%2Fteam%2F\
         &Tags.member.10.Key=k10&Tags.member.10.Value=v10\
         &Tags.member.2.Key=k2&Tags.member.2.Value=v%202\
         &Tags.member.1.Key=k1&Tags.member.1.Value=v1",
    )
    .unwrap();
    assert_eq!(op, "CreateUser");
    assert_eq!(
        v,
        json!({"Path": "/team/", "UserName": "alice", "Tags": [
            {"Key": "k1", "Value": "v1"},
            {"Key": "k2", "Value": "v 2"},
            {"Key": "k10", "Value": "v10"}
        ]})
    );
    // Member order follows the model, not the form.
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Path", "UserName", "Tags"]);
}

#[test]
fn decodes_scalar_lists_nested_structures_and_typed_values() {
    let (_, v) = decode(
        sts(),
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr\
         &RoleSessionName=s&DurationSeconds=3600&TransitiveTagKeys.member.1=a&TransitiveTagKeys.member.2=b\
         &PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess",
    )
    .unwrap();
    assert_eq!(v["DurationSeconds"], json!(3600));
    assert_eq!(v["TransitiveTagKeys"], json!(["a", "b"]));
    assert_eq!(
        v["PolicyArns"],
        json!([{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])
    );
    let (_, v) = decode(
        iam(),
        "Action=UpdateAccountPasswordPolicy&RequireSymbols=true&HardExpiry=FALSE&MinimumPasswordLength=12",
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"MinimumPasswordLength": 12, "RequireSymbols": true, "HardExpiry": false})
    );
}

#[test]
fn decodes_maps_timestamps_blobs_flattened_and_empty_lists() {
    let (_, v) = decode(
        &QUERY,
        "Action=Op&Name=n&Count=-5&Enabled=true&When=2024-01-02T03%3A04%3A05Z\
         &Attrs.entry.2.key=b&Attrs.entry.2.value=2&Attrs.entry.1.key=a&Attrs.entry.1.value=1\
         &Nested.Inner=i&Nested.Deeper.Inner=j&Flat.1=x&Flat.2=y&Data=aGk%3D&Items=",
    )
    .unwrap();
    assert_eq!(
        v,
        json!({
            "Name": "n", "Count": -5, "Enabled": true, "When": 1704164645,
            "Attrs": {"a": "1", "b": "2"},
            "Nested": {"Inner": "i", "Deeper": {"Inner": "j"}},
            "Flat": ["x", "y"], "Data": "aGk=", "Items": []
        })
    );
}

#[test]
fn type_errors_are_validation_errors() {
    let e = decode(&QUERY, "Action=Op&Name=n&Count=abc").unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("ValidationError", 400));
    assert_eq!(
        e.message,
        "1 validation error detected: Value 'abc' at 'count' failed to satisfy constraint: Member must be a valid integer"
    );
    let e = decode(&QUERY, "Action=Op&Name=n&Enabled=yes&Data=%%%").unwrap_err();
    assert!(
        e.message.starts_with("2 validation errors detected: "),
        "{}",
        e.message
    );
}

#[test]
fn action_errors() {
    let e = failure("Version=2010-05-08", Some("iam"));
    assert_eq!((e.code.as_str(), e.status), ("MissingAction", 400));
    let e = failure("Action=CreateFoo&Version=2010-05-08", Some("iam"));
    assert_eq!((e.code.as_str(), e.status), ("InvalidAction", 400));
    assert_eq!(
        e.message,
        "Could not find operation CreateFoo for version 2010-05-08"
    );
    let e = failure(
        "Action=CreateUser&Version=2011-06-15&UserName=a",
        Some("iam"),
    );
    assert_eq!(e.code, "InvalidAction");
    // A JSON body without X-Amz-Target to a query service has no Action.
    let f = decode_request(&HttpRequest {
        method: "POST",
        content_type: Some("application/json"),
        signed_service: Some("sts"),
        body: b"{\"Action\":\"GetCallerIdentity\"}",
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(f.error.code, "MissingAction");
    let r = f.encode("rid");
    assert!(
        body(&r).starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">")
    );
}

#[test]
fn get_requests_read_the_query_string() {
    let d = decode_request(&HttpRequest {
        method: "GET",
        query: "Action=GetUser&Version=2010-05-08&UserName=bob&X-Amz-Algorithm=AWS4-HMAC-SHA256",
        signed_service: Some("iam"),
        ..Default::default()
    })
    .unwrap();
    assert_eq!((d.service.name, d.operation.name), ("iam", "GetUser"));
    assert_eq!(d.input, json!({"UserName": "bob"}));
}

#[test]
fn validation_messages_match_aws() {
    let e = failure(
        "Action=CreateUser&Version=2010-05-08&UserName=bad%20name",
        Some("iam"),
    );
    assert_eq!(
        (e.code.as_str(), e.status, e.sender_fault),
        ("ValidationError", 400, true)
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    );
    let e = failure("Action=CreateUser&Version=2010-05-08", Some("iam"));
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"
    );
    let long = "a".repeat(65);
    let e = failure(&format!("Action=CreateUser&UserName={long}"), Some("iam"));
    assert_eq!(
        e.message,
        format!("1 validation error detected: Value '{long}' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64")
    );
    let e = failure("Action=ListPolicies&Scope=Mine&MaxItems=0", Some("iam"));
    assert_eq!(
        e.message,
        "2 validation errors detected: Value 'Mine' at 'scope' failed to satisfy constraint: \
         Member must satisfy enum value set: [All, AWS, Local]; Value '0' at 'maxItems' failed to \
         satisfy constraint: Member must have value greater than or equal to 1"
    );
    let e = failure(
        "Action=CreateUser&UserName=a&Tags.member.1.Key=&Tags.member.1.Value=v",
        Some("iam"),
    );
    assert!(
        e.message.contains("at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        "{}",
        e.message
    );
    // Sensitive values are not echoed.
    let e = failure(
        "Action=CreateLoginProfile&UserName=a&Password=",
        Some("iam"),
    );
    assert!(
        e.message.contains("Value at 'password' failed"),
        "{}",
        e.message
    );
}

#[test]
fn encodes_get_user_exactly() {
    let op = iam().operation("GetUser").unwrap();
    let out = json!({"User": {
        "UserName": "alice", "Path": "/", "UserId": "AIDAEXAMPLE", "Arn": "arn:aws:iam::123456789012:user/alice",
        "CreateDate": 1704164645, "Tags": [{"Key": "team", "Value": "a&b <c>"}],
        "Unmodelled": "dropped", "PasswordLastUsed": null
    }});
    let r = encode_output(iam(), op, &out, "rid-1").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        body(&r),
        "<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetUserResult><User>\
         <Path>/</Path><UserName>alice</UserName><UserId>AIDAEXAMPLE</UserId>\
         <Arn>arn:aws:iam::123456789012:user/alice</Arn><CreateDate>2024-01-02T03:04:05Z</CreateDate>\
         <Tags><member><Key>team</Key><Value>a&amp;b &lt;c&gt;</Value></member></Tags></User></GetUserResult>\
         <ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata></GetUserResponse>"
    );
    assert_eq!(r.header(WireHeader::ContentType), Some("text/xml"));
}

#[test]
fn encodes_caller_identity_lists_and_no_output() {
    let op = sts().operation("GetCallerIdentity").unwrap();
    let out = json!({"Arn": "arn:aws:iam::123456789012:root", "UserId": "123456789012", "Account": "123456789012"});
    let r = encode_output(sts(), op, &out, "r2").unwrap();
    assert_eq!(
        body(&r),
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
         <UserId>123456789012</UserId><Account>123456789012</Account><Arn>arn:aws:iam::123456789012:root</Arn>\
         </GetCallerIdentityResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    );
    let op = iam().operation("ListUsers").unwrap();
    let out = json!({"Users": [], "IsTruncated": false});
    let r = encode_output(iam(), op, &out, "r3").unwrap();
    assert_eq!(
        body(&r),
        "<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListUsersResult>\
         <Users></Users><IsTruncated>false</IsTruncated></ListUsersResult>\
         <ResponseMetadata><RequestId>r3</RequestId></ResponseMetadata></ListUsersResponse>"
    );
    let op = iam().operation("DeleteUser").unwrap();
    let r = encode_output(iam(), op, &serde_json::Value::Null, "r4").unwrap();
    assert_eq!(
        body(&r),
        "<DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <ResponseMetadata><RequestId>r4</RequestId></ResponseMetadata></DeleteUserResponse>"
    );
}

#[test]
fn encodes_maps_flattened_lists_and_control_characters() {
    let op = QUERY.operation("Op").unwrap();
    let out = json!({
        "Name": "tab\tnl\ncr\rbell\u{7}quote\"'", "Count": 3, "Enabled": true, "When": "2024-01-02T03:04:05.5Z",
        "Attrs": {"k": "v"}, "Nested": {"Inner": "i"}, "Flat": ["x", "y"], "Data": "aGk=", "Items": ["a"]
    });
    let r = encode_output(&QUERY, op, &out, "r").unwrap();
    assert_eq!(
        body(&r),
        "<OpResponse xmlns=\"https://test.example.com/doc/2020-01-01/\"><OpResult>\
         <Name>tab&#x9;nl&#xA;cr&#xD;bell\u{fffd}quote&quot;&apos;</Name><Count>3</Count><Enabled>true</Enabled>\
         <When>2024-01-02T03:04:05.500Z</When><Attrs><entry><key>k</key><value>v</value></entry></Attrs>\
         <Nested><Inner>i</Inner></Nested><Flat>x</Flat><Flat>y</Flat><Data>aGk=</Data>\
         <Items><member>a</member></Items></OpResult>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></OpResponse>"
    );
}

#[test]
fn output_type_mismatches_are_encode_errors() {
    let op = iam().operation("GetUser").unwrap();
    let e = encode_output(
        iam(),
        op,
        &json!({"User": {"CreateDate": "last week"}}),
        "r",
    )
    .unwrap_err();
    assert_eq!(
        e,
        EncodeError::TypeMismatch {
            path: "User.CreateDate".into(),
            expected: "a timestamp (epoch seconds or RFC 3339)"
        }
    );
    assert!(encode_output(iam(), op, &json!({"User": {"Tags": "x"}}), "r").is_err());
    assert!(encode_output(iam(), op, &json!([1]), "r").is_err());
}
