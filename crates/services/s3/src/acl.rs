//! Access control lists: canned ACLs, `x-amz-grant-*` headers and `AccessControlPolicy`
//! documents read into grants; grants written back in AWS's shape; and the policy statements a
//! grant stands for, which join the bucket policy in the one authorizer's resource-based layer
//! (see [`crate::authz`]).
//!
//! A resource without a stored ACL has the default one: its owner's `FULL_CONTROL`. A
//! canonical user is an account, named by [`canonical_id`]; a grant keeps the account it
//! resolved to when it was written, so authorization needs no lookup.

use aws_lc_rs::digest;
use rampart_kit::{db::Db, Partition};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    error::{S3Error, S3Result},
    input::opt_nonempty,
};

/// The group of everyone, anonymous callers included.
pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The group of every signed-in AWS caller.
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// S3's log delivery group.
pub const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

const PERMISSIONS: [&str; 5] = ["FULL_CONTROL", "READ", "WRITE", "READ_ACP", "WRITE_ACP"];

/// An account's canonical user id: 64 hex digits, stable for the account.
pub fn canonical_id(account: &str) -> String {
    let d = digest::digest(
        &digest::SHA256,
        format!("rampart-s3-canonical-user\0{account}").as_bytes(),
    );
    hex::encode(d.as_ref())
}

/// The `Owner` element of S3's outputs.
pub fn owner(account: &str) -> Value {
    json!({ "ID": canonical_id(account), "DisplayName": account })
}

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Grantee {
    /// An account, by canonical id, with the account it names.
    CanonicalUser {
        /// The canonical id.
        id: String,
        /// The account.
        account: String,
    },
    /// A predefined group, by URI.
    Group {
        /// The group's URI.
        uri: String,
    },
}

/// One grant of an ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The grantee.
    pub grantee: Grantee,
    /// `FULL_CONTROL`, `READ`, `WRITE`, `READ_ACP` or `WRITE_ACP`.
    pub permission: String,
}

/// An access control list (its owner is the resource's owner).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    /// The grants, in order.
    pub grants: Vec<Grant>,
}

fn user(account: &str, permission: &str) -> Grant {
    Grant {
        grantee: Grantee::CanonicalUser {
            id: canonical_id(account),
            account: account.to_string(),
        },
        permission: permission.to_string(),
    }
}

fn group(uri: &str, permission: &str) -> Grant {
    Grant {
        grantee: Grantee::Group {
            uri: uri.to_string(),
        },
        permission: permission.to_string(),
    }
}

impl Acl {
    /// The default ACL: the owner's `FULL_CONTROL`.
    pub fn private(owner: &str) -> Acl {
        Acl {
            grants: vec![user(owner, "FULL_CONTROL")],
        }
    }

    /// A canned ACL for a resource `owner` owns in `bucket_owner`'s bucket.
    pub fn canned(name: &str, owner: &str, bucket_owner: &str) -> S3Result<Acl> {
        let mut acl = Acl::private(owner);
        let extra = match name {
            "private" => vec![],
            "public-read" => vec![group(ALL_USERS, "READ")],
            "public-read-write" => vec![group(ALL_USERS, "READ"), group(ALL_USERS, "WRITE")],
            "authenticated-read" => vec![group(AUTHENTICATED_USERS, "READ")],
            "aws-exec-read" => vec![],
            "log-delivery-write" => vec![
                group(LOG_DELIVERY, "WRITE"),
                group(LOG_DELIVERY, "READ_ACP"),
            ],
            "bucket-owner-read" if owner != bucket_owner => vec![user(bucket_owner, "READ")],
            "bucket-owner-full-control" if owner != bucket_owner => {
                vec![user(bucket_owner, "FULL_CONTROL")]
            }
            "bucket-owner-read" | "bucket-owner-full-control" => vec![],
            _ => return Err(S3Error::argument("Invalid canned ACL")),
        };
        acl.grants.extend(extra);
        Ok(acl)
    }

    /// Whether a grant is to everyone or to every signed-in caller (AWS's public ACL).
    pub fn is_public(&self) -> bool {
        self.grants.iter().any(|g| {
            matches!(&g.grantee, Grantee::Group { uri } if uri == ALL_USERS || uri == AUTHENTICATED_USERS)
        })
    }

