//! The entries of trusted IP lists and threat lists: reading a list file, and matching an
//! address against addresses and CIDR ranges.
//!
//! Every format is read the same way: each line is split at characters that cannot be part
//! of an address or range, and every piece that is an IPv4 or IPv6 address or CIDR range is
//! an entry. For `TXT` (one address or range per line) that is the line itself; for
//! `OTX_CSV`, `PROOF_POINT`, `FIRE_EYE` and `ALIEN_VAULT` (CSV or `#`-separated fields) it is
//! the address field; for `STIX` (XML) it is the content of the address elements. Domain
//! names, which AWS's threat lists may also hold, are read past: Rampart's audit stream
//! carries no DNS queries to match them against.

use std::net::IpAddr;

/// Entries a list may hold (AWS's quota for a threat list).
pub const MAX_ENTRIES: usize = 250_000;

/// An address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `1.2.3.4`, `1.2.3.0/24`, `2001:db8::1` or `2001:db8::/32`.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    /// Whether `ip` falls in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// Whether the first `bits` bits of `a` and `b` agree.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

/// A set of ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpList(Vec<Cidr>);

impl IpList {
    /// The list of `entries` (entries that do not parse are left out).
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a String>) -> IpList {
        IpList(entries.into_iter().filter_map(|e| Cidr::parse(e)).collect())
    }

    /// Whether `ip` falls in one of the ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// True when the list has no range.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a list file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListError {
    /// The file is not text.
    NotText,
    /// More entries than a list may hold.
    TooLarge,
}

/// The entries of a list file (see the module's rule).
pub fn parse(bytes: &[u8]) -> Result<Vec<String>, ListError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ListError::NotText)?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let pieces = line.split(|c: char| !(c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/')));
        for piece in pieces {
            let piece = piece.trim_matches(|c| c == '.' || c == '/');
            if piece.len() >= 2 && Cidr::parse(piece).is_some() {
                out.push(piece.to_string());
            }
        }
        if out.len() > MAX_ENTRIES {
            return Err(ListError::TooLarge);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_match_their_addresses_only() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains(ip("10.1.200.3")));
        assert!(!c.contains(ip("10.2.0.1")));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        assert!(one.contains(ip("::ffff:127.0.0.1")));
        let v6 = Cidr::parse("2001:db8::/33").unwrap();
        assert!(v6.contains(ip("2001:db8:7fff::1")));
        assert!(!v6.contains(ip("2001:db8:8000::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("evil.example.com").is_none());
    }

    #[test]
    fn every_format_yields_its_addresses() {
        let txt = b"198.51.100.7\n\n203.0.113.0/24\nevil.example.com\n2001:db8::1\n";
        assert_eq!(
            parse(txt).unwrap(),
            vec!["198.51.100.7", "203.0.113.0/24", "2001:db8::1"]
        );
        let otx = b"Indicator type,Indicator,Description\nIPv4,198.51.100.9,scanner\n";
        assert_eq!(parse(otx).unwrap(), vec!["198.51.100.9"]);
        let alien = b"198.51.100.10#4#2#Malicious Host#US##0.0,0.0#3\n";
        assert_eq!(parse(alien).unwrap(), vec!["198.51.100.10"]);
        let stix = b"<AddressObj:Address_Value>198.51.100.11</AddressObj:Address_Value>\n";
        assert_eq!(parse(stix).unwrap(), vec!["198.51.100.11"]);
        assert_eq!(parse(&[0xff, 0xfe]), Err(ListError::NotText));
    }

    #[test]
    fn a_list_matches_any_of_its_ranges() {
        let entries = vec!["127.0.0.1".to_string(), "10.0.0.0/8".to_string()];
        let l = IpList::of(&entries);
        assert!(l.contains(ip("10.9.9.9")));
        assert!(l.contains(ip("127.0.0.1")));
        assert!(!l.contains(ip("192.0.2.1")));
        assert!(IpList::default().is_empty());
    }
}
