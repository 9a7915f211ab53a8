//! The fake SAP Business One Service Layer: `/b1s/v1` (OData v3) and `/b1s/v2` (OData v4),
//! `/ping/`, Login/Logout with cookies and idle expiry, entities, the OData subset, `$batch`.

pub mod accounts;
pub mod batch;
pub mod cancel;
pub mod company;
pub mod documents;
pub mod entities;
pub mod filter;
pub mod index;
#[cfg(test)]
mod index_tests;
pub mod inventory;
pub mod journal;
pub mod lengths;
mod list;
#[rustfmt::skip]
mod metadata_gen;
#[rustfmt::skip]
mod metadata_v3_gen;
pub mod odata;
pub mod packed;
pub mod payments;
pub mod rules;
pub mod schema;
pub mod session;
pub mod store;
pub mod tax;
pub mod udf;
pub mod user_tables;
pub mod validation;
pub mod wire;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::Shared;
use entities::Stamp;
use odata::Query;
use schema::{SapProfile, Scope};
use store::{Key, SapDb, SetDef, UndoLog, set_def};
use wire::{SapError, SapResponse, Version, entity_annotation, render};

/// State of the Service Layer fake.
#[derive(Debug)]
pub struct SapState {
    /// The company database.
    pub db: Mutex<SapDb>,
    /// Live sessions.
    pub sessions: session::Sessions,
    /// Added latency per request.
    pub latency: Duration,
    /// Default page size (b1s.conf `PageSize`).
    pub page_size: usize,
}

impl SapState {
    /// Expires the session named in a `Cookie` header (fault injection).
    pub fn expire_cookie_session(&self, cookie: &str) {
        self.sessions.expire_cookie(cookie);
    }
}

/// Request headers that change how the Service Layer answers.
#[derive(Debug, Default, Clone)]
pub struct Prefs {
    /// `Prefer: odata.maxpagesize=N` or `B1S-PageSize: N`.
    pub page_size: Option<usize>,
    /// `Prefer: return-no-content`.
    pub no_content: bool,
    /// `B1S-ReplaceCollectionsOnPatch: true`.
    pub replace_collections: bool,
    /// `If-Match`.
    pub if_match: Option<String>,
}

impl Prefs {
    /// Reads the preferences from (name, value) pairs.
    pub fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut p = Prefs::default();
        for (k, v) in pairs {
            let k = k.to_ascii_lowercase();
            if k == "prefer" {
                for part in v.split(',') {
                    let part = part.trim();
                    if let Some(n) = part.strip_prefix("odata.maxpagesize=") {
                        p.page_size = n.trim().parse().ok();
                    } else if part == "return-no-content" {
                        p.no_content = true;
                    }
                }
            } else if k == "b1s-pagesize" {
                p.page_size = v.trim().parse().ok();
            } else if k == "if-match" {
                p.if_match = Some(v.trim().to_string());
            } else if k == "b1s-replacecollectionsonpatch" {
                p.replace_collections = v.trim().eq_ignore_ascii_case("true");
            }
        }
        p
    }

    fn from_headers(h: &HeaderMap) -> Self {
        Self::from_pairs(
            h.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
        )
    }
}

/// The sandbox's clock as a write stamp.
pub fn stamp(shared: &Shared) -> Stamp {
    let now = shared.clock.now();
    Stamp {
        date: now.format("%Y-%m-%d").to_string(),
        time: now.format("%H:%M:%S").to_string(),
    }
}

