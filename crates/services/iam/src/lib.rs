//! AWS Identity and Access Management (awsQuery).
//!
//! One file per resource family; each exposes its handlers and one authorization function for
//! the operations it owns, and this module's table ([`route`]) names them per operation. Entities are stored as generic store
//! entities whose JSON documents are defined in [`model`].

use rampart_kit::routes;

pub mod access_keys;
pub mod account;
pub mod action_access;
pub mod caller;
pub mod cert_format;
pub mod common;
pub mod credential_report;
pub mod granting;
pub mod groups;
pub mod instance_profiles;
pub mod last_accessed;
pub mod last_use;
pub mod login_profiles;
pub mod mfa;
pub mod mfa_device;
pub mod model;
pub mod oidc_providers;
pub mod outbound_federation;
pub mod passwords;
pub mod policies;
pub mod roles;
pub mod saml_metadata;
pub mod saml_private_keys;
pub mod saml_providers;
pub mod server_certs;
pub mod service_credentials;
pub mod service_linked_roles;
pub mod signin;
pub mod signing_certs;
pub mod sim_principal;
pub mod simulate;
pub mod ssh_key_format;
pub mod ssh_keys;
pub mod sts_preferences;
pub mod totp;
pub mod user_items;
pub mod users;

use rampart_store::Store;

use rampart_kit::{
    authz::CallerPolicies, context::CallContext, error::ServiceError, principal::Principal,
};

pub use rampart_model::iam::Op;

