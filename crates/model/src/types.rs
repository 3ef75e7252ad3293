//! The table types the generated files fill in, and their lookups.

/// Index of a shape in [`Service::shapes`].
pub type ShapeId = u16;

/// The wire protocol a service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// awsQuery: form-encoded request, XML response (IAM, STS).
    Query,
    /// awsJson (1.0 or 1.1 per [`Service::json_version`]): `X-Amz-Target` plus JSON body.
    Json,
    /// restJson1: the operation is the HTTP method plus a URI template ([`Operation::http`]);
    /// members bind to the path, query string, headers and JSON body ([`Member::location`]).
    RestJson,
    /// restXml (S3): routed like restJson1 ([`Operation::http`], [`Member::location`]); XML
    /// bodies named by [`Member::location_name`], in [`Service::xml_namespace`].
    RestXml,
}

impl Protocol {
    /// True for the protocols whose errors and bodies are JSON (awsJson and restJson1): they
    /// share the `...Exception` spelling of the common errors.
    pub fn is_json(self) -> bool {
        matches!(self, Protocol::Json | Protocol::RestJson)
    }
}

/// A service's model: metadata and its sorted tables.
#[derive(Debug)]
pub struct Service {
    /// Model name, botocore's directory name (`iam`, `kms`, ...).
    pub name: &'static str,
    /// The `serviceId` (`IAM`, `Secrets Manager`, ...).
    pub service_id: &'static str,
    /// The wire protocol.
    pub protocol: Protocol,
    /// The API version (`Version=` in awsQuery requests).
    pub api_version: &'static str,
    /// The SigV4 signing name (credential scope service).
    pub signing_name: &'static str,
    /// The endpoint prefix (host label).
    pub endpoint_prefix: &'static str,
    /// The `X-Amz-Target` prefix for awsJson services.
    pub target_prefix: Option<&'static str>,
    /// The awsJson version (`1.0` or `1.1`).
    pub json_version: Option<&'static str>,
    /// The XML namespace of awsQuery responses (restXml: of the XML bodies, from the payload
    /// members' `xmlNamespace` when the model names none for the service).
    pub xml_namespace: Option<&'static str>,
    /// Operations sorted by name.
    pub operations: &'static [Operation],
    /// Shapes sorted by name; a [`ShapeId`] indexes this array.
    pub shapes: &'static [Shape],
    /// Errors sorted by code.
    pub errors: &'static [ErrorInfo],
}

impl Service {
    /// The operation with this exact name.
    pub fn operation(&self, name: &str) -> Option<&'static Operation> {
        let ops = self.operations;
        ops.binary_search_by(|o| o.name.cmp(name))
            .ok()
            .and_then(|i| ops.get(i))
    }

    /// The shape with this id. Ids from this service's tables are always in range; an
    /// out-of-range id returns an empty placeholder string shape rather than panicking.
    pub fn shape(&self, id: ShapeId) -> &'static Shape {
        static MISSING: Shape = build::shape("", ShapeKind::String);
        self.shapes.get(id as usize).unwrap_or(&MISSING)
    }

    /// The shape with this name.
    pub fn shape_by_name(&self, name: &str) -> Option<&'static Shape> {
        let shapes = self.shapes;
        shapes
            .binary_search_by(|s| s.name.cmp(name))
            .ok()
            .and_then(|i| shapes.get(i))
    }

    /// The error with this wire code (`NoSuchEntity`, `NotFoundException`, ...).
    pub fn error(&self, code: &str) -> Option<&'static ErrorInfo> {
        let errors = self.errors;
        errors
            .binary_search_by(|e| e.code.cmp(code))
            .ok()
            .and_then(|i| errors.get(i))
    }

    /// Whether `prefix` names this service in `X-Amz-Target`: botocore sends the model's full
    /// target prefix (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`), the Smithy
    /// SDKs only its last segment (`CloudTrail_20131101`); AWS accepts both.
    pub fn accepts_target_prefix(&self, prefix: &str) -> bool {
        match self.target_prefix {
            Some(full) => {
                full == prefix
                    || full
                        .rsplit_once('.')
                        .is_some_and(|(_, last)| last == prefix)
            }
            None => false,
        }
    }

    /// The member of structure `shape` bound to the whole body ([`Location::Payload`]), if any:
    /// for an operation with [`Operation::streaming_input`]/[`Operation::streaming_output`],
    /// the streaming blob (S3's `Body`).
    pub fn payload_member(&self, shape: ShapeId) -> Option<&'static Member> {
        match self.shape(shape).kind {
            ShapeKind::Structure(members) => {
                members.iter().find(|m| m.location == Location::Payload)
            }
            _ => None,
        }
    }

    /// The error whose exception shape is `shape`.
    pub fn error_by_shape(&self, shape: ShapeId) -> Option<&'static ErrorInfo> {
        self.errors.iter().find(|e| e.shape == shape)
    }
}

