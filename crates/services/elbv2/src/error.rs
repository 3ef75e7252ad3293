//! Elastic Load Balancing's errors, named after its awsQuery error codes.

use rampart_kit::error::{service_errors, ServiceError};

service_errors! {
    /// An error of an Elastic Load Balancing operation.
    pub enum ElbError for "elbv2" {
        /// A load balancer with this name exists.
        DuplicateLoadBalancerName,
        /// A target group with this name exists.
        DuplicateTargetGroupName,
        /// The load balancer has a listener on this port.
        DuplicateListener,
        /// A tag key is given twice.
        DuplicateTagKeys,
        /// The load balancer does not exist.
        LoadBalancerNotFound,
        /// The target group does not exist.
        TargetGroupNotFound,
        /// The listener does not exist.
        ListenerNotFound,
        /// The rule does not exist.
        RuleNotFound,
        /// The listener has a rule at this priority.
        PriorityInUse,
        /// The target group is in use by a listener or rule.
        ResourceInUse,
        /// The target is not valid for the group.
        InvalidTarget,
        /// The request is not valid for the resource's configuration.
        InvalidConfigurationRequest,
        /// An action is not valid.
        InvalidLoadBalancerAction,
        /// The protocol is not supported.
        UnsupportedProtocol,
        /// The resource has too many tags.
        TooManyTags,
        /// The certificate does not exist.
        CertificateNotFound,
        /// The security policy does not exist.
        SSLPolicyNotFound,
        /// The listener has too many certificates.
        TooManyCertificates,
        /// The operation is not permitted.
        OperationNotPermitted,
        /// A member is not valid.
        ValidationError,
        /// An internal failure (AWS's common error).
        InternalFailure,
    }
}

impl From<rampart_store::StoreError> for ElbError {
    fn from(err: rampart_store::StoreError) -> ElbError {
        tracing::error!(error = %err, "elbv2 store failure");
        ElbError::internal()
    }
}

impl From<ServiceError> for ElbError {
    fn from(err: ServiceError) -> ElbError {
        tracing::error!(code = err.code, "elbv2: a kit call failed");
        ElbError::internal()
    }
}

impl ElbError {
    /// An internal failure, whose message carries no detail.
    pub fn internal() -> ElbError {
        ElbError::InternalFailure("An internal error occurred.".into())
    }

    /// A member that is not valid (`ValidationError`).
    pub fn invalid(message: impl Into<String>) -> ElbError {
        ElbError::ValidationError(message.into())
    }
}

/// A `Result` of an Elastic Load Balancing operation.
pub type ElbResult<T> = Result<T, ElbError>;
