//! `$batch`: several requests in one call, writes grouped in atomic changesets.
//!
//! Framing follows what the Service Layer insists on: CRLF line ends, a blank line between a
//! part's headers and its body, and a `Content-ID` on every changeset part (v2 rejects a
//! changeset part without one, error `244`). The response parser accepts both layouts SAP uses
//! (Content-ID before or after the status line), nested changeset responses, LF-only framing,
//! and HTML or empty error parts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{SapClient, parse_json};
use crate::error::{Error, Result, ServerError};
use crate::query::Key;
use crate::request::{Request, Retry};

/// One request inside a batch.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    content_id: Option<u32>,
}

#[derive(Debug, Clone)]
enum Item {
    Read(Operation),
    ChangeSet(Vec<Operation>),
}

/// A set of writes that SAP applies all-or-nothing.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ChangeSet {
    ops: Vec<Operation>,
}

impl ChangeSet {
    /// An empty changeset.
    pub fn new() -> ChangeSet {
        ChangeSet::default()
    }

    fn push(mut self, method: Method, path: &str, body: Option<Vec<u8>>) -> ChangeSet {
        self.ops.push(Operation {
            method,
            path: path.to_string(),
            body,
            content_id: None,
        });
        self
    }

    /// `POST path` with a JSON body.
    pub fn post<B: Serialize + ?Sized>(self, path: &str, body: &B) -> Result<ChangeSet> {
        Ok(self.push(Method::POST, path, Some(json(body)?)))
    }

    /// `PATCH path` with a JSON body.
    pub fn patch<B: Serialize + ?Sized>(self, path: &str, body: &B) -> Result<ChangeSet> {
        Ok(self.push(Method::PATCH, path, Some(json(body)?)))
    }

    /// `DELETE path`.
    pub fn delete(self, path: &str) -> ChangeSet {
        self.push(Method::DELETE, path, None)
    }

    /// `POST path` without a body (actions such as `Invoices(7)/Cancel`).
    pub fn action(self, path: &str) -> ChangeSet {
        self.push(Method::POST, path, None)
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

fn json<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| Error::Config(format!("cannot serialise batch body: {e}")))
}

/// A `$batch` request. Changeset parts get Content-IDs `1, 2, 3, ...` in the order added, so a
/// later part in the same changeset can address an earlier one as `$n` in its path.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Batch {
    items: Vec<Item>,
    next_content_id: u32,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch {
            items: Vec::new(),
            next_content_id: 1,
        }
    }

    /// Add a `GET path` outside any changeset.
    pub fn get(mut self, path: &str) -> Batch {
        self.items.push(Item::Read(Operation {
            method: Method::GET,
            path: path.to_string(),
            body: None,
            content_id: None,
        }));
        self
    }

    /// Add an atomic changeset.
    pub fn changeset(mut self, changeset: ChangeSet) -> Batch {
        let mut ops = changeset.ops;
        for op in &mut ops {
            op.content_id = Some(self.next_content_id);
            self.next_content_id += 1;
        }
        self.items.push(Item::ChangeSet(ops));
        self
    }

    fn is_read_only(&self) -> bool {
        self.items.iter().all(|i| matches!(i, Item::Read(_)))
    }

    /// Render the multipart body for `boundary`; request lines use `base_path` (`/b1s/v2/`).
    pub(crate) fn render(&self, base_path: &str, boundary: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for (n, item) in self.items.iter().enumerate() {
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match item {
                Item::Read(op) => render_operation(&mut out, base_path, op),
                Item::ChangeSet(ops) => {
                    let cs = format!("changeset_{boundary}_{n}");
                    out.extend_from_slice(
                        format!("Content-Type: multipart/mixed;boundary={cs}\r\n\r\n").as_bytes(),
                    );
                    for op in ops {
                        out.extend_from_slice(format!("--{cs}\r\n").as_bytes());
                        render_operation(&mut out, base_path, op);
                    }
                    out.extend_from_slice(format!("--{cs}--\r\n").as_bytes());
                }
            }
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }
}

