//! The operator's geolocation database (`--geoip-city-db`, opened once for Detective) as
//! WAF's geo match statements read it.

use std::{net::IpAddr, sync::Arc};

use rampart_services::{detective::geo::Geo, wafv2::engine::geo::Countries};

/// Detective's database, answering WAF's question: the country and subdivision of an
/// address.
#[derive(Debug)]
pub struct WafGeo(pub Arc<Geo>);

impl Countries for WafGeo {
    fn locate(&self, ip: IpAddr) -> Option<(String, Option<String>)> {
        self.0.country(ip)
    }
}
