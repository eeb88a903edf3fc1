//! Batched int8 prediction: a document's result never depends on the batch
//! it is classified in, nor on the kernel (every available one is run).

use std::path::Path;

use scyth::model::{Precision, PredictScratch};
use scyth::quant::{ScalarKernel, available_kernels};

use super::fixture_texts;

#[test]
fn batched_int8_equals_one_document_at_a_time_on_tiny_for_every_kernel() {
    let model = scyth::model::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/model/tiny.scyth"),
    )
    .expect("load tiny.scyth");
    let texts = fixture_texts("fixtures/corpus/dev.csv");
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut s = PredictScratch::default();
    let alone: Vec<_> = texts
        .iter()
        .map(|t| {
            let row = model.features(t, &mut s.features);
            model.predict_row_with(&row, Precision::Int8, &ScalarKernel, &mut s)
        })
        .collect();
    assert!(alone.iter().any(|p| p.n_features > 0));
    for kernel in available_kernels() {
        // Batches of 1, 7 and all documents, and the batch reversed.
        for size in [1, 7, texts.len()] {
            let mut got = Vec::new();
            for chunk in texts.chunks(size) {
                got.extend(model.predict_texts_with(chunk, Precision::Int8, kernel, &mut s));
            }
            assert_eq!(got, alone, "kernel {} batch {size}", kernel.name());
        }
        let reversed: Vec<&str> = texts.iter().rev().copied().collect();
        let mut got = model.predict_texts_with(&reversed, Precision::Int8, kernel, &mut s);
        got.reverse();
        assert_eq!(got, alone, "kernel {} reversed batch", kernel.name());
    }
}
