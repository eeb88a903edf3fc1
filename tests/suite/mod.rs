//! Integration test modules (see tests/tests.rs).

mod cli;
mod feeds;
mod import;
mod kernels;
mod scale;
mod spec;
mod stream;
mod stream_classify;
mod stream_cli;
mod stream_state;
mod stream_words;
mod words;

/// The `text` column of a fixture CSV (path relative to the crate root),
/// shared by the modules that build statistics from the fixture corpus.
pub(crate) fn fixture_texts(rel: &str) -> Vec<String> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    let mut reader = csv::Reader::from_path(path).expect("open fixture csv");
    let at = reader
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "text")
        .expect("a text column");
    reader
        .records()
        .map(|r| r.expect("csv record")[at].to_string())
        .collect()
}
