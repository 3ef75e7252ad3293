//! Geolocation for `GeoMatchStatement`: where an address is (ISO 3166 country and
//! subdivision codes), from the operator's MaxMind city or country database
//! (`--geoip-city-db`, which Detective reads too). The server installs the database at
//! start-up; without one, a geo match rule is refused when it is created, so a stored rule
//! never silently fails to match.

use std::{
    net::IpAddr,
    sync::{Arc, RwLock},
};

/// Something that places addresses: the operator's database, or a table in tests.
pub trait Countries: Send + Sync + std::fmt::Debug {
    /// The ISO 3166-1 alpha-2 country code of `ip` and, when known, the ISO 3166-2 code of
    /// its first subdivision without the country (`WA` for `US-WA`); `None` when unknown.
    fn locate(&self, ip: IpAddr) -> Option<(String, Option<String>)>;
}

static INSTALLED: RwLock<Option<Arc<dyn Countries>>> = RwLock::new(None);

/// Installs the process's database (the server calls this once, at start-up).
pub fn install(countries: Option<Arc<dyn Countries>>) {
    if let Ok(mut slot) = INSTALLED.write() {
        *slot = countries;
    }
}

/// The installed database, if any.
pub fn installed() -> Option<Arc<dyn Countries>> {
    INSTALLED.read().ok().and_then(|g| g.clone())
}

/// The labels AWS adds for an address's place (`awswaf:clientip:geo:country:US`,
/// `awswaf:clientip:geo:region:US-WA`; `forwardedip` instead of `clientip` when the address
/// comes from a forwarded IP header).
pub fn labels(country: &str, region: Option<&str>, forwarded: bool) -> Vec<String> {
    let source = if forwarded { "forwardedip" } else { "clientip" };
    let mut out = vec![format!("awswaf:{source}:geo:country:{country}")];
    if let Some(region) = region {
        out.push(format!("awswaf:{source}:geo:region:{country}-{region}"));
    }
    out
}
