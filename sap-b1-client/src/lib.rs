//! A typed async client for the SAP Business One **Service Layer** (`/b1s/v1` OData v3 and
//! `/b1s/v2` OData v4).
//!
//! What it takes care of, once, in the request path:
//!
//! - **Session.** `POST /Login` on first use; the `B1SESSION` and `ROUTEID` cookies are read from
//!   `Set-Cookie` by hand and sent on every call. An idle session (longer than the announced
//!   `SessionTimeout`) is replaced before use; an HTTP 401 (SAP code 301) triggers exactly one
//!   re-login shared by all concurrent callers, then the request is replayed (SAP did not run it).
//!   `/Login` itself is never retried, so bad credentials fail fast as [`Error::Login`].
//!   [`SapClient::logout`] ends the sessions. [`SapClientBuilder::sessions`] opens a small pool,
//!   because SAP serves one session's calls one at a time.
//! - **Errors.** Both error shapes (`code` number or string, `message` string or `{lang,value}`),
//!   HTML and empty bodies become typed [`Error`] variants that keep status, code, message and
//!   body. `-5002` is a validation error, not a session signal.
//! - **Retries as data.** Reads ([`Retry::Idempotent`]) are retried on transport errors and
//!   502/503/504 per [`RetryPolicy`]; writes ([`Retry::Never`]) never are: a write that timed out,
//!   was reset or got a 502/503/504/empty 500 comes back as [`Error::OutcomeUnknown`] so the
//!   caller can look the document up before sending it again.
//!   A read or `/Login` whose answer is lost because SAP closed the keep-alive connection under
//!   it is sent once more on a new connection, outside the policy; a write never is.
//! - **Observer.** An optional [`RequestObserver`] sees every HTTP attempt (method, path
//!   template without keys or query, status, attempt number, duration): see [`observe`].
//! - **TLS.** rustls with the ring provider, platform roots, an optional extra CA (PEM) for
//!   self-signed on-prem servers, and a loudly logged opt-out. Pooled connections idle at most
//!   4 s (the Service Layer's Apache closes them after 5 s).
//!
//! # Modules
//!
//! - [`entities`]: typed records (`Item`, `BusinessPartner`, `Document` for invoices and credit
//!   notes, `IncomingPayment`, `JournalEntry`, `ChartOfAccount`, `PriceList`, `Warehouse`), all
//!   fields optional, UDFs kept in `extra`, enums with an `Unknown` arm, v1/v2 dates and times.
//! - [`query`]: `$filter` builder with escaped literals, `$select`, `$orderby`, `$top`, `$skip`,
//!   page size, and entity keys.
//! - [`batch`]: `$batch` with atomic changesets and a tolerant response parser.
//! - [`EntitySet`]: get / page / stream / create / update / action on one entity set.
//! - [`SapClient::send`] with a [`Request`]: anything else the Service Layer offers.
//!
//! # Example
//!
//! ```no_run
//! use chrono::{NaiveDate, NaiveTime};
//! use futures::TryStreamExt;
//! use sap_b1_client::entities::{Document, DocumentLine};
//! use sap_b1_client::{Filter, Query, SapClient};
//! use secrecy::SecretString;
//!
//! # async fn run() -> Result<(), sap_b1_client::Error> {
//! let sap = SapClient::builder("https://sap.example.com:50000/b1s/v2")
//!     .company("SBODEMOUS")
//!     .credentials("manager", SecretString::from("secret".to_string()))
//!     .build()?;
//!
//! // Items changed since a date, 100 per page, across all pages.
//! let since = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
//! let query = Query::new()
//!     .filter(Filter::changed_since(since, NaiveTime::MIN))
//!     .select(["ItemCode", "ItemName", "UpdateDate", "UpdateTime"])
//!     .page_size(100);
//! let items: Vec<_> = sap.items().stream(&query).try_collect().await?;
//! println!("{} items changed", items.len());
//!
//! // Post an invoice; on OutcomeUnknown, look it up by NumAtCard before trying again.
//! let invoice = Document {
//!     card_code: Some("C20000".into()),
//!     num_at_card: Some("114-1234567-1234567".into()),
//!     document_lines: Some(vec![DocumentLine {
//!         item_code: Some("SKU-1".into()),
//!         quantity: Some(1.into()),
//!         unit_price: Some("19.99".parse().unwrap()),
//!         ..Default::default()
//!     }]),
//!     ..Default::default()
//! };
//! let created = sap.invoices().create(&invoice).await?;
//! println!("DocEntry {:?}", created.doc_entry);
//! sap.logout().await?;
//! # Ok(())
//! # }
//! ```

pub mod batch;
mod builder;
mod client;
mod company;
pub mod entities;
mod entity_set;
mod error;
pub mod limits;
pub mod observe;
mod paging;
pub mod query;
mod request;
mod session;
mod tls;

pub use batch::{Batch, BatchPartResponse, BatchResponse, BatchResult, ChangeSet};
pub use client::{Identity, ODataVersion, Pong, SapClient, SapClientBuilder};
pub use entity_set::EntitySet;
pub use error::{Error, ErrorCode, Result, ServerError};
pub use observe::{RequestEvent, RequestObserver};
pub use paging::Page;
pub use query::{Filter, Key, Literal, Order, Query, prop};
pub use request::{Request, Response, Retry, RetryPolicy};
pub use secrecy::SecretString;
pub use session::SessionInfo;

/// Compiles the README's example as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
