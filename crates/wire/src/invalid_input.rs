//! The error a request that breaks its input shape's constraints gets, as each service
//! answers it ([`answer_of`], one line per service with an answer of its own):
//! - most services: the generic `ValidationError`/`ValidationException` with every violation;
//! - Organizations: `InvalidInputException` with a `Reason` naming the first broken
//!   constraint (`INVALID_ENUM`, `INVALID_PATTERN`, `MAX_LENGTH_EXCEEDED`, ...) and that
//!   reason's fixed message, as its API reference lists them;
//! - WAFv2: `WAFInvalidParameterException` with the `Field`, `Parameter` and `Reason` of the
//!   first violation, its message `Error reason: R, field: F, parameter: P`;
//! - GuardDuty: `BadRequestException` naming the first member whose value is invalid.

use crate::error::ApiError;
use crate::validate::{validation_message, Constraint, Violation};
use rampart_model::Service;

/// How a service answers input that breaks its shapes' constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// `ValidationError` (awsQuery) / `ValidationException` with every violation.
    Generic,
    /// Organizations' `InvalidInputException` with a `Reason`.
    Organizations,
    /// WAFv2's `WAFInvalidParameterException`.
    Waf,
    /// GuardDuty's `BadRequestException`.
    GuardDuty,
}

/// The answer of `service` (by its model name).
fn answer_of(service: &str) -> Answer {
    match service {
        "organizations" => Answer::Organizations,
        "wafv2" => Answer::Waf,
        "guardduty" => Answer::GuardDuty,
        _ => Answer::Generic,
    }
}

/// The answer to `violations` (non-empty) of a request to `service`.
pub(crate) fn constraint_error(service: &Service, violations: &[Violation]) -> ApiError {
    let generic = || ApiError::validation(service.protocol, validation_message(violations));
    let Some(first) = violations.first() else {
        return generic();
    };
    match answer_of(service.name) {
        Answer::Generic => generic(),
        Answer::Organizations => organizations(service, first).unwrap_or_else(generic),
        Answer::Waf => waf(service, first),
        Answer::GuardDuty => guardduty(service, first),
    }
}

/// Organizations' answer to its first violation; `None` for a value of the wrong type, which
/// keeps the generic answer. A policy target id off its pattern has its own reason.
fn organizations(service: &Service, first: &Violation) -> Option<ApiError> {
    let (reason, message) = match first.constraint {
        Constraint::Required => (
            "INPUT_REQUIRED",
            "You must include a value for all required parameters.",
        ),
        Constraint::Enum => ("INVALID_ENUM", "You specified an invalid value."),
        Constraint::Pattern if first.path == "targetId" => (
            "INVALID_PATTERN_TARGET_ID",
            "You specified a policy target ID that doesn't match the required pattern.",
        ),
        Constraint::Pattern => (
            "INVALID_PATTERN",
            "You provided a value that does not match the required pattern.",
        ),
        Constraint::MaxLength => (
            "MAX_LENGTH_EXCEEDED",
            "You provided a string parameter that is longer than allowed.",
        ),
        Constraint::MinLength => (
            "MIN_LENGTH_EXCEEDED",
            "You provided a string parameter that is shorter than allowed.",
        ),
        Constraint::MaxValue => (
            "MAX_VALUE_EXCEEDED",
            "You provided a numeric parameter that has a larger value than allowed.",
        ),
        Constraint::MinValue => (
            "MIN_VALUE_EXCEEDED",
            "You provided a numeric parameter that has a smaller value than allowed.",
        ),
        Constraint::Type | Constraint::Depth => return None,
    };
    let mut err = ApiError::from_code(service, "InvalidInputException", message);
    err.reason = Some(reason.to_string());
    Some(err)
}

/// WAFv2's answer to its first violation: the member's `Field` (WAF's
/// `ParameterExceptionField` name), the value given as `Parameter` (the member's name when
/// the value is missing, composite or sensitive), and a `Reason`.
fn waf(service: &Service, first: &Violation) -> ApiError {
    let field = waf_field(first);
    let parameter = first
        .value
        .clone()
        .unwrap_or_else(|| first.member.to_string());
    let reason = match first.constraint {
        Constraint::Enum | Constraint::Pattern | Constraint::Type | Constraint::Depth => {
            "The parameter contains formatting that is not valid."
        }
        Constraint::MinLength | Constraint::MaxLength => {
            "The parameter length is not within the allowed range."
        }
        Constraint::MinValue | Constraint::MaxValue => {
            "The parameter value is not within the allowed range."
        }
        Constraint::Required => "A required parameter is missing.",
    };
    let message = format!("Error reason: {reason}, field: {field}, parameter: {parameter}");
    let mut err = ApiError::from_code(service, "WAFInvalidParameterException", message);
    err.reason = Some(reason.to_string());
    err.details = Box::new([
        ("Field".to_string(), field),
        ("Parameter".to_string(), parameter),
    ]);
    err
}

/// Members whose `Field` is not their name in upper snake case.
const WAF_FIELDS: [(&str, &str); 6] = [
    ("Scope", "SCOPE_VALUE"),
    ("Addresses", "IP_ADDRESS"),
    ("TextTransformations", "TEXT_TRANSFORMATION"),
    ("ContentType", "RESPONSE_CONTENT_TYPE"),
    ("InvalidFallbackBehavior", "BODY_PARSING_FALLBACK_BEHAVIOR"),
    ("LogDestinationConfigs", "LOG_DESTINATION"),
];

