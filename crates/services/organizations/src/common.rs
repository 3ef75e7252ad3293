//! Helpers shared by the Organizations families: AWS's error codes, finding the caller's
//! organization, who may call, and Organizations' input and `NextToken` errors over the
//! shared helpers of `rampart_kit`.

use rampart_store::Entity;
use serde_json::Value;

use super::model::{self, MemberDoc, OrgDoc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{self, read_doc},
    error::{service_errors, ServiceError},
    input, page,
};

service_errors! {
    /// Organizations' error codes (all 400 unless the model says otherwise).
    pub enum OrgError for "organizations", reason = OrgError::reason {
        /// The caller's account is not in an organization.
        #[error("Your account is not a member of an organization.")]
        AWSOrganizationsNotInUseException,
        /// The caller may not perform this operation.
        AccessDeniedException,
        /// The account is already in an organization.
        #[error("The AWS account is already a member of an organization.")]
        AlreadyInOrganizationException,
        /// No such account in the organization.
        #[error("You specified an account that doesn't exist.")]
        AccountNotFoundException,
        /// The account is closed already.
        #[error("You attempted to close an account that is already closed.")]
        AccountAlreadyClosedException,
        /// A documented limit or rule: the message, and AWS's `Reason` code.
        #[error("{0}")]
        ConstraintViolationException(String, &'static str),
        /// No such create-account request.
        #[error("We can't find an create account request with the CreateAccountRequestId that you specified.")]
        CreateAccountStatusNotFoundException,
        /// The move's destination does not exist.
        #[error("We can't find the destination container (a root or OU) with the ParentId that you specified.")]
        DestinationParentNotFoundException,
        /// The account is already there.
        #[error("That account is already present in the specified destination.")]
        DuplicateAccountException,
        /// An OU of that name exists under the parent.
        #[error("An OU with the same name already exists.")]
        DuplicateOrganizationalUnitException,
        /// The policy is already attached to the target.
        #[error("The selected policy is already attached to the specified target.")]
        DuplicatePolicyAttachmentException,
        /// A policy of that name and type exists.
        #[error("A policy with the same name already exists.")]
        DuplicatePolicyException,
        /// An open invitation to that account exists.
        #[error("A handshake with the same action and target already exists.")]
        DuplicateHandshakeException,
        /// No such handshake.
        #[error("We can't find a handshake with the HandshakeId that you specified.")]
        HandshakeNotFoundException,
        /// The handshake is already in that state.
        #[error("The specified handshake is already in the requested state.")]
        HandshakeAlreadyInStateException,
        /// The handshake cannot move to that state.
        #[error("You can't perform the operation on the handshake in its current state.")]
        InvalidHandshakeTransitionException,
        /// A rule of invitations.
        #[error("{0}")]
        HandshakeConstraintViolationException(String, &'static str),
        /// An input value is not valid: the message, and AWS's `Reason` code.
        #[error("{0}")]
        InvalidInputException(String, &'static str),
        /// The organization has no resource policy.
        #[error("We can't find a resource policy request with the parameter that you specified.")]
        ResourcePolicyNotFoundException,
        /// The policy text is not valid.
        #[error("The provided policy document doesn't meet the requirements of the specified policy type.")]
        MalformedPolicyDocumentException,
        /// The management account cannot leave.
        #[error("You can't remove a management account from an organization.")]
        MasterCannotLeaveOrganizationException,
        /// The organization still has members.
        #[error("The organization isn't empty. To delete an organization, you must first remove all accounts except the management account.")]
        OrganizationNotEmptyException,
        /// The OU still has children.
        #[error("The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try the operation again.")]
        OrganizationalUnitNotEmptyException,
        /// No such OU.
        #[error("We can't find an OU with the OrganizationalUnitId that you specified.")]
        OrganizationalUnitNotFoundException,
        /// No such parent.
        #[error("We can't find a root or OU with the ParentId that you specified.")]
        ParentNotFoundException,
        /// No such child.
        #[error("We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")]
        ChildNotFoundException,
        /// The policy is still attached.
        #[error("The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.")]
        PolicyInUseException,
        /// The policy is not attached to that target.
        #[error("The policy isn't attached to the specified target in the specified root.")]
        PolicyNotAttachedException,
        /// No such policy.
        #[error("We can't find a policy with the PolicyId that you specified.")]
        PolicyNotFoundException,
        /// The type is enabled already.
        #[error("The specified policy type is already enabled in the specified root.")]
        PolicyTypeAlreadyEnabledException,
        /// The type is not enabled on the root.
        #[error("The specified policy type isn't currently enabled in this root. You can't attach policies of the specified type to entities in a root until you enable that type in the root.")]
        PolicyTypeNotEnabledException,
        /// The type needs all features.
        #[error("You can't use the specified policy type with the feature set currently enabled for this organization.")]
        PolicyTypeNotAvailableForOrganizationException,
        /// No such root.
        #[error("We can't find a root with the RootId that you specified.")]
        RootNotFoundException,
        /// The move's source is not the account's parent.
        #[error("We can't find a source root or OU with the ParentId that you specified.")]
        SourceParentNotFoundException,
        /// No such target.
        #[error("We can't find a root, OU, account, or policy with the TargetId that you specified.")]
        TargetNotFoundException,
        /// No effective policy of that type.
        #[error("We can't find an effective policy of the specified type for the specified target.")]
        EffectivePolicyNotFoundException,
        /// The account is already a delegated administrator for the service.
        #[error("The provided account is already a delegated administrator for your organization.")]
        AccountAlreadyRegisteredException,
        /// The operation is not served in this partition (`CreateGovCloudAccount` outside
        /// the commercial one).
        #[error("This action isn't available in the current AWS Region.")]
        UnsupportedAPIEndpointException,
        /// The account is not a delegated administrator for the service.
        #[error("The specified account is not a delegated administrator for this AWS service.")]
        AccountNotRegisteredException,
    }
}

impl OrgError {
    /// `ConstraintViolationException` with AWS's reason code.
    pub fn constraint(reason: &'static str, message: &str) -> OrgError {
        OrgError::ConstraintViolationException(message.to_string(), reason)
    }

    /// `InvalidInputException` with AWS's reason code.
    pub fn invalid(reason: &'static str, message: &str) -> OrgError {
        OrgError::InvalidInputException(message.to_string(), reason)
    }

    /// AWS's `Reason` member, for the errors that have one.
    fn reason(&self) -> Option<&'static str> {
        match self {
            OrgError::ConstraintViolationException(_, r)
            | OrgError::HandshakeConstraintViolationException(_, r)
            | OrgError::InvalidInputException(_, r) => Some(r),
            _ => None,
        }
    }
}

/// The result type of Organizations helpers.
pub type Res<T> = Result<T, ServiceError>;

/// The caller's organization as the handlers need it.
#[derive(Debug, Clone)]
pub struct Org {
    /// The organization id.
    pub id: String,
    /// The management account.
    pub management: String,
    /// The stored organization.
    pub doc: OrgDoc,
    /// The organization entity.
    pub entity: Entity,
}

impl Org {
    /// True when the caller is the management account.
    pub fn is_management(&self, ctx: &CallContext) -> bool {
        ctx.principal.account_id == self.management
    }

    /// The organization's partition: the one its ARN was minted in when it was created.
    pub fn partition(&self) -> rampart_kit::Partition {
        rampart_kit::Partition::of_arn(&self.entity.arn).unwrap_or_default()
    }
}

/// AWS's refusal for a member account calling a management-only operation.
pub fn not_management() -> ServiceError {
    OrgError::AccessDeniedException("You don't have permissions to access this resource.".into())
        .into()
}

/// An account's membership record and document, if it is in an organization.
pub async fn membership(db: &mut Db<'_>, account: &str) -> Res<Option<(Entity, MemberDoc)>> {
    match db.entities().get_by_id(&model::member_id(account)).await? {
        Some(e) => {
            let doc: MemberDoc = read_doc(&e)?;
            Ok(Some((e, doc)))
        }
        None => Ok(None),
    }
}

/// The organization `account` belongs to, if any.
pub async fn org_of(db: &mut Db<'_>, account: &str) -> Res<Option<Org>> {
    let Some((member, doc)) = membership(db, account).await? else {
        return Ok(None);
    };
    let Some(entity) = db
        .entities()
        .get(&member.account_id, model::ORG, &doc.org_id)
        .await?
    else {
        return Ok(None);
    };
    let org_doc: OrgDoc = read_doc(&entity)?;
    Ok(Some(Org {
        id: entity.name.clone(),
        management: entity.account_id.clone(),
        doc: org_doc,
        entity,
    }))
}

/// The caller's organization (`AWSOrganizationsNotInUseException` when none).
pub async fn caller_org(db: &mut Db<'_>, ctx: &CallContext) -> Res<Org> {
    org_of(db, &ctx.principal.account_id)
        .await?
        .ok_or_else(|| OrgError::AWSOrganizationsNotInUseException.into())
}

/// The caller's organization, which the caller must manage.
pub async fn managed_org(db: &mut Db<'_>, ctx: &CallContext) -> Res<Org> {
    let org = caller_org(db, ctx).await?;
    if !org.is_management(ctx) {
        return Err(not_management());
    }
    Ok(org)
}

/// The caller's organization, which the caller must manage or administer as a delegated
/// administrator (read-only operations).
pub async fn readable_org(db: &mut Db<'_>, ctx: &CallContext) -> Res<Org> {
    let org = caller_org(db, ctx).await?;
    if org.is_management(ctx) {
        return Ok(org);
    }
    let delegated = db
        .links()
        .targets(
            &org.management,
            model::LINK_DELEGATED,
            &ctx.principal.account_id,
        )
        .await?;
    // Authorization decided a member's call with the delegation policy, when there is one.
    if delegated.is_empty() && super::resource_policy::content(db, &org).await?.is_none() {
        return Err(not_management());
    }
    Ok(org)
}

/// An entity of the organization by kind and id.
pub async fn find(db: &mut Db<'_>, org: &Org, kind: &str, id: &str) -> Res<Option<Entity>> {
    entity::find(db, &org.management, kind, id).await
}

/// A required string member, with Organizations' error for a missing one.
pub fn req<'a>(input: &'a Value, key: &str) -> Res<&'a str> {
    input::required(input, key, |key| {
        OrgError::invalid("INPUT_REQUIRED", &format!("You must specify {key}.")).into()
    })
}

