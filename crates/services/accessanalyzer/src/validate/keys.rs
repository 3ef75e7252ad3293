//! AWS's global condition keys (`aws:*`): each key's type and whether a request can carry
//! several values for it. A key of the `aws:` prefix that is not listed does not exist.

/// The type of a key's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// Text.
    Str,
    /// An ARN (the String operators apply too).
    Arn,
    /// A date (aws:EpochTime also takes numbers).
    Date,
    /// A number.
    Num,
    /// A boolean.
    Bool,
    /// An IP address.
    Ip,
}

use KeyType::*;

/// `(lowercased key, type, multi-valued)`.
const GLOBAL: [(&str, KeyType, bool); 46] = [
    ("aws:assumedroot", Bool, false),
    ("aws:calledvia", Str, true),
    ("aws:calledviaawsmcp", Str, true),
    ("aws:calledviafirst", Str, false),
    ("aws:calledvialast", Str, false),
    ("aws:chatbotsourcearn", Arn, false),
    ("aws:currenttime", Date, false),
    ("aws:ec2instancesourceprivateipv4", Ip, false),
    ("aws:ec2instancesourcevpc", Str, false),
    ("aws:epochtime", Date, false),
    ("aws:federatedprovider", Str, false),
    ("aws:ismcpserviceaction", Bool, false),
    ("aws:multifactorauthage", Num, false),
    ("aws:multifactorauthpresent", Bool, false),
    ("aws:principalaccount", Str, false),
    ("aws:principalarn", Arn, false),
    ("aws:principalisawsservice", Bool, false),
    ("aws:principalorgid", Str, false),
    ("aws:principalorgpaths", Str, true),
    ("aws:principalservicename", Str, false),
    ("aws:principalservicenameslist", Str, true),
    ("aws:principaltype", Str, false),
    ("aws:referer", Str, false),
    ("aws:requestedregion", Str, false),
    ("aws:resourceaccount", Str, false),
    ("aws:resourceorgid", Str, false),
    ("aws:resourceorgpaths", Str, true),
    ("aws:securetransport", Bool, false),
    ("aws:sourceaccount", Str, false),
    ("aws:sourcearn", Arn, false),
    ("aws:sourceidentity", Str, false),
    ("aws:sourceip", Ip, false),
    ("aws:sourceorgid", Str, false),
    ("aws:sourceorgpaths", Str, true),
    ("aws:sourceowner", Str, false),
    ("aws:sourcevpc", Str, false),
    ("aws:sourcevpcarn", Arn, false),
    ("aws:sourcevpce", Str, false),
    ("aws:tagkeys", Str, true),
    ("aws:tokenissuetime", Date, false),
    ("aws:useragent", Str, false),
    ("aws:userid", Str, false),
    ("aws:username", Str, false),
    ("aws:viaawsmcpservice", Bool, false),
    ("aws:viaawsservice", Bool, false),
    ("aws:vpcsourceip", Ip, false),
];

/// Tag key prefixes (`aws:RequestTag/<key>`, ...): text, one value.
pub const TAG_PREFIXES: [&str; 3] = ["aws:requesttag", "aws:resourcetag", "aws:principaltag"];

/// What is known of a global key (lowercased `key`): `None` when there is no such key.
pub fn global(key: &str) -> Option<(KeyType, bool)> {
    if let Some((prefix, _)) = key.split_once('/') {
        return TAG_PREFIXES.contains(&prefix).then_some((Str, false));
    }
    GLOBAL
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, t, m)| (*t, *m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_lowercase_and_found() {
        assert!(GLOBAL.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(GLOBAL.iter().all(|(k, _, _)| *k == k.to_ascii_lowercase()));
        assert_eq!(global("aws:sourceip"), Some((Ip, false)));
        assert_eq!(global("aws:tagkeys"), Some((Str, true)));
        assert_eq!(global("aws:resourcetag/env"), Some((Str, false)));
        assert_eq!(global("aws:sourceipaddress"), None);
    }
}
