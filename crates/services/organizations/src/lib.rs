//! AWS Organizations (awsJson1.1, `AWSOrganizationsV20161128.*`).
//!
//! One file per resource family with the handlers of the operations it owns; this module's
//! table ([`route`]) names them per operation, and [`authz`] answers for every operation. Everything an organization owns is stored as
//! generic store entities under its management account ([`model`]). Every change that can
//! alter an authorization decision (membership, tree, policies, attachments) bumps the store's
//! authorization epoch, so SCPs and RCPs take effect on the next request.
//!
//! - [`organization`] — create, describe, delete, leave.
//! - [`tree`] — roots and organizational units.
//! - [`accounts`] — accounts, `CreateAccount` and `CreateGovCloudAccount` requests, moves and
//!   removals.
//! - [`provision`] — completes `CreateAccount` requests in the background.
//! - [`handshakes`] — invitations; [`all_features`] — `EnableAllFeatures` and its handshakes.
//! - [`policies`] — SCPs, RCPs and management policies, policy types, attachments.
//! - [`management`] — management policy syntax and effective policies.
//! - [`delegated`] — delegated administrators.
//! - [`resource_policy`] — the organization's delegation policy; effective policy validation.
//! - [`tags`] — tags on accounts, OUs, roots and policies.
//! - [`enforcement`] — the SCP and RCP levels of an account, for the authorizer.
//! - [`root_access`] — IAM's centralized root access for member accounts, stored on the
//!   organization (IAM's `*OrganizationsRoot*` operations and the checks of STS `AssumeRoot`).
//! - [`access_report`] — IAM's organizations access reports (service last-accessed data
//!   for a root, OU or account).
//! - [`service_members`] — an AWS service's organization administrator and member accounts
//!   (GuardDuty's, Security Hub's and Detective's records).
//! - [`service_admin`] — what those services' organization handlers share: the management
//!   account's check, designating and withdrawing the administrator, accounts that joined
//!   or left the organization.
//! - [`authz`] — the authorization entry of each operation.

use rampart_kit::routes;

pub mod access_report;
pub mod accounts;
pub mod all_features;
pub mod authz;
pub mod common;
pub mod delegated;
pub mod enforcement;
pub mod handshakes;
pub mod management;
pub mod model;
pub mod organization;
pub mod policies;
pub mod provision;
pub mod resource_policy;
pub mod root_access;
pub mod service_admin;
pub mod service_members;
pub mod tags;
pub mod tree;

pub use common::OrgError;

pub use rampart_model::organizations::Op;

