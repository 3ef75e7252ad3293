//! The request context a handler and the authorizer see: who called, from where, when.

use std::{any::Any, fmt, net::IpAddr, sync::Arc};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{authorizer::Authorizer, error::ServiceError, principal::Principal};

/// Everything about a call that is not its input: the caller and the request's circumstances.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The request id returned to the client and recorded in the audit trail.
    pub request_id: String,
    /// The authenticated caller (shared with the pipeline's own record of the call, which
    /// outlives the context).
    pub principal: Arc<Principal>,
    /// The region the client signed for (`aws:RequestedRegion`).
    pub region: String,
    /// The client's address (`aws:SourceIp`).
    pub source_ip: IpAddr,
    /// The client's `User-Agent` header.
    pub user_agent: String,
    /// When the request arrived (`aws:CurrentTime`).
    pub now: DateTime<Utc>,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// Slow work done for the call before its write transaction (see
    /// the route's `prepare`); `None` for most calls.
    pub prepared: Option<Arc<Prepared>>,
    /// The one authorizer, for questions a service asks during a call (calls on the caller's
    /// behalf, hypothetical checks).
    pub authorizer: Authorizer,
    /// The service making this call on the caller's behalf (`secretsmanager`), when a
    /// service calls another one for the caller (AWS's forward access); `None` for a call
    /// the caller made directly.
    pub via_service: Option<String>,
    /// The calls services made on this caller's behalf during the call, which the pipeline
    /// audits as their own records (shared by the contexts made with
    /// [`CallContext::on_behalf_of`]).
    pub side_calls: SideCalls,
    /// The call's large bodies: an upload the pipeline staged, a download to stream
    /// (S3 objects); empty for every other call.
    pub payload: crate::payload::Payload,
}

/// A call a service made to another on the caller's behalf, to be audited as AWS records it:
/// the caller as `userIdentity`, with `invokedBy` the calling service.
#[derive(Debug, Clone, PartialEq)]
pub struct SideCall {
    /// The called service's model name (`kms`).
    pub service: &'static str,
    /// The operation (`Decrypt`).
    pub operation: &'static str,
    /// The calling service's endpoint name (`secretsmanager.amazonaws.com`).
    pub invoked_by: String,
    /// The input as sent.
    pub request_parameters: serde_json::Value,
    /// The error code and message, when the call failed or was refused.
    pub error: Option<(&'static str, String)>,
    /// Whether the operation only reads.
    pub read_only: bool,
    /// The ARNs of the resources the call was authorized on (none when it was refused
    /// before its question was asked).
    pub resources: Vec<String>,
}

/// The side calls of one call (cheap to clone: shared).
#[derive(Debug, Clone, Default)]
pub struct SideCalls(Arc<std::sync::Mutex<Vec<SideCall>>>);

impl SideCalls {
    /// Notes one side call.
    pub fn push(&self, call: SideCall) {
        // A panic elsewhere while holding the lock leaves a usable list behind.
        let mut calls = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        calls.push(call);
    }

    /// Every side call noted so far, in order, leaving none.
    pub fn take(&self) -> Vec<SideCall> {
        let mut calls = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *calls)
    }
}

/// Slow work a call needs (today: argon2 password hashing), planned by its route's `prepare`
/// from the store and done by the pipeline, on a blocking thread, before the call's write
/// transaction. The work and its result are the service's own types.
pub struct Preparation(Box<dyn FnOnce() -> Result<Prepared, ServiceError> + Send>);

impl Preparation {
    /// Work whose result the handler finds with [`Prepared::get`].
    pub fn new<T: Any + Send + Sync>(
        work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
    ) -> Preparation {
        Preparation(Box::new(move || work().map(|t| Prepared(Box::new(t)))))
    }

    /// Does the work (slow: on a blocking thread).
    pub fn run(self) -> Result<Prepared, ServiceError> {
        (self.0)()
    }
}

impl fmt::Debug for Preparation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Preparation")
    }
}

/// The result of a [`Preparation`], handed to the handler in [`CallContext::prepared`].
pub struct Prepared(Box<dyn Any + Send + Sync>);

impl Prepared {
    /// A result made directly (tests).
    pub fn of<T: Any + Send + Sync>(value: T) -> Prepared {
        Prepared(Box::new(value))
    }

    /// The result, if it is a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Prepared")
    }
}

/// A condition context key with its values (several for multi-valued keys).
pub type ContextEntry = (String, Vec<String>);

