//! Arbitrary bytes -> `Policy::parse` for every policy kind; whatever parses must print and
//! parse back (to the same printed document).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_policy::{Policy, PolicyKind};

const KINDS: [PolicyKind; 7] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::Scp,
    PolicyKind::Rcp,
    PolicyKind::Session,
    PolicyKind::Boundary,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in KINDS {
        let Ok(policy) = Policy::parse(text, kind) else {
            continue;
        };
        let printed = policy.to_json();
        let json = printed.to_string();
        let again = Policy::parse(&json, kind)
            .unwrap_or_else(|e| panic!("{kind:?}: printed policy does not parse: {e}\n{json}"));
        assert_eq!(again.to_json(), printed, "{kind:?}: print is not stable\n{json}");
    }
});
