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

#[derive(Deserialize)]
struct Subdivision {
    #[serde(default)]
    iso_code: Option<String>,
}

/// The members of a GeoIP2/GeoLite2 City record Detective reads (a Country record has the
/// `country` member only).
#[derive(Deserialize)]
struct CityRecord {
    #[serde(default)]
    subdivisions: Option<Vec<Subdivision>>,
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

    /// The ISO country code of `ip` and, when the city database knows it, the ISO code of
    /// its first subdivision (`WA` of `US-WA`): what WAF's geo match statements label.
    pub fn country(&self, ip: IpAddr) -> Option<(String, Option<String>)> {
        let rec = self.city.as_ref()?.lookup::<CityRecord>(ip).ok()??;
        let country = rec.country?.iso_code?;
        let region = rec
            .subdivisions
            .and_then(|s| s.into_iter().next())
            .and_then(|s| s.iso_code);
        Some((country, region))
    }

    /// Whether the city (or country) database is loaded.
    pub fn has_city(&self) -> bool {
        self.city.is_some()
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

    /// A tiny MaxMind DB writer: one IPv4 address with one record.
    mod mmdb {
        fn ctrl(kind: u8, size: usize) -> Vec<u8> {
            let (short, extra) = if size < 29 {
                (u8::try_from(size).unwrap(), vec![])
            } else {
                (29, vec![u8::try_from(size - 29).unwrap()])
            };
            let mut out = if kind <= 7 {
                vec![(kind << 5) | short]
            } else {
                vec![short, kind - 7]
            };
            out.extend(extra);
            out
        }

        /// A value of the MaxMind DB data format.
        pub enum V {
            S(&'static str),
            D(f64),
            U16(u16),
            U32(u32),
            U64(u64),
            A(Vec<V>),
            M(Vec<(&'static str, V)>),
        }

        pub fn encode(v: &V) -> Vec<u8> {
            match v {
                V::S(s) => [ctrl(2, s.len()), s.as_bytes().to_vec()].concat(),
                V::D(d) => [ctrl(3, 8), d.to_be_bytes().to_vec()].concat(),
                V::U16(n) => [ctrl(5, 2), n.to_be_bytes().to_vec()].concat(),
                V::U32(n) => [ctrl(6, 4), n.to_be_bytes().to_vec()].concat(),
                V::U64(n) => [ctrl(9, 8), n.to_be_bytes().to_vec()].concat(),
                V::A(items) => {
                    let mut out = ctrl(11, items.len());
                    items.iter().for_each(|i| out.extend(encode(i)));
                    out
                }
                V::M(pairs) => {
                    let mut out = ctrl(7, pairs.len());
                    for (k, v) in pairs {
                        out.extend(encode(&V::S(k)));
                        out.extend(encode(v));
                    }
                    out
                }
            }
        }

        /// A database of `kind` holding `record` for the IPv4 address `ip` only.
        pub fn database(kind: &'static str, ip: std::net::Ipv4Addr, record: &V) -> Vec<u8> {
            const NODES: u32 = 32;
            let bits = u32::from(ip);
            let mut out = Vec::new();
            for i in 0..NODES {
                let on = if i + 1 < NODES { i + 1 } else { NODES + 16 };
                let (left, right) = if (bits >> (31 - i)) & 1 == 0 {
                    (on, NODES)
                } else {
                    (NODES, on)
                };
                out.extend(&left.to_be_bytes()[1..]);
                out.extend(&right.to_be_bytes()[1..]);
            }
            out.extend([0u8; 16]);
            out.extend(encode(record));
            out.extend(b"\xab\xcd\xefMaxMind.com");
            out.extend(encode(&V::M(vec![
                ("binary_format_major_version", V::U16(2)),
                ("binary_format_minor_version", V::U16(0)),
                ("build_epoch", V::U64(1_700_000_000)),
                ("database_type", V::S(kind)),
                ("description", V::M(vec![("en", V::S("rampart test"))])),
                ("ip_version", V::U16(4)),
                ("languages", V::A(vec![V::S("en")])),
                ("node_count", V::U32(NODES)),
                ("record_size", V::U16(24)),
            ])));
            out
        }
    }

    #[test]
    fn city_and_asn_databases_place_an_address() {
        use mmdb::V;
        let ip = std::net::Ipv4Addr::new(198, 51, 100, 7);
        let city = V::M(vec![
            (
                "city",
                V::M(vec![("names", V::M(vec![("en", V::S("Sydney"))]))]),
            ),
            ("country", V::M(vec![("iso_code", V::S("AU"))])),
            (
                "location",
                V::M(vec![
                    ("latitude", V::D(-33.87)),
                    ("longitude", V::D(151.21)),
                ]),
            ),
        ]);
        let asn = V::M(vec![(
            "autonomous_system_organization",
            V::S("Telstra Limited"),
        )]);
        let dir = std::env::temp_dir().join(format!("rampart-geo-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let (city_path, asn_path) = (dir.join("city.mmdb"), dir.join("asn.mmdb"));
        std::fs::write(&city_path, mmdb::database("GeoLite2-City", ip, &city)).unwrap();
        std::fs::write(&asn_path, mmdb::database("GeoLite2-ASN", ip, &asn)).unwrap();

        let geo = Geo::open(Some(&city_path), Some(&asn_path)).unwrap();
        let place = geo.place(IpAddr::V4(ip));
        assert_eq!(place.location.as_deref(), Some("Sydney, AU"));
        assert_eq!(place.coordinates, Some((-33.87, 151.21)));
        assert_eq!(place.aso.as_deref(), Some("Telstra Limited"));
        assert_eq!(geo.country(IpAddr::V4(ip)), Some(("AU".into(), None)));
        assert_eq!(geo.country("198.51.100.8".parse().unwrap()), None);
        // An address the databases do not hold has no place.
        assert_eq!(geo.place("198.51.100.8".parse().unwrap()), Place::default());
        let city_only = Geo::open(Some(&city_path), None).unwrap();
        assert_eq!(city_only.place(IpAddr::V4(ip)).aso, None);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_missing_database_file_is_an_error_naming_it() {
        let err = Geo::open(Some(Path::new("/nonexistent/city.mmdb")), None);
        assert!(err.is_err_and(|e| e.contains("/nonexistent/city.mmdb")));
        assert!(Geo::open(None, None).is_ok_and(|g| g.is_empty()));
    }
}