fn render_operation(out: &mut Vec<u8>, base_path: &str, op: &Operation) {
    out.extend_from_slice(
        b"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n",
    );
    if let Some(id) = op.content_id {
        out.extend_from_slice(format!("Content-ID: {id}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    // Relative paths, including `$n` references (`PATCH /b1s/v1/$1`), go under the base path.
    let target = if op.path.starts_with('/') {
        op.path.clone()
    } else {
        format!("{base_path}{}", op.path)
    };
    out.extend_from_slice(format!("{} {target} HTTP/1.1\r\n", op.method).as_bytes());
    match &op.body {
        Some(body) => {
            out.extend_from_slice(b"Content-Type: application/json\r\n\r\n");
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"\r\n\r\n"),
    }
}

/// One sub-response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPartResponse {
    /// The part's Content-ID, when SAP echoed one.
    pub content_id: Option<String>,
    /// HTTP status of the sub-request.
    pub status: u16,
    /// Headers of the sub-response (name, value).
    pub headers: Vec<(String, String)>,
    /// Body of the sub-response (JSON, HTML or empty).
    pub body: String,
}

impl BatchPartResponse {
    /// True for a 2xx sub-response.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The created record's key from `Location`.
    pub fn location_key(&self) -> Option<Key> {
        self.header("Location").and_then(Key::from_location)
    }

    /// Parse the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        parse_json(self.body.as_bytes(), "$batch part")
    }

    /// The typed error for a failed sub-response.
    pub fn error(&self) -> Option<Error> {
        (!self.is_success())
            .then(|| ServerError::from_response(self.status, self.body.as_bytes()).into_error())
    }
}

/// One result per batch item: a single response, or the responses of one changeset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchResult {
    /// Response to a request outside any changeset (or a failed changeset's single error part).
    Single(BatchPartResponse),
    /// Responses of a changeset that SAP answered part by part.
    ChangeSet(Vec<BatchPartResponse>),
}

/// The parsed `$batch` answer. SAP stops at the first failing sub-request, so later items may be absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchResponse {
    /// Results in response order.
    pub results: Vec<BatchResult>,
}

impl BatchResponse {
    /// Every sub-response, changesets flattened.
    pub fn parts(&self) -> impl Iterator<Item = &BatchPartResponse> {
        self.results.iter().flat_map(|r| match r {
            BatchResult::Single(p) => std::slice::from_ref(p).iter(),
            BatchResult::ChangeSet(ps) => ps.iter(),
        })
    }

    /// The first failed sub-response's error, if any.
    pub fn first_error(&self) -> Option<Error> {
        self.parts().find_map(BatchPartResponse::error)
    }

    /// Parse a multipart/mixed batch answer with the given boundary.
    pub fn parse(body: &str, boundary: &str) -> Result<BatchResponse> {
        let text = body.replace("\r\n", "\n");
        let results =
            parse_multipart(&text, boundary).map_err(|message| Error::UnexpectedResponse {
                message,
                body: body.to_string(),
            })?;
        Ok(BatchResponse { results })
    }
}

fn parse_multipart(text: &str, boundary: &str) -> std::result::Result<Vec<BatchResult>, String> {
    let delimiter = format!("--{boundary}");
    let mut chunks = text.split(delimiter.as_str());
    chunks.next(); // preamble
    let mut results = Vec::new();
    let mut closed = false;
    for chunk in chunks {
        if chunk.starts_with("--") {
            closed = true;
            break;
        }
        let chunk = chunk.strip_prefix('\n').unwrap_or(chunk);
        let (mime_headers, rest) = split_headers(chunk);
        let content_type = find_header(&mime_headers, "Content-Type").unwrap_or_default();
        if content_type
            .to_ascii_lowercase()
            .starts_with("multipart/mixed")
        {
            let inner = boundary_of(&content_type)
                .ok_or_else(|| format!("changeset part without boundary: `{content_type}`"))?;
            let parts = parse_multipart(rest, &inner)?
                .into_iter()
                .flat_map(|r| match r {
                    BatchResult::Single(p) => vec![p],
                    BatchResult::ChangeSet(ps) => ps,
                })
                .collect();
            results.push(BatchResult::ChangeSet(parts));
        } else {
            results.push(BatchResult::Single(parse_http_part(&mime_headers, rest)?));
        }
    }
    if !closed {
        return Err(format!("multipart body not closed by `--{boundary}--`"));
    }
    Ok(results)
}

