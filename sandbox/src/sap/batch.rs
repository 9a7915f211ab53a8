//! `$batch`: multipart/mixed with atomic changesets. A changeset rolls back completely when any
//! part fails; execution stops at the first failure; v2 requires a Content-ID in every changeset
//! part; sub-requests need CRLF framing.
//!
//! A request whose format is invalid is refused as a whole before anything runs: HTTP 400 with
//! a `-1000` body ("Service returns HTTP error code: 400 Bad Request … if the request format is
//! not valid", `"code": -1000 … "Incomplete Batch Request Body!"`, WSL p85). A v2 changeset part
//! without Content-ID is such a format error: B1SLayer (B1SL#8, #68) throws
//! `SLException: 'Content ID should be specified in each change set request.'`, which it only
//! does on a non-2xx status of the whole batch (B1SL#16: part errors never throw), with code
//! `244`.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::store::UndoLog;
use super::wire::{SapError, SapResponse, Version};
use super::{Prefs, execute, stamp};
use crate::Shared;

struct Part {
    headers: Vec<(String, String)>,
    content: String,
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn boundary(ctype: &str) -> Option<String> {
    ctype
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
}

fn split_parts(body: &str, boundary: &str) -> Option<Vec<Part>> {
    let delim = format!("--{boundary}");
    let close = format!("--{boundary}--");
    if !body.contains(&close) {
        return None;
    }
    let body = &body[..body.find(&close)?];
    let mut parts = Vec::new();
    for chunk in body.split(&delim).skip(1) {
        let chunk = chunk
            .strip_prefix("\r\n")
            .or_else(|| chunk.strip_prefix('\n'))
            .unwrap_or(chunk);
        let (head, content) = match chunk.find("\r\n\r\n") {
            Some(i) => (&chunk[..i], &chunk[i + 4..]),
            None => match chunk.find("\n\n") {
                Some(i) => (&chunk[..i], &chunk[i + 2..]),
                None => (chunk, ""),
            },
        };
        let headers = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        parts.push(Part {
            headers,
            content: content.to_string(),
        });
    }
    Some(parts)
}

struct SubRequest {
    method: String,
    path: String,
    query: Option<String>,
    prefs: Prefs,
    body: Vec<u8>,
}

fn parse_request(content: &str, version: Version) -> Result<SubRequest, SapError> {
    let Some(sep) = content.find("\r\n\r\n") else {
        return Err(SapError::malformed(
            "there should be two '\\r\\n' between sub-request header and content!",
        ));
    };
    let (head, body) = (&content[..sep], &content[sep + 4..]);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut it = request_line.split_whitespace();
    let (Some(method), Some(target)) = (it.next(), it.next()) else {
        return Err(SapError::malformed("Incomplete Batch Request Body!"));
    };
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let target = target
        .split_once("://")
        .map_or(target, |(_, r)| r.find('/').map_or("", |i| &r[i..]));
    let prefix = format!("/b1s/{}/", version.segment());
    let target = target
        .strip_prefix(&prefix)
        .unwrap_or(target.trim_start_matches('/'));
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    Ok(SubRequest {
        method: method.to_ascii_uppercase(),
        path: super::odata::decode(&path.replace('+', "%2B")),
        query,
        prefs: Prefs::from_pairs(headers.into_iter()),
        body: body.trim_end_matches(['\r', '\n']).as_bytes().to_vec(),
    })
}

fn render_part(out: &mut String, resp: &SapResponse, version: Version, content_id: Option<&str>) {
    out.push_str("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
    if let (Some(id), Version::V2) = (content_id, version) {
        out.push_str(&format!("Content-ID: {id}\r\n"));
    }
    out.push_str("\r\n");
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    out.push_str(&format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    ));
    if let (Some(id), Version::V1) = (content_id, version) {
        out.push_str(&format!("Content-ID: {id}\r\n"));
    }
    let (ctype, bytes) = resp.body_bytes(version);
    if let Some(c) = ctype {
        out.push_str(&format!("Content-Type: {c}\r\n"));
    }
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&String::from_utf8_lossy(&bytes));
    out.push_str("\r\n");
}

fn new_boundary(kind: &str, n: u64) -> String {
    format!("{kind}_{n:016x}-sandbox")
}

/// The whole-batch format checks: every part and changeset part parses, and (v2) every changeset
/// part has a Content-ID.
fn check_format(parts: &[Part], version: Version) -> Result<(), SapError> {
    for part in parts {
        let ptype = header_value(&part.headers, "Content-Type").unwrap_or_default();
        if !ptype.starts_with("multipart/mixed") {
            parse_request(&part.content, version)?;
            continue;
        }
        let sub = boundary(ptype)
            .and_then(|b| split_parts(&part.content, &b))
            .ok_or_else(|| SapError::malformed("Incomplete Batch Request Body!"))?;
        for p in &sub {
            if version == Version::V2 && header_value(&p.headers, "Content-ID").is_none() {
                return Err(SapError::new(
                    400,
                    "244",
                    "Content ID should be specified in each change set request.",
                ));
            }
            parse_request(&p.content, version)?;
        }
    }
    Ok(())
}