impl CallContext {
    /// AWS's global condition keys that come from the request rather than from the
    /// principal's ARN (the policy engine derives `aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:PrincipalType` and `aws:username` from the principal itself).
    ///
    /// Keys AWS leaves out for a kind of caller are left out here too:
    /// `aws:MultiFactorAuthPresent`/`aws:TokenIssueTime` exist only for temporary credentials
    /// (long-term keys never carry the MFA keys, which the documented `BoolIfExists` patterns
    /// rely on).
    pub fn global_keys(&self) -> Vec<ContextEntry> {
        let p = &self.principal;
        let mut keys: Vec<ContextEntry> = vec![
            one("aws:userid", p.user_id.clone()),
            one("aws:SourceIp", self.source_ip.to_string()),
            one(
                "aws:CurrentTime",
                self.now.to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            one("aws:EpochTime", self.now.timestamp().to_string()),
            one("aws:SecureTransport", self.secure_transport.to_string()),
            one("aws:RequestedRegion", self.region.clone()),
            one("aws:UserAgent", self.user_agent.clone()),
            one("aws:ViaAWSService", self.via_service.is_some().to_string()),
        ];
        // AWS's confused-deputy keys: a service principal acts for an account (and maybe
        // one of its resources), also when its call reaches another service on its behalf.
        if p.is_service() {
            keys.push(one("aws:SourceAccount", p.account_id.clone()));
            if let Some(arn) = &p.source_arn {
                keys.push(one("aws:SourceArn", arn.clone()));
            }
        }
        if let Some(session) = &p.session {
            keys.push(one(
                "aws:TokenIssueTime",
                session.issued_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            ));
            let mfa = session.mfa_authenticated_at;
            keys.push(one("aws:MultiFactorAuthPresent", mfa.is_some().to_string()));
            if let Some(at) = mfa {
                let age = (self.now - at).num_seconds().max(0);
                keys.push(one("aws:MultiFactorAuthAge", age.to_string()));
            }
            if let Some(provider) = &session.context.federated_provider {
                keys.push(one("aws:FederatedProvider", provider.clone()));
            }
            // AWS: present only for the credentials `AssumeRoot` issued.
            if session.context.is_assumed_root() {
                keys.push(one("aws:AssumedRoot", "true".into()));
            }
        }
        keys
    }
}

impl CallContext {
    /// The partition of the call's region: the partition of every ARN the call mints or
    /// reads. The pipeline refuses a request signed for a region of another partition than
    /// the server's, so this is the server's partition.
    pub fn partition(&self) -> rampart_policy::Partition {
        rampart_policy::Partition::of_region(&self.region)
    }

    /// This context of a service principal's own call, made for the resource `source_arn`
    /// (see [`Principal::service_for`]).
    pub fn for_source(mut self, source_arn: &str) -> CallContext {
        let mut principal = (*self.principal).clone();
        principal.source_arn = Some(source_arn.to_string());
        self.principal = Arc::new(principal);
        self
    }

    /// The context of a call `service` (`secretsmanager`, `s3`) makes to another service on
    /// this caller's behalf: the same caller, with `aws:ViaAWSService` true and the calling
    /// service recorded for service keys such as `kms:ViaService`.
    pub fn on_behalf_of(&self, service: &str) -> CallContext {
        CallContext {
            via_service: Some(service.to_string()),
            prepared: None,
            ..self.clone()
        }
    }

