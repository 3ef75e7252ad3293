//! Operation, shape and error tables for the AWS services Rampart speaks, generated from
//! botocore's `service-2.json` models by `cargo run -p xtask -- codegen`.
//!
//! Every table is a sorted static array: operations by name, shapes by name (a [`ShapeId`] is the
//! index into [`Service::shapes`]) and errors by code, so every lookup is a binary search or an
//! index, with no start-up cost.

mod generated;
mod types;

pub use generated::BOTOCORE_VERSION;
pub use types::*;

/// Every service in the model, in a fixed order.
pub static SERVICES: [&Service; 6] = [
    &generated::iam::SERVICE,
    &generated::sts::SERVICE,
    &generated::organizations::SERVICE,
    &generated::kms::SERVICE,
    &generated::secretsmanager::SERVICE,
    &generated::cloudtrail::SERVICE,
];

/// The service with this model name (`iam`, `sts`, `organizations`, `kms`, `secretsmanager`,
/// `cloudtrail`).
pub fn service(name: &str) -> Option<&'static Service> {
    SERVICES.iter().copied().find(|s| s.name == name)
}

/// The awsJson service whose `X-Amz-Target` prefix (the part before the last `.`) is `prefix`.
pub fn service_by_target_prefix(prefix: &str) -> Option<&'static Service> {
    SERVICES
        .iter()
        .copied()
        .find(|s| s.accepts_target_prefix(prefix))
}

/// The service that SigV4 signs as `signing_name` (the service in the credential scope).
pub fn service_by_signing_name(signing_name: &str) -> Option<&'static Service> {
    SERVICES
        .iter()
        .copied()
        .find(|s| s.signing_name == signing_name)
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
