//! Operation, shape and error tables for the AWS services Rampart speaks, generated from
//! botocore's `service-2.json` models by `cargo run -p xtask -- codegen`.
//!
//! Every table is a sorted static array: operations by name, shapes by name (a [`ShapeId`] is the
//! index into [`Service::shapes`]) and errors by code, so every lookup is a binary search or an
//! index, with no start-up cost.

mod common_errors;
mod s3_errors;
mod xml_roots;
#[rustfmt::skip]
mod generated;
mod types;

pub use common_errors::default_status;
pub use s3_errors::s3_error_status;
pub use xml_roots::output_root;
// The service modules (`rampart_model::kms::Op`, ...), `BOTOCORE_VERSION` and `SERVICES`.
pub use generated::*;
pub use types::*;

/// The service with this model name (botocore's directory name: `iam`, `kms`, `guardduty`,
/// `acm-pca`, ...).
pub fn service(name: &str) -> Option<&'static Service> {
    generated::by_name(name)
}

/// The awsJson service whose `X-Amz-Target` prefix (the part before the last `.`) is `prefix`:
/// the model's full prefix or its last dotted segment (see [`Service::accepts_target_prefix`]).
pub fn service_by_target_prefix(prefix: &str) -> Option<&'static Service> {
    generated::by_target_prefix(prefix)
}