    /// The caller and condition context as the policy engine takes them: the principal (with
    /// its role ARN, path included, for a role session), AWS's global keys, the operation's
    /// own keys and the caller's principal tags. The one place both the authorizer and the
    /// services that evaluate policies themselves build this.
    pub fn policy_subject(
        &self,
        operation_keys: &[ContextEntry],
        principal_tags: &[(String, String)],
    ) -> (rampart_policy::Principal, rampart_policy::Context) {
        use rampart_policy::{Context, ContextValue, Principal as PolicyPrincipal};
        let mut principal = PolicyPrincipal::from_arn(&self.principal.arn);
        // A session ARN has no role path; STS recorded the role ARN with it (`aws:PrincipalArn`,
        // and resource policies that name the role).
        if let Some(role_arn) = self
            .principal
            .session
            .as_ref()
            .and_then(|s| s.context.role_arn.clone())
        {
            principal.parent_arn = Some(role_arn);
        }
        let globals = self.global_keys();
        // Room for the principal's own keys too (`fill_context` adds a handful).
        let mut context =
            Context::with_capacity(globals.len() + operation_keys.len() + principal_tags.len() + 8);
        for (key, values) in globals {
            context.insert(&key, ContextValue::from_values(values));
        }
        for (key, values) in operation_keys {
            let value = match values.as_slice() {
                [one] => ContextValue::single(one.clone()),
                many => ContextValue::multi(many.iter().cloned()),
            };
            context.insert(key, value);
        }
        for (key, value) in principal_tags {
            context.insert(
                &format!("aws:PrincipalTag/{key}"),
                ContextValue::single(value.clone()),
            );
        }
        principal.fill_context(&mut context);
        (principal, context)
    }
}

fn one(key: &str, value: String) -> ContextEntry {
    (key.to_string(), vec![value])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{PrincipalKind, SessionInfo};

    fn ctx(principal: Principal) -> CallContext {
        CallContext {
            region: "eu-west-1".into(),
            ..crate::test_support::context(principal)
        }
    }

    fn get<'a>(keys: &'a [ContextEntry], k: &str) -> Option<&'a str> {
        keys.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v[0].as_str())
    }

    #[test]
    fn long_term_keys_carry_no_mfa_key() {
        let keys = ctx(Principal::root(
            crate::Partition::Aws,
            "111122223333",
            "AKIA",
        ))
        .global_keys();
        assert_eq!(get(&keys, "aws:MultiFactorAuthPresent"), None);
        assert_eq!(get(&keys, "aws:userid"), Some("111122223333"));
        assert_eq!(get(&keys, "aws:EpochTime"), Some("1700000000"));
        assert_eq!(get(&keys, "aws:CurrentTime"), Some("2023-11-14T22:13:20Z"));
        assert_eq!(get(&keys, "aws:ViaAWSService"), Some("false"));
    }

    #[test]
    fn service_principals_carry_their_source_on_behalf_calls_too() {
        let trail = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/t";
        let direct = ctx(Principal::service(
            "cloudtrail.amazonaws.com",
            "111122223333",
        ));
        assert_eq!(
            get(&direct.global_keys(), "aws:SourceAccount"),
            Some("111122223333")
        );
        assert_eq!(get(&direct.global_keys(), "aws:SourceArn"), None);
        let via = direct.for_source(trail).on_behalf_of("s3");
        assert_eq!(
            get(&via.global_keys(), "aws:SourceAccount"),
            Some("111122223333")
        );
        assert_eq!(get(&via.global_keys(), "aws:SourceArn"), Some(trail));
        let root = ctx(Principal::root(
            crate::Partition::Aws,
            "111122223333",
            "AKIA",
        ))
        .global_keys();
        assert_eq!(get(&root, "aws:SourceAccount"), None);
    }

    #[test]
    fn on_behalf_calls_are_via_a_service() {
        let direct = ctx(Principal::root(
            crate::Partition::Aws,
            "111122223333",
            "AKIA",
        ));
        let via = direct.on_behalf_of("secretsmanager");
        assert_eq!(via.via_service.as_deref(), Some("secretsmanager"));
        assert_eq!(via.principal.arn, direct.principal.arn);
        assert_eq!(get(&via.global_keys(), "aws:ViaAWSService"), Some("true"));
    }

    #[test]
    fn assumed_root_sessions_carry_aws_assumed_root() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut p = Principal::root(crate::Partition::Aws, "111122223333", "ASIA");
        p.session = Some(SessionInfo {
            issued_at: now,
            expires_at: now,
            mfa_authenticated_at: None,
            context: crate::principal::SessionContext {
                root_task_policy: Some(
                    "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy".into(),
                ),
                ..Default::default()
            },
        });
        assert_eq!(
            get(&ctx(p.clone()).global_keys(), "aws:AssumedRoot"),
            Some("true")
        );
        p.session = None;
        assert_eq!(get(&ctx(p).global_keys(), "aws:AssumedRoot"), None);
    }

    #[test]
    fn role_session_reports_mfa_age() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let p = Principal {
            account_id: "111122223333".into(),
            kind: PrincipalKind::AssumedRole,
            arn: "arn:aws:sts::111122223333:assumed-role/Admin/alice".into(),
            user_id: "AROAEXAMPLE:alice".into(),
            name: "alice".into(),
            access_key_id: "ASIA".into(),
            session: Some(SessionInfo {
                issued_at: now,
                expires_at: now,
                mfa_authenticated_at: Some(now - chrono::Duration::seconds(90)),
                context: Default::default(),
            }),
            source_arn: None,
        };
        let keys = ctx(p).global_keys();
        assert_eq!(get(&keys, "aws:MultiFactorAuthPresent"), Some("true"));
        assert_eq!(get(&keys, "aws:MultiFactorAuthAge"), Some("90"));
    }
}
