//! Request capture for tests: the bodies of the Service Layer writes the connector sent, exactly as
//! received, so a test can snapshot the JSON we send to SAP. Off unless a test turns it on.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Sandbox;

/// One Service Layer write (any method but `GET`) that came with a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SapWrite {
    /// `POST`, `PATCH`, `PUT` or `DELETE`.
    pub method: String,
    /// The path after `/b1s/vN/`: `Invoices`, `Items('A1')`, `$batch`.
    pub path: String,
    /// The request's `Content-Type` (a `$batch` carries its multipart boundary here).
    pub content_type: String,
    /// The body as received.
    pub body: Vec<u8>,
}

/// The captured writes, and whether capturing is on.
#[derive(Debug, Default)]
pub(crate) struct SapCapture {
    on: AtomicBool,
    writes: Mutex<Vec<SapWrite>>,
}

impl SapCapture {
    /// Keeps a copy of a write when capturing is on.
    pub(crate) fn record(&self, method: &str, path: &str, content_type: &str, body: &[u8]) {
        if !self.on.load(Ordering::Relaxed) || method == "GET" {
            return;
        }
        self.writes.lock().expect("capture lock").push(SapWrite {
            method: method.to_owned(),
            path: path.to_owned(),
            content_type: content_type.to_owned(),
            body: body.to_vec(),
        });
    }
}

impl Sandbox {
    /// Turns capturing of Service Layer writes on or off (off at start: bodies cost memory).
    pub fn capture_sap_writes(&self, on: bool) {
        self.shared.capture.on.store(on, Ordering::Relaxed);
    }

    /// The Service Layer writes captured so far, in the order they arrived.
    pub fn sap_writes(&self) -> Vec<SapWrite> {
        self.shared
            .capture
            .writes
            .lock()
            .expect("capture lock")
            .clone()
    }
}
