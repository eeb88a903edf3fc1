//! Integration test modules (see tests/tests.rs).

mod cli;
mod spec;
mod stream;
