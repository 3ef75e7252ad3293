//! The `rampart` server: one binary that speaks AWS's wire protocols on one port.
//!
//! The binary (`main.rs`) is a thin command line over this library, so the in-process tests
//! can build the same router the server runs.

pub mod admin;
pub mod app;
pub mod audit_cli;
pub mod backup_cli;
pub mod billing;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod conn_table;
pub mod data_dir;
pub mod dev_auth;
pub mod fd_limit;
pub mod http_server;
pub mod investigate_cli;
pub mod jobs;
pub mod key_usage;
pub mod last_access;
pub mod listeners;
pub mod metrics;
pub mod offline;
pub mod operator_settings;
pub mod outbound_oidc;
pub mod pipeline;
pub mod policy_cli;
pub mod posture_cli;
pub mod shield;
pub mod signin;
pub mod trail_api;
pub mod trail_cli;