routes! {
    authz: users::authz;
    guard: session_token_gate;
    built {
        AddRoleToInstanceProfile => Write, |i, c, mut d| instance_profiles::add_role(i, c, &mut d), authz: instance_profiles::authz;
        AddUserToGroup => Write, |i, c, mut d| groups::add_user(i, c, &mut d), authz: groups::authz;
        AttachGroupPolicy => Write, |i, c, mut d| policies::attach(Op::AttachGroupPolicy, i, &c.principal.account_id, &mut d), authz: policies::authz;
        AttachRolePolicy => Write, |i, c, mut d| policies::attach(Op::AttachRolePolicy, i, &c.principal.account_id, &mut d), authz: policies::authz;
        AttachUserPolicy => Write, |i, c, mut d| policies::attach(Op::AttachUserPolicy, i, &c.principal.account_id, &mut d), authz: policies::authz;
        ChangePassword => Write, |i, c, mut d| login_profiles::change_password(i, c, &mut d), authz: login_profiles::authz, prepare: login_profiles::prepare;
        CreateAccessKey => Write, |i, c, mut d| access_keys::create(i, c, &mut d), authz: access_keys::authz;
        CreateAccountAlias => Write, |i, c, mut d| account::create_alias(i, &c.principal.account_id, c.now, &mut d), authz: account::authz;
        CreateGroup => Write, |i, c, mut d| groups::create_group(i, c, &mut d), authz: groups::authz;
        CreateInstanceProfile => Write, |i, c, mut d| instance_profiles::create(i, c, &mut d), authz: instance_profiles::authz;
        CreateLoginProfile => Write, |i, c, mut d| login_profiles::create(i, c, &mut d), authz: login_profiles::authz, prepare: login_profiles::prepare;
        CreatePolicy => Write, |i, c, mut d| policies::create_policy(i, c.partition(), &c.principal.account_id, c.now, &mut d), authz: policies::authz;
        CreatePolicyVersion => Write, |i, c, mut d| policies::create_version(i, c.partition(), &c.principal.account_id, c.now, &mut d), authz: policies::authz;
        CreateRole => Write, |i, c, mut d| roles::create_role(i, c, &mut d), authz: roles::authz;
        CreateUser => Write, |i, c, mut d| users::create_user(i, c, &mut d), authz: users::authz;
        CreateVirtualMFADevice => Write, |i, c, mut d| mfa::create(i, c, &mut d), authz: mfa::authz;
        DeactivateMFADevice => Write, |i, c, mut d| mfa::deactivate(i, c, &mut d), authz: mfa::authz;
        DeleteAccessKey => Write, |i, c, mut d| access_keys::delete(i, c, &mut d), authz: access_keys::authz;
        DeleteAccountAlias => Write, |i, c, mut d| account::delete_alias(i, &c.principal.account_id, &mut d), authz: account::authz;
        DeleteAccountPasswordPolicy => Write, |i, c, mut d| login_profiles::delete_policy(c, &mut d), authz: login_profiles::authz;
        DeleteGroup => Write, |i, c, mut d| groups::delete_group(i, c, &mut d), authz: groups::authz;
        DeleteGroupPolicy => Write, |i, c, mut d| groups::delete_group_policy(i, c, &mut d), authz: groups::authz;
        DeleteInstanceProfile => Write, |i, c, mut d| instance_profiles::delete(i, c, &mut d), authz: instance_profiles::authz;
        DeleteLoginProfile => Write, |i, c, mut d| login_profiles::delete(i, c, &mut d), authz: login_profiles::authz;
        DeletePolicy => Write, |i, c, mut d| policies::delete_policy(i, &c.principal.account_id, &mut d), authz: policies::authz;
        DeletePolicyVersion => Write, |i, c, mut d| policies::delete_version(i, &c.principal.account_id, c.now, &mut d), authz: policies::authz;
        DeleteRole => Write, |i, c, mut d| roles::delete_role(i, c, &mut d), authz: roles::authz;
        DeleteRolePermissionsBoundary => Write, |i, c, mut d| roles::delete_boundary(i, c, &mut d), authz: roles::authz;
        DeleteRolePolicy => Write, |i, c, mut d| roles::delete_role_policy(i, c, &mut d), authz: roles::authz;
        DeleteUser => Write, |i, c, mut d| users::delete_user(i, c, &mut d), authz: users::authz;
        DeleteUserPermissionsBoundary => Write, |i, c, mut d| users::delete_boundary(i, c, &mut d), authz: users::authz;
        DeleteUserPolicy => Write, |i, c, mut d| users::delete_user_policy(i, c, &mut d), authz: users::authz;
        DeleteVirtualMFADevice => Write, |i, c, mut d| mfa::delete(i, c, &mut d), authz: mfa::authz;
        DetachGroupPolicy => Write, |i, c, mut d| policies::detach(Op::DetachGroupPolicy, i, &c.principal.account_id, &mut d), authz: policies::authz;
        DetachRolePolicy => Write, |i, c, mut d| policies::detach(Op::DetachRolePolicy, i, &c.principal.account_id, &mut d), authz: policies::authz;
        DetachUserPolicy => Write, |i, c, mut d| policies::detach(Op::DetachUserPolicy, i, &c.principal.account_id, &mut d), authz: policies::authz;
        EnableMFADevice => Write, |i, c, mut d| mfa::enable(i, c, &mut d), authz: mfa::authz;
        GenerateCredentialReport => Write, |i, c, mut d| credential_report::generate(c, &mut d), authz: credential_report::authz;
        GenerateServiceLastAccessedDetails => Write, |i, c, mut d| last_accessed::generate(i, c, &mut d), authz: last_accessed::authz;
        GetAccessKeyLastUsed => Read, |i, c, mut d| access_keys::last_used(i, c, &mut d), authz: access_keys::authz;
        GetAccountAuthorizationDetails => Read, |i, c, mut d| account::details(i, &c.principal.account_id, &mut d), authz: account::authz;
        GetAccountPasswordPolicy => Read, |i, c, mut d| login_profiles::get_policy(c, &mut d), authz: login_profiles::authz;
        GetAccountSummary => Read, |i, c, mut d| account::summary(&c.principal.account_id, &mut d), authz: account::authz;
        GetContextKeysForCustomPolicy => Read, |i, c, d| std::future::ready(simulate::context_keys_custom(i)), authz: simulate::authz;
        GetContextKeysForPrincipalPolicy => Read, |i, c, mut d| simulate::context_keys_principal(i, &mut d), authz: simulate::authz;
        GetCredentialReport => Read, |i, c, mut d| credential_report::get(c, &mut d), authz: credential_report::authz;
        GetGroup => Read, |i, c, mut d| groups::get_group(i, c, &mut d), authz: groups::authz;
        GetGroupPolicy => Read, |i, c, mut d| groups::get_group_policy(i, c, &mut d), authz: groups::authz;
        GetInstanceProfile => Read, |i, c, mut d| instance_profiles::get(i, c, &mut d), authz: instance_profiles::authz;
        GetLoginProfile => Read, |i, c, mut d| login_profiles::get(i, c, &mut d), authz: login_profiles::authz;
        GetMFADevice => Read, |i, c, mut d| mfa::get(i, c, &mut d), authz: mfa::authz;
        GetPolicy => Read, |i, c, mut d| policies::get_policy(i, &c.principal.account_id, &mut d), authz: policies::authz;
        GetPolicyVersion => Read, |i, c, mut d| policies::get_version(i, &c.principal.account_id, &mut d), authz: policies::authz;
        GetRole => Read, |i, c, mut d| roles::get_role(i, c, &mut d), authz: roles::authz;
        GetRolePolicy => Read, |i, c, mut d| roles::get_role_policy(i, c, &mut d), authz: roles::authz;
        GetServiceLastAccessedDetails => Read, |i, c, mut d| last_accessed::get(i, c, &mut d), authz: last_accessed::authz;
        GetServiceLastAccessedDetailsWithEntities => Read, |i, c, mut d| last_accessed::get_entities(i, c, &mut d), authz: last_accessed::authz;
        GetUser => Read, |i, c, mut d| users::get_user(i, c, &mut d), authz: users::authz;
        GetUserPolicy => Read, |i, c, mut d| users::get_user_policy(i, c, &mut d), authz: users::authz;
        ListAccessKeys => Read, |i, c, mut d| access_keys::list(i, c, &mut d), authz: access_keys::authz;
        ListAccountAliases => Read, |i, c, mut d| account::list_aliases(i, &c.principal.account_id, &mut d), authz: account::authz;
        ListAttachedGroupPolicies => Read, |i, c, mut d| policies::list_attached(Op::ListAttachedGroupPolicies, i, &c.principal.account_id, &mut d), authz: policies::authz;
        ListAttachedRolePolicies => Read, |i, c, mut d| policies::list_attached(Op::ListAttachedRolePolicies, i, &c.principal.account_id, &mut d), authz: policies::authz;
        ListAttachedUserPolicies => Read, |i, c, mut d| policies::list_attached(Op::ListAttachedUserPolicies, i, &c.principal.account_id, &mut d), authz: policies::authz;
        ListEntitiesForPolicy => Read, |i, c, mut d| policies::list_entities(i, &c.principal.account_id, &mut d), authz: policies::authz;
        ListGroupPolicies => Read, |i, c, mut d| groups::list_group_policies(i, c, &mut d), authz: groups::authz;
        ListGroups => Read, |i, c, mut d| groups::list_groups(i, c, &mut d), authz: groups::authz;
        ListGroupsForUser => Read, |i, c, mut d| groups::list_groups_for_user(i, c, &mut d), authz: groups::authz;
        ListInstanceProfileTags => Read, |i, c, mut d| instance_profiles::list_tags(i, c, &mut d), authz: instance_profiles::authz;
        ListInstanceProfiles => Read, |i, c, mut d| instance_profiles::list(i, c, &mut d), authz: instance_profiles::authz;
        ListInstanceProfilesForRole => Read, |i, c, mut d| instance_profiles::list_for_role(i, c, &mut d), authz: instance_profiles::authz;
        ListMFADeviceTags => Read, |i, c, mut d| mfa::list_tags(i, c, &mut d), authz: mfa::authz;
        ListMFADevices => Read, |i, c, mut d| mfa::list_mfa(i, c, &mut d), authz: mfa::authz;
        ListPolicies => Read, |i, c, mut d| policies::list_policies(i, &c.principal.account_id, &mut d), authz: policies::authz;
        ListPoliciesGrantingServiceAccess => Read, |i, c, mut d| granting::list(i, c, &mut d), authz: granting::authz;
        ListPolicyTags => Read, |i, c, mut d| policies::list_policy_tags(i, &c.principal.account_id, &mut d), authz: policies::authz;
        ListPolicyVersions => Read, |i, c, mut d| policies::list_versions(i, &c.principal.account_id, &mut d), authz: policies::authz;
        ListRolePolicies => Read, |i, c, mut d| roles::list_role_policies(i, c, &mut d), authz: roles::authz;
        ListRoleTags => Read, |i, c, mut d| roles::list_role_tags(i, c, &mut d), authz: roles::authz;
        ListRoles => Read, |i, c, mut d| roles::list_roles(i, c, &mut d), authz: roles::authz;
        ListUserPolicies => Read, |i, c, mut d| users::list_user_policies(i, c, &mut d), authz: users::authz;
        ListUserTags => Read, |i, c, mut d| users::list_user_tags(i, c, &mut d), authz: users::authz;
        ListUsers => Read, |i, c, mut d| users::list_users(i, c, &mut d), authz: users::authz;
        ListVirtualMFADevices => Read, |i, c, mut d| mfa::list_virtual(i, c, &mut d), authz: mfa::authz;
        PutGroupPolicy => Write, |i, c, mut d| groups::put_group_policy(i, c, &mut d), authz: groups::authz;
        PutRolePermissionsBoundary => Write, |i, c, mut d| roles::put_boundary(i, c, &mut d), authz: roles::authz;
        PutRolePolicy => Write, |i, c, mut d| roles::put_role_policy(i, c, &mut d), authz: roles::authz;
        PutUserPermissionsBoundary => Write, |i, c, mut d| users::put_boundary(i, c, &mut d), authz: users::authz;
        PutUserPolicy => Write, |i, c, mut d| users::put_user_policy(i, c, &mut d), authz: users::authz;
        RemoveRoleFromInstanceProfile => Write, |i, c, mut d| instance_profiles::remove_role(i, c, &mut d), authz: instance_profiles::authz;
        RemoveUserFromGroup => Write, |i, c, mut d| groups::remove_user(i, c, &mut d), authz: groups::authz;
        ResyncMFADevice => Write, |i, c, mut d| mfa::resync(i, c, &mut d), authz: mfa::authz;
        SetDefaultPolicyVersion => Write, |i, c, mut d| policies::set_default(i, &c.principal.account_id, c.now, &mut d), authz: policies::authz;
        SimulateCustomPolicy => Read, |i, c, d| std::future::ready(simulate::simulate_custom(i, c)), authz: simulate::authz;
        SimulatePrincipalPolicy => Read, |i, c, mut d| simulate::simulate_principal(i, c, &mut d), authz: simulate::authz;
        TagInstanceProfile => Write, |i, c, mut d| instance_profiles::tag(i, c, &mut d), authz: instance_profiles::authz;
        TagMFADevice => Write, |i, c, mut d| mfa::tag(i, c, &mut d), authz: mfa::authz;
        TagPolicy => Write, |i, c, mut d| policies::tag_policy(i, &c.principal.account_id, c.now, &mut d), authz: policies::authz;
        TagRole => Write, |i, c, mut d| roles::tag_role(i, c, &mut d), authz: roles::authz;
        TagUser => Write, |i, c, mut d| users::tag_user(i, c, &mut d), authz: users::authz;
        UntagInstanceProfile => Write, |i, c, mut d| instance_profiles::untag(i, c, &mut d), authz: instance_profiles::authz;
        UntagMFADevice => Write, |i, c, mut d| mfa::untag(i, c, &mut d), authz: mfa::authz;
        UntagPolicy => Write, |i, c, mut d| policies::untag_policy(i, &c.principal.account_id, c.now, &mut d), authz: policies::authz;
        UntagRole => Write, |i, c, mut d| roles::untag_role(i, c, &mut d), authz: roles::authz;
        UntagUser => Write, |i, c, mut d| users::untag_user(i, c, &mut d), authz: users::authz;
        UpdateAccessKey => Write, |i, c, mut d| access_keys::update(i, c, &mut d), authz: access_keys::authz;
        UpdateAccountPasswordPolicy => Write, |i, c, mut d| login_profiles::update_policy(i, c, &mut d), authz: login_profiles::authz;
        UpdateAssumeRolePolicy => Write, |i, c, mut d| roles::update_assume_role_policy(i, c, &mut d), authz: roles::authz;
        UpdateGroup => Write, |i, c, mut d| groups::update_group(i, c, &mut d), authz: groups::authz;
        UpdateLoginProfile => Write, |i, c, mut d| login_profiles::update(i, c, &mut d), authz: login_profiles::authz, prepare: login_profiles::prepare;
        UpdateRole => Write, |i, c, mut d| roles::update_role(i, c, &mut d), authz: roles::authz;
        UpdateRoleDescription => Write, |i, c, mut d| roles::update_role_description(i, c, &mut d), authz: roles::authz;
        UpdateUser => Write, |i, c, mut d| users::update_user(i, c, &mut d), authz: users::authz;
        AddClientIDToOpenIDConnectProvider => Write, |i, c, mut d| oidc_providers::add_client_id(i, c, &mut d),
            authz: oidc_providers::authz;
        CreateOpenIDConnectProvider => Write, |i, c, mut d| oidc_providers::create(i, c, &mut d),
            authz: oidc_providers::authz;
        DeleteOpenIDConnectProvider => Write, |i, c, mut d| oidc_providers::delete(i, c, &mut d),
            authz: oidc_providers::authz;
        GetOpenIDConnectProvider => Read, |i, c, mut d| oidc_providers::get(i, c, &mut d),
            authz: oidc_providers::authz;
        ListOpenIDConnectProviders => Read, |i, c, mut d| oidc_providers::list(i, c, &mut d),
            authz: oidc_providers::authz;
        ListOpenIDConnectProviderTags => Read, |i, c, mut d| oidc_providers::list_tags(i, c, &mut d),
            authz: oidc_providers::authz;
        RemoveClientIDFromOpenIDConnectProvider => Write, |i, c, mut d| oidc_providers::remove_client_id(i, c, &mut d),
            authz: oidc_providers::authz;
        TagOpenIDConnectProvider => Write, |i, c, mut d| oidc_providers::tag(i, c, &mut d),
            authz: oidc_providers::authz;
        UntagOpenIDConnectProvider => Write, |i, c, mut d| oidc_providers::untag(i, c, &mut d),
            authz: oidc_providers::authz;
        UpdateOpenIDConnectProviderThumbprint => Write, |i, c, mut d| oidc_providers::update_thumbprints(i, c, &mut d),
            authz: oidc_providers::authz;
        CreateSAMLProvider => Write, |i, c, mut d| saml_providers::create(i, c, &mut d),
            authz: saml_providers::authz;
        GetSAMLProvider => Read, |i, c, mut d| saml_providers::get(i, c, &mut d),
            authz: saml_providers::authz;
        ListSAMLProviders => Read, |i, c, mut d| saml_providers::list(i, c, &mut d),
            authz: saml_providers::authz;
        UpdateSAMLProvider => Write, |i, c, mut d| saml_providers::update(i, c, &mut d),
            authz: saml_providers::authz;
        DeleteSAMLProvider => Write, |i, c, mut d| saml_providers::delete(i, c, &mut d),
            authz: saml_providers::authz;
        TagSAMLProvider => Write, |i, c, mut d| saml_providers::tag(i, c, &mut d),
            authz: saml_providers::authz;
        UntagSAMLProvider => Write, |i, c, mut d| saml_providers::untag(i, c, &mut d),
            authz: saml_providers::authz;
        ListSAMLProviderTags => Read, |i, c, mut d| saml_providers::list_tags(i, c, &mut d),
            authz: saml_providers::authz;
        CreateServiceLinkedRole => Write, |i, c, mut d| service_linked_roles::create(i, c, &mut d),
            authz: service_linked_roles::authz;
        DeleteServiceLinkedRole => Write, |i, c, mut d| service_linked_roles::delete(i, c, &mut d),
            authz: service_linked_roles::authz;
        GetServiceLinkedRoleDeletionStatus => Read, |i, c, mut d| service_linked_roles::deletion_status(i, c, &mut d),
            authz: service_linked_roles::authz;
        UploadSSHPublicKey => Write, |i, c, mut d| ssh_keys::upload(i, c, &mut d),
            authz: ssh_keys::authz;
        GetSSHPublicKey => Read, |i, c, mut d| ssh_keys::get(i, c, &mut d),
            authz: ssh_keys::authz;
        ListSSHPublicKeys => Read, |i, c, mut d| ssh_keys::list(i, c, &mut d),
            authz: ssh_keys::authz;
        UpdateSSHPublicKey => Write, |i, c, mut d| ssh_keys::update(i, c, &mut d),
            authz: ssh_keys::authz;
        DeleteSSHPublicKey => Write, |i, c, mut d| ssh_keys::delete(i, c, &mut d),
            authz: ssh_keys::authz;
        UploadSigningCertificate => Write, |i, c, mut d| signing_certs::upload(i, c, &mut d),
            authz: signing_certs::authz;
        ListSigningCertificates => Read, |i, c, mut d| signing_certs::list(i, c, &mut d),
            authz: signing_certs::authz;
        UpdateSigningCertificate => Write, |i, c, mut d| signing_certs::update(i, c, &mut d),
            authz: signing_certs::authz;
        DeleteSigningCertificate => Write, |i, c, mut d| signing_certs::delete(i, c, &mut d),
            authz: signing_certs::authz;
        UploadServerCertificate => Write, |i, c, mut d| server_certs::upload(i, c, &mut d),
            authz: server_certs::authz;
        GetServerCertificate => Read, |i, c, mut d| server_certs::get(i, c, &mut d),
            authz: server_certs::authz;
        ListServerCertificates => Read, |i, c, mut d| server_certs::list(i, c, &mut d),
            authz: server_certs::authz;
        UpdateServerCertificate => Write, |i, c, mut d| server_certs::update(i, c, &mut d),
            authz: server_certs::authz;
        DeleteServerCertificate => Write, |i, c, mut d| server_certs::delete(i, c, &mut d),
            authz: server_certs::authz;
        CreateServiceSpecificCredential => Write, |i, c, mut d| service_credentials::create(i, c, &mut d),
            authz: service_credentials::authz;
        ListServiceSpecificCredentials => Read, |i, c, mut d| service_credentials::list(i, c, &mut d),
            authz: service_credentials::authz;
        ResetServiceSpecificCredential => Write, |i, c, mut d| service_credentials::reset(i, c, &mut d),
            authz: service_credentials::authz;
        UpdateServiceSpecificCredential => Write, |i, c, mut d| service_credentials::update(i, c, &mut d),
            authz: service_credentials::authz;
        DeleteServiceSpecificCredential => Write, |i, c, mut d| service_credentials::delete(i, c, &mut d),
            authz: service_credentials::authz;
        TagServerCertificate => Write, |i, c, mut d| server_certs::tag(i, c, &mut d),
            authz: server_certs::authz;
        UntagServerCertificate => Write, |i, c, mut d| server_certs::untag(i, c, &mut d),
            authz: server_certs::authz;
        ListServerCertificateTags => Read, |i, c, mut d| server_certs::list_tags(i, c, &mut d),
            authz: server_certs::authz;
        SetSecurityTokenServicePreferences => Write, |i, c, mut d| sts_preferences::set(i, c, &mut d),
            authz: account::authz;
        EnableOutboundWebIdentityFederation => Write,
            |i, c, mut d| outbound_federation::enable(i, c, &mut d), authz: account::authz;
        DisableOutboundWebIdentityFederation => Write,
            |i, c, mut d| outbound_federation::disable(i, c, &mut d), authz: account::authz;
        GetOutboundWebIdentityFederationInfo => Read,
            |i, c, mut d| outbound_federation::info(i, c, &mut d), authz: account::authz;
    }
    not_built {
        // Delegation requests (AWS Partners only), the generated prose summary.
        // The organizations root access features and access reports are the organization's
        // state: Organizations serves them (`rampart_organizations::root_access` and
        // `::access_report`, joined in by the registry).
        AcceptDelegationRequest, AssociateDelegationRequest,
        CreateDelegationRequest,
        DisableOrganizationsRootCredentialsManagement, DisableOrganizationsRootSessions,
        EnableOrganizationsRootCredentialsManagement,
        EnableOrganizationsRootSessions,
        GenerateOrganizationsAccessReport, GetDelegationRequest, GetHumanReadableSummary,
        GetOrganizationsAccessReport,
        ListDelegationRequests,
        ListOrganizationsFeatures,
        RejectDelegationRequest,
        SendDelegationToken,
        UpdateDelegationRequest,
    }
}

