//! sap-b1-client
pub mod batch;
mod client;
pub mod entities;
mod entity_set;
mod error;
mod paging;
pub mod query;
mod request;
mod session;
mod tls;

pub use batch::{Batch, BatchPartResponse, BatchResponse, BatchResult, ChangeSet};
pub use client::{Identity, ODataVersion, Pong, SapClient, SapClientBuilder};
pub use entity_set::EntitySet;
pub use error::{Error, ErrorCode, Result, ServerError};
pub use paging::Page;
pub use query::{Filter, Key, Literal, Order, Query, prop};
pub use request::{Request, Response, Retry, RetryPolicy};
pub use session::SessionInfo;
