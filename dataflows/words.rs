//! Word statistics in the stream (`scyth stream --words`): the word df of
//! the live documents over all documents, per time bucket and per decided
//! category, maintained by differential's `count` and `join` like the
//! trigram df — one update per distinct key and epoch — so that emerging
//! words and category keywords follow the stream, retractions and
//! re-classifications included.
//!
//! Documents are tokenized (lindera, the core's [`WordTokenizer`]) on the
//! worker their sequence number maps to. A document's categories are the
//! labels the classifier currently decides for it: when a document is
//! re-classified, its words move between categories.

use std::sync::Arc;

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::operators::Exchange;

use super::classifier::Classification;
use crate::words::{WordCount, WordScratch, WordTokenizer};

/// The word totals of the live documents `docs` (`(seq, text)`), of their
/// time buckets `buckets` (`(seq, bucket)`, documents without one absent)
/// and of their classifications `classes`, whose label ids name entries of
/// `label_names`.
pub fn word_statistics<'scope>(
    docs: VecCollection<'scope, u64, (u64, String)>,
    buckets: VecCollection<'scope, u64, (u64, String)>,
    classes: VecCollection<'scope, u64, (u64, Classification)>,
    tokenizer: Arc<WordTokenizer>,
    label_names: Arc<Vec<String>>,
) -> VecCollection<'scope, u64, WordCount> {
    // Tokenize where the document's sequence number maps, not all on the
    // worker that reads the input.
    let docs = docs
        .inner
        .exchange(|((seq, _), _, _): &((u64, String), u64, isize)| *seq)
        .as_collection();
    let mut scratch = WordScratch::default();
    let doc_words = docs.clone().flat_map(move |(seq, text)| {
        // A text lindera cannot segment contributes no words (the
        // classification still reports the document).
        let mut words: Vec<&str> = Vec::new();
        match tokenizer.distinct_words(&text, &mut scratch, &mut words) {
            Ok(()) => words.iter().map(|w| (seq, w.to_string())).collect(),
            Err(_) => Vec::new(),
        }
    });

    let n = docs
        .map(|_| ())
        .count()
        .map(|((), n)| WordCount::Docs(n as u64));
    let df = doc_words
        .clone()
        .map(|(_, w)| w)
        .count()
        .map(|(w, n)| WordCount::Word(w, n as u64));

    let bucket_docs = buckets
        .clone()
        .map(|(_, b)| b)
        .count()
        .map(|(b, n)| WordCount::BucketDocs(b, n as u64));
    let bucket_df = doc_words
        .clone()
        .join(buckets)
        .map(|(_, (w, b))| (b, w))
        .count()
        .map(|((b, w), n)| WordCount::BucketWord(b, w, n as u64));

    let labels = classes.flat_map(move |(seq, class)| {
        let names = label_names.clone();
        class.labels.into_iter().map(move |l| {
            let name = names
                .get(l as usize)
                .cloned()
                .unwrap_or_else(|| l.to_string());
            (seq, name)
        })
    });
    let category_docs = labels
        .clone()
        .map(|(_, c)| c)
        .count()
        .map(|(c, n)| WordCount::CategoryDocs(c, n as u64));
    let category_df = doc_words
        .join(labels)
        .map(|(_, (w, c))| (c, w))
        .count()
        .map(|((c, w), n)| WordCount::CategoryWord(c, w, n as u64));

    n.concat(df)
        .concat(bucket_docs)
        .concat(bucket_df)
        .concat(category_docs)
        .concat(category_df)
}
