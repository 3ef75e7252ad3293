//! AWS wire protocols for Rampart: awsQuery (IAM, STS, ELBv2: form in, XML out), awsJson 1.0/1.1
//! (KMS, Organizations, Config, ...: `X-Amz-Target`, JSON in and out), restJson1 (GuardDuty,
//! Access Analyzer, ...: method + URI template, members bound to path, query, headers and JSON
//! body) and restXml (S3: the same bindings with XML bodies and streaming object data), driven
//! by the generated model tables in `rampart-model`.
//!
//! The in-memory form of every input and output is a [`serde_json::Value`] keyed by AWS member
//! names (`{"UserName": "alice", "Tags": [{"Key": "k", "Value": "v"}]}`):
//! structures and maps are objects, lists are arrays, strings are strings, integers and longs are
//! integers, floats and doubles are numbers, booleans are booleans, blobs are **base64 strings**
//! and timestamps are **epoch seconds** (a number; outputs may also carry an RFC 3339 string).
//! Decoded inputs hold only modelled members, with `null`s dropped.
//!
//! This crate never sees HTTP framework types: it takes bytes and header values as `&str` and
//! returns a [`WireResponse`] (status, headers, body).

mod error;
mod invalid_input;
mod json;
mod query_decode;
mod query_encode;
mod request;
mod rest_json;
mod rest_xml;
mod route;
mod time;
mod uri_template;
mod validate;
mod xml_tree;

pub use error::{
    default_status, encode_error, encode_error_protocol, ApiError, CommonError, EncodeError,
};
pub use json::{decode_json, encode_json_output, JSON_CONTENT_TYPE_PREFIX};
pub use query_decode::{decode_query, parse_form, FormParams};
pub use query_encode::{encode_query_output, escape_xml};
pub use rampart_model::{Operation, Protocol, Service};
pub use request::{
    decode_request, default_virtual_host_domains, identify, DecodeFailure, Decoded, HttpRequest,
};
pub use rest_json::{decode_rest_json, encode_rest_json_output};
pub use rest_xml::{
    decode_rest_xml, encode_rest_xml_output, find_rest_xml_operation, malformed_xml,
    virtual_host_bucket, REST_XML_CONTENT_TYPE,
};
pub use route::{route, RouteInput};
pub use uri_template::{find_operation, UriMatch};
pub use validate::{validate, validation_message, Constraint, Violation};

/// A response header the wire layer sets. Typed, so the HTTP layer maps each to its header
/// name without parsing (or allocating) a name per response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireHeader {
    /// `Content-Type`.
    ContentType,
    /// `x-amzn-RequestId`.
    RequestId,
    /// `x-amzn-ErrorType` (JSON protocol errors).
    ErrorType,
    /// A header an output member is bound to in restJson1 and restXml (its name from the
    /// model), or a fixed protocol header (S3's `x-amz-request-id`, `x-amz-id-2`).
    Named(&'static str),
    /// A header whose name is built per response: a prefix-header map's entries (S3's
    /// `x-amz-meta-*` from `Metadata`).
    Owned(String),
}

impl WireHeader {
    /// The header's name as AWS writes it.
    pub fn name(&self) -> &str {
        match self {
            WireHeader::ContentType => "Content-Type",
            WireHeader::RequestId => "x-amzn-RequestId",
            WireHeader::ErrorType => "x-amzn-ErrorType",
            WireHeader::Named(name) => name,
            WireHeader::Owned(name) => name,
        }
    }
}

/// A protocol-level HTTP response: status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (name, value).
    pub headers: Vec<(WireHeader, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

impl WireResponse {
    /// Splits the response into `(status, headers, body)`.
    pub fn into_parts(self) -> (u16, Vec<(WireHeader, String)>, Vec<u8>) {
        (self.status, self.headers, self.body)
    }

    /// The value of header `h`, if set.
    pub fn header(&self, h: WireHeader) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| *name == h)
            .map(|(_, v)| v.as_str())
    }
}

/// Encodes a successful operation's output in its service's protocol.
pub fn encode_output(
    service: &'static Service,
    operation: &'static Operation,
    output: &serde_json::Value,
    request_id: &str,
) -> Result<WireResponse, EncodeError> {
    match service.protocol {
        Protocol::Query => encode_query_output(service, operation, output, request_id),
        Protocol::Json => encode_json_output(service, operation, output, request_id),
        Protocol::RestJson => encode_rest_json_output(service, operation, output, request_id),
        Protocol::RestXml => encode_rest_xml_output(service, operation, output, request_id),
    }
}