routes! {
    authz: authz::request;
    built {
        AcceptHandshake => Write, |i, c, mut d| handshakes::transition(i, c, &mut d, "ACCEPTED");
        AttachPolicy => Write, |i, c, mut d| policies::attach(i, c, &mut d);
        CancelHandshake => Write, |i, c, mut d| handshakes::transition(i, c, &mut d, "CANCELED");
        CloseAccount => Write, |i, c, mut d| accounts::close(i, c, &mut d);
        CreateAccount => Write, |i, c, mut d| accounts::create(i, c, &mut d);
        CreateGovCloudAccount => Write, |i, c, mut d| accounts::create_govcloud(i, c, &mut d);
        CreateOrganization => Write, |i, c, mut d| organization::create(i, c, &mut d);
        CreateOrganizationalUnit => Write, |i, c, mut d| tree::create_ou(i, c, &mut d);
        CreatePolicy => Write, |i, c, mut d| policies::create(i, c, &mut d);
        DeclineHandshake => Write, |i, c, mut d| handshakes::transition(i, c, &mut d, "DECLINED");
        DeleteOrganization => Write, |i, c, mut d| organization::delete(c, &mut d);
        DeleteOrganizationalUnit => Write, |i, c, mut d| tree::delete_ou(i, c, &mut d);
        DeletePolicy => Write, |i, c, mut d| policies::delete(i, c, &mut d);
        DeregisterDelegatedAdministrator => Write, |i, c, mut d| delegated::register(i, c, &mut d, false);
        DescribeAccount => Read, |i, c, mut d| accounts::describe(i, c, &mut d);
        DescribeCreateAccountStatus => Read, |i, c, mut d| accounts::describe_status(i, c, &mut d);
        DescribeEffectivePolicy => Read, |i, c, mut d| policies::effective(i, c, &mut d);
        DescribeHandshake => Read, |i, c, mut d| handshakes::describe(i, c, &mut d);
        DescribeOrganization => Read, |i, c, mut d| organization::describe(c, &mut d);
        DescribeOrganizationalUnit => Read, |i, c, mut d| tree::describe_ou(i, c, &mut d);
        DescribePolicy => Read, |i, c, mut d| policies::describe(i, c, &mut d);
        DetachPolicy => Write, |i, c, mut d| policies::detach(i, c, &mut d);
        DisableAWSServiceAccess => Write, |i, c, mut d| organization::service_access(i, c, &mut d, false);
        EnableAllFeatures => Write, |i, c, mut d| all_features::enable(i, c, &mut d);
        DisablePolicyType => Write, |i, c, mut d| policies::set_type(i, c, &mut d, false);
        EnableAWSServiceAccess => Write, |i, c, mut d| organization::service_access(i, c, &mut d, true);
        EnablePolicyType => Write, |i, c, mut d| policies::set_type(i, c, &mut d, true);
        InviteAccountToOrganization => Write, |i, c, mut d| handshakes::invite(i, c, &mut d);
        LeaveOrganization => Write, |i, c, mut d| organization::leave(c, &mut d);
        ListAWSServiceAccessForOrganization => Read, |i, c, mut d| organization::list_service_access(i, c, &mut d);
        ListAccounts => Read, |i, c, mut d| accounts::list(i, c, &mut d);
        ListAccountsForParent => Read, |i, c, mut d| accounts::list_for_parent(i, c, &mut d);
        ListChildren => Read, |i, c, mut d| tree::list_children(i, c, &mut d);
        ListCreateAccountStatus => Read, |i, c, mut d| accounts::list_status(i, c, &mut d);
        ListDelegatedAdministrators => Read, |i, c, mut d| delegated::list_admins(i, c, &mut d);
        ListDelegatedServicesForAccount => Read, |i, c, mut d| delegated::list_services(i, c, &mut d);
        ListHandshakesForAccount => Read, |i, c, mut d| handshakes::list_for_account(i, c, &mut d);
        ListHandshakesForOrganization => Read, |i, c, mut d| handshakes::list_for_org(i, c, &mut d);
        ListOrganizationalUnitsForParent => Read, |i, c, mut d| tree::list_ous(i, c, &mut d);
        ListParents => Read, |i, c, mut d| tree::list_parents(i, c, &mut d);
        ListPolicies => Read, |i, c, mut d| policies::list(i, c, &mut d);
        ListPoliciesForTarget => Read, |i, c, mut d| policies::list_for_target(i, c, &mut d);
        ListRoots => Read, |i, c, mut d| tree::list_roots(i, c, &mut d);
        ListTagsForResource => Read, |i, c, mut d| tags::list(i, c, &mut d);
        ListTargetsForPolicy => Read, |i, c, mut d| policies::list_targets(i, c, &mut d);
        MoveAccount => Write, |i, c, mut d| accounts::move_account(i, c, &mut d);
        RegisterDelegatedAdministrator => Write, |i, c, mut d| delegated::register(i, c, &mut d, true);
        RemoveAccountFromOrganization => Write, |i, c, mut d| accounts::remove(i, c, &mut d);
        TagResource => Write, |i, c, mut d| tags::change(i, c, &mut d, true);
        UntagResource => Write, |i, c, mut d| tags::change(i, c, &mut d, false);
        UpdateOrganizationalUnit => Write, |i, c, mut d| tree::update_ou(i, c, &mut d);
        UpdatePolicy => Write, |i, c, mut d| policies::update(i, c, &mut d);
        PutResourcePolicy => Write, |i, c, mut d| resource_policy::put(i, c, &mut d);
        DescribeResourcePolicy => Read, |i, c, mut d| resource_policy::describe(c, &mut d);
        DeleteResourcePolicy => Write, |i, c, mut d| resource_policy::delete(c, &mut d);
        ListAccountsWithInvalidEffectivePolicy => Read,
            |i, c, mut d| resource_policy::invalid_accounts(i, c, &mut d);
        ListEffectivePolicyValidationErrors => Read,
            |i, c, mut d| resource_policy::validation_errors(i, c, &mut d);
    }
    not_built {
        DescribeResponsibilityTransfer,
        InviteOrganizationToTransferResponsibility, ListInboundResponsibilityTransfers,
        ListOutboundResponsibilityTransfers, TerminateResponsibilityTransfer,
        UpdateResponsibilityTransfer,
    }
}
