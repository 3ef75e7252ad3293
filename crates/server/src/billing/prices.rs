//! The price table: the copy shipped with the project, or the operator's
//! `<data-dir>/prices.toml`.

use std::{collections::BTreeMap, path::Path};

use anyhow::Context as _;
use serde::Deserialize;

/// The table shipped with Rampart.
pub const SHIPPED: &str = include_str!("../../prices.toml");
/// The file name of an operator's table in the data dir.
pub const FILE: &str = "prices.toml";

/// A monthly charge per entity of a kind.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Monthly {
    /// The service line it is billed on.
    pub service: String,
    /// What the bill calls the counted things (`keys`, `secrets`).
    pub item: String,
    /// Price per entity per month.
    pub price: f64,
}

/// Prices.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Prices {
    /// Currency code shown on the bill.
    pub currency: String,
    /// Price per 10,000 requests by service, `default` for the others.
    pub requests: BTreeMap<String, f64>,
    /// Monthly charges by entity kind.
    #[serde(default)]
    pub monthly: BTreeMap<String, Monthly>,
}

impl Prices {
    /// Parses a table.
    pub fn parse(text: &str) -> anyhow::Result<Prices> {
        Ok(toml::from_str(text)?)
    }

    /// The operator's table in `data_dir`, or the shipped one.
    pub fn load(data_dir: &Path) -> anyhow::Result<Prices> {
        let path = data_dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                Prices::parse(&text).with_context(|| format!("cannot read {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Prices::parse(SHIPPED),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Price per 10,000 requests to `service`.
    pub fn per_10k(&self, service: &str) -> f64 {
        self.requests
            .get(service)
            .or_else(|| self.requests.get("default"))
            .copied()
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_table_parses() {
        let p = Prices::parse(SHIPPED).unwrap();
        assert_eq!(p.currency, "USD");
        assert_eq!(p.per_10k("kms"), 0.03);
        assert_eq!(p.per_10k("unknown"), 0.0);
        assert_eq!(p.monthly["kms:key"].price, 1.0);
    }
}
