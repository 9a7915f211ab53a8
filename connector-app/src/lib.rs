//! The `ml-connector` application: configuration, encrypted credentials, the ledger, the flows that
//! compose `sp-api-client`, `sap-b1-client` and `settlement-mapper`, and the command line.
//!
//! Layout:
//! - [`config`]: the TOML configuration, validated with file/key/reason errors.
//! - [`credentials`]: secrets encrypted at rest (XChaCha20-Poly1305).
//! - [`ledger`]: documents, audit trail, raw sources and cursors (SQLite or PostgreSQL behind a trait).
//! - [`fleet`]: tenants, leases and workers on a shared PostgreSQL ledger.
//! - [`posting`]: the posting engine every SAP document kind goes through, exactly once.
//! - [`schedule`]: intervals and cron expressions for the daemon.
//! - [`cli`] and [`commands`]: the `ml-connector` command line.

pub mod cli;
pub mod commands;
pub mod config;
pub mod connect;
pub mod credentials;
pub mod demo;
pub mod doctor;
pub mod failpoint;
pub mod fleet;
pub mod flows;
pub mod iso4217;
pub mod ledger;
pub mod posting;
pub mod schedule;
