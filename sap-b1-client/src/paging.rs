//! Collection reads: one page at a time, or a `Stream` that follows `odata.nextLink` /
//! `@odata.nextLink` (absolute, absolute-path or relative).

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};

use crate::client::SapClient;
use crate::error::Result;
use crate::query::Query;
use crate::request::Request;

/// One page of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The records on this page.
    pub items: Vec<T>,
    /// Link to the next page as SAP sent it, if there is one.
    pub next_link: Option<String>,
    /// Total count when requested (`$inlinecount` / `$count`), string or number on the wire.
    pub count: Option<u64>,
    page_size: Option<u32>,
}

#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct Envelope<T> {
    value: Vec<T>,
    #[serde(rename = "odata.nextLink", alias = "@odata.nextLink", default)]
    next_link: Option<String>,
    #[serde(
        rename = "odata.count",
        alias = "@odata.count",
        default,
        deserialize_with = "count_from_string_or_number"
    )]
    count: Option<u64>,
}

fn count_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(u64),
        S(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::N(n)) => Ok(Some(n)),
        Some(Raw::S(s)) => s.trim().parse().map(Some).map_err(de::Error::custom),
    }
}

impl<T> Page<T> {
    /// True when SAP announced another page.
    pub fn has_next(&self) -> bool {
        self.next_link.is_some()
    }
}

fn page_request(path: &str, page_size: Option<u32>) -> Request {
    let mut request = Request::get(path);
    if let Some(n) = page_size
        && let Ok(value) = HeaderValue::from_str(&format!("odata.maxpagesize={n}"))
    {
        request = request.header(HeaderName::from_static("prefer"), value);
    }
    request
}

impl SapClient {
    /// Fetch the first page of `collection` (an entity set name or any collection path).
    pub async fn page<T: DeserializeOwned>(
        &self,
        collection: &str,
        query: &Query,
    ) -> Result<Page<T>> {
        let path = query.apply_to(collection);
        self.fetch_page(&path, query.requested_page_size()).await
    }

    /// Fetch the page after `page`, or `None` at the end.
    pub async fn next_page<T: DeserializeOwned>(&self, page: &Page<T>) -> Result<Option<Page<T>>> {
        match &page.next_link {
            Some(link) => self.fetch_page(link, page.page_size).await.map(Some),
            None => Ok(None),
        }
    }

    async fn fetch_page<T: DeserializeOwned>(
        &self,
        path: &str,
        page_size: Option<u32>,
    ) -> Result<Page<T>> {
        let env: Envelope<T> = self.send_json(page_request(path, page_size)).await?;
        Ok(Page {
            items: env.value,
            next_link: env.next_link.filter(|l| !l.is_empty()),
            count: env.count,
            page_size,
        })
    }

    /// Every page of `collection`, following nextLinks until SAP stops sending one.
    pub fn pages<T>(
        &self,
        collection: &str,
        query: &Query,
    ) -> impl Stream<Item = Result<Page<T>>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        let first = query.apply_to(collection);
        let page_size = query.requested_page_size();
        stream::try_unfold(Some(first), move |next| {
            let client = client.clone();
            async move {
                let Some(path) = next else { return Ok(None) };
                let page: Page<T> = client.fetch_page(&path, page_size).await?;
                let following = page.next_link.clone();
                Ok(Some((page, following)))
            }
        })
    }

    /// Every record of `collection`, across pages.
    ///
    /// Each record is parsed on its own: one that does not match `T` is yielded as
    /// [`Error::Parse`](crate::Error::Parse) naming the record (`Items record 3 (ItemCode 'A1')`)
    /// and the stream goes on with the next. A failed page still ends the stream with its error.
    pub fn stream<T>(
        &self,
        collection: &str,
        query: &Query,
    ) -> impl Stream<Item = Result<T>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        let set = collection
            .split(['?', '('])
            .next()
            .unwrap_or(collection)
            .to_owned();
        self.pages::<serde_json::Value>(collection, query)
            .map_ok(move |page: Page<serde_json::Value>| {
                let set = set.clone();
                stream::iter(
                    page.items
                        .into_iter()
                        .enumerate()
                        .map(move |(i, raw)| parse_record(&set, i, raw)),
                )
            })
            .try_flatten()
            .boxed()
    }
}

/// The key properties a record is named by in errors, in the order they are tried.
const KEY_PROPERTIES: &[&str] = &[
    "ItemCode", "CardCode", "DocEntry", "JdtNum", "Code", "AbsEntry",
];

/// Parses one collection record; a failure names the record by its key and keeps its JSON.
fn parse_record<T: DeserializeOwned>(set: &str, index: usize, raw: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(&raw).map_err(|e| {
        let key = KEY_PROPERTIES
            .iter()
            .find_map(|k| raw.get(*k).map(|v| format!(" ({k} {v})")))
            .unwrap_or_default();
        crate::error::Error::Parse {
            context: format!("{set} record {index}{key}"),
            json_path: e.path().to_string(),
            body: raw.to_string(),
            source: e.into_inner(),
        }
    })
}
