//! Integration test modules (see tests/tests.rs).

mod cli;
mod explain_words;
mod feeds;
mod import;
mod kernels;
mod plans;
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

/// Runs the streaming classification over `batches` (max lag 2, first
/// epoch 0) and returns every epoch's output, in order: the runner shared by
/// the modules that hold the stream against an oracle.
pub(crate) fn run_stream(
    shared: scyth::dataflows::StreamModel,
    workers: usize,
    batches: Vec<scyth::dataflows::Batch>,
) -> Vec<scyth::dataflows::EpochOutput> {
    use std::sync::{Arc, Mutex};
    let outputs: Arc<Mutex<Vec<scyth::dataflows::EpochOutput>>> = Arc::default();
    let sink_outputs = outputs.clone();
    let mut batches = batches.into_iter();
    scyth::dataflows::run_classification(
        timely::Config::process(workers),
        shared,
        Box::new(move || batches.next().into()),
        Box::new(move |out| {
            sink_outputs.lock().expect("sink lock").push(out);
            Ok(())
        }),
        2,
        0,
    )
    .expect("stream runs");
    Arc::try_unwrap(outputs)
        .expect("stream finished")
        .into_inner()
        .expect("sink lock")
}
