//! AWS Config's errors, named after its error codes.

use rampart_kit::error::{service_errors, ServiceError};

service_errors! {
    /// An error of an AWS Config operation.
    pub enum ConfigError for "config" {
        /// No configuration recorder exists in the region.
        NoAvailableConfigurationRecorderException,
        /// No configuration recorder is running (`DeliverConfigSnapshot`).
        NoRunningConfigurationRecorderException,
        /// The named configuration recorder does not exist.
        NoSuchConfigurationRecorderException,
        /// The recording group is not valid.
        InvalidRecordingGroupException,
        /// The recorder's name is not valid.
        InvalidConfigurationRecorderNameException,
        /// The role ARN is not valid.
        InvalidRoleException,
        /// The account already has its one configuration recorder.
        MaxNumberOfConfigurationRecordersExceededException,
        /// Starting a recorder needs a delivery channel.
        NoAvailableDeliveryChannelException,
        /// The named delivery channel does not exist.
        NoSuchDeliveryChannelException,
        /// The delivery channel's name is not valid.
        InvalidDeliveryChannelNameException,
        /// The account already has its one delivery channel.
        MaxNumberOfDeliveryChannelsExceededException,
        /// The delivery bucket does not exist.
        NoSuchBucketException,
        /// The delivery channel cannot go while the recorder runs.
        LastDeliveryChannelDeleteFailedException,
        /// The S3 key prefix is not valid.
        InvalidS3KeyPrefixException,
        /// The named rule does not exist.
        NoSuchConfigRuleException,
        /// A member's value is not valid.
        InvalidParameterValueException,
        /// The limit is out of range.
        InvalidLimitException,
        /// The next token is not one Config gave.
        InvalidNextTokenException,
        /// The time range is not valid.
        InvalidTimeRangeException,
        /// The resource was never recorded.
        ResourceNotDiscoveredException,
        /// The resource is in use (a rule being deleted, ...).
        ResourceInUseException,
        /// The account has its maximum number of rules.
        MaxNumberOfConfigRulesExceededException,
        /// Evaluations were started too recently.
        LimitExceededException,
        /// The request is not valid.
        ValidationException,
        /// The query expression is not valid.
        InvalidExpressionException,
        /// The named conformance pack does not exist.
        NoSuchConformancePackException,
        /// The conformance pack template is not valid.
        ConformancePackTemplateValidationException,
        /// The rule is not one of the conformance pack's.
        NoSuchConfigRuleInConformancePackException,
        /// The account has its maximum number of conformance packs.
        MaxNumberOfConformancePacksExceededException,
        /// The caller lacks a permission the operation needs.
        InsufficientPermissionsException,
        /// The named configuration aggregator does not exist.
        NoSuchConfigurationAggregatorException,
        /// The caller may not aggregate the organization.
        OrganizationAccessDeniedException,
        /// The caller is in no organization.
        NoAvailableOrganizationException,
        /// The organization does not have all features enabled.
        OrganizationAllFeaturesNotEnabledException,
        /// The rule has no remediation configuration.
        NoSuchRemediationConfigurationException,
        /// A remediation execution is queued or running.
        RemediationInProgressException,
        /// A `PutEvaluations` result token that is forged, altered, of another account or
        /// expired.
        InvalidResultTokenException,
        /// An internal failure.
        InternalFailure,
    }
}

impl ConfigError {
    /// The internal failure, whose message carries no detail.
    pub fn internal() -> ConfigError {
        ConfigError::InternalFailure("An internal error occurred.".into())
    }

    /// A member whose value is not valid (`InvalidParameterValueException`).
    pub fn invalid(message: impl Into<String>) -> ConfigError {
        ConfigError::InvalidParameterValueException(message.into())
    }
}

impl From<rampart_store::StoreError> for ConfigError {
    fn from(err: rampart_store::StoreError) -> ConfigError {
        tracing::error!(error = %err, "config store failure");
        ConfigError::internal()
    }
}

impl From<ServiceError> for ConfigError {
    fn from(err: ServiceError) -> ConfigError {
        tracing::error!(code = err.code, "config: a kit call failed");
        ConfigError::internal()
    }
}

/// A `Result` of an AWS Config operation.
pub type ConfigResult<T> = Result<T, ConfigError>;
