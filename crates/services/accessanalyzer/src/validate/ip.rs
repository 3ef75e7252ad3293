//! IP ranges in conditions: private (RFC 1918, IPv6 unique local) ranges, and host bits set
//! after the prefix length.

use std::net::IpAddr;

fn split_cidr(t: &str) -> Option<(IpAddr, u32)> {
    let (a, p) = t.split_once('/').unwrap_or((t, ""));
    let ip: IpAddr = a.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = if p.is_empty() {
        max
    } else {
        p.trim().parse().ok()?
    };
    (prefix <= max).then_some((ip, prefix))
}

pub fn is_private(t: &str) -> bool {
    match split_cidr(t) {
        Some((IpAddr::V4(v4), prefix)) => {
            let o = v4.octets();
            o[0] == 10 && prefix >= 8
                || o[0] == 172 && (16..32).contains(&o[1]) && prefix >= 12
                || o[0] == 192 && o[1] == 168 && prefix >= 16
        }
        Some((IpAddr::V6(v6), prefix)) => v6.segments()[0] & 0xfe00 == 0xfc00 && prefix >= 7,
        None => false,
    }
}

pub fn host_bits(t: &str) -> bool {
    match split_cidr(t) {
        Some((IpAddr::V4(v4), p)) => p < 32 && u32::from(v4) & (u32::MAX >> p) != 0,
        Some((IpAddr::V6(v6), p)) => p < 128 && u128::from(v6) & (u128::MAX >> p) != 0,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_and_host_bits() {
        assert!(is_private("10.1.0.0/16"));
        assert!(is_private("192.168.1.1"));
        assert!(is_private("fd00::/8"));
        assert!(!is_private("172.32.0.0/16"));
        assert!(!is_private("10.0.0.0/7"));
        assert!(host_bits("192.168.1.5/24"));
        assert!(!host_bits("192.168.1.0/24"));
        assert!(!host_bits("2001:db8::/32"));
    }
}