    /// Whether every grant is `owner`'s `FULL_CONTROL`: the only ACL a bucket whose ACLs are
    /// disabled (`BucketOwnerEnforced`) accepts.
    pub fn owner_only(&self, owner: &str) -> bool {
        self.grants.iter().all(|g| {
            g.permission == "FULL_CONTROL"
                && matches!(&g.grantee, Grantee::CanonicalUser { account, .. } if account == owner)
        })
    }

    /// The ACL as `GetBucketAcl`/`GetObjectAcl` answer it.
    pub fn to_output(&self, owner_account: &str) -> Value {
        let grants: Vec<Value> = self
            .grants
            .iter()
            .map(|g| {
                let grantee = match &g.grantee {
                    Grantee::CanonicalUser { id, account } => {
                        json!({ "Type": "CanonicalUser", "ID": id, "DisplayName": account })
                    }
                    Grantee::Group { uri } => json!({ "Type": "Group", "URI": uri }),
                };
                json!({ "Grantee": grantee, "Permission": g.permission })
            })
            .collect();
        json!({ "Owner": owner(owner_account), "Grants": grants })
    }
}

/// Resolves canonical ids to the accounts of this installation.
pub struct Accounts(Vec<(String, String)>);

impl Accounts {
    /// Every account's canonical id.
    pub async fn load(db: &mut Db<'_>) -> S3Result<Accounts> {
        const PAGE: u32 = 1000;
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = db.accounts().list(after.as_deref(), PAGE).await?;
            let full = page.len() as u32 == PAGE;
            after = page.last().map(|a| a.id.clone());
            out.extend(page.into_iter().map(|a| (canonical_id(&a.id), a.id)));
            if !full {
                return Ok(Accounts(out));
            }
        }
    }

    fn account_of(&self, id: &str) -> S3Result<String> {
        self.0
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(id))
            .map(|(_, a)| a.clone())
            .ok_or_else(|| S3Error::argument("Invalid id"))
    }

    fn grantee(&self, kind: &str, value: &str) -> S3Result<Grantee> {
        match kind {
            "id" => Ok(Grantee::CanonicalUser {
                id: value.to_ascii_lowercase(),
                account: self.account_of(value)?,
            }),
            "uri" if [ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY].contains(&value) => {
                Ok(Grantee::Group {
                    uri: value.to_string(),
                })
            }
            "uri" => Err(S3Error::argument("Invalid group uri")),
            "emailAddress" => Err(S3Error::UnresolvableGrantByEmailAddress(
                "The e-mail address you provided does not match any account on record.".into(),
            )),
            _ => Err(S3Error::argument("Invalid grantee")),
        }
    }
}

/// The grant headers and their permissions.
const GRANT_HEADERS: [(&str, &str); 5] = [
    ("GrantFullControl", "FULL_CONTROL"),
    ("GrantRead", "READ"),
    ("GrantWrite", "WRITE"),
    ("GrantReadACP", "READ_ACP"),
    ("GrantWriteACP", "WRITE_ACP"),
];

/// The ACL a request's headers set: a canned ACL (`x-amz-acl`) or `x-amz-grant-*` headers
/// (`id="..."`, `uri="..."`, comma-separated); `None` when it sets none.
pub async fn from_headers(
    input: &Value,
    owner: &str,
    bucket_owner: &str,
    db: &mut Db<'_>,
) -> S3Result<Option<Acl>> {
    let canned = opt_nonempty(input, "ACL");
    let granted: Vec<(&str, &str)> = GRANT_HEADERS
        .iter()
        .filter_map(|(m, p)| opt_nonempty(input, m).map(|v| (v, *p)))
        .collect();
    match (canned, granted.is_empty()) {
        (Some(_), false) => Err(S3Error::InvalidRequest(
            "Specifying both Canned ACLs and Header Grants is not allowed".into(),
        )),
        (Some(name), true) => Acl::canned(name, owner, bucket_owner).map(Some),
        (None, true) => Ok(None),
        (None, false) => {
            let accounts = Accounts::load(db).await?;
            let mut acl = Acl::default();
            for (text, permission) in granted {
                for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (kind, value) = item
                        .split_once('=')
                        .ok_or_else(|| S3Error::argument("Invalid grant header"))?;
                    let grantee = accounts.grantee(kind.trim(), value.trim().trim_matches('"'))?;
                    acl.grants.push(Grant {
                        grantee,
                        permission: permission.to_string(),
                    });
                }
            }
            Ok(Some(acl))
        }
    }
}

