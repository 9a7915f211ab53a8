//! Report and feed documents: download of Amazon's pre-signed URLs, gunzip (by the declared
//! compression algorithm and by the gzip magic bytes) and charset decoding (from the
//! Content-Type, falling back to UTF-8 when valid, else Cp1252 or Shift_JIS).

use std::io::Read;

use encoding_rs::Encoding;
use reqwest::StatusCode;

use crate::client::SpApiClient;
use crate::error::{Error, Result};
use crate::rate_limit::Operation;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A downloaded document, decompressed and decoded to text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DocumentText {
    /// The decoded text.
    pub text: String,
    /// The encoding used to decode it.
    pub encoding: &'static Encoding,
    /// Whether the bytes were gzip-compressed.
    pub was_gzipped: bool,
    /// Whether some bytes were not valid in `encoding` (replaced by U+FFFD).
    pub had_errors: bool,
}

/// Extracts the `charset` parameter of a Content-Type header value.
pub fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// Maps a charset label (including Java names like `Cp1252` and `windows-31j`) to an encoding.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
}

/// Decompresses and decodes document bytes.
///
/// Gzip is undone when `compression_algorithm` is `GZIP` *and* the bytes start with the gzip
/// magic, or whenever they start with it (documents flagged GZIP with raw content exist, and an
/// HTTP layer may already have decompressed a `Content-Encoding: gzip` body). The text is
/// decoded with the Content-Type charset; without one, UTF-8 if the bytes are valid UTF-8, else
/// `fallback` (Cp1252 for NA/EU, Shift_JIS for JP; see
/// [`Marketplace::fallback_report_encoding`](crate::Marketplace::fallback_report_encoding)).
pub fn decode_document(
    bytes: &[u8],
    content_type: Option<&str>,
    compression_algorithm: Option<&str>,
    fallback: &'static Encoding,
) -> Result<DocumentText> {
    let declared_gzip = compression_algorithm.is_some_and(|c| c.eq_ignore_ascii_case("GZIP"));
    let looks_gzip = bytes.starts_with(&GZIP_MAGIC);
    let mut owned = Vec::new();
    let (bytes, was_gzipped) = if looks_gzip {
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut owned)
            .map_err(|e| Error::Document(format!("cannot gunzip document: {e}")))?;
        (owned.as_slice(), true)
    } else {
        if declared_gzip {
            tracing::debug!("document declared GZIP but is not gzip-compressed; using raw bytes");
        }
        (bytes, false)
    };
    let declared = content_type
        .and_then(charset_of)
        .and_then(encoding_for_label);
    let encoding = match declared {
        Some(e) => e,
        None if std::str::from_utf8(bytes).is_ok() => encoding_rs::UTF_8,
        None => fallback,
    };
    let (text, used, had_errors) = encoding.decode(bytes);
    Ok(DocumentText {
        text: text.into_owned(),
        encoding: used,
        was_gzipped,
        had_errors,
    })
}

impl SpApiClient {
    /// GETs a pre-signed document URL (no SP-API headers), retrying transport errors and 5xx.
    /// Returns the body and its Content-Type.
    #[tracing::instrument(skip(self, url))]
    pub(crate) async fn fetch_presigned(&self, url: &str) -> Result<(Vec<u8>, Option<String>)> {
        let policy = self.inner.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = self.inner.observer.start();
            let observed = |status: Option<StatusCode>| {
                self.inner.observer.report(
                    started,
                    Operation::DownloadDocument,
                    "GET",
                    status.map(|s| s.as_u16()),
                    attempt,
                )
            };
            let failure = match self.inner.http.get(url).send().await {
                Ok(response) if response.status().is_success() => {
                    let status = response.status();
                    let content_type = response
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let body = response.bytes().await;
                    observed(body.is_ok().then_some(status));
                    match body {
                        Ok(b) => return Ok((b.to_vec(), content_type)),
                        Err(e) => Error::Transport {
                            operation: Operation::DownloadDocument,
                            source: e.without_url(),
                        },
                    }
                }
                Ok(response) => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    observed(Some(status));
                    let error = Error::Document(format!(
                        "download answered HTTP {status}: {}",
                        crate::error::truncate(&body, 300)
                    ));
                    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                        return Err(error);
                    }
                    error
                }
                // The pre-signed URL grants access to the document: keep it out of errors.
                Err(e) => {
                    observed(None);
                    Error::Transport {
                        operation: Operation::DownloadDocument,
                        source: e.without_url(),
                    }
                }
            };
            if attempt >= policy.max_attempts {
                return Err(Error::RetriesExhausted {
                    operation: Operation::DownloadDocument,
                    attempts: attempt,
                    last: Box::new(failure),
                });
            }
            tokio::time::sleep(policy.delay(attempt, None)).await;
        }
    }

    /// Downloads a document URL and decodes it (see [`decode_document`]).
    pub async fn download_document(
        &self,
        url: &str,
        compression_algorithm: Option<&str>,
        fallback: &'static Encoding,
    ) -> Result<DocumentText> {
        let (bytes, content_type) = self.fetch_presigned(url).await?;
        decode_document(
            &bytes,
            content_type.as_deref(),
            compression_algorithm,
            fallback,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_parameter_is_found_case_insensitively() {
        assert_eq!(charset_of("text/plain;charset=Cp1252"), Some("Cp1252"));
        assert_eq!(
            charset_of("text/plain; Charset=\"windows-31j\""),
            Some("windows-31j")
        );
        assert_eq!(charset_of("text/plain"), None);
    }

    #[test]
    fn java_charset_names_map_to_encodings() {
        assert_eq!(
            encoding_for_label("Cp1252"),
            Some(encoding_rs::WINDOWS_1252)
        );
        assert_eq!(
            encoding_for_label("ISO-8859-1"),
            Some(encoding_rs::WINDOWS_1252)
        );
        assert_eq!(
            encoding_for_label("windows-31j"),
            Some(encoding_rs::SHIFT_JIS)
        );
        assert_eq!(
            encoding_for_label("Shift_JIS"),
            Some(encoding_rs::SHIFT_JIS)
        );
    }

    #[test]
    fn raw_bytes_flagged_gzip_are_used_as_is() {
        let doc =
            decode_document(b"a\tb\n", None, Some("GZIP"), encoding_rs::WINDOWS_1252).unwrap();
        assert_eq!(doc.text, "a\tb\n");
        assert!(!doc.was_gzipped);
    }

    #[test]
    fn undeclared_non_utf8_uses_the_fallback() {
        // "Größe" in Cp1252.
        let bytes = b"Gr\xf6\xdfe";
        let doc =
            decode_document(bytes, Some("text/plain"), None, encoding_rs::WINDOWS_1252).unwrap();
        assert_eq!(doc.text, "Größe");
        let sjis = encoding_rs::SHIFT_JIS.encode("注文番号").0;
        let doc = decode_document(&sjis, None, None, encoding_rs::SHIFT_JIS).unwrap();
        assert_eq!(doc.text, "注文番号");
    }
}