/// Handles `POST /$batch`.
pub(crate) fn handle(
    shared: &Shared,
    version: Version,
    root: &str,
    ctype: &str,
    body: &[u8],
) -> Response {
    let fail = |e: SapError| SapResponse::error(&e, version).into_http(version);
    let text = String::from_utf8_lossy(body);
    let Some(parts) = boundary(ctype).and_then(|b| split_parts(&text, &b)) else {
        return fail(SapError::malformed("Incomplete Batch Request Body!"));
    };
    if let Err(e) = check_format(&parts, version) {
        return fail(e);
    }
    let st = stamp(shared);
    let page = shared.sap.page_size;
    let seq = shared.next_counter();
    let outer = new_boundary("batchresponse", seq);
    let mut out = String::new();
    let mut db = shared.sap.db.lock().expect("db lock");
    let mut locations: HashMap<String, String> = HashMap::new();
    let resolve = |path: &str, locations: &HashMap<String, String>| -> String {
        if let Some(stripped) = path.strip_prefix('$') {
            let (id, tail) = stripped.split_at(stripped.find('/').unwrap_or(stripped.len()));
            if let Some(loc) = locations.get(id) {
                return format!("{loc}{tail}");
            }
        }
        path.to_string()
    };
    for part in parts {
        out.push_str(&format!("--{outer}\r\n"));
        let ptype = header_value(&part.headers, "Content-Type")
            .unwrap_or_default()
            .to_string();
        if ptype.starts_with("multipart/mixed") {
            let Some(sub) = boundary(&ptype).and_then(|b| split_parts(&part.content, &b)) else {
                return fail(SapError::malformed("Incomplete Batch Request Body!"));
            };
            let mut undo = UndoLog::default();
            let mut rendered = String::new();
            let cs = new_boundary("changesetresponse", seq);
            let mut failed: Option<(SapResponse, Option<String>)> = None;
            for p in &sub {
                let cid = header_value(&p.headers, "Content-ID").map(str::to_string);
                let req = match parse_request(&p.content, version) {
                    Ok(r) => r,
                    Err(e) => {
                        failed = Some((SapResponse::error(&e, version), cid));
                        break;
                    }
                };
                if req.method == "GET" {
                    failed = Some((
                        SapResponse::error(
                            &SapError::malformed("GET is not allowed in a change set"),
                            version,
                        ),
                        cid,
                    ));
                    break;
                }
                let path = resolve(&req.path, &locations);
                let resp = execute(
                    &mut db,
                    &mut undo,
                    root,
                    version,
                    &req.method,
                    &path,
                    req.query.as_deref(),
                    &req.prefs,
                    &req.body,
                    &st,
                    page,
                    shared.config.sap_profile,
                );
                if resp.status >= 400 {
                    failed = Some((resp, cid));
                    break;
                }
                if let (Some(id), Some((_, loc))) =
                    (&cid, resp.headers.iter().find(|(k, _)| k == "Location"))
                {
                    let rel = loc
                        .rsplit_once('/')
                        .map_or(loc.as_str(), |(_, r)| r)
                        .to_string();
                    locations.insert(id.clone(), rel);
                }
                rendered.push_str(&format!("--{cs}\r\n"));
                render_part(&mut rendered, &resp, version, cid.as_deref());
            }
            if let Some((resp, cid)) = failed {
                db.rollback(undo);
                render_part(&mut out, &resp, version, cid.as_deref());
                break;
            }
            out.push_str(&format!(
                "Content-Type: multipart/mixed;boundary={cs}\r\n\r\n"
            ));
            out.push_str(&rendered);
            out.push_str(&format!("--{cs}--\r\n"));
        } else {
            let req = match parse_request(&part.content, version) {
                Ok(r) => r,
                Err(e) => {
                    render_part(&mut out, &SapResponse::error(&e, version), version, None);
                    break;
                }
            };
            let mut undo = UndoLog::default();
            let path = resolve(&req.path, &locations);
            let resp = execute(
                &mut db,
                &mut undo,
                root,
                version,
                &req.method,
                &path,
                req.query.as_deref(),
                &req.prefs,
                &req.body,
                &st,
                page,
                shared.config.sap_profile,
            );
            render_part(&mut out, &resp, version, None);
            if resp.status >= 400 {
                break;
            }
        }
    }
    drop(db);
    out.push_str(&format!("--{outer}--\r\n"));
    let mut r = Response::new(Body::from(out));
    *r.status_mut() = if version == Version::V1 {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("multipart/mixed;boundary={outer}")) {
        h.insert(header::CONTENT_TYPE, v);
    }
    match version {
        Version::V1 => h.insert("DataServiceVersion", HeaderValue::from_static("3.0")),
        Version::V2 => h.insert("OData-Version", HeaderValue::from_static("4.0")),
    };
    r
}