/// A service's generated operation enum (`rampart_model::kms::Op`, ...): one variant per
/// modelled operation, so a table keyed by it is checked for completeness by the compiler.
pub trait ServiceOp:
    Copy + Eq + Ord + std::hash::Hash + std::fmt::Debug + Send + Sync + 'static
{
    /// The service's model.
    fn service() -> &'static Service;
    /// Every operation, in the order of [`Service::operations`].
    fn all() -> &'static [Self];
    /// The operation's name (`CreateKey`).
    fn name(self) -> &'static str;
    /// The operation with this exact name.
    fn from_name(name: &str) -> Option<Self>;
    /// The operation's model entry.
    fn model(self) -> Option<&'static Operation> {
        Self::service().operation(self.name())
    }
}

/// One operation.
#[derive(Debug)]
pub struct Operation {
    /// Operation name (`CreateUser`).
    pub name: &'static str,
    /// Input structure.
    pub input: Option<ShapeId>,
    /// Output structure.
    pub output: Option<ShapeId>,
    /// awsQuery result element (`CreateUserResult`).
    pub result_wrapper: Option<&'static str>,
    /// The exception shapes the operation declares.
    pub errors: &'static [ShapeId],
    /// True when AWS accepts the call unsigned (`AssumeRoleWithWebIdentity`, ...).
    pub unsigned: bool,
    /// The HTTP binding (restJson1 services; `POST /` and 200 elsewhere).
    pub http: Http,
    /// The input's payload is a streaming blob (S3 `PutObject`, `UploadPart`): the body is the
    /// data, not read into the decoded input.
    pub streaming_input: bool,
    /// The output's payload is a streaming blob (S3 `GetObject`): the body is the data, which
    /// the encoder leaves to the server.
    pub streaming_output: bool,
    /// The request must carry a checksum of its body (`httpChecksum.requestChecksumRequired`:
    /// `Content-MD5` or an `x-amz-checksum-*` header; S3 `DeleteObjects`, `PutBucketPolicy`, ...).
    pub checksum_required: bool,
    /// Deprecated in the model (S3's `GetBucketLifecycle`, superseded by
    /// `GetBucketLifecycleConfiguration` on the same method and URI).
    pub deprecated: bool,
}

/// An operation's HTTP binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http {
    /// The method (`GET`, `POST`, ...).
    pub method: &'static str,
    /// The URI template: literal segments, `{label}`, greedy `{label+}` and an optional
    /// `?query` of literals (`/detector/{detectorId}/findings`).
    pub uri: &'static str,
    /// The HTTP status of a success (`http.responseCode`).
    pub status: u16,
}

/// Where a structure member travels in a restJson1 request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A member of the JSON body (every member in awsQuery and awsJson).
    Body,
    /// A `{label}` of the URI template ([`Member::location_name`] names the label).
    Uri,
    /// A query-string parameter.
    Query,
    /// One header ([`Member::location_name`] is its name).
    Header,
    /// Every header with the prefix [`Member::location_name`] (a map).
    Headers,
    /// The HTTP status code (outputs).
    StatusCode,
    /// The whole body (a structure as JSON, a blob as bytes, a string as text).
    Payload,
}

/// How a timestamp is written on the wire when a shape overrides the protocol default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// ISO 8601 / RFC 3339.
    Iso8601,
    /// Seconds since the epoch.
    UnixTimestamp,
    /// RFC 7231 HTTP date.
    Rfc822,
}

