//! `GET` of an entity set: `$filter` (answered from the indexes where they can, see
//! [`super::index`]), `$orderby`, `$top`/`$skip`, counts, and server-driven paging with nextLink.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::odata::{self, Query};
use super::schema::{SapProfile, Scope};
use super::store::{self, Entity, Key, SapDb, SetDef};
use super::wire::{Payload, SapError, SapResponse, Version};
use super::{Prefs, rendered, select};

/// A listed row with its entity, unpacked now if the filter did not already.
fn load_row<'a>(
    db: &'a SapDb,
    set: &str,
    (k, e): (Key, Option<Cow<'a, Entity>>),
) -> Option<(Key, Cow<'a, Entity>)> {
    let e = e.or_else(|| db.get(set, &k))?;
    Some((k, e))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn list(
    db: &mut SapDb,
    root: &str,
    version: Version,
    def: &'static SetDef,
    query: Option<&str>,
    prefs: &Prefs,
    count_only: bool,
    default_page: usize,
    profile: SapProfile,
) -> Result<SapResponse, SapError> {
    let q = Query::parse(query, def.type_name, version, &Scope { profile, db })?;
    if let Some(f) = &q.filter {
        db.prepare_indexes(def, f);
    }
    let db: &SapDb = db;
    // Rows in key order; entities unpacked only where the filter or `$orderby` needs them, and
    // for the page answered.
    let mut rows: Vec<(Key, Option<Cow<'_, Entity>>)> = match &q.filter {
        Some(f) => db
            .select(def, f)
            .into_iter()
            .map(|(k, e)| (k, Some(e)))
            .collect(),
        None => db.keys(def.name).map(|k| (k.clone(), None)).collect(),
    };
    if count_only {
        return Ok(SapResponse {
            status: 200,
            headers: vec![],
            body: Payload::Text(rows.len().to_string()),
        });
    }
    let load = |row| load_row(db, def.name, row);
    if !q.orderby.is_empty() {
        let mut loaded: Vec<(Key, Cow<'_, Entity>)> = rows.into_iter().filter_map(load).collect();
        loaded.sort_by(|a, b| odata::compare(def.type_name, &q.orderby, &a.1, &b.1));
        rows = loaded.into_iter().map(|(k, e)| (k, Some(e))).collect();
    }
    let total = rows.len();
    let page = prefs.page_size.unwrap_or(default_page);
    let after_skip = total.saturating_sub(q.skip);
    let wanted = q.top.map_or(after_skip, |t| t.min(after_skip));
    let take = if page == 0 { wanted } else { wanted.min(page) };
    let value: Vec<Value> = rows
        .into_iter()
        .skip(q.skip)
        .take(take)
        .filter_map(load)
        .map(|(k, e)| {
            let mut out = select(
                &rendered(profile, def.type_name, &e, version),
                q.select.as_deref(),
            );
            if version == Version::V2
                && let Some(t) = store::etag(def.name, &k, &e)
            {
                out.insert("@odata.etag".into(), Value::from(t));
            }
            Value::Object(out)
        })
        .collect();
    let mut out = Map::new();
    let (ctx_key, next_key, count_key) = match version {
        Version::V1 => ("odata.metadata", "odata.nextLink", "odata.count"),
        Version::V2 => ("@odata.context", "@odata.nextLink", "@odata.count"),
    };
    out.insert(
        ctx_key.into(),
        Value::from(format!("{root}/$metadata#{}", def.name)),
    );
    if q.count {
        out.insert(
            count_key.into(),
            if version == Version::V1 {
                Value::from(total.to_string())
            } else {
                Value::from(total)
            },
        );
    }
    out.insert("value".into(), Value::Array(value));
    if take < wanted {
        let next = q.next_query(q.skip + take, q.top.map(|t| t - take));
        let link = match version {
            Version::V1 => format!("/b1s/v1/{}?{next}", def.name),
            Version::V2 => format!("{}?{next}", def.name),
        };
        out.insert(next_key.into(), Value::from(link));
    }
    let mut resp = SapResponse::json(200, Value::Object(out));
    if prefs.page_size.is_some() {
        resp.headers.push((
            "Preference-Applied".into(),
            format!("odata.maxpagesize={page}"),
        ));
    }
    Ok(resp)
}
