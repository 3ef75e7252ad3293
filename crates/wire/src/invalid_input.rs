//! The error a request that breaks its input shape's constraints gets. Most services answer
//! the generic `ValidationError`/`ValidationException` with every violation; Organizations
//! answers its own `InvalidInputException` with a `Reason` naming the first broken
//! constraint (`INVALID_ENUM`, `INVALID_PATTERN`, `MAX_LENGTH_EXCEEDED`, ...) and that
//! reason's fixed message, as its API reference lists them.

use crate::error::ApiError;
use crate::validate::validation_message;
use rampart_model::Service;

/// The answer to `violations` (non-empty, as `validate` words them) of a request to `service`.
pub(crate) fn constraint_error(service: &Service, violations: &[String]) -> ApiError {
    let first = violations.first().map(String::as_str).unwrap_or_default();
    match (service.name, organizations_reason(first)) {
        ("organizations", Some((reason, message))) => {
            let mut err = ApiError::from_code(service, "InvalidInputException", message);
            err.reason = Some(reason.to_string());
            err
        }
        _ => ApiError::validation(service.protocol, validation_message(violations)),
    }
}

/// Organizations' reasons by the start of the broken constraint (as `validate` words it): the
/// reason and the message AWS answers with it.
const REASONS: [(&str, &str, &str); 7] = [
    (
        "not be null",
        "INPUT_REQUIRED",
        "You must include a value for all required parameters.",
    ),
    (
        "satisfy enum value set",
        "INVALID_ENUM",
        "You specified an invalid value.",
    ),
    (
        "satisfy regular expression pattern",
        "INVALID_PATTERN",
        "You provided a value that does not match the required pattern.",
    ),
    (
        "have length less than",
        "MAX_LENGTH_EXCEEDED",
        "You provided a string parameter that is longer than allowed.",
    ),
    (
        "have length greater than",
        "MIN_LENGTH_EXCEEDED",
        "You provided a string parameter that is shorter than allowed.",
    ),
    (
        "have value less than",
        "MAX_VALUE_EXCEEDED",
        "You provided a numeric parameter that has a larger value than allowed.",
    ),
    (
        "have value greater than",
        "MIN_VALUE_EXCEEDED",
        "You provided a numeric parameter that has a smaller value than allowed.",
    ),
];

/// Organizations' reason and message for one violation; `None` for a value of the wrong
/// type, which keeps the generic answer. A policy target id off its pattern has its own reason.
fn organizations_reason(violation: &str) -> Option<(&'static str, &'static str)> {
    let constraint = violation.split("Member must ").nth(1)?;
    let (_, reason, message) = REASONS
        .iter()
        .find(|(start, _, _)| constraint.starts_with(start))?;
    if *reason == "INVALID_PATTERN" && violation.contains(" at 'targetId' ") {
        return Some((
            "INVALID_PATTERN_TARGET_ID",
            "You specified a policy target ID that doesn't match the required pattern.",
        ));
    }
    Some((reason, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(service: &str, violation: &str) -> ApiError {
        let service = rampart_model::service(service).unwrap();
        constraint_error(service, &[violation.to_string()])
    }

    #[test]
    fn organizations_names_the_first_broken_constraint() {
        let enum_err = answer(
            "organizations",
            "Value 'MOTO' at 'filter' failed to satisfy constraint: Member must satisfy enum value set: [A, B]",
        );
        assert_eq!(enum_err.code, "InvalidInputException");
        assert_eq!(enum_err.status, 400);
        assert_eq!(enum_err.reason.as_deref(), Some("INVALID_ENUM"));
        assert_eq!(enum_err.message, "You specified an invalid value.");
        let target = answer(
            "organizations",
            "Value 'x' at 'targetId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^r-.*$",
        );
        assert_eq!(target.reason.as_deref(), Some("INVALID_PATTERN_TARGET_ID"));
        let long = answer(
            "organizations",
            "Value 'xx' at 'name' failed to satisfy constraint: Member must have length less than or equal to 1",
        );
        assert_eq!(long.reason.as_deref(), Some("MAX_LENGTH_EXCEEDED"));
        let typed = answer(
            "organizations",
            "Value at 'name' failed to satisfy constraint: Member must be a string",
        );
        assert_eq!(typed.code, "ValidationException");
    }

    #[test]
    fn other_services_keep_the_generic_answer() {
        let v = "Value 'x' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [A]";
        let err = answer("kms", v);
        assert_eq!(err.code, "ValidationException");
        assert_eq!(err.message, format!("1 validation error detected: {v}"));
        assert_eq!(err.reason, None);
    }
}
