//! Word document frequencies: plain maps of counts that can be added and
//! subtracted, so that a batch run and the streaming dataflow (which
//! inserts and retracts documents) maintain them with the same code.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

/// Document frequencies of words over a set of documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordDf {
    /// Number of documents.
    pub docs: u64,
    /// Documents containing each word (only words with df ≥ 1).
    pub df: FxHashMap<String, u64>,
}

impl WordDf {
    /// Adds one document given its distinct words.
    pub fn add_doc<S: AsRef<str>>(&mut self, words: &[S]) {
        self.docs += 1;
        for w in words {
            increment(&mut self.df, w.as_ref(), 1);
        }
    }

    /// Retracts one document previously added with the same words.
    pub fn remove_doc<S: AsRef<str>>(&mut self, words: &[S]) {
        self.docs = self.docs.saturating_sub(1);
        for w in words {
            decrement(&mut self.df, w.as_ref(), 1);
        }
    }

    /// Adds every count of `other`.
    pub fn add(&mut self, other: &WordDf) {
        self.docs += other.docs;
        for (w, n) in &other.df {
            increment(&mut self.df, w, *n);
        }
    }

    /// Subtracts every count of `other`, which must have been added before;
    /// words whose df falls to 0 disappear.
    pub fn subtract(&mut self, other: &WordDf) {
        self.docs = self.docs.saturating_sub(other.docs);
        for (w, n) in &other.df {
            decrement(&mut self.df, w, *n);
        }
    }

    /// The df of `word` (0 when unseen).
    pub fn get(&self, word: &str) -> u64 {
        self.df.get(word).copied().unwrap_or(0)
    }

    /// The sum of all dfs (word–document pairs).
    pub fn total(&self) -> u64 {
        self.df.values().sum()
    }
}

fn increment(df: &mut FxHashMap<String, u64>, w: &str, n: u64) {
    match df.get_mut(w) {
        Some(c) => *c += n,
        None => {
            df.insert(w.to_string(), n);
        }
    }
}

fn decrement(df: &mut FxHashMap<String, u64>, w: &str, n: u64) {
    if let Some(c) = df.get_mut(w) {
        debug_assert!(*c >= n, "subtracting more of {w:?} than was added");
        *c = c.saturating_sub(n);
        if *c == 0 {
            df.remove(w);
        }
    }
}

/// Word df over all documents, per time bucket and per category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordStats {
    /// All documents.
    pub all: WordDf,
    /// Documents per time bucket (see [`TimeBucket`](super::TimeBucket));
    /// documents without a usable time are in `all` only.
    pub by_bucket: BTreeMap<String, WordDf>,
    /// Documents per category label; a document with several labels counts
    /// in each, one without labels in `all` only.
    pub by_category: BTreeMap<String, WordDf>,
}

impl WordStats {
    /// Adds one document: its distinct words, time bucket and labels.
    pub fn add_doc<S: AsRef<str>>(&mut self, words: &[S], bucket: Option<&str>, labels: &[String]) {
        self.all.add_doc(words);
        if let Some(b) = bucket {
            self.by_bucket
                .entry(b.to_string())
                .or_default()
                .add_doc(words);
        }
        for l in labels {
            self.by_category
                .entry(l.clone())
                .or_default()
                .add_doc(words);
        }
    }

    /// Retracts one document added with the same arguments.
    pub fn remove_doc<S: AsRef<str>>(
        &mut self,
        words: &[S],
        bucket: Option<&str>,
        labels: &[String],
    ) {
        self.all.remove_doc(words);
        if let Some(b) = bucket {
            remove_from(&mut self.by_bucket, b, |d| d.remove_doc(words));
        }
        for l in labels {
            remove_from(&mut self.by_category, l, |d| d.remove_doc(words));
        }
    }

    /// Adds every count of `other`.
    pub fn add(&mut self, other: &WordStats) {
        self.all.add(&other.all);
        for (k, d) in &other.by_bucket {
            self.by_bucket.entry(k.clone()).or_default().add(d);
        }
        for (k, d) in &other.by_category {
            self.by_category.entry(k.clone()).or_default().add(d);
        }
    }

    /// Subtracts every count of `other`, which must have been added before.
    pub fn subtract(&mut self, other: &WordStats) {
        self.all.subtract(&other.all);
        for (k, d) in &other.by_bucket {
            remove_from(&mut self.by_bucket, k, |m| m.subtract(d));
        }
        for (k, d) in &other.by_category {
            remove_from(&mut self.by_category, k, |m| m.subtract(d));
        }
    }

    /// Documents that have no time bucket.
    pub fn untimed_docs(&self) -> u64 {
        let timed: u64 = self.by_bucket.values().map(|d| d.docs).sum();
        self.all.docs.saturating_sub(timed)
    }
}

/// Applies `f` to the entry `key` and drops the entry once it is empty.
fn remove_from(map: &mut BTreeMap<String, WordDf>, key: &str, f: impl FnOnce(&mut WordDf)) {
    if let Some(d) = map.get_mut(key) {
        f(d);
        if d.docs == 0 && d.df.is_empty() {
            map.remove(key);
        }
    }
}

/// One total of [`WordStats`], as the streaming graph maintains it: the
/// graph's output is a differential collection of these, so each epoch
/// retracts a total's old value and inserts its new one.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum WordCount {
    /// Documents in all (`all.docs`).
    Docs(u64),
    /// A word's df over all documents.
    Word(String, u64),
    /// Documents in a time bucket.
    BucketDocs(String, u64),
    /// A word's df in a time bucket: (bucket, word, df).
    BucketWord(String, String, u64),
    /// Documents in a category.
    CategoryDocs(String, u64),
    /// A word's df in a category: (category, word, df).
    CategoryWord(String, String, u64),
}

impl WordStats {
    /// Applies one change of a total: `diff > 0` sets it, `diff < 0`
    /// removes it if it still holds that value. Apply an epoch's
    /// retractions before its insertions.
    pub fn apply(&mut self, change: &WordCount, diff: isize) {
        let insert = diff > 0;
        fn set(df: &mut WordDf, word: &str, n: u64, insert: bool) {
            if insert {
                df.df.insert(word.to_string(), n);
            } else if df.df.get(word) == Some(&n) {
                df.df.remove(word);
            }
        }
        fn set_docs(df: &mut WordDf, n: u64, insert: bool) {
            if insert {
                df.docs = n;
            } else if df.docs == n {
                df.docs = 0;
            }
        }
        fn prune(map: &mut BTreeMap<String, WordDf>, key: &str) {
            if map.get(key).is_some_and(|d| d.docs == 0 && d.df.is_empty()) {
                map.remove(key);
            }
        }
        match change {
            WordCount::Docs(n) => set_docs(&mut self.all, *n, insert),
            WordCount::Word(w, n) => set(&mut self.all, w, *n, insert),
            WordCount::BucketDocs(b, n) => {
                set_docs(self.by_bucket.entry(b.clone()).or_default(), *n, insert);
                prune(&mut self.by_bucket, b);
            }
            WordCount::BucketWord(b, w, n) => {
                set(self.by_bucket.entry(b.clone()).or_default(), w, *n, insert);
                prune(&mut self.by_bucket, b);
            }
            WordCount::CategoryDocs(c, n) => {
                set_docs(self.by_category.entry(c.clone()).or_default(), *n, insert);
                prune(&mut self.by_category, c);
            }
            WordCount::CategoryWord(c, w, n) => {
                set(
                    self.by_category.entry(c.clone()).or_default(),
                    w,
                    *n,
                    insert,
                );
                prune(&mut self.by_category, c);
            }
        }
    }
}
