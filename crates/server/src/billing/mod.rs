//! Consolidated billing: what each account uses, priced from an operator-editable table.
//!
//! - [`meter`]: API requests per account, service and month, counted in memory on the request
//!   path and flushed to the store in batches (no store write per request).
//! - [`prices`]: the price table (`prices.toml` shipped, `<data-dir>/prices.toml` overrides).
//! - [`report`]: `rampart billing report`, one line per account and service, with totals.

pub mod meter;
pub mod prices;
pub mod report;