fn parse_http_part(
    mime_headers: &[(String, String)],
    rest: &str,
) -> std::result::Result<BatchPartResponse, String> {
    let rest = rest.trim_start_matches('\n');
    let (status_line, after) = rest.split_once('\n').unwrap_or((rest, ""));
    let mut words = status_line.split_whitespace();
    let version = words.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(format!("expected a status line, got `{status_line}`"));
    }
    let status: u16 = words
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line `{status_line}`"))?;
    let (headers, body) = split_headers(after);
    let content_id =
        find_header(mime_headers, "Content-ID").or_else(|| find_header(&headers, "Content-ID"));
    Ok(BatchPartResponse {
        content_id,
        status,
        headers,
        body: body.trim_end_matches(['\n', '\r']).to_string(),
    })
}

/// Split `Name: value` lines from the text after the first blank line.
fn split_headers(text: &str) -> (Vec<(String, String)>, &str) {
    let mut headers = Vec::new();
    let mut rest = text;
    loop {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        if line.trim().is_empty() {
            return (headers, after);
        }
        match line.split_once(':') {
            Some((n, v)) if !line.starts_with("HTTP/") => {
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
            _ => return (headers, rest),
        }
        if after.is_empty() {
            return (headers, "");
        }
        rest = after;
    }
}

fn find_header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

fn new_boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("batch_mlc_{nanos:x}_{n}")
}

impl SapClient {
    /// Send a `$batch`. A batch with any changeset is a write: never retried, and an ambiguous
    /// failure is [`Error::OutcomeUnknown`]. Per-part failures are in the [`BatchResponse`].
    #[tracing::instrument(skip(self, batch))]
    pub async fn batch(&self, batch: &Batch) -> Result<BatchResponse> {
        let boundary = new_boundary();
        let body = batch.render(self.base_path(), &boundary);
        let content_type = HeaderValue::from_str(&format!("multipart/mixed;boundary={boundary}"))
            .map_err(|e| Error::Config(format!("batch boundary: {e}")))?;
        let retry = if batch.is_read_only() {
            Retry::Idempotent
        } else {
            Retry::Never
        };
        let request = Request::post("$batch")
            .raw_body(body, content_type)
            .retry(retry)
            .timeout(Duration::from_secs(300));
        let resp = self.send(request).await?;
        let content_type = resp
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&resp.body);
        let boundary = boundary_of(content_type).ok_or_else(|| Error::UnexpectedResponse {
            message: format!("$batch answer is not multipart: `{content_type}`"),
            body: text.to_string(),
        })?;
        BatchResponse::parse(&text, &boundary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_crlf_framing_with_content_ids() {
        let batch = Batch::new().get("Items('A')").changeset(
            ChangeSet::new()
                .post("Invoices", &serde_json::json!({"CardCode": "C1"}))
                .unwrap()
                .action("Invoices(7)/Cancel"),
        );
        let text = String::from_utf8(batch.render("/b1s/v2/", "b")).unwrap();
        let want = "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n\
GET /b1s/v2/Items('A') HTTP/1.1\r\n\r\n\r\n\
--b\r\nContent-Type: multipart/mixed;boundary=changeset_b_1\r\n\r\n\
--changeset_b_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n\
POST /b1s/v2/Invoices HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"CardCode\":\"C1\"}\r\n\
--changeset_b_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n\
POST /b1s/v2/Invoices(7)/Cancel HTTP/1.1\r\n\r\n\r\n\
--changeset_b_1--\r\n--b--\r\n";
        assert_eq!(text, want);
    }

    #[test]
    fn boundary_parameter_may_be_quoted() {
        assert_eq!(
            boundary_of("multipart/mixed; boundary=\"batchresponse_1\"").as_deref(),
            Some("batchresponse_1")
        );
    }
}
