//! scyth: a multi-label topic classifier for Japanese text built on character
//! trigrams, pentagram aggregation and a small linear network quantized to
//! int8 (the SCYTH-5 design), usable in batch and as a stream processor.
//!
//! This crate is the pure core shared by every driver: text normalization and
//! n-gram extraction ([`text`]), corpus statistics and trigram scores
//! ([`stats`]), feature vectors ([`features`]), the network and its training
//! ([`network`], [`train`]), int8 quantization and kernels ([`quant`]), the
//! model file ([`model`]), record input/output ([`io`]) and evaluation metrics
//! ([`metrics`]). These modules do not depend on timely or differential
//! dataflow; [`dataflows`] (compiled from the top-level `dataflows/` folder)
//! builds the streaming graphs from them and is the only place that does.
//! Word-level statistics with lindera (emerging words, category keywords)
//! are in [`words`].
#![forbid(missing_docs)]

pub mod bits;
pub mod buf;
#[path = "../dataflows/mod.rs"]
pub mod dataflows;
pub mod features;
pub mod io;
pub mod metrics;
pub mod model;
pub mod network;
pub mod quant;
pub mod stats;
pub mod text;
pub mod train;
pub mod words;
