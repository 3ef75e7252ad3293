//! The AWS-managed Systems Manager automation documents a remediation can name (Rampart has no
//! Systems Manager): each one whose effect is a Rampart API call, with its parameters as AWS
//! documents them, turned into the API calls its steps make.
//!
//! A step is an API request in its service's wire form (method, path, query, headers, body),
//! which the server signs with the remediation role's session and sends through the one
//! request path, so that it is authenticated, authorized and audited like any other call.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One API request a document's step makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCall {
    /// The signing service (`s3`, `kms`).
    pub service: String,
    /// The HTTP method.
    pub method: String,
    /// The path (S3: `/BUCKET`).
    pub path: String,
    /// The query string, as sent.
    pub query: String,
    /// Extra headers (`x-amz-target`, `content-type`).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

/// A document's step: its name and the call it makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The step's name, as the execution status shows it.
    pub name: String,
    /// The call.
    pub call: ApiCall,
}

/// A parameter of a document: its name and its default (`None`: required).
type Param = (&'static str, Option<&'static str>);

/// A supported document.
pub struct Document {
    /// The document's name (`TargetId`).
    pub name: &'static str,
    /// Its parameters other than `AutomationAssumeRole`.
    pub params: &'static [Param],
    /// Its steps, from the resolved parameters.
    pub steps: fn(&BTreeMap<String, String>) -> Vec<Step>,
}

const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// The supported documents.
pub const DOCUMENTS: &[Document] = &[
    Document {
        name: "AWS-ConfigureS3BucketVersioning",
        params: &[("BucketName", None), ("VersioningState", Some("Enabled"))],
        steps: |p| {
            let body = format!(
                "<VersioningConfiguration xmlns=\"{S3_NS}\"><Status>{}</Status></VersioningConfiguration>",
                get(p, "VersioningState")
            );
            vec![s3_put(
                "ConfigureVersioning",
                get(p, "BucketName"),
                "versioning",
                body,
            )]
        },
    },
    Document {
        name: "AWS-DisableS3BucketPublicReadWrite",
        params: &[("S3BucketName", None)],
        steps: |p| {
            let body = public_access_block(true, true, true, true);
            vec![s3_put(
                "PutPublicAccessBlock",
                get(p, "S3BucketName"),
                "publicAccessBlock",
                body,
            )]
        },
    },
    Document {
        name: "AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock",
        params: &[
            ("BucketName", None),
            ("RestrictPublicBuckets", Some("true")),
            ("BlockPublicAcls", Some("true")),
            ("IgnorePublicAcls", Some("true")),
            ("BlockPublicPolicy", Some("true")),
        ],
        steps: |p| {
            let on = |k: &str| get(p, k).eq_ignore_ascii_case("true");
            let body = public_access_block(
                on("BlockPublicAcls"),
                on("IgnorePublicAcls"),
                on("BlockPublicPolicy"),
                on("RestrictPublicBuckets"),
            );
            vec![s3_put(
                "PutBucketPublicAccessBlock",
                get(p, "BucketName"),
                "publicAccessBlock",
                body,
            )]
        },
    },
    Document {
        name: "AWS-EnableS3BucketEncryption",
        params: &[
            ("BucketName", None),
            ("SSEAlgorithm", Some("AES256")),
            ("KMSMasterKey", Some("")),
        ],
        steps: |p| {
            let key = match get(p, "KMSMasterKey") {
                "" => String::new(),
                k => format!("<KMSMasterKeyID>{}</KMSMasterKeyID>", xml_text(k)),
            };
            let body = format!(
                "<ServerSideEncryptionConfiguration xmlns=\"{S3_NS}\"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>{}</SSEAlgorithm>{key}</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>",
                xml_text(get(p, "SSEAlgorithm"))
            );
            vec![s3_put(
                "PutBucketEncryption",
                get(p, "BucketName"),
                "encryption",
                body,
            )]
        },
    },
    Document {
        name: "AWSConfigRemediation-EnableKeyRotation",
        params: &[("KeyId", None)],
        steps: |p| {
            let body = serde_json::json!({ "KeyId": get(p, "KeyId") }).to_string();
            vec![Step {
                name: "EnableKeyRotation".into(),
                call: ApiCall {
                    service: "kms".into(),
                    method: "POST".into(),
                    path: "/".into(),
                    query: String::new(),
                    headers: vec![
                        (
                            "x-amz-target".into(),
                            "TrentService.EnableKeyRotation".into(),
                        ),
                        ("content-type".into(), "application/x-amz-json-1.1".into()),
                    ],
                    body,
                },
            }]
        },
    },
];

/// The named document, if Rampart can run it.
pub fn find(name: &str) -> Option<&'static Document> {
    DOCUMENTS.iter().find(|d| d.name == name)
}

fn get<'a>(p: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    p.get(k).map(String::as_str).unwrap_or_default()
}

/// Text escaped for an XML element.
fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A bucket name as a path segment (bucket names are letters, digits, dots and dashes; any
/// other byte is percent-encoded so a hostile value cannot change the path).
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn public_access_block(acls: bool, ignore: bool, policy: bool, restrict: bool) -> String {
    format!(
        "<PublicAccessBlockConfiguration xmlns=\"{S3_NS}\"><BlockPublicAcls>{acls}</BlockPublicAcls><IgnorePublicAcls>{ignore}</IgnorePublicAcls><BlockPublicPolicy>{policy}</BlockPublicPolicy><RestrictPublicBuckets>{restrict}</RestrictPublicBuckets></PublicAccessBlockConfiguration>"
    )
}

fn s3_put(name: &str, bucket: &str, subresource: &str, body: String) -> Step {
    Step {
        name: name.into(),
        call: ApiCall {
            service: "s3".into(),
            method: "PUT".into(),
            path: format!("/{}", segment(bucket)),
            query: format!("{subresource}="),
            headers: vec![("content-type".into(), "application/xml".into())],
            body,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioning_puts_the_state_on_the_bucket() {
        let doc = find("AWS-ConfigureS3BucketVersioning").unwrap();
        let p = BTreeMap::from([
            ("BucketName".to_string(), "b/../x".to_string()),
            ("VersioningState".to_string(), "Enabled".to_string()),
        ]);
        let steps = (doc.steps)(&p);
        assert_eq!(steps[0].call.path, "/b%2F..%2Fx");
        assert_eq!(steps[0].call.query, "versioning=");
        assert!(steps[0].call.body.contains("<Status>Enabled</Status>"));
    }

    #[test]
    fn unknown_documents_are_not_found() {
        assert!(find("AWS-RestartEC2Instance").is_none());
    }
}
