//! Reading each integration's findings in a hub's account and region and handing them, in
//! ASFF, to [`crate::imports`]' delivery: GuardDuty's findings of the account's detector,
//! Access Analyzer's findings of the account's analyzers grouped by resource, Config's results
//! of the account's rules in the region that Security Hub did not create.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rampart_accessanalyzer::model::{self as aa, FindingDoc};
use rampart_config::model::{self as cfg, ResourceDoc};
use rampart_kit::{db::Db, entity, error::ServiceError};

use crate::{
    from_access_analyzer, from_config, from_guardduty,
    imports::{deliver, Terms},
};

/// GuardDuty's findings of the account's detector in the region.
pub(crate) async fn guardduty(
    db: &mut Db<'_>,
    hub: (&str, &str),
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let (account, region) = hub;
    let Some(detector) = rampart_guardduty::model::detector_in(db, account, region).await? else {
        return Ok(());
    };
    let period = from_guardduty::export_period(&detector.doc.publishing_frequency);
    for f in rampart_guardduty::model::findings(db, account, detector.id()).await? {
        let terms = Terms {
            since,
            new: !from_guardduty::archived(&f.doc),
            period: Some(period),
        };
        deliver(db, hub, from_guardduty::to_asff(&f.doc), terms, now).await?;
    }
    Ok(())
}

/// Access Analyzer's findings of the account's analyzers in the region, one per analyzer and
/// resource (external access analyzers: unused access findings are not imported); answers the
/// ids of the findings whose source is present.
pub(crate) async fn access_analyzer(
    db: &mut Db<'_>,
    hub: (&str, &str),
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<String>, ServiceError> {
    let (account, region) = hub;
    let mut present = BTreeSet::new();
    for a in aa::list(db, account, region)
        .await?
        .into_iter()
        .filter(|a| !a.is_unused())
    {
        let mut by_resource: BTreeMap<String, Vec<FindingDoc>> = BTreeMap::new();
        for e in aa::all(db, account, aa::FINDING, &a.prefix()).await? {
            let f: FindingDoc = entity::read_doc(&e)?;
            by_resource.entry(f.resource.clone()).or_default().push(f);
        }
        for (resource, findings) in &by_resource {
            let refs: Vec<&FindingDoc> = findings.iter().collect();
            let Some(doc) = from_access_analyzer::to_asff(a.arn(), region, account, &refs) else {
                continue;
            };
            present.insert(from_access_analyzer::finding_id(a.arn(), resource));
            deliver(db, hub, doc, Terms::at_once(since), now).await?;
        }
    }
    Ok(present)
}

/// The ARN Config knows for a resource, else its id.
async fn resource_arn(
    db: &mut Db<'_>,
    account: &str,
    resource_type: &str,
    resource_id: &str,
) -> Result<String, ServiceError> {
    let key = cfg::resource_key(resource_type, resource_id);
    let found = entity::load_doc::<ResourceDoc>(db, account, cfg::RESOURCE, &key).await?;
    Ok(found
        .map(|(_, r)| r.snapshot.arn)
        .filter(|arn| !arn.is_empty())
        .unwrap_or_else(|| resource_id.to_string()))
}

/// Config's results of the account's rules in the region that Security Hub did not create;
/// answers the ids of the findings whose source is present.
pub(crate) async fn config(
    db: &mut Db<'_>,
    hub: (&str, &str),
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<String>, ServiceError> {
    let (account, region) = hub;
    let mut present = BTreeSet::new();
    for e in aa::all(db, account, cfg::RULE, "/").await? {
        let name = e.name_key.clone();
        if !from_config::sent(&name) || from_config::region_of(&e.arn) != region {
            continue;
        }
        let rule = from_config::Rule {
            name: &name,
            arn: &e.arn,
        };
        for ev in rampart_config::evaluate::results_of(db, account, &name).await? {
            let arn = resource_arn(db, account, &ev.resource_type, &ev.resource_id).await?;
            present.insert(from_config::finding_id(
                &e.arn,
                &ev.resource_type,
                &ev.resource_id,
            ));
            let asff = from_config::to_asff(rule, &ev, &arn, account);
            deliver(db, hub, asff, Terms::at_once(since), now).await?;
        }
    }
    Ok(present)
}