/// Entry point of every Service Layer request.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if path == "/ping/" || path == "/ping" {
        let ts = shared.clock.now().timestamp_millis();
        let body = json!({"message": "pong", "sender": "load balancer", "timestamp": format!("{}.{:03}", ts / 1000, ts % 1000)});
        return SapResponse::json(200, body).into_http(Version::V2);
    }
    let (version, rest) = if let Some(r) = path.strip_prefix("/b1s/v1/") {
        (Version::V1, r)
    } else if let Some(r) = path.strip_prefix("/b1s/v2/") {
        (Version::V2, r)
    } else {
        return (axum::http::StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    if wire::has_encoded_slash(rest) {
        return wire::apache_not_found();
    }
    let rest = odata::decode(&rest.replace('+', "%2B"));
    let Ok(bytes) = to_bytes(body, 256 * 1024 * 1024).await else {
        // INVENTED: the text for a body over 256 MiB; SAP's limit and answer are not documented in our sources.
        return SapResponse::error(&SapError::malformed("Request body too large"), version)
            .into_http(version);
    };
    let root = format!("{}/b1s/{}", shared.sap_origin(), version.segment());
    let method = parts.method.as_str().to_string();
    let now = shared.clock.now();
    if method == "POST" && rest == "Login" {
        shared.requests.sap(&method, &rest);
        let login = shared.sap_login();
        return shared
            .sap
            .sessions
            .login(&bytes, &login, version, &root, now)
            .into_http(version);
    }
    let cookie = parts
        .headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok());
    let (session_id, lock) = match shared.sap.sessions.authenticate(cookie, now) {
        Ok(s) => s,
        Err(e) => return SapResponse::error(&e, version).into_http(version),
    };
    shared.requests.sap(&method, &rest);
    let ctype = parts.headers.get(header::CONTENT_TYPE);
    let ctype = ctype.and_then(|v| v.to_str().ok()).unwrap_or_default();
    shared.capture.record(&method, &rest, ctype, &bytes);
    // The Service Layer serves the calls of one session one at a time.
    let _serial = lock.lock().await;
    if !shared.sap.latency.is_zero() {
        tokio::time::sleep(shared.sap.latency).await;
    }
    if method == "POST" && rest == "Logout" {
        shared.sap.sessions.logout(&session_id);
        return SapResponse::no_content().into_http(version);
    }
    if rest == "$batch" && method == "POST" {
        let ctype = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return batch::handle(&shared, version, &root, ctype, &bytes);
    }
    let prefs = Prefs::from_headers(&parts.headers);
    let st = stamp(&shared);
    let mut db = shared.sap.db.lock().expect("db lock");
    let mut undo = UndoLog::default();
    let resp = execute(
        &mut db,
        &mut undo,
        &root,
        version,
        &method,
        &rest,
        parts.uri.query(),
        &prefs,
        &bytes,
        &st,
        shared.sap.page_size,
        shared.config.sap_profile,
    );
    drop(db);
    resp.into_http(version)
}

/// A parsed resource path.
#[derive(Debug)]
pub struct Target {
    /// The entity set.
    pub def: &'static SetDef,
    /// `Set(key)`.
    pub key: Option<Key>,
    /// `/$count`.
    pub count: bool,
}

/// Parses `Items`, `Items('A''B')`, `Invoices(12)`, `Items/$count` (the fixed entity sets only).
pub fn parse_target(rest: &str) -> Result<Target, SapError> {
    parse_target_with(rest, set_def)
}

/// Like [`parse_target`], also resolving the user-table metadata sets and the user tables the
/// running Service Layer knows (`U_<TableName>`).
pub fn parse_target_in(db: &SapDb, rest: &str) -> Result<Target, SapError> {
    parse_target_with(rest, |name| user_tables::resolve_set(db, name))
}

fn parse_target_with(
    rest: &str,
    resolve: impl Fn(&str) -> Option<&'static SetDef>,
) -> Result<Target, SapError> {
    let rest = rest.trim_end_matches('/');
    let (head, count) = match rest.strip_suffix("/$count") {
        Some(h) => (h, true),
        None => (rest, false),
    };
    let (name, key) = match head.find('(') {
        Some(i) if head.ends_with(')') => (&head[..i], Some(&head[i + 1..head.len() - 1])),
        _ => (head, None),
    };
    let def = resolve(name)
        .filter(|d| !d.name.starts_with('_'))
        .ok_or_else(|| {
            SapError::new(
                404,
                "-1000",
                format!("Resource not found for the segment '{name}'"),
            )
        })?;
    let key = match key {
        None => None,
        Some(k) => {
            let k = k.split_once('=').map_or(k, |(_, v)| v).trim();
            if let Some(s) = k.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
                Some(Key::Str(s.replace("''", "'")))
            } else {
                Some(Key::Int(k.parse().map_err(|_| {
                    SapError::malformed(format!("Invalid key '{k}'"))
                })?))
            }
        }
    };
    Ok(Target { def, key, count })
}

/// Executes one request against the database (also used for each `$batch` part).
#[allow(clippy::too_many_arguments)]
pub fn execute(
    db: &mut SapDb,
    undo: &mut UndoLog,
    root: &str,
    version: Version,
    method: &str,
    rest: &str,
    query: Option<&str>,
    prefs: &Prefs,
    body: &[u8],
    st: &Stamp,
    default_page: usize,
    profile: SapProfile,
) -> SapResponse {
    match execute_inner(
        db,
        undo,
        root,
        version,
        method,
        rest,
        query,
        prefs,
        body,
        st,
        default_page,
        profile,
    ) {
        Ok(r) => r,
        Err(e) => SapResponse::error(&e, version),
    }
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, SapError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(SapError::malformed("Invalid JSON in the request body")),
    }
}

