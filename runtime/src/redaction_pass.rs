//! The pass over a record now lives in `redaction::pass`; this path stays for
//! the call pipeline.

pub(crate) use crate::redaction::pass::apply;