fn malformed_acl() -> S3Error {
    S3Error::MalformedACLError(
        "The XML you provided was not well-formed or did not validate against our published schema"
            .into(),
    )
}

/// The ACL of an `AccessControlPolicy` body.
pub async fn from_policy(policy: &Value, db: &mut Db<'_>) -> S3Result<Acl> {
    let accounts = Accounts::load(db).await?;
    let mut acl = Acl::default();
    let grants = policy
        .get("Grants")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for g in grants {
        let permission = g
            .get("Permission")
            .and_then(Value::as_str)
            .filter(|p| PERMISSIONS.contains(p))
            .ok_or_else(malformed_acl)?;
        let grantee = g.get("Grantee").ok_or_else(malformed_acl)?;
        let field = |k: &str| grantee.get(k).and_then(Value::as_str);
        let grantee = match field("Type") {
            Some("CanonicalUser") => accounts.grantee("id", field("ID").ok_or_else(malformed_acl)?),
            Some("Group") => accounts.grantee("uri", field("URI").ok_or_else(malformed_acl)?),
            Some("AmazonCustomerByEmail") => accounts.grantee(
                "emailAddress",
                field("EmailAddress").ok_or_else(malformed_acl)?,
            ),
            _ => Err(malformed_acl()),
        }?;
        acl.grants.push(Grant {
            grantee,
            permission: permission.to_string(),
        });
    }
    Ok(acl)
}

/// What a grant on a bucket or on an object lets its grantee do, as IAM actions on resources
/// (AWS's mapping of ACL permissions to policy actions).
fn actions(
    partition: Partition,
    permission: &str,
    bucket: &str,
    object: Option<&str>,
) -> Vec<(Vec<&'static str>, String)> {
    let bucket_arn = crate::names::bucket_arn(partition, bucket);
    let all = |list: &[&str]| -> Vec<&'static str> {
        let mut out = Vec::new();
        for p in list {
            out.extend(
                actions(partition, p, bucket, object)
                    .into_iter()
                    .flat_map(|(a, _)| a),
            );
        }
        out
    };
    match (object, permission) {
        (_, "FULL_CONTROL") => {
            let arn = object.map_or(bucket_arn.clone(), |k| {
                crate::names::object_arn(partition, bucket, k)
            });
            let mut out = actions(partition, "WRITE", bucket, object);
            out.push((all(&["READ", "READ_ACP", "WRITE_ACP"]), arn));
            out
        }
        (None, "READ") => vec![(
            vec![
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:ListBucketMultipartUploads",
            ],
            bucket_arn,
        )],
        (None, "WRITE") => vec![(vec!["s3:PutObject"], format!("{bucket_arn}/*"))],
        (None, "READ_ACP") => vec![(vec!["s3:GetBucketAcl"], bucket_arn)],
        (None, "WRITE_ACP") => vec![(vec!["s3:PutBucketAcl"], bucket_arn)],
        (Some(k), "READ") => vec![(
            vec!["s3:GetObject", "s3:GetObjectVersion"],
            crate::names::object_arn(partition, bucket, k),
        )],
        (Some(k), "READ_ACP") => vec![(
            vec!["s3:GetObjectAcl", "s3:GetObjectVersionAcl"],
            crate::names::object_arn(partition, bucket, k),
        )],
        (Some(k), "WRITE_ACP") => vec![(
            vec!["s3:PutObjectAcl", "s3:PutObjectVersionAcl"],
            crate::names::object_arn(partition, bucket, k),
        )],
        _ => Vec::new(),
    }
}