/// The `Field` of a violation: from the table, a text transformation's `Type` as
/// `TEXT_TRANSFORMATION`, else the member's name in upper snake case (`IPAddressVersion` ->
/// `IP_ADDRESS_VERSION`, `DefaultAction` -> `DEFAULT_ACTION`).
fn waf_field(v: &Violation) -> String {
    if v.member == "Type" && v.path.contains("textTransformations.") {
        return "TEXT_TRANSFORMATION".into();
    }
    if let Some((_, field)) = WAF_FIELDS.iter().find(|(m, _)| *m == v.member) {
        return (*field).to_string();
    }
    upper_snake(v.member)
}

/// `IPAddressVersion` -> `IP_ADDRESS_VERSION`: a break before an upper-case letter that
/// follows a lower-case one or digit, or that starts a word after an acronym.
fn upper_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p));
        let next = chars.get(i + 1);
        let starts_word = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if starts_word {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// GuardDuty's answer to its first violation: `BadRequestException` naming the member whose
/// value is invalid, or, for a missing member, its message for an invalid input value.
fn guardduty(service: &Service, first: &Violation) -> ApiError {
    let message = match first.constraint {
        Constraint::Required => "The request is rejected because an invalid or out-of-range value is specified as an input parameter.".to_string(),
        _ => format!(
            "The request is rejected because the parameter {} has an invalid value.",
            crate::validate::path_name(first.member)
        ),
    };
    ApiError::from_code(service, "BadRequestException", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(
        path: &str,
        member: &'static str,
        constraint: Constraint,
        text: &str,
    ) -> Violation {
        Violation {
            path: path.to_string(),
            member,
            constraint,
            value: Some("x".to_string()),
            text: text.to_string(),
        }
    }

    fn answer(service: &str, v: Violation) -> ApiError {
        let service = rampart_model::service(service).unwrap();
        constraint_error(service, &[v])
    }

    #[test]
    fn organizations_names_the_first_broken_constraint() {
        let enum_err = answer(
            "organizations",
            violation("filter", "Filter", Constraint::Enum, "enum"),
        );
        assert_eq!(enum_err.code, "InvalidInputException");
        assert_eq!(enum_err.status, 400);
        assert_eq!(enum_err.reason.as_deref(), Some("INVALID_ENUM"));
        assert_eq!(enum_err.message, "You specified an invalid value.");
        let target = answer(
            "organizations",
            violation("targetId", "TargetId", Constraint::Pattern, "pattern"),
        );
        assert_eq!(target.reason.as_deref(), Some("INVALID_PATTERN_TARGET_ID"));
        let long = answer(
            "organizations",
            violation("name", "Name", Constraint::MaxLength, "long"),
        );
        assert_eq!(long.reason.as_deref(), Some("MAX_LENGTH_EXCEEDED"));
        let typed = answer(
            "organizations",
            violation("name", "Name", Constraint::Type, "typed"),
        );
        assert_eq!(typed.code, "ValidationException");
    }

    #[test]
    fn waf_names_field_parameter_and_reason() {
        let err = answer(
            "wafv2",
            violation("scope", "Scope", Constraint::Enum, "enum"),
        );
        assert_eq!(
            (err.code.as_str(), err.status),
            ("WAFInvalidParameterException", 400)
        );
        let reason = "The parameter contains formatting that is not valid.";
        assert_eq!(err.reason.as_deref(), Some(reason));
        assert_eq!(
            err.details.to_vec(),
            vec![
                ("Field".to_string(), "SCOPE_VALUE".to_string()),
                ("Parameter".to_string(), "x".to_string()),
            ]
        );
        assert_eq!(
            err.message,
            format!("Error reason: {reason}, field: SCOPE_VALUE, parameter: x")
        );
        let mut missing = violation("name", "Name", Constraint::Required, "null");
        missing.value = None;
        let err = answer("wafv2", missing);
        assert!(
            err.message.ends_with("field: NAME, parameter: Name"),
            "{}",
            err.message
        );
    }

    #[test]
    fn waf_fields_are_upper_snake_names() {
        assert_eq!(upper_snake("IPAddressVersion"), "IP_ADDRESS_VERSION");
        assert_eq!(upper_snake("DefaultAction"), "DEFAULT_ACTION");
        assert_eq!(upper_snake("ResourceArn"), "RESOURCE_ARN");
        assert_eq!(upper_snake("Name"), "NAME");
        let t = violation(
            "rules.1.member.statement.byteMatchStatement.textTransformations.1.member.type",
            "Type",
            Constraint::Enum,
            "enum",
        );
        assert_eq!(waf_field(&t), "TEXT_TRANSFORMATION");
    }

    #[test]
    fn guardduty_answers_bad_request() {
        let err = answer(
            "guardduty",
            violation(
                "findingPublishingFrequency",
                "FindingPublishingFrequency",
                Constraint::Enum,
                "e",
            ),
        );
        assert_eq!(
            (err.code.as_str(), err.status),
            ("BadRequestException", 400)
        );
        assert_eq!(
            err.message,
            "The request is rejected because the parameter findingPublishingFrequency has an invalid value."
        );
    }

    #[test]
    fn other_services_keep_the_generic_answer() {
        let v = "Value 'x' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [A]";
        let err = answer("kms", violation("keySpec", "KeySpec", Constraint::Enum, v));
        assert_eq!(err.code, "ValidationException");
        assert_eq!(err.message, format!("1 validation error detected: {v}"));
        assert_eq!(err.reason, None);
        let detective = answer(
            "detective",
            violation("graphArn", "GraphArn", Constraint::Pattern, v),
        );
        assert_eq!(detective.code, "ValidationException");
    }
}
