//! Fuzzes awsJson decoding: target routing, JSON parsing, type checks, validation, and the
//! error envelope.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_wire::{decode_request, HttpRequest};

const TARGETS: [&str; 6] = [
    "TrentService.Encrypt",
    "TrentService.CreateKey",
    "secretsmanager.CreateSecret",
    "AWSOrganizationsV20161128.CreatePolicy",
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.PutEventSelectors",
];

fuzz_target!(|data: &[u8]| {
    let (target, body) = match data.split_first() {
        Some((b, rest)) => (TARGETS[usize::from(*b) % TARGETS.len()], rest),
        None => (TARGETS[0], data),
    };
    let req = HttpRequest {
        method: "POST",
        content_type: Some("application/x-amz-json-1.1"),
        target: Some(target),
        body,
        ..Default::default()
    };
    if let Err(f) = decode_request(&req) {
        let _ = f.encode("fuzz");
    }
});
