//! sp-api-client (skeleton: filled in by its issue).
