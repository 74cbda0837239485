//! Nothing to use: this package holds the tests, benchmarks and heavy
//! examples of `llm-traced` (see its manifest). As a library it only runs the
//! README's examples as doc tests, with the crates they need.

#![cfg_attr(doctest, doc = include_str!("../README.md"))]