/// AWS: credentials from `GetSessionToken` cannot call any IAM operation unless MFA was
/// presented to obtain them; AWS answers as if the token were invalid. A root session from
/// `AssumeRoot` is not one of them: its task policy decides.
pub fn session_token_gate(ctx: &CallContext) -> Result<(), ServiceError> {
    let p = &ctx.principal;
    let from_get_session_token = matches!(
        p.kind,
        rampart_kit::principal::PrincipalKind::User | rampart_kit::principal::PrincipalKind::Root
    ) && !p
        .session
        .as_ref()
        .is_some_and(|s| s.context.is_assumed_root());
    match &p.session {
        Some(s) if from_get_session_token && s.mfa_authenticated_at.is_none() => {
            Err(ServiceError::sender(
                "InvalidClientTokenId",
                "The security token included in the request is invalid",
            ))
        }
        _ => Ok(()),
    }
}

/// The caller's identity-based policies, boundary and session policies, read fresh.
pub async fn caller_policies(
    principal: &Principal,
    store: &Store,
) -> Result<CallerPolicies, ServiceError> {
    caller::policies(principal, store).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_kit::route::Access;

    #[test]
    fn operations_are_classified() {
        let access = |op: Op| route(op).map(|r| r.access);
        assert_eq!(access(Op::CreateAccessKey), Some(Access::Write));
        assert_eq!(access(Op::GetAccessKeyLastUsed), Some(Access::Read));
        assert_eq!(access(Op::GetAccountSummary), Some(Access::Read));
        assert_eq!(access(Op::ChangePassword), Some(Access::Write));
        assert_eq!(access(Op::ListVirtualMFADevices), Some(Access::Read));
        assert_eq!(access(Op::AttachRolePolicy), Some(Access::Write));
        assert_eq!(access(Op::CreateOpenIDConnectProvider), Some(Access::Write));
        assert_eq!(access(Op::CreateSAMLProvider), Some(Access::Write));
        assert!(route(Op::ChangePassword).is_some_and(|r| r.prepare.is_some()));
        assert!(route(Op::CreateUser).is_some_and(|r| r.prepare.is_none()));
    }
}