/// What a shape is.
#[derive(Debug, Clone, Copy)]
pub enum ShapeKind {
    /// A structure with its members in model order.
    Structure(&'static [Member]),
    /// A list.
    List(ListInfo),
    /// A map.
    Map(MapInfo),
    /// A string (see [`Shape::enum_values`], [`Shape::pattern`]).
    String,
    /// A 32-bit integer.
    Integer,
    /// A 64-bit integer.
    Long,
    /// A 32-bit float.
    Float,
    /// A 64-bit float.
    Double,
    /// A boolean.
    Boolean,
    /// A timestamp, with an explicit wire format if the model sets one.
    Timestamp(Option<TimestampFormat>),
    /// Bytes (base64 on the wire).
    Blob,
    /// Any JSON value (a Smithy document).
    Document,
}

/// A list shape's element.
#[derive(Debug, Clone, Copy)]
pub struct ListInfo {
    /// Element shape.
    pub member: ShapeId,
    /// Element name in awsQuery/XML (`member` when absent).
    pub member_name: Option<&'static str>,
    /// Flattened lists have no `member` wrapper.
    pub flattened: bool,
}

/// A map shape's key and value.
#[derive(Debug, Clone, Copy)]
pub struct MapInfo {
    /// Key shape.
    pub key: ShapeId,
    /// Value shape.
    pub value: ShapeId,
    /// Key element name (`key` when absent).
    pub key_name: Option<&'static str>,
    /// Value element name (`value` when absent).
    pub value_name: Option<&'static str>,
    /// Flattened maps have no `entry` wrapper.
    pub flattened: bool,
}

/// One shape and its constraints.
#[derive(Debug)]
pub struct Shape {
    /// Shape name.
    pub name: &'static str,
    /// The kind and its layout.
    pub kind: ShapeKind,
    /// Minimum length (strings, lists, maps, blobs) or value (numbers).
    pub min: Option<i64>,
    /// Maximum length (strings, lists, maps, blobs) or value (numbers).
    pub max: Option<i64>,
    /// Java-style regular expression a string must match in full.
    pub pattern: Option<&'static str>,
    /// Allowed values of an enum string (empty when unconstrained).
    pub enum_values: &'static [&'static str],
    /// Sensitive data (passwords, plaintext, secrets): redact in logs and audit.
    pub sensitive: bool,
}

/// One member of a structure.
#[derive(Debug)]
pub struct Member {
    /// Member name (`UserName`).
    pub name: &'static str,
    /// Target shape.
    pub shape: ShapeId,
    /// Wire name override: the awsQuery/XML element name, the restJson1 JSON key, URI label,
    /// query parameter or header name.
    pub location_name: Option<&'static str>,
    /// Where the member travels (restJson1; [`Location::Body`] elsewhere).
    pub location: Location,
    /// Required in input.
    pub required: bool,
    /// A flattened list/map member.
    pub flattened: bool,
    /// The SDK fills this member with a fresh token when the caller omits it.
    pub idempotency_token: bool,
    /// The XML namespace the member's element declares (`xmlNamespace.uri`; restXml payloads).
    pub xml_namespace: Option<&'static str>,
    /// Written as an XML attribute of the enclosing element, not a child (`xsi:type`).
    pub xml_attribute: bool,
    /// A streaming blob: the HTTP body itself (S3 object data).
    pub streaming: bool,
    /// The streamed body must come with a known length (`requiresLength`).
    pub requires_length: bool,
}

impl Member {
    /// The member's name on the wire.
    pub fn wire_name(&self) -> &'static str {
        self.location_name.unwrap_or(self.name)
    }
}

/// One modelled error.
#[derive(Debug)]
pub struct ErrorInfo {
    /// Wire code (`error.code` in the model, else the shape name).
    pub code: &'static str,
    /// Exception shape.
    pub shape: ShapeId,
    /// HTTP status.
    pub status: u16,
    /// True for client errors (`Sender`), false for server faults (`Receiver`).
    pub sender_fault: bool,
}

/// Compact constructors the generated tables use. Some (wire-name overrides, flattening) are
/// unused by the current models but kept so a model that uses them still compiles.
#[allow(dead_code)]
pub(crate) mod build {
    use super::*;

    /// A shape with no constraints.
    pub(crate) const fn shape(name: &'static str, kind: ShapeKind) -> Shape {
        Shape {
            name,
            kind,
            min: None,
            max: None,
            pattern: None,
            enum_values: &[],
            sensitive: false,
        }
    }

    /// A list kind.
    pub(crate) const fn list(member: ShapeId) -> ShapeKind {
        ShapeKind::List(ListInfo {
            member,
            member_name: None,
            flattened: false,
        })
    }

    /// A list kind with wire names.
    pub(crate) const fn list_x(
        member: ShapeId,
        member_name: Option<&'static str>,
        flattened: bool,
    ) -> ShapeKind {
        ShapeKind::List(ListInfo {
            member,
            member_name,
            flattened,
        })
    }

