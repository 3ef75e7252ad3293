//! The stored policies of a user, group or role, as the simulator needs them: each with its
//! `SourcePolicyId` and `SourcePolicyType`.

use crate::{
    common::{read_doc, IamError},
    model::{self, GroupDoc, RoleDoc, UserDoc},
    policies,
};
use rampart_kit::Partition;
use rampart_kit::{db::Db, error::ServiceError};

/// A policy document with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedPolicy {
    /// `SourcePolicyId`: the inline policy's name or the managed policy's name.
    pub id: String,
    /// `SourcePolicyType`: user, group, role, aws-managed, user-managed, resource, none.
    pub kind: &'static str,
    /// The document.
    pub document: String,
}

/// A principal's identity-based policies and boundary.
#[derive(Debug, Clone, Default)]
pub struct PrincipalPolicies {
    /// Identity-based policies.
    pub identity: Vec<SourcedPolicy>,
    /// The permissions boundary.
    pub boundary: Option<SourcedPolicy>,
}

async fn managed(db: &mut Db<'_>, arn: &str) -> Result<Option<SourcedPolicy>, ServiceError> {
    let Some((e, doc)) = policies::by_arn(db, arn).await? else {
        return Ok(None);
    };
    let Some(text) = doc.default_document() else {
        return Ok(None);
    };
    Ok(Some(SourcedPolicy {
        id: e.name.clone(),
        kind: if e.account_id == model::AWS_ACCOUNT {
            "aws-managed"
        } else {
            "user-managed"
        },
        document: text.to_string(),
    }))
}

async fn attached(
    db: &mut Db<'_>,
    account: &str,
    id: &str,
    out: &mut Vec<SourcedPolicy>,
) -> Result<(), ServiceError> {
    for arn in db
        .links()
        .targets(account, model::LINK_ATTACHED, id)
        .await?
    {
        if let Some(p) = managed(db, &arn).await? {
            out.push(p);
        }
    }
    Ok(())
}

fn inline(
    policies: &std::collections::BTreeMap<String, String>,
    kind: &'static str,
    out: &mut Vec<SourcedPolicy>,
) {
    for (name, doc) in policies {
        out.push(SourcedPolicy {
            id: name.clone(),
            kind,
            document: doc.clone(),
        });
    }
}

/// Reads the policies of the user, group or role named by `arn`; `NoSuchEntity` otherwise.
pub async fn load(db: &mut Db<'_>, arn: &str) -> Result<PrincipalPolicies, ServiceError> {
    let missing = || -> ServiceError {
        IamError::NoSuchEntity(format!("PolicySourceArn {arn} does not exist.")).into()
    };
    let rest = Partition::of_arn(arn)
        .and_then(|p| p.strip_iam_arn(arn))
        .ok_or_else(missing)?;
    let (account, res) = rest.split_once(':').ok_or_else(missing)?;
    let (kind, entity_kind) = if res.starts_with("user/") {
        ("user", model::USER)
    } else if res.starts_with("group/") {
        ("group", model::GROUP)
    } else if res.starts_with("role/") {
        ("role", model::ROLE)
    } else {
        return Err(missing());
    };
    let name = res.rsplit('/').next().unwrap_or_default();
    let e = db
        .entities()
        .get(account, entity_kind, &model::name_key(name))
        .await?
        .filter(|e| e.arn == arn)
        .ok_or_else(missing)?;
    let mut out = PrincipalPolicies::default();
    match kind {
        "user" => {
            let doc: UserDoc = read_doc(&e)?;
            inline(&doc.inline_policies, "user", &mut out.identity);
            attached(db, account, &e.id, &mut out.identity).await?;
            for group_id in db
                .links()
                .targets(account, model::LINK_MEMBER, &e.id)
                .await?
            {
                if let Some(g) = db.entities().get_by_id(&group_id).await? {
                    let gdoc: GroupDoc = read_doc(&g)?;
                    inline(&gdoc.inline_policies, "group", &mut out.identity);
                    attached(db, account, &g.id, &mut out.identity).await?;
                }
            }
            if let Some(b) = &doc.permissions_boundary {
                out.boundary = managed(db, b).await?;
            }
        }
        "group" => {
            let doc: GroupDoc = read_doc(&e)?;
            inline(&doc.inline_policies, "group", &mut out.identity);
            attached(db, account, &e.id, &mut out.identity).await?;
        }
        _ => {
            let doc: RoleDoc = read_doc(&e)?;
            inline(&doc.inline_policies, "role", &mut out.identity);
            attached(db, account, &e.id, &mut out.identity).await?;
            if let Some(b) = &doc.permissions_boundary {
                out.boundary = managed(db, b).await?;
            }
        }
    }
    Ok(out)
}

/// A 1-based line and column.
pub type Pos = (usize, usize);

/// The start and end positions of each statement in a policy document's text, as AWS reports
/// them in `MatchedStatements` (a single statement object counts as statement 0).
pub fn statement_spans(text: &str) -> Vec<(Pos, Pos)> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = Vec::with_capacity(chars.len());
    let (mut line, mut col) = (1, 1);
    for c in &chars {
        pos.push((line, col));
        if *c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    // Find `"Statement"` as a key at depth 1.
    let mut depth = 0i32;
    let mut i = 0;
    let mut in_str = false;
    let mut str_start = 0;
    let mut start_value = None;
    while let Some(&c) = chars.get(i) {
        if in_str {
            if c == '\\' {
                i += 1;
            } else if c == '"' {
                in_str = false;
                let s: String = chars
                    .get(str_start + 1..i)
                    .unwrap_or_default()
                    .iter()
                    .collect();
                if depth == 1 && s == "Statement" {
                    let mut j = i + 1;
                    while chars.get(j).is_some_and(|c| c.is_whitespace() || *c == ':') {
                        j += 1;
                    }
                    start_value = Some(j);
                    break;
                }
            }
        } else {
            match c {
                '"' => {
                    in_str = true;
                    str_start = i;
                }
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                _ => {}
            }
        }
        i += 1;
    }
    let Some(v) = start_value else {
        return Vec::new();
    };
    let mut spans = Vec::new();
    let single = chars.get(v) == Some(&'{');
    let mut depth = 0i32;
    let mut in_str = false;
    let mut obj_start = None;
    let mut i = v;
    while let Some(&c) = chars.get(i) {
        if in_str {
            if c == '\\' {
                i += 1;
            } else if c == '"' {
                in_str = false;
            }
        } else {
            match c {
                '"' => in_str = true,
                '{' | '[' => {
                    depth += 1;
                    let obj_depth = if single { 1 } else { 2 };
                    if c == '{' && depth == obj_depth {
                        obj_start = Some(i);
                    }
                }
                '}' | ']' => {
                    let obj_depth = if single { 1 } else { 2 };
                    if c == '}' && depth == obj_depth {
                        let found = obj_start
                            .take()
                            .and_then(|s| Some((*pos.get(s)?, *pos.get(i)?)));
                        if let Some((start, end)) = found {
                            spans.push((start, (end.0, end.1 + 1)));
                        }
                    }
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_locate_statements() {
        let doc = "{\"Version\":\"2012-10-17\",\n\"Statement\":[{\"Effect\":\"Allow\"},\n {\"Effect\":\"Deny\"}]}";
        let spans = statement_spans(doc);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].0, (2, 14));
        assert_eq!(spans[1].0, (3, 2));
        let single = r#"{"Statement":{"Effect":"Allow","Resource":"{x}"}}"#;
        assert_eq!(statement_spans(single), vec![((1, 14), (1, 49))]);
    }
}