/// The policy statements `acl` stands for on `bucket` (or its object `object`), leaving out
/// grants to `resource_owner` (within its own account a grant adds nothing to IAM's policies)
/// and, when `ignore_public`, the public ones (`IgnorePublicAcls`).
pub fn statements(
    partition: Partition,
    acl: &Acl,
    bucket: &str,
    object: Option<&str>,
    resource_owner: &str,
    ignore_public: bool,
) -> Vec<Value> {
    let mut out = Vec::new();
    for g in &acl.grants {
        let (principal, condition) = match &g.grantee {
            Grantee::CanonicalUser { account, .. } if account == resource_owner => continue,
            Grantee::CanonicalUser { account, .. } => {
                (json!({ "AWS": partition.root_arn(account) }), None)
            }
            Grantee::Group { .. } if ignore_public && acl_public_grant(g) => continue,
            Grantee::Group { uri } if uri == ALL_USERS => (json!("*"), None),
            Grantee::Group { uri } if uri == AUTHENTICATED_USERS => (
                json!("*"),
                Some(json!({ "StringNotEquals": { "aws:PrincipalType": "Anonymous" } })),
            ),
            Grantee::Group { .. } => (json!({ "Service": "logging.s3.amazonaws.com" }), None),
        };
        for (actions, resource) in actions(partition, &g.permission, bucket, object) {
            let mut s = json!({
                "Effect": "Allow",
                "Principal": principal,
                "Action": actions,
                "Resource": resource,
            });
            if let (Some(c), Some(obj)) = (&condition, s.as_object_mut()) {
                obj.insert("Condition".into(), c.clone());
            }
            out.push(s);
        }
    }
    out
}

fn acl_public_grant(g: &Grant) -> bool {
    matches!(&g.grantee, Grantee::Group { uri } if uri == ALL_USERS || uri == AUTHENTICATED_USERS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ids_are_64_hex_and_stable() {
        let a = canonical_id("111122223333");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, canonical_id("111122223333"));
        assert_ne!(a, canonical_id("444455556666"));
    }

    #[test]
    fn canned_acls_expand_and_are_told_public() {
        let private = Acl::canned("private", "1", "1").unwrap();
        assert!(private.owner_only("1") && !private.is_public());
        assert!(Acl::canned("bucket-owner-full-control", "1", "1")
            .unwrap()
            .owner_only("1"));
        let writer = Acl::canned("bucket-owner-full-control", "2", "1").unwrap();
        assert!(!writer.owner_only("2") && writer.grants.len() == 2);
        let public = Acl::canned("public-read-write", "1", "1").unwrap();
        assert!(public.is_public() && !public.owner_only("1"));
        assert!(Acl::canned("authenticated-read", "1", "1")
            .unwrap()
            .is_public());
        assert!(Acl::canned("nope", "1", "1").is_err());
    }

    #[test]
    fn grants_stand_for_policy_statements() {
        let acl = Acl::canned("public-read", "1", "1").unwrap();
        let s = statements(Partition::Aws, &acl, "b", None, "1", false);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0]["Principal"], json!("*"));
        assert_eq!(s[0]["Resource"], json!("arn:aws:s3:::b"));
        assert!(statements(Partition::Aws, &acl, "b", None, "1", true).is_empty());
        let s = statements(Partition::Aws, &acl, "b", Some("k"), "1", false);
        assert_eq!(
            s[0]["Action"],
            json!(["s3:GetObject", "s3:GetObjectVersion"])
        );
        assert_eq!(s[0]["Resource"], json!("arn:aws:s3:::b/k"));
        let rw = Acl::canned("public-read-write", "1", "1").unwrap();
        let s = statements(Partition::Aws, &rw, "b", None, "1", false);
        assert!(s.iter().any(|x| x["Resource"] == json!("arn:aws:s3:::b/*")
            && x["Action"] == json!(["s3:PutObject"])));
        let auth = Acl::canned("authenticated-read", "1", "1").unwrap();
        let s = statements(Partition::Aws, &auth, "b", Some("k"), "1", false);
        assert_eq!(
            s[0]["Condition"]["StringNotEquals"]["aws:PrincipalType"],
            json!("Anonymous")
        );
        let writer = Acl::canned("private", "2", "1").unwrap();
        let s = statements(Partition::Aws, &writer, "b", Some("k"), "1", false);
        assert_eq!(s[0]["Principal"], json!({ "AWS": "arn:aws:iam::2:root" }));
        assert_eq!(s.len(), 1);
        let actions = s[0]["Action"].as_array().unwrap();
        for a in ["s3:GetObject", "s3:GetObjectAcl", "s3:PutObjectAcl"] {
            assert!(actions.contains(&json!(a)), "{a}");
        }
    }
}
