//! One classifier for what SAP answered to a write: what was not executed (retry now), what SAP
//! refused for good (FAILED, a person fixes it), and what may or may not have been executed
//! (UNKNOWN: looked up by the document's key before anything is sent again).

use sap_b1_client::Error as SapError;

/// What an error on a document write means for the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// SAP did not execute the request: a session rejected after the client's own re-login. The
    /// document goes back to PLANNED and is tried again in the same run (bounded).
    NotExecuted,
    /// SAP refused the document on business or format grounds and holds nothing of it: FAILED.
    Refused,
    /// The request may have been executed (timeout, reset, gateway error, an unreadable answer):
    /// UNKNOWN, looked up by key before any new attempt.
    Unknown,
    /// No connection to SAP could be made, so the request never left: the document goes back to
    /// PLANNED and the run stops with one message (SAP is down or the URL is wrong), instead of
    /// every planned document failing in turn.
    Unreachable,
}

impl ErrorClass {
    /// The class of an error SAP (or the way to it) gave to a single write request.
    pub fn of(error: &SapError) -> Self {
        match error {
            SapError::Session(_) => Self::NotExecuted,
            SapError::Transport { source, .. } if source.is_connect() => Self::Unreachable,
            SapError::Validation(_) | SapError::NotFound(_) | SapError::Conflict(_) => {
                Self::Refused
            }
            _ => Self::Unknown,
        }
    }

    /// The class of an error SAP reported inside a `$batch` changeset's answer. SAP rolls the
    /// whole changeset back when one of its requests fails (Service Layer manual, "Batch
    /// Operations"), so whatever the error is, nothing of it was posted; only a rejected session
    /// means "not executed, try again".
    pub fn of_rolled_back(error: &SapError) -> Self {
        match error {
            SapError::Session(_) => Self::NotExecuted,
            _ => Self::Refused,
        }
    }
}

/// The error that ends a run when SAP cannot be reached: one short line, what to check.
pub fn unreachable(base_url: &str, error: &SapError) -> anyhow::Error {
    // The innermost cause says why ("Connection refused", "dns error"); the chain above it
    // repeats the request.
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    anyhow::anyhow!(
        "SAP Service Layer {base_url} is not reachable ({cause}); stopped sending: the documents not \
         sent stay planned and nothing was lost. Check that the Service Layer is running and that \
         `[sap] base_url` is right, then run again"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sap_b1_client::ServerError;

    fn server(code: i64) -> ServerError {
        ServerError {
            status: 400,
            code: Some(sap_b1_client::ErrorCode::Number(code)),
            message: Some("m".into()),
            body: String::new(),
        }
    }

    #[test]
    fn sessions_are_not_executed_refusals_fail_and_the_rest_is_unknown() {
        assert_eq!(
            ErrorClass::of(&SapError::Session(server(-1))),
            ErrorClass::NotExecuted
        );
        for e in [
            SapError::Validation(server(-5002)),
            SapError::NotFound(server(-2028)),
            SapError::Conflict(server(-2039)),
        ] {
            assert_eq!(ErrorClass::of(&e), ErrorClass::Refused, "{e}");
            assert_eq!(ErrorClass::of_rolled_back(&e), ErrorClass::Refused, "{e}");
        }
        let gateway = SapError::Transient(server(-1));
        assert_eq!(ErrorClass::of(&gateway), ErrorClass::Unknown);
        // Inside a changeset SAP rolled back, even a gateway-style error posted nothing.
        assert_eq!(ErrorClass::of_rolled_back(&gateway), ErrorClass::Refused);
        assert_eq!(
            ErrorClass::of_rolled_back(&SapError::Session(server(-1))),
            ErrorClass::NotExecuted
        );
    }
}
