//! AWS CloudTrail: the record format of every call ([`event`], [`service_event`]), the
//! service's errors, and the event history (`LookupEvents`). The service's table, with trails,
//! is `rampart-trails`, which also needs S3 and KMS (who depend on this crate for the record
//! format).

use rampart_kit::{
    context::CallContext,
    db::Db,
    error::{service_errors, ServiceError},
    input::{opt_int, opt_str},
    json_field::SetField,
};

pub mod event;
pub mod service_event;

use chrono::{DateTime, Utc};
use rampart_store::{LookupAttribute, LookupQuery, StoreError, StoredEvent};
use serde_json::{json, Value};

pub use rampart_model::cloudtrail::Op;

service_errors! {
    /// CloudTrail's errors, named after its codes.
    pub enum CloudTrailError for "cloudtrail" {
        /// A lookup attribute key is unknown, or more than one attribute was given.
        InvalidLookupAttributesException,
        /// The start time is after the end time.
        #[error("Start time must be before end time.")]
        InvalidTimeRangeException,
        /// The pagination token is not one this server issued.
        #[error("Invalid NextToken.")]
        InvalidNextTokenException,
        /// An event category other than `insight`.
        #[error("Invalid EventCategory: {0}")]
        InvalidEventCategoryException(String),
        /// `MaxResults` outside 1..=50.
        #[error("MaxResults must be between 1 and 50.")]
        InvalidMaxResultsException,
        /// No trail of that name or ARN.
        TrailNotFoundException,
        /// A trail of that name exists already.
        TrailAlreadyExistsException,
        /// A trail name that breaks CloudTrail's naming rules.
        InvalidTrailNameException,
        /// A trail ARN that does not parse.
        CloudTrailARNInvalidException,
        /// The destination bucket does not exist.
        S3BucketDoesNotExistException,
        /// The destination bucket's policy does not let CloudTrail write.
        InsufficientS3BucketPolicyException,
        /// The KMS key's policy does not let CloudTrail use it.
        InsufficientEncryptionPolicyException,
        /// A bucket name S3 refuses.
        InvalidS3BucketNameException,
        /// A key prefix CloudTrail refuses.
        InvalidS3PrefixException,
        /// A `KmsKeyId` that names no key.
        KmsKeyNotFoundException,
        /// A disabled KMS key.
        KmsKeyDisabledException,
        /// A malformed `KmsKeyId`.
        InvalidKmsKeyIdException,
        /// Event selectors CloudTrail refuses.
        InvalidEventSelectorsException,
        /// A parameter value CloudTrail refuses.
        InvalidParameterException,
        /// Parameters that do not go together.
        InvalidParameterCombinationException,
        /// Tags CloudTrail refuses.
        InvalidTagParameterException,
        /// More than 50 tags.
        TagsLimitExceededException,
        /// No resource with that id.
        ResourceNotFoundException,
        /// A resource id of a kind that takes no tags here.
        ResourceTypeNotSupportedException,
        /// Five trails per region already.
        MaximumNumberOfTrailsExceededException,
        /// The trail's home region is another one.
        InvalidHomeRegionException,
        /// An organization trail made outside an organization's management account.
        NotOrganizationMasterAccountException,
        /// An organization trail for an account in no organization.
        OrganizationsNotInUseException,
        /// A call CloudTrail does not support here.
        UnsupportedOperationException,
        /// A pagination token this server did not issue.
        InvalidTokenException,
    }
}

/// The page size CloudTrail uses when `MaxResults` is absent, and its largest.
const MAX_RESULTS: u32 = 50;
/// How far back event history (`LookupEvents`) reaches.
const HISTORY_DAYS: i64 = 90;

