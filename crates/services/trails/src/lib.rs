//! AWS CloudTrail's service table: trails and their delivery, over the event format and event
//! history of `rampart-cloudtrail`.
//!
//! - [`api`]: trail operations; [`selectors`]: event selectors; [`tags`]: trail tags;
//!   [`destination`]: the bucket and KMS key checks, as the service principal.
//! - [`logfile`]: log files (gzipped `{"Records": [...]}` at AWS's keys); [`digest`]: digest
//!   files and their chain; [`keys`]: the signing key pairs and `ListPublicKeys`.
//! - [`validate`]: the checks of `aws cloudtrail validate-logs` over a trail's bucket.
//! - [`model`]: how trails and their delivery state are stored.
//!
//! Delivery itself is a job of the server (`crates/server/src/jobs/trails.rs`): it reads the
//! audit stream with each trail's cursor and writes files through S3's `PutObject` as
//! `cloudtrail.amazonaws.com`.

use rampart_kit::{
    authz::AuthzRequest, context::CallContext, error::ServiceError, input::opt_str, routes,
};
use rampart_store::Store;
use serde_json::Value;

pub mod api;
pub mod destination;
pub mod digest;
pub mod keys;
pub mod logfile;
pub mod model;
pub mod selectors;
pub mod tags;
pub mod validate;

pub use rampart_cloudtrail::CloudTrailError;
pub use rampart_model::cloudtrail::Op;

routes! {
    authz: authorize;
    built {
        LookupEvents => Read, |i, c, d| rampart_cloudtrail::lookup_events(i, c, d);
        CreateTrail => Write, |i, c, d| api::create(i, c, d), prepare: api::prepare;
        UpdateTrail => Write, |i, c, d| api::update(i, c, d), prepare: api::prepare;
        DeleteTrail => Write, |i, c, d| api::delete(i, c, d);
        GetTrail => Read, |i, c, d| api::get(i, c, d);
        DescribeTrails => Read, |i, c, d| api::describe_trails(i, c, d);
        ListTrails => Read, |i, c, d| api::list(i, c, d);
        StartLogging => Write, |i, c, d| api::start(i, c, d);
        StopLogging => Write, |i, c, d| api::stop(i, c, d);
        GetTrailStatus => Read, |i, c, d| api::status(i, c, d);
        PutEventSelectors => Write, |i, c, d| api::put_selectors(i, c, d);
        GetEventSelectors => Read, |i, c, d| api::get_selectors(i, c, d);
        AddTags => Write, |i, c, d| tags::add(i, c, d);
        RemoveTags => Write, |i, c, d| tags::remove(i, c, d);
        ListTags => Read, |i, c, d| tags::list(i, c, d);
        ListPublicKeys => Read, |i, c, d| keys::list_public_keys(i, c, d);
    }
    not_built {
        // Event data stores, channels, Lake queries, insights, dashboards, resource policies.
        CancelQuery, CreateChannel, CreateDashboard, CreateEventDataStore,
        DeleteChannel, DeleteDashboard, DeleteEventDataStore, DeleteResourcePolicy,
        DeregisterOrganizationDelegatedAdmin, DescribeQuery,
        DisableFederation, EnableFederation, GenerateQuery, GetChannel, GetDashboard,
        GetEventConfiguration, GetEventDataStore, GetImport, GetInsightSelectors,
        GetQueryResults, GetResourcePolicy, ListChannels, ListDashboards,
        ListEventDataStores, ListImportFailures, ListImports, ListInsightsData,
        ListInsightsMetricData, ListQueries,
        PutEventConfiguration, PutInsightSelectors, PutResourcePolicy,
        RegisterOrganizationDelegatedAdmin, RestoreEventDataStore,
        SearchSampleQueries, StartDashboardRefresh, StartEventDataStoreIngestion, StartImport,
        StartQuery, StopEventDataStoreIngestion, StopImport,
        UpdateChannel, UpdateDashboard, UpdateEventDataStore,
    }
}

/// The member naming the trail an operation acts on.
fn trail_member(op: Op) -> Option<&'static str> {
    Some(match op {
        Op::CreateTrail
        | Op::UpdateTrail
        | Op::DeleteTrail
        | Op::GetTrail
        | Op::StartLogging
        | Op::StopLogging
        | Op::GetTrailStatus => "Name",
        Op::PutEventSelectors | Op::GetEventSelectors => "TrailName",
        Op::AddTags | Op::RemoveTags => "ResourceId",
        _ => return None,
    })
}

/// The ARN of the trail a name or ARN names, for the authorization question: an ARN as
/// given, a name as its stored trail's ARN (or the ARN it would have in the caller's region).
async fn arn_of(given: &str, ctx: &CallContext, store: &Store) -> Result<String, ServiceError> {
    if given.starts_with("arn:") {
        return Ok(given.to_string());
    }
    let account = &ctx.principal.account_id;
    let stored = model::find(&mut rampart_kit::db::Db::Read(store), account, given).await?;
    Ok(match stored {
        Some(t) => t.arn().to_string(),
        None => model::trail_arn(&ctx.region, account, given),
    })
}

/// The authorization question of a CloudTrail operation: `cloudtrail:<Operation>` on the
/// trail it names, or on `*`.
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let action = format!("cloudtrail:{}", op.name());
    let account = &ctx.principal.account_id;
    if let Some(member) = trail_member(op) {
        let given = opt_str(input, member).unwrap_or_default();
        let arn = arn_of(given, ctx, store).await?;
        return Ok(Some(AuthzRequest::on(&action, arn, account)));
    }
    Ok(match op {
        Op::LookupEvents
        | Op::DescribeTrails
        | Op::ListTrails
        | Op::ListTags
        | Op::ListPublicKeys => Some(AuthzRequest::on_any(&action, account)),
        _ => None,
    })
}
