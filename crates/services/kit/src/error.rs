//! The error every handler returns: an AWS error code and its message.
//!
//! Each service defines its error enum with [`service_errors!`]: a thiserror enum named after
//! its AWS error codes that converts into [`ServiceError`], with the list of its codes so the
//! tests check every one against the service's botocore model. The wire layer renders a
//! [`ServiceError`] once per protocol, taking the HTTP status from the model.

/// An AWS error: the code clients match on and the message they show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// AWS's error code (`NoSuchEntity`, `ValidationError`, ...).
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
    /// Whether the caller is at fault (`Sender`) rather than the server (`Receiver`).
    pub sender_fault: bool,
    /// The `Reason` member of errors AWS models with one (Organizations).
    pub reason: Option<&'static str>,
    /// Further members of the error document where AWS adds them (S3's `Region` on a
    /// request signed for the wrong region, `BucketName`, ...).
    pub details: Vec<(&'static str, String)>,
}

impl ServiceError {
    /// A client-side error.
    pub fn sender(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError {
            code,
            message: message.into(),
            sender_fault: true,
            reason: None,
            details: Vec::new(),
        }
    }

    /// The same error with a further member of its document.
    pub fn with_detail(mut self, name: &'static str, value: impl Into<String>) -> ServiceError {
        self.details.push((name, value.into()));
        self
    }

    /// The same error with AWS's `Reason` member.
    pub fn with_reason(self, reason: &'static str) -> ServiceError {
        ServiceError {
            reason: Some(reason),
            ..self
        }
    }

    /// A server-side failure; the message never carries internal details.
    pub fn internal() -> ServiceError {
        ServiceError {
            code: "InternalFailure",
            message: "The request processing has failed because of an unknown error, exception or failure.".into(),
            sender_fault: false,
            reason: None,
            details: Vec::new(),
        }
    }

    /// An input that fails AWS's validation (`ValidationError` in awsQuery services).
    pub fn validation(message: impl Into<String>) -> ServiceError {
        ServiceError::sender("ValidationError", message)
    }
}

/// The codes built from string literals rather than a service enum: the constructors above,
/// `not_implemented` and IAM's session-token gate (`InvalidClientTokenId`). All are
/// AWS common errors; the tests check each against the common-error table and check the
/// crate's source for any other literal.
pub const LITERAL_CODES: &[&str] = &[
    "InternalFailure",
    "ValidationError",
    "NotImplemented",
    "InvalidClientTokenId",
];

/// Whether error `code` of `service` is the caller's fault: the model's error table, else AWS's
/// common errors, else the caller's (as the wire layer renders an unknown code).
#[doc(hidden)]
pub fn model_sender_fault(service: &str, code: &str) -> bool {
    rampart_model::service(service)
        .and_then(|s| s.error_status(code))
        .or_else(|| rampart_model::default_status(code))
        .is_none_or(|(_, sender_fault)| sender_fault)
}

/// Defines a service's error enum: one variant per AWS error code, named after it.
///
/// ```ignore
/// service_errors! {
///     /// An error of a KMS operation.
///     pub enum KmsError for "kms" {
///         /// A variant with only doc comments holds its message (`KmsError::NotFoundException(m)`).
///         NotFoundException,
///         /// Any other variant is taken as written, with its own `#[error]`.
///         #[error("Invalid EventCategory: {0}")]
///         InvalidEventCategoryException(String),
///     }
/// }
/// ```
///
/// Besides the enum (`Debug, Clone, PartialEq, Eq, thiserror::Error`) it defines `SERVICE` (the
/// botocore model name), `CODES` (every variant's code), `code()`, and `From<_> for
/// ServiceError` with the fault the model gives the code. `reason = path` names a function
/// `fn(&Enum) -> Option<&'static str>` that gives AWS's `Reason` member (Organizations);
/// `details = path` a function `fn(&Enum) -> Vec<(&'static str, String)>` giving further members
/// of the error document (S3's `Region`).
#[macro_export]
macro_rules! service_errors {
    // Every variant normalised: emit the enum and its impls.
    (@emit
        $(#[$meta:meta])*
        $vis:vis enum $name:ident for $service:literal $(, reason = $reason:path)? $(, details = $details:path)? {
            $($(#[$vmeta:meta])* $variant:ident $(($($field:ty),*))?;)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, ::thiserror::Error)]
        $vis enum $name {
            $($(#[$vmeta])* $variant $(($($field),*))?,)*
        }

        impl $name {
            /// The botocore model whose error table lists these codes.
            pub const SERVICE: &'static str = $service;
            /// Every variant's AWS error code.
            pub const CODES: &'static [&'static str] = &[$(stringify!($variant)),*];

            /// AWS's error code.
            pub fn code(&self) -> &'static str {
                match self {
                    $($name::$variant { .. } => stringify!($variant),)*
                }
            }

            /// One value of every variant, fields defaulted (for the model checks).
            #[doc(hidden)]
            pub fn every_variant() -> Vec<$name> {
                vec![$($name::$variant $(($(<$field as Default>::default()),*))?),*]
            }
        }

        impl From<$name> for $crate::error::ServiceError {
            fn from(err: $name) -> $crate::error::ServiceError {
                let code = err.code();
                let reason: Option<&'static str> = None $(.or_else(|| $reason(&err)))?;
                #[allow(unused_mut)]
                let mut details: Vec<(&'static str, String)> = Vec::new();
                $(details = $details(&err);)?
                $crate::error::ServiceError {
                    code,
                    message: err.to_string(),
                    sender_fault: $crate::error::model_sender_fault($service, code),
                    reason,
                    details,
                }
            }
        }
    };
    // All variants read.
    (@munch ($($head:tt)*) [$($done:tt)*]) => {
        $crate::service_errors!(@emit $($head)* { $($done)* });
    };
    // A variant with only doc comments and no fields holds its message.
    (@munch $head:tt [$($done:tt)*]
        $(#[doc = $doc:literal])* $variant:ident $(, $($rest:tt)*)?
    ) => {
        $crate::service_errors!(@munch $head
            [$($done)* $(#[doc = $doc])* #[error("{0}")] $variant(String);]
            $($($rest)*)?
        );
    };
    // Any other variant is taken as written.
    (@munch $head:tt [$($done:tt)*]
        $(#[$vmeta:meta])* $variant:ident $(($($field:ty),* $(,)?))? $(, $($rest:tt)*)?
    ) => {
        $crate::service_errors!(@munch $head
            [$($done)* $(#[$vmeta])* $variant $(($($field),*))?;]
            $($($rest)*)?
        );
    };
    // The entry: read the variants one at a time.
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident for $service:literal $(, reason = $reason:path)? $(, details = $details:path)? {
            $($body:tt)*
        }
    ) => {
        $crate::service_errors!(@munch
            ($(#[$meta])* $vis enum $name for $service $(, reason = $reason)? $(, details = $details)?)
            []
            $($body)*
        );
    };
}
pub use crate::service_errors;

impl From<rampart_store::StoreError> for ServiceError {
    fn from(err: rampart_store::StoreError) -> ServiceError {
        tracing::error!(error = %err, "store failure");
        ServiceError::internal()
    }
}

/// The error for a modelled operation that Rampart does not implement yet.
pub fn not_implemented(service: &str, operation: &str) -> ServiceError {
    ServiceError {
        code: "NotImplemented",
        message: format!("{service}:{operation} is not implemented by Rampart yet."),
        sender_fault: false,
        reason: None,
        details: Vec::new(),
    }
}
