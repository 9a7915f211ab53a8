//! sap-b1-client (skeleton: filled in by its issue).