/// AWS's refusal of a `NextToken` this server did not issue for the list.
fn invalid_token() -> ServiceError {
    OrgError::invalid(
        "INVALID_PAGINATION_TOKEN",
        "The pagination token is not valid.",
    )
    .into()
}

/// Organizations' `MaxResults` (1..=20, default 20).
fn max_results(input: &Value) -> Res<usize> {
    match input::opt_int(input, "MaxResults") {
        None => Ok(20),
        Some(n) if (1..=20).contains(&n) => Ok(usize::try_from(n).unwrap_or(20)),
        Some(_) => Err(OrgError::invalid(
            "INVALID_PAGINATION_TOKEN",
            "MaxResults must be between 1 and 20.",
        )
        .into()),
    }
}

/// The sort key after which a stored list continues (`NextToken`), if any.
pub fn key_after(input: &Value) -> Res<Option<String>> {
    input::opt_str(input, "NextToken")
        .map(|t| page::decode(t).ok_or_else(invalid_token))
        .transpose()
}

/// Builds a page response: at most `MaxResults` of `items` from the offset `NextToken` names,
/// under `key`, with `NextToken` when more follow. A token that is not an offset into the
/// list is `InvalidInputException` (`INVALID_PAGINATION_TOKEN`).
pub fn paged(key: &str, items: Vec<Value>, input: &Value) -> Res<Value> {
    let max = max_results(input)?;
    let got = page::at_offset(items, input::opt_str(input, "NextToken"), max)
        .ok_or_else(invalid_token)?;
    let mut out = serde_json::Map::new();
    out.insert(key.into(), Value::Array(got.items));
    if let Some(next) = got.next {
        out.insert("NextToken".into(), Value::String(next));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_past_the_end_are_invalid_not_an_overflow() {
        let items: Vec<Value> = (0..3).map(|i| serde_json::json!(i)).collect();
        let huge = serde_json::json!({"NextToken": page::offset_token(usize::MAX)});
        let err = super::paged("Items", items.clone(), &huge).unwrap_err();
        assert_eq!(err.code, "InvalidInputException");
        let first = super::paged(
            "Items",
            items.clone(),
            &serde_json::json!({"MaxResults": 2}),
        )
        .unwrap();
        let next = first["NextToken"].as_str().unwrap();
        let rest = super::paged("Items", items, &serde_json::json!({"NextToken": next})).unwrap();
        assert_eq!(rest["Items"], serde_json::json!([2]));
        assert!(rest.get("NextToken").is_none());
    }
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_carry_a_token_until_the_end() {
        let items: Vec<Value> = (0..25).map(|i| json!(i)).collect();
        let first = paged("Items", items.clone(), &json!({})).unwrap();
        assert_eq!(first["Items"].as_array().unwrap().len(), 20);
        let token = first["NextToken"].as_str().unwrap().to_string();
        let second = paged("Items", items, &json!({"NextToken": token})).unwrap();
        assert_eq!(second["Items"].as_array().unwrap().len(), 5);
        assert!(second.get("NextToken").is_none());
        let bad = paged("Items", Vec::new(), &json!({"MaxResults": 21})).unwrap_err();
        assert_eq!(bad.code, "InvalidInputException");
    }
}
