//! Typed access to one entity set: read, list, stream, create, update, actions.

use std::borrow::Cow;
use std::marker::PhantomData;

use futures::Stream;
use reqwest::header::{HeaderName, HeaderValue, LOCATION};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::SapClient;
use crate::entities::{
    BusinessPartner, ChartOfAccount, Document, Entity, IncomingPayment, Item, JournalEntry,
    PriceList, StockTransfer, UserTableRow, Warehouse,
};
use crate::error::{Error, Result};
use crate::paging::Page;
use crate::query::{Key, Query};
use crate::request::Request;

/// A typed handle on one entity set, e.g. `client.items()` or `client.invoices()`.
#[derive(Debug, Clone)]
pub struct EntitySet<T> {
    client: SapClient,
    name: Cow<'static, str>,
    _type: PhantomData<fn() -> T>,
}

impl<T> EntitySet<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// A handle on the entity set `name` with records of type `T`.
    pub fn new(client: SapClient, name: impl Into<Cow<'static, str>>) -> Self {
        EntitySet {
            client,
            name: name.into(),
            _type: PhantomData,
        }
    }

    /// The entity set name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn key_path(&self, key: &Key) -> String {
        format!("{}{}", self.name, key.to_path_segment())
    }

    /// `GET Set(key)`; a missing record is [`Error::NotFound`].
    pub async fn get(&self, key: impl Into<Key>) -> Result<T> {
        self.client
            .send_json(Request::get(self.key_path(&key.into())))
            .await
    }

    /// `GET Set(key)?$select=...` with the query's `$select` (other options are ignored by SAP).
    pub async fn get_with(&self, key: impl Into<Key>, query: &Query) -> Result<T> {
        let path = query.apply_to(&self.key_path(&key.into()));
        self.client.send_json(Request::get(path)).await
    }

    /// Number of records matching the query's `$filter` (`GET Set/$count`, a plain number).
    pub async fn count(&self, query: &Query) -> Result<u64> {
        let path = query.apply_to(&format!("{}/$count", self.name));
        let resp = self.client.send(Request::get(path)).await?;
        let text = String::from_utf8_lossy(&resp.body);
        // Some servers add a BOM or whitespace around the number.
        text.trim_start_matches('\u{feff}')
            .trim()
            .parse()
            .map_err(|_| Error::UnexpectedResponse {
                message: "`$count` did not return a number".into(),
                body: text.into_owned(),
            })
    }

    /// The first record matching `query` (`$top=1`), or `None`. Use it rather than [`Self::get`]
    /// for codes that may hold `/`: SAP's Apache front answers 404 to an encoded slash in a key
    /// path (`AllowEncodedSlashes Off`), while a `$filter` literal is a query parameter.
    pub async fn first(&self, query: &Query) -> Result<Option<T>> {
        let page = self.page(&query.clone().top(1)).await?;
        Ok(page.items.into_iter().next())
    }

    /// Whether the server knows property `prop` on this set's type: SAP refuses a `$select` of an
    /// unknown property with "Property 'X' of 'Type' is invalid" (-1000), so the answer to
    /// `$select=prop&$top=1` tells. Use it for properties newer releases added (`PaidToDate` is
    /// not in 9.3-era metadata).
    pub async fn has_property(&self, prop: &str) -> Result<bool> {
        match self.page(&Query::new().select([prop]).top(1)).await {
            Ok(_) => Ok(true),
            Err(Error::Validation(e))
                if e.message
                    .as_deref()
                    .is_some_and(|m| m.contains("is invalid")) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// The first page matching `query`.
    pub async fn page(&self, query: &Query) -> Result<Page<T>> {
        self.client.page(&self.name, query).await
    }

    /// The page after `page`, or `None` at the end.
    pub async fn next_page(&self, page: &Page<T>) -> Result<Option<Page<T>>> {
        self.client.next_page(page).await
    }

    /// Every record matching `query`, following nextLinks.
    pub fn stream(&self, query: &Query) -> impl Stream<Item = Result<T>> + Send + 'static {
        self.client.stream(&self.name, query)
    }

    /// `POST Set` and return the created record. Never retried: see [`Error::OutcomeUnknown`].
    pub async fn create(&self, entity: &T) -> Result<T> {
        let body = to_json(entity)?;
        self.client
            .send_json(Request::post(self.name.to_string()).json_body(body))
            .await
    }

    /// `POST Set` with `Prefer: return-no-content`; returns the new key read from `Location`.
    pub async fn create_returning_key(&self, entity: &T) -> Result<Key> {
        let body = to_json(entity)?;
        let request = Request::post(self.name.to_string()).json_body(body).header(
            HeaderName::from_static("prefer"),
            HeaderValue::from_static("return-no-content"),
        );
        let resp = self.client.send(request).await?;
        let location = resp
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let Some(key) = location.as_deref().and_then(Key::from_location) {
            return Ok(key);
        }
        // Some servers ignore the preference and send the entity: nothing was lost, but we
        // cannot guess the key field generically.
        Err(Error::UnexpectedResponse {
            message: format!(
                "created, but no usable Location header (got {location:?}); look the record up"
            ),
            body: String::from_utf8_lossy(&resp.body).into_owned(),
        })
    }

    /// `PATCH Set(key)` with only the given fields (differential update).
    pub async fn update<P: Serialize + ?Sized>(
        &self,
        key: impl Into<Key>,
        patch: &P,
    ) -> Result<()> {
        let body = to_json(patch)?;
        self.client
            .send(Request::patch(self.key_path(&key.into())).json_body(body))
            .await
            .map(drop)
    }

    /// `PATCH Set(key)` only if the record still has `etag` (`If-Match`, v2); a stale ETag is
    /// [`Error::Conflict`].
    pub async fn update_if_match<P: Serialize + ?Sized>(
        &self,
        key: impl Into<Key>,
        etag: &str,
        patch: &P,
    ) -> Result<()> {
        let body = to_json(patch)?;
        let etag = HeaderValue::from_str(etag)
            .map_err(|_| Error::Config(format!("ETag `{etag}` is not a valid header value")))?;
        let request = Request::patch(self.key_path(&key.into()))
            .json_body(body)
            .header(reqwest::header::IF_MATCH, etag);
        self.client.send(request).await.map(drop)
    }

    /// `PATCH Set(key)` where the collections sent replace the stored ones
    /// (`B1S-ReplaceCollectionsOnPatch: true`): lines not sent are removed.
    pub async fn update_replacing_collections<P: Serialize + ?Sized>(
        &self,
        key: impl Into<Key>,
        patch: &P,
    ) -> Result<()> {
        let body = to_json(patch)?;
        let request = Request::patch(self.key_path(&key.into()))
            .json_body(body)
            .header(
                HeaderName::from_static("b1s-replacecollectionsonpatch"),
                HeaderValue::from_static("true"),
            );
        self.client.send(request).await.map(drop)
    }

    /// `POST Set(key)/Action`, e.g. `Cancel` or `Close` on a document.
    pub async fn action(&self, key: impl Into<Key>, action: &str) -> Result<()> {
        let path = format!("{}/{}", self.key_path(&key.into()), action);
        self.client.send(Request::post(path)).await.map(drop)
    }
}

