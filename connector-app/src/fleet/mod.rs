//! Many sellers, many workers: tenants in a PostgreSQL ledger, worked by any number of
//! `ml-connector worker` processes that lease them (see `docs` in the connector README).
//!
//! - [`tenants`]: a tenant's configuration, files and sealed credentials in the database.
//! - [`sealing`]: those credentials bound to their tenant.
//! - [`lease`]: who works which tenant until when; the fence every ledger write checks.
//! - [`worker`]: the worker loop and each tenant's flows on their schedules.
//! - [`metrics`]: `/metrics` and `/healthz`; [`api_metrics`]: what the API clients saw.
//! - [`status`]: what `fleet status` shows.

pub mod api_metrics;
pub mod lease;
pub mod metrics;
pub mod sealing;
pub mod status;
pub mod tenants;
pub mod worker;
