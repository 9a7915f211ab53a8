//! settlement-mapper (skeleton: filled in by its issue).