#[allow(clippy::too_many_arguments)]
fn execute_inner(
    db: &mut SapDb,
    undo: &mut UndoLog,
    root: &str,
    version: Version,
    method: &str,
    rest: &str,
    query: Option<&str>,
    prefs: &Prefs,
    body: &[u8],
    st: &Stamp,
    default_page: usize,
    profile: SapProfile,
) -> Result<SapResponse, SapError> {
    if let Some(resp) = user_tables::route_field_key(db, root, version, method, rest)? {
        return Ok(resp);
    }
    if let Some(resp) = company::services::route(db, undo, root, version, method, rest, body)? {
        return Ok(resp);
    }
    if let Some(resp) = cancel::route(db, method, rest, st, undo)? {
        return Ok(resp);
    }
    if let Some(resp) = rules::route_service(db, root, version, method, rest, body, undo)? {
        return Ok(resp);
    }
    let t = parse_target_in(db, rest)?;
    let def = t.def;
    if user_tables::is_metadata_set(def.name) && matches!(method, "PATCH" | "DELETE" | "PUT") {
        return Err(user_tables::metadata_change_unsupported());
    }
    match (method, &t.key) {
        ("GET", None) => list::list(
            db,
            root,
            version,
            def,
            query,
            prefs,
            t.count,
            default_page,
            profile,
        ),
        ("GET", Some(k)) => {
            let q = Query::parse(query, def.type_name, version, &Scope { profile, db })?;
            let e = db
                .get(def.name, k)
                .ok_or_else(|| SapError::not_found(404))?;
            let mut out = select(
                &rendered(profile, def.type_name, &e, version),
                q.select.as_deref(),
            );
            let (ak, av) = entity_annotation(version, root, def.name);
            out.insert(ak, av);
            let tag = store::etag(def.name, k, &e).filter(|_| version == Version::V2);
            if let Some(t) = &tag {
                out.insert("@odata.etag".into(), Value::from(t.clone()));
            }
            let mut resp = SapResponse::json(200, Value::Object(out));
            if let Some(t) = tag {
                resp.headers.push(("ETag".into(), t));
            }
            Ok(resp)
        }
        ("POST", None) => {
            let (key, e) = entities::create_in(db, def, &parse_body(body)?, st, profile, undo)?;
            let location = format!(
                "/b1s/{}/{}",
                version.segment(),
                user_tables::entity_path(def, &key, &e)
            );
            let mut resp = if prefs.no_content {
                let mut r = SapResponse::no_content();
                r.headers
                    .push(("Preference-Applied".into(), "return-no-content".into()));
                r
            } else {
                let mut out = rendered(profile, def.type_name, &e, version);
                let (ak, av) = entity_annotation(version, root, def.name);
                out.insert(ak, av);
                if let Some(t) = store::etag(def.name, &key, &e).filter(|_| version == Version::V2)
                {
                    out.insert("@odata.etag".into(), Value::from(t));
                }
                SapResponse::json(201, Value::Object(out))
            };
            resp.headers.push(("Location".into(), location));
            Ok(resp)
        }
        ("PATCH" | "DELETE", Some(k))
            if version == Version::V2 && prefs.if_match.as_deref().is_some_and(|m| m != "*") =>
        {
            let tag = db
                .get(def.name, k)
                .map(|current| store::etag(def.name, k, &current))
                .ok_or_else(|| SapError::not_found(404))?;
            if tag.as_deref() != prefs.if_match.as_deref() {
                return Err(SapError::new(
                    412,
                    "-2039",
                    "Another user or another operation modified data; to continue, open the window again (ODBC -2039)",
                ));
            }
            let mut relaxed = prefs.clone();
            relaxed.if_match = None;
            execute_inner(
                db,
                undo,
                root,
                version,
                method,
                rest,
                query,
                &relaxed,
                body,
                st,
                default_page,
                profile,
            )
        }
        ("PATCH", Some(k)) => {
            entities::patch(
                db,
                def,
                k,
                &parse_body(body)?,
                prefs.replace_collections,
                st,
                profile,
                undo,
            )?;
            Ok(SapResponse::no_content())
        }
        ("DELETE", Some(k)) => {
            entities::delete(db, def, k, undo)?;
            Ok(SapResponse::no_content())
        }
        _ => Err(SapError::new(
            405,
            "-1000",
            format!("Method {method} is not allowed on this resource"),
        )),
    }
}

/// An entity as release `profile` answers it.
pub(crate) fn rendered(
    profile: SapProfile,
    ty: &str,
    e: &Map<String, Value>,
    v: Version,
) -> Map<String, Value> {
    let mut out = render(ty, e, v);
    schema::prune(profile, ty, &mut out);
    out
}

pub(crate) fn select(e: &Map<String, Value>, props: Option<&[String]>) -> Map<String, Value> {
    match props {
        None => e.clone(),
        Some(ps) => ps
            .iter()
            .filter_map(|p| e.get(p).map(|v| (p.clone(), v.clone())))
            .collect(),
    }
}