/// `LookupEvents`.
pub async fn lookup_events(
    input: &Value,
    ctx: &CallContext,
    db: Db<'_>,
) -> Result<Value, ServiceError> {
    let Db::Read(store) = db else {
        return Err(ServiceError::internal());
    };
    let query = lookup_query(input, ctx)?;
    let page = store.lookup_events(&query).await.map_err(|err| match err {
        StoreError::InvalidInput(_) => CloudTrailError::InvalidNextTokenException.into(),
        other => ServiceError::from(other),
    })?;
    // Data events (S3 object calls) are for trails; LookupEvents shows management events.
    let events: Vec<Value> = page
        .events
        .iter()
        .filter(|e| !is_data_event(e))
        .map(event_summary)
        .collect();
    let mut out = json!({ "Events": events });
    if let Some(token) = page.next_token {
        out.set_field("NextToken", json!(token));
    }
    Ok(out)
}

fn lookup_query(input: &Value, ctx: &CallContext) -> Result<LookupQuery, CloudTrailError> {
    if let Some(category) = opt_str(input, "EventCategory") {
        // Insights events are never produced here, so the only valid category finds nothing;
        // AWS accepts `insight` and rejects anything else.
        if category != "insight" {
            return Err(CloudTrailError::InvalidEventCategoryException(
                category.to_string(),
            ));
        }
    }
    let attrs = input
        .get("LookupAttributes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if attrs.len() > 1 {
        return Err(CloudTrailError::InvalidLookupAttributesException(
            "You cannot specify more than one lookup attribute.".into(),
        ));
    }
    let attribute = match attrs.first() {
        None => None,
        Some(a) => {
            let key = opt_str(a, "AttributeKey").unwrap_or("");
            let value = opt_str(a, "AttributeValue").unwrap_or("");
            let parsed = LookupAttribute::parse(key).ok_or_else(|| {
                CloudTrailError::InvalidLookupAttributesException(format!(
                    "Invalid attribute key: {key}"
                ))
            })?;
            Some((parsed, value.to_string()))
        }
    };
    let start_time = timestamp(input.get("StartTime"));
    let end_time = timestamp(input.get("EndTime"));
    if let (Some(s), Some(e)) = (start_time, end_time) {
        if s > e {
            return Err(CloudTrailError::InvalidTimeRangeException);
        }
    }
    // Event history covers the last 90 days, as in AWS: an earlier start finds only what is
    // inside the window (the request clock's, so dev mode can reach its end).
    let oldest = ctx.now - chrono::Duration::days(HISTORY_DAYS);
    let start_time = Some(start_time.map_or(oldest, |s| s.max(oldest)));
    let max_results = match opt_int(input, "MaxResults") {
        None => MAX_RESULTS,
        Some(n) if (1..=i64::from(MAX_RESULTS)).contains(&n) => n as u32,
        Some(_) => return Err(CloudTrailError::InvalidMaxResultsException),
    };
    Ok(LookupQuery {
        account_id: Some(ctx.principal.account_id.clone()),
        attribute,
        start_time,
        end_time,
        max_results,
        next_token: opt_str(input, "NextToken").map(str::to_string),
    })
}

/// Decoded timestamps are epoch seconds (possibly fractional).
fn timestamp(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let secs = v?.as_f64()?;
    DateTime::from_timestamp_millis((secs * 1000.0) as i64)
}

/// Whether a stored record is a data event.
fn is_data_event(e: &StoredEvent) -> bool {
    e.record.event_json.contains("\"eventCategory\":\"Data\"")
}

fn event_summary(e: &StoredEvent) -> Value {
    let r = &e.record;
    let mut out = json!({
        "EventId": r.event_id,
        "EventName": r.event_name,
        "ReadOnly": r.read_only.to_string(),
        "EventTime": r.event_time.timestamp_millis() as f64 / 1000.0,
        "EventSource": r.event_source,
        "Resources": r.resources.iter().map(|res| json!({
            "ResourceType": res.resource_type,
            "ResourceName": res.resource_name,
        })).collect::<Vec<_>>(),
        "CloudTrailEvent": r.event_json,
    });
    if let Some(akid) = &r.access_key_id {
        out.set_field("AccessKeyId", json!(akid));
    }
    if let Some(user) = &r.username {
        out.set_field("Username", json!(user));
    }
    out
}
