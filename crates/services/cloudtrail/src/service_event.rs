//! CloudTrail records of what a service does on its own (`eventType: AwsServiceEvent`): KMS
//! deleting a key at the end of its waiting period or rotating it, Organizations finishing a
//! `CreateAccount`. AWS writes them with `invokedBy: "AWS Internal"` in the resource owner's
//! account and no caller; the background job commits each one with the change it records.

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_store::{AuditRecord, AuditResource};
use serde_json::{json, Value};

use super::event::EVENT_VERSION;

/// What AWS writes for the caller, address and agent of its own work.
pub const AWS_INTERNAL: &str = "AWS Internal";

/// One service event.
#[derive(Debug, Clone)]
pub struct ServiceEvent<'a> {
    /// E.g. `kms.amazonaws.com`.
    pub source: &'a str,
    /// E.g. `DeleteKey`.
    pub name: &'a str,
    /// The account whose trail shows the event (the resource owner).
    pub account_id: &'a str,
    /// The region the work happened in.
    pub region: &'a str,
    /// When it happened (the request clock).
    pub time: DateTime<Utc>,
    /// The resources: (CloudTrail type such as `AWS::KMS::Key`, ARN).
    pub resources: Vec<(&'a str, &'a str)>,
    /// `serviceEventDetails`, for events that carry them.
    pub details: Option<Value>,
}

impl ServiceEvent<'_> {
    /// The audit record, ready to append in the transaction of the change.
    pub fn to_record(&self) -> AuditRecord {
        let event_id = uuid::Uuid::new_v4().to_string();
        let resources: Vec<Value> = self
            .resources
            .iter()
            .map(|(ty, arn)| json!({ "accountId": self.account_id, "type": ty, "ARN": arn }))
            .collect();
        let mut event = json!({
            "eventVersion": EVENT_VERSION,
            "userIdentity": { "accountId": self.account_id, "invokedBy": AWS_INTERNAL },
            "eventTime": self.time.to_rfc3339_opts(SecondsFormat::Secs, true),
            "eventSource": self.source,
            "eventName": self.name,
            "awsRegion": self.region,
            "sourceIPAddress": AWS_INTERNAL,
            "userAgent": AWS_INTERNAL,
            "requestParameters": null,
            "responseElements": null,
            "eventID": event_id,
            "readOnly": false,
            "resources": resources,
            "eventType": "AwsServiceEvent",
            "managementEvent": true,
            "recipientAccountId": self.account_id,
            "eventCategory": "Management",
        });
        if let (Some(details), Some(obj)) = (&self.details, event.as_object_mut()) {
            obj.insert("serviceEventDetails".into(), details.clone());
        }
        AuditRecord {
            event_id,
            event_time: self.time,
            event_name: self.name.to_string(),
            event_source: self.source.to_string(),
            username: None,
            access_key_id: None,
            read_only: false,
            error_code: None,
            account_id: Some(self.account_id.to_string()),
            resources: self
                .resources
                .iter()
                .map(|(ty, arn)| AuditResource {
                    resource_type: Some((*ty).to_string()),
                    resource_name: Some((*arn).to_string()),
                })
                .collect(),
            event_json: event.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_follows_aws_service_events() {
        let arn = "arn:aws:kms:us-east-1:111122223333:key/k";
        let rec = ServiceEvent {
            source: "kms.amazonaws.com",
            name: "RotateKey",
            account_id: "111122223333",
            region: "us-east-1",
            time: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            resources: vec![("AWS::KMS::Key", arn)],
            details: Some(json!({ "rotationType": "AUTOMATIC" })),
        }
        .to_record();
        let v: Value = serde_json::from_str(&rec.event_json).unwrap();
        assert_eq!(v["eventType"], "AwsServiceEvent");
        assert_eq!(v["userIdentity"]["invokedBy"], "AWS Internal");
        assert_eq!(v["userIdentity"]["accountId"], "111122223333");
        assert_eq!(v["resources"][0]["ARN"], arn);
        assert_eq!(v["serviceEventDetails"]["rotationType"], "AUTOMATIC");
        assert_eq!(v["eventID"], rec.event_id.as_str());
        assert_eq!(rec.account_id.as_deref(), Some("111122223333"));
        assert!(!rec.read_only);
    }
}