fn to_json<P: Serialize + ?Sized>(value: &P) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| Error::Config(format!("cannot serialise request body: {e}")))
}

impl SapClient {
    /// The default entity set of an [`Entity`] type.
    pub fn entity_set<T: Entity>(&self) -> EntitySet<T> {
        EntitySet::new(self.clone(), T::ENTITY_SET)
    }

    /// The rows of user table `table` (entity set `U_<table>`, keyed by `Code`).
    pub fn user_table(&self, table: &str) -> EntitySet<UserTableRow> {
        EntitySet::new(self.clone(), format!("U_{table}"))
    }

    /// `BusinessPartners`.
    pub fn business_partners(&self) -> EntitySet<BusinessPartner> {
        self.entity_set()
    }

    /// `Items`.
    pub fn items(&self) -> EntitySet<Item> {
        self.entity_set()
    }

    /// `PriceLists`.
    pub fn price_lists(&self) -> EntitySet<PriceList> {
        self.entity_set()
    }

    /// `Warehouses`.
    pub fn warehouses(&self) -> EntitySet<Warehouse> {
        self.entity_set()
    }

    /// `Invoices` (A/R invoices).
    pub fn invoices(&self) -> EntitySet<Document> {
        EntitySet::new(self.clone(), "Invoices")
    }

    /// `CreditNotes` (A/R credit notes).
    pub fn credit_notes(&self) -> EntitySet<Document> {
        EntitySet::new(self.clone(), "CreditNotes")
    }

    /// `IncomingPayments`.
    pub fn incoming_payments(&self) -> EntitySet<IncomingPayment> {
        self.entity_set()
    }

    /// `VendorPayments` (outgoing payments; SAP's `Payment` type, as incoming payments). With
    /// `DocType` `rCustomer` they pay a customer back, e.g. credit notes above its invoices.
    pub fn vendor_payments(&self) -> EntitySet<IncomingPayment> {
        EntitySet::new(self.clone(), "VendorPayments")
    }

    /// `JournalEntries`.
    pub fn journal_entries(&self) -> EntitySet<JournalEntry> {
        self.entity_set()
    }

    /// `ChartOfAccounts`.
    pub fn chart_of_accounts(&self) -> EntitySet<ChartOfAccount> {
        self.entity_set()
    }

    /// `InventoryGenEntries` (goods receipts, SAP's `Document` type).
    pub fn inventory_gen_entries(&self) -> EntitySet<Document> {
        EntitySet::new(self.clone(), "InventoryGenEntries")
    }

    /// `InventoryGenExits` (goods issues, SAP's `Document` type).
    pub fn inventory_gen_exits(&self) -> EntitySet<Document> {
        EntitySet::new(self.clone(), "InventoryGenExits")
    }

    /// `StockTransfers` (inventory transfers between warehouses).
    pub fn stock_transfers(&self) -> EntitySet<StockTransfer> {
        self.entity_set()
    }
}
