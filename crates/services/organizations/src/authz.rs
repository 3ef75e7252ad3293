//! The authorization entries of Organizations: `organizations:<Op>` on the ARNs of the
//! resources the call names (account, OU, root, policy, handshake), with the condition keys
//! `organizations:PolicyType` and `organizations:ServicePrincipal`, as in AWS's Service
//! Authorization Reference. A caller outside any organization (or an id of the wrong shape)
//! gets `*`: the handler then answers with AWS's error.
//!
//! The resources are evaluated as the caller's own (the organization's resources are its
//! management account's, but AWS does not treat a member's or delegated administrator's call
//! as cross-account access; who may call is the handler's check).

use rampart_store::Store;
use serde_json::Value;

use super::{
    common::{org_of, Org, Res},
    model, resource_policy,
    tree::{self, Node},
    Op,
};
use rampart_kit::{
    authz::{AuthzRequest, ResourceRef},
    context::{CallContext, ContextEntry},
    db::Db,
};

/// The input members naming a resource, in the order AWS lists the operation's resources.
const MEMBERS: [&str; 9] = [
    "PolicyId",
    "TargetId",
    "AccountId",
    "OrganizationalUnitId",
    "ParentId",
    "ChildId",
    "RootId",
    "ResourceId",
    "HandshakeId",
];

/// The authorization question of an Organizations operation.
pub async fn request(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Res<Option<AuthzRequest>> {
    let account = &ctx.principal.account_id;
    let action = format!("organizations:{}", op.name());
    let mut req = AuthzRequest::on_any(&action, account);
    req.context = condition_keys(input);
    let Some(org) = org_of(&mut Db::Read(store), account).await? else {
        return Ok(Some(req));
    };
    let mut resources = Vec::new();
    for member in MEMBERS {
        let Some(id) = input.get(member).and_then(Value::as_str) else {
            continue;
        };
        if let Some(arn) = arn_of(store, &org, id).await? {
            resources.push(ResourceRef {
                arn,
                account: account.clone(),
                policy: None,
            });
        }
    }
    // MoveAccount also names its source and destination.
    for member in ["SourceParentId", "DestinationParentId"] {
        if let Some(id) = input.get(member).and_then(Value::as_str) {
            if let Some(arn) = arn_of(store, &org, id).await? {
                resources.push(ResourceRef {
                    arn,
                    account: account.clone(),
                    policy: None,
                });
            }
        }
    }
    if !resources.is_empty() {
        req.resources = resources;
    }
    // A member account acts on the organization's resources as the delegation policy allows.
    let delegation = resource_policy::delegation(&mut Db::Read(store), &org, ctx).await?;
    if let Some(policy) = delegation {
        for r in &mut req.resources {
            r.account = org.management.clone();
            r.policy = Some(policy.clone());
        }
    }
    Ok(Some(req))
}

fn condition_keys(input: &Value) -> Vec<ContextEntry> {
    let mut keys = Vec::new();
    let policy_type = ["Type", "PolicyType", "Filter"]
        .iter()
        .find_map(|k| input.get(*k).and_then(Value::as_str));
    if let Some(t) = policy_type {
        keys.push(("organizations:PolicyType".to_string(), vec![t.to_string()]));
    }
    if let Some(s) = input.get("ServicePrincipal").and_then(Value::as_str) {
        keys.push((
            "organizations:ServicePrincipal".to_string(),
            vec![s.to_string()],
        ));
    }
    keys
}

/// The ARN an id names in the organization, by its shape (a policy's ARN needs its type).
async fn arn_of(store: &Store, org: &Org, id: &str) -> Res<Option<String>> {
    let m = &org.management;
    if id.starts_with("p-") {
        let Some(e) = store.entities().get(m, model::POLICY, id).await? else {
            return Ok(None);
        };
        return Ok(Some(e.arn));
    }
    if id.starts_with("h-") {
        let stored = store.entities().get_by_id(id).await?;
        let arn = stored.filter(|e| e.kind == model::HANDSHAKE).map_or_else(
            || model::handshake_arn(org.partition(), m, &org.id, "INVITE", id),
            |e| e.arn,
        );
        return Ok(Some(arn));
    }
    Ok(match tree::node_of(id) {
        Some(Node::Root) => Some(model::root_arn(org.partition(), m, &org.id, id)),
        Some(Node::Ou) => Some(model::ou_arn(org.partition(), m, &org.id, id)),
        Some(Node::Account) => Some(model::account_arn(org.partition(), m, &org.id, id)),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_type_and_service_principal_are_condition_keys() {
        let keys = condition_keys(&json!({"Type": "SERVICE_CONTROL_POLICY"}));
        assert_eq!(
            keys,
            vec![(
                "organizations:PolicyType".to_string(),
                vec!["SERVICE_CONTROL_POLICY".to_string()]
            )]
        );
        let keys = condition_keys(&json!({"ServicePrincipal": "securityhub.amazonaws.com"}));
        assert_eq!(keys[0].0, "organizations:ServicePrincipal");
    }
}
