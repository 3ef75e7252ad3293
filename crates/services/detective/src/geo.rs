//! Geolocation of source addresses from MaxMind-format databases the operator supplies: a
//! GeoLite2-City (or GeoIP2-City) file for the place, a GeoLite2-ASN file for the autonomous
//! system organization. Without them the geolocation indicators (`NEW_GEOLOCATION`,
//! `NEW_ASO`, `IMPOSSIBLE_TRAVEL`) are not produced.

use std::{collections::BTreeMap, net::IpAddr, path::Path};

use maxminddb::Reader;
use serde::Deserialize;

/// Where an address is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    /// `City, CC` (or the country alone), when the city database knows the address.
    pub location: Option<String>,
    /// Latitude and longitude, when known.
    pub coordinates: Option<(f64, f64)>,
    /// The autonomous system organization, when the ASN database knows the address.
    pub aso: Option<String>,
}

/// Something that places addresses (the databases, or a table in tests).
pub trait Locate: Send + Sync {
    /// The place of `ip`; a default `Place` when nothing is known.
    fn place(&self, ip: IpAddr) -> Place;
}

#[derive(Deserialize)]
struct Names {
    #[serde(default)]
    names: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Country {
    #[serde(default)]
    iso_code: Option<String>,
    #[serde(default)]
    names: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Location {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

/// The members of a GeoIP2/GeoLite2 City record Detective reads.
#[derive(Deserialize)]
struct CityRecord {
    #[serde(default)]
    city: Option<Names>,
    #[serde(default)]
    country: Option<Country>,
    #[serde(default)]
    location: Option<Location>,
}

/// The member of a GeoLite2 ASN record Detective reads.
#[derive(Deserialize)]
struct AsnRecord {
    #[serde(default)]
    autonomous_system_organization: Option<String>,
}

/// The operator's databases.
pub struct Geo {
    city: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geo")
            .field(
                "city",
                &self.city.as_ref().map(|r| &r.metadata.database_type),
            )
            .field("asn", &self.asn.as_ref().map(|r| &r.metadata.database_type))
            .finish()
    }
}

impl Geo {
    /// Opens the databases given (either may be absent); an unreadable file is an error
    /// naming it.
    pub fn open(city: Option<&Path>, asn: Option<&Path>) -> Result<Geo, String> {
        let open = |p: &Path| {
            Reader::open_readfile(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        };
        Ok(Geo {
            city: city.map(open).transpose()?,
            asn: asn.map(open).transpose()?,
        })
    }

    /// Whether any database is loaded.
    pub fn is_empty(&self) -> bool {
        self.city.is_none() && self.asn.is_none()
    }
}

impl Locate for Geo {
    fn place(&self, ip: IpAddr) -> Place {
        let mut place = Place::default();
        if let Some(Ok(Some(rec))) = self.city.as_ref().map(|r| r.lookup::<CityRecord>(ip)) {
            let city = rec.city.and_then(|c| c.names.get("en").cloned());
            let country = rec
                .country
                .and_then(|c| c.iso_code.or_else(|| c.names.get("en").cloned()));
            place.location = match (city, country) {
                (Some(city), Some(cc)) => Some(format!("{city}, {cc}")),
                (Some(city), None) => Some(city),
                (None, Some(cc)) => Some(cc),
                (None, None) => None,
            };
            place.coordinates = rec.location.and_then(|l| Some((l.latitude?, l.longitude?)));
        }
        if let Some(Ok(Some(rec))) = self.asn.as_ref().map(|r| r.lookup::<AsnRecord>(ip)) {
            place.aso = rec.autonomous_system_organization;
        }
        place
    }
}

/// Great-circle distance in kilometres between two (latitude, longitude) points.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seattle_to_sydney_is_about_twelve_thousand_kilometres() {
        let d = distance_km((47.61, -122.33), (-33.87, 151.21));
        assert!((12_000.0..12_600.0).contains(&d), "{d}");
        assert!(distance_km((1.0, 1.0), (1.0, 1.0)) < 1e-9);
    }

    #[test]
    fn a_missing_database_file_is_an_error_naming_it() {
        let err = Geo::open(Some(Path::new("/nonexistent/city.mmdb")), None);
        assert!(err.is_err_and(|e| e.contains("/nonexistent/city.mmdb")));
        assert!(Geo::open(None, None).is_ok_and(|g| g.is_empty()));
    }
}