    /// A map kind.
    pub(crate) const fn map(key: ShapeId, value: ShapeId) -> ShapeKind {
        ShapeKind::Map(MapInfo {
            key,
            value,
            key_name: None,
            value_name: None,
            flattened: false,
        })
    }

    /// A map kind with wire names.
    pub(crate) const fn map_x(
        key: ShapeId,
        value: ShapeId,
        key_name: Option<&'static str>,
        value_name: Option<&'static str>,
        flattened: bool,
    ) -> ShapeKind {
        ShapeKind::Map(MapInfo {
            key,
            value,
            key_name,
            value_name,
            flattened,
        })
    }

    impl Shape {
        pub(crate) const fn min(mut self, v: i64) -> Shape {
            self.min = Some(v);
            self
        }
        pub(crate) const fn max(mut self, v: i64) -> Shape {
            self.max = Some(v);
            self
        }
        pub(crate) const fn pattern(mut self, p: &'static str) -> Shape {
            self.pattern = Some(p);
            self
        }
        pub(crate) const fn enums(mut self, e: &'static [&'static str]) -> Shape {
            self.enum_values = e;
            self
        }
        pub(crate) const fn sensitive(mut self) -> Shape {
            self.sensitive = true;
            self
        }
    }

    /// A structure member.
    pub(crate) const fn m(name: &'static str, shape: ShapeId) -> Member {
        Member {
            name,
            shape,
            location_name: None,
            location: Location::Body,
            required: false,
            flattened: false,
            idempotency_token: false,
            xml_namespace: None,
            xml_attribute: false,
            streaming: false,
            requires_length: false,
        }
    }

    impl Member {
        pub(crate) const fn req(mut self) -> Member {
            self.required = true;
            self
        }
        pub(crate) const fn loc(mut self, n: &'static str) -> Member {
            self.location_name = Some(n);
            self
        }
        /// Bound to `location` under the wire name `name`.
        pub(crate) const fn at(mut self, location: Location, name: &'static str) -> Member {
            self.location = location;
            self.location_name = Some(name);
            self
        }
        pub(crate) const fn flat(mut self) -> Member {
            self.flattened = true;
            self
        }
        pub(crate) const fn idem(mut self) -> Member {
            self.idempotency_token = true;
            self
        }
        pub(crate) const fn ns(mut self, uri: &'static str) -> Member {
            self.xml_namespace = Some(uri);
            self
        }
        pub(crate) const fn attr(mut self) -> Member {
            self.xml_attribute = true;
            self
        }
        pub(crate) const fn stream(mut self) -> Member {
            self.streaming = true;
            self
        }
        pub(crate) const fn sized(mut self) -> Member {
            self.requires_length = true;
            self
        }
    }

    /// An operation.
    pub(crate) const fn op(
        name: &'static str,
        input: Option<ShapeId>,
        output: Option<ShapeId>,
        result_wrapper: Option<&'static str>,
        errors: &'static [ShapeId],
        unsigned: bool,
    ) -> Operation {
        Operation {
            name,
            input,
            output,
            result_wrapper,
            errors,
            unsigned,
            http: Http {
                method: "POST",
                uri: "/",
                status: 200,
            },
            streaming_input: false,
            streaming_output: false,
            checksum_required: false,
            deprecated: false,
        }
    }

    impl Operation {
        /// The restJson1 HTTP binding.
        pub(crate) const fn http(
            mut self,
            method: &'static str,
            uri: &'static str,
            status: u16,
        ) -> Operation {
            self.http = Http {
                method,
                uri,
                status,
            };
            self
        }

        /// Streaming blob payloads in the input and output.
        pub(crate) const fn stream(mut self, input: bool, output: bool) -> Operation {
            self.streaming_input = input;
            self.streaming_output = output;
            self
        }

        /// The request must carry a body checksum.
        pub(crate) const fn checksum(mut self) -> Operation {
            self.checksum_required = true;
            self
        }

        /// Deprecated in the model.
        pub(crate) const fn deprecated(mut self) -> Operation {
            self.deprecated = true;
            self
        }
    }

    /// An error.
    pub(crate) const fn err(
        code: &'static str,
        shape: ShapeId,
        status: u16,
        sender_fault: bool,
    ) -> ErrorInfo {
        ErrorInfo {
            code,
            shape,
            status,
            sender_fault,
        }
    }
}
