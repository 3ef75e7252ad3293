//! GuardDuty's errors, named after its error codes.

use rampart_kit::error::service_errors;

service_errors! {
    /// An error of a GuardDuty operation.
    pub enum GuardDutyError for "guardduty" {
        /// The input is not valid, or names a resource the caller's account does not own
        /// (GuardDuty answers a missing detector, set or finding this way).
        BadRequestException,
        /// The caller may not do this (reading a threat list's object).
        AccessDeniedException,
        /// An internal failure.
        InternalServerErrorException,
    }
}

impl GuardDutyError {
    /// AWS's message for an input value out of range.
    pub fn invalid_input() -> GuardDutyError {
        GuardDutyError::BadRequestException(
            "The request is rejected because an invalid or out-of-range value is specified as an input parameter.".into(),
        )
    }

    /// AWS's message for a detector id the account does not own.
    pub fn detector_not_owned() -> GuardDutyError {
        GuardDutyError::BadRequestException(
            "The request is rejected because the input detectorId is not owned by the current account.".into(),
        )
    }
}