/// The service that SigV4 signs as `signing_name` (the service in the credential scope).
pub fn service_by_signing_name(signing_name: &str) -> Option<&'static Service> {
    generated::by_signing_name(signing_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let iam = service("iam").unwrap();
        assert_eq!(iam.protocol, Protocol::Query);
        assert_eq!(
            iam.xml_namespace,
            Some("https://iam.amazonaws.com/doc/2010-05-08/")
        );
        let op = iam.operation("CreateUser").unwrap();
        assert_eq!(op.result_wrapper, Some("CreateUserResult"));
        let input = iam.shape(op.input.unwrap());
        assert_eq!(input.name, "CreateUserRequest");
        let ShapeKind::Structure(members) = input.kind else {
            panic!("structure expected")
        };
        assert_eq!(members[0].name, "Path");
        let user_name = members.iter().find(|m| m.name == "UserName").unwrap();
        assert!(user_name.required);
        let un = iam.shape(user_name.shape);
        assert_eq!(un.min, Some(1));
        assert_eq!(un.max, Some(64));
        assert_eq!(un.pattern, Some("[\\w+=,.@-]+"));
        let e = iam.error("NoSuchEntity").unwrap();
        assert_eq!((e.status, e.sender_fault), (404, true));
        assert_eq!(iam.shape(e.shape).name, "NoSuchEntityException");
        assert!(op.errors.contains(&e.shape) || !op.errors.is_empty());
        assert!(iam.operation("Nope").is_none());
        assert!(iam.shape_by_name("CreateUserRequest").is_some());

        let kms = service_by_target_prefix("TrentService").unwrap();
        assert_eq!(kms.name, "kms");
        assert_eq!(kms.json_version, Some("1.1"));
        assert_eq!(kms.error("NotFoundException").unwrap().status, 400);
        assert_eq!(
            service_by_signing_name("secretsmanager")
                .unwrap()
                .target_prefix,
            Some("secretsmanager")
        );
        let ct = service_by_target_prefix("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101")
            .unwrap();
        assert_eq!(ct.signing_name, "cloudtrail");
        let sts = service("sts").unwrap();
        assert!(sts.operation("AssumeRoleWithWebIdentity").unwrap().unsigned);
        assert!(!sts.operation("GetCallerIdentity").unwrap().unsigned);
        assert_eq!(
            sts.xml_namespace,
            Some("https://sts.amazonaws.com/doc/2011-06-15/")
        );
    }

    #[test]
    fn lookups_agree_with_the_tables() {
        for s in SERVICES {
            assert_eq!(service(s.name).map(|x| x.name), Some(s.name));
            // S3 Control signs as `s3`: the name finds S3 (the wire layer routes by path).
            let signs_as = if s.name == "s3control" { "s3" } else { s.name };
            assert_eq!(
                service_by_signing_name(s.signing_name).map(|x| x.name),
                Some(signs_as)
            );
            if let Some(prefix) = s.target_prefix {
                assert_eq!(
                    service_by_target_prefix(prefix).map(|x| x.name),
                    Some(s.name)
                );
                assert_eq!(s.protocol, Protocol::Json);
            }
        }
        let expect = [
            ("guardduty", Protocol::RestJson, "guardduty", None),
            ("detective", Protocol::RestJson, "detective", None),
            ("securityhub", Protocol::RestJson, "securityhub", None),
            (
                "accessanalyzer",
                Protocol::RestJson,
                "access-analyzer",
                None,
            ),
            ("inspector2", Protocol::RestJson, "inspector2", None),
            ("macie2", Protocol::RestJson, "macie2", None),
            ("artifact", Protocol::RestJson, "artifact", None),
            (
                "config",
                Protocol::Json,
                "config",
                Some("StarlingDoveService"),
            ),
            ("wafv2", Protocol::Json, "wafv2", Some("AWSWAF_20190729")),
            (
                "shield",
                Protocol::Json,
                "shield",
                Some("AWSShield_20160616"),
            ),
            ("events", Protocol::Json, "events", Some("AWSEvents")),
            ("elbv2", Protocol::Query, "elasticloadbalancing", None),
            ("acm", Protocol::Json, "acm", Some("CertificateManager")),
            ("acm-pca", Protocol::Json, "acm-pca", Some("ACMPrivateCA")),
        ];
        for (name, protocol, signing, prefix) in expect {
            let s = service(name).unwrap();
            assert_eq!(
                (s.protocol, s.signing_name, s.target_prefix),
                (protocol, signing, prefix),
                "{name}"
            );
            if protocol == Protocol::Json {
                assert_eq!(s.json_version, Some("1.1"), "{name}");
            }
        }
        let gd = service("guardduty").unwrap();
        let op = gd.operation("ListFindings").unwrap();
        assert_eq!(
            op.http,
            Http {
                method: "POST",
                uri: "/detector/{DetectorId}/findings",
                status: 200
            }
        );
        let ShapeKind::Structure(members) = gd.shape(op.input.unwrap()).kind else {
            panic!("structure expected")
        };
        let d = members.iter().find(|m| m.name == "DetectorId").unwrap();
        assert_eq!((d.location, d.wire_name()), (Location::Uri, "DetectorId"));
        let c = members
            .iter()
            .find(|m| m.name == "FindingCriteria")
            .unwrap();
        assert_eq!(
            (c.location, c.wire_name()),
            (Location::Body, "findingCriteria")
        );
        assert!(service("sts")
            .unwrap()
            .operations
            .iter()
            .all(|o| o.http.uri == "/"));
        assert!(service("nope").is_none());
        let s3 = service_by_signing_name("s3").unwrap();
        assert_eq!(s3.protocol, Protocol::RestXml);
        assert_eq!(
            s3.xml_namespace,
            Some("http://s3.amazonaws.com/doc/2006-03-01/")
        );
        let put = s3.operation("PutObject").unwrap();
        assert!(put.streaming_input && !put.streaming_output);
        let body = s3.payload_member(put.input.unwrap()).unwrap();
        assert!(body.streaming && body.name == "Body");
        let get = s3.operation("GetObject").unwrap();
        assert!(get.streaming_output && !get.streaming_input);
        assert!(s3.operation("DeleteObjects").unwrap().checksum_required);
        assert!(!s3.operation("ListObjectsV2").unwrap().checksum_required);
        assert_eq!(s3.operation("DeleteObject").unwrap().http.status, 204);
        assert_eq!(
            output_root(s3, s3.operation("ListObjectsV2").unwrap()),
            Some("ListBucketResult")
        );
        let control = service("s3control").unwrap();
        assert_eq!(
            (control.protocol, control.signing_name),
            (Protocol::RestXml, "s3")
        );
        assert_eq!(
            control.xml_namespace,
            Some("http://awss3control.amazonaws.com/doc/2018-08-20/")
        );
        let get = control.operation("GetPublicAccessBlock").unwrap();
        assert_eq!(get.http.uri, "/v20180820/configuration/publicAccessBlock");
        assert_eq!(
            control
                .error("NoSuchPublicAccessBlockConfiguration")
                .unwrap()
                .status,
            404
        );
    }

    #[test]
    fn tables_are_sorted_and_consistent() {
        for s in SERVICES {
            assert!(s.operations.windows(2).all(|w| w[0].name < w[1].name));
            assert!(s.shapes.windows(2).all(|w| w[0].name < w[1].name));
            assert!(s.errors.windows(2).all(|w| w[0].code < w[1].code));
            for op in s.operations {
                assert_eq!(s.operation(op.name).map(|o| o.name), Some(op.name));
                for id in op.input.iter().chain(op.output.iter()).chain(op.errors) {
                    assert!((*id as usize) < s.shapes.len());
                }
            }
            for e in s.errors {
                assert_eq!(s.error(e.code).map(|x| x.shape), Some(e.shape));
                assert_eq!(s.error_by_shape(e.shape).map(|x| x.code), Some(e.code));
            }
        }
    }
}
