//! Synthetic models of any shape, up to SCYTH-5's full size (2,033,473
//! columns, H=1024, E=512, 11,883 categories), deterministic from a seed, for
//! benchmarks of loading and classification at scale; and synthetic texts
//! whose trigrams hit the model's vocabulary.
//!
//! The vocabulary is dense: an alphabet of `k` characters (hiragana, then
//! kanji; the smallest `k` with `k³ ≥ columns`) and `columns` of its `k³`
//! trigrams, chosen by selection sampling, so almost every trigram of a text
//! over the alphabet has a column (as in real text, where nearly every
//! trigram of a news article is known). df is log-uniform in `[1, df_max]`,
//! scores follow the SPEC, every trigram is white, columns are ordered as
//! training orders them, and a modest number of pentagrams is known. The
//! weights are random int8 codes with per-channel scales; the file is
//! int8-only and the encoder streams to disk without existing in memory.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use anyhow::{Result, ensure};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::Dtype;
use serde::{Deserialize, Serialize};

use crate::features::lexicon::{build_slots, invert_pentagrams};
use crate::features::{Lexicon, LexiconParams, NO_COLUMN};
use crate::model::file::{Tensor, TensorData, int8_small_tensors, lexicon_tensors, write_model};
use crate::model::{DecisionRule, FORMAT_VERSION, ModelMeta, ModelSource};
use crate::network::Shape;
use crate::quant::Int8Weights;
use crate::stats::{ScoreParams, score};
use crate::text::{Normalization, Pentagram, Trigram, trigram_weight};

/// Documents in a synthetic model's statistics (N).
const N_DOCS: u64 = 1_000_000;
/// Largest df drawn (df is log-uniform in `[1, DF_MAX]`).
const DF_MAX: u32 = 200_000;
/// First hiragana used (ぁ) and how many: all of U+3041–U+3093.
const HIRAGANA: (u32, u32) = (0x3041, 83);
/// First kanji used (一).
const KANJI: u32 = 0x4E00;
/// Largest weight magnitude behind the random codes, per layer: the scale of
/// a channel is `LAYER_MAX · u / 127` with `u` uniform in [0.5, 1.5).
const ENC_MAX: f32 = 0.05;
const LINK_MAX: f32 = 0.2;
const HEAD_MAX: f32 = 0.5;

/// What to generate. Serialized into the model's training record, so a
/// file says how it was made (and `--reuse` can check it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthOptions {
    /// Input columns D (= trigrams in the vocabulary).
    pub columns: usize,
    /// Latent size H.
    pub latent: usize,
    /// Embedding (linker) size E.
    pub linker: usize,
    /// Categories C.
    pub categories: usize,
    /// Known pentagrams (fewer when the vocabulary is too small to hold
    /// that many distinct ones).
    pub pentagrams: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl SynthOptions {
    /// Options for a shape, with the default number of pentagrams
    /// (one per 20 columns).
    pub fn new(columns: usize, latent: usize, linker: usize, categories: usize, seed: u64) -> Self {
        SynthOptions {
            columns,
            latent,
            linker,
            categories,
            pentagrams: columns / 20,
            seed,
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            d: self.columns,
            h: self.latent,
            e: self.linker,
            c: self.categories,
        }
    }
}

/// One random stream per part of the model, so that each part depends only
/// on the seed (splitmix64 of seed and part).
fn rng(seed: u64, part: u64) -> ChaCha8Rng {
    let mut z = seed ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
}

/// The alphabet of a vocabulary of `columns` trigrams: the smallest `k` with
/// `k³ ≥ columns`, the first quarter hiragana (at most 83), the rest kanji,
/// in code-point order (so enumerating triples in order gives sorted keys).
pub fn alphabet(columns: usize) -> Vec<char> {
    let mut k = 1usize;
    while k * k * k < columns {
        k += 1;
    }
    let kana = (k / 4).min(HIRAGANA.1 as usize);
    (0..kana as u32)
        .map(|i| HIRAGANA.0 + i)
        .chain((0..(k - kana) as u32).map(|i| KANJI + i))
        .filter_map(char::from_u32)
        .collect()
}

/// The synthetic lexicon of `opts` (see the module documentation).
pub fn synth_lexicon(opts: &SynthOptions) -> Result<Lexicon> {
    ensure!(opts.columns > 0, "a model needs at least one column");
    let chars = alphabet(opts.columns);
    let k = chars.len();
    let total = k * k * k;
    // Selection sampling (Knuth's algorithm S): each triple is kept with
    // probability needed / left, giving exactly `columns` sorted keys.
    let mut r = rng(opts.seed, 1);
    let mut keys = Vec::with_capacity(opts.columns);
    let mut needed = opts.columns;
    for i in 0..total {
        if needed == 0 {
            break;
        }
        let left = total - i;
        if r.random_range(0..left) < needed {
            keys.push(Trigram::new([chars[i / (k * k)], chars[i / k % k], chars[i % k]]).0);
            needed -= 1;
        }
    }
    let t = keys.len();
    let ln_max = (DF_MAX as f64).ln();
    let df: Vec<u32> = (0..t)
        .map(|_| ((r.random::<f64>() * ln_max).exp().round() as u32).clamp(1, DF_MAX))
        .collect();
    let df_max = df.iter().copied().max().unwrap_or(0);
    let params = LexiconParams {
        score: ScoreParams::default(),
        min_df: 1,
        max_columns: None,
        pent_min_df: 2,
    };
    let scores: Vec<f64> = keys
        .iter()
        .zip(&df)
        .map(|(&key, &d)| {
            score(
                &params.score,
                d,
                df_max,
                trigram_weight(Trigram(key).chars()),
            )
        })
        .collect();
    let white: Vec<u8> = scores
        .iter()
        .map(|&s| params.score.is_white(s) as u8)
        .collect();
    // Columns as training orders them: df descending, then code points.
    let mut column_trigram: Vec<u32> = (0..t as u32).collect();
    column_trigram.sort_by(|&a, &b| df[b as usize].cmp(&df[a as usize]).then(a.cmp(&b)));
    let mut column = vec![NO_COLUMN; t];
    for (col, &i) in column_trigram.iter().enumerate() {
        column[i as usize] = col as u32;
    }

    // Known pentagrams: random 5-character strings whose three trigrams are
    // all in the vocabulary, distinct, in generation (first-appearance) order.
    let mut r = rng(opts.seed, 2);
    let index_of = |t: Trigram| keys.binary_search(&t.0).ok().map(|i| i as u32);
    let mut seen = HashSet::new();
    let mut pent_trigrams = Vec::with_capacity(3 * opts.pentagrams);
    let mut pent_df = Vec::with_capacity(opts.pentagrams);
    let mut pent_keys = Vec::with_capacity(2 * opts.pentagrams);
    let mut attempts = 0usize;
    while pent_df.len() < opts.pentagrams && attempts < 20 * opts.pentagrams + 100 {
        attempts += 1;
        let p = Pentagram::new(std::array::from_fn(|_| chars[r.random_range(0..k)]));
        let Some(members) = p
            .trigrams()
            .into_iter()
            .map(index_of)
            .collect::<Option<Vec<u32>>>()
        else {
            continue;
        };
        if !seen.insert(p.0) {
            continue;
        }
        let least = members.iter().map(|&i| df[i as usize]).min().unwrap_or(2);
        pent_df.push(r.random_range(2..=least.max(2)));
        pent_trigrams.extend_from_slice(&members);
        pent_keys.extend_from_slice(&p.to_halves());
    }
    let (pent_offsets, pent_lists) = invert_pentagrams(&pent_trigrams, t);
    let slots = build_slots(&keys);
    let mut lexicon = Lexicon {
        params,
        n_docs: N_DOCS,
        df_max,
        keys: keys.into(),
        slots: slots.into(),
        df: df.into(),
        score: scores.into(),
        white: white.into(),
        column: column.into(),
        column_trigram: column_trigram.into(),
        pent_offsets: pent_offsets.into(),
        pent_lists: pent_lists.into(),
        pent_trigrams: pent_trigrams.into(),
        pent_df: pent_df.into(),
        pent_keys: pent_keys.into(),
        records: Vec::new(),
        scan: Default::default(),
    };
    lexicon.index_records();
    Ok(lexicon)
}

/// Per-channel scales `max · u / 127`, `u` uniform in [0.5, 1.5).
fn scales(r: &mut ChaCha8Rng, n: usize, max: f32) -> Vec<f32> {
    (0..n)
        .map(|_| max * r.random_range(0.5f32..1.5) / 127.0)
        .collect()
}

/// Fills `buf` with random codes in [-127, 127] (symmetric int8).
fn fill_codes(r: &mut ChaCha8Rng, buf: &mut [u8]) {
    r.fill_bytes(buf);
    for b in buf.iter_mut() {
        if *b == 0x80 {
            *b = 0x81;
        }
    }
}

fn random_codes(r: &mut ChaCha8Rng, n: usize) -> Vec<i8> {
    let mut buf = vec![0u8; n];
    fill_codes(r, &mut buf);
    bytemuck::cast_vec(buf)
}

/// The metadata of a synthetic model: labels `c00000`, `c00001`, …,
/// single-label decision, the options as the training record.
fn synth_meta(opts: &SynthOptions, lex: &Lexicon) -> Result<ModelMeta> {
    let width = opts.categories.saturating_sub(1).to_string().len().max(5);
    Ok(ModelMeta {
        format_version: FORMAT_VERSION,
        normalization: Normalization::NfkcLowercase,
        lexicon: lex.params,
        n_docs: lex.n_docs,
        df_max: lex.df_max,
        shape: opts.shape(),
        labels: (0..opts.categories)
            .map(|c| format!("c{c:0width$}"))
            .collect(),
        decision: DecisionRule {
            multi_label: false,
            global: 0.5,
            per_category: Vec::new(),
        },
        training: serde_json::json!({ "synthetic": opts }),
        source: ModelSource::Trained,
    })
}

/// The options a model was generated with, when it is a synthetic model.
pub fn synth_options_of(meta: &ModelMeta) -> Option<SynthOptions> {
    serde_json::from_value(meta.training.get("synthetic")?.clone()).ok()
}

/// Writes the synthetic model of `opts` to `path` (int8-only; the encoder
/// is generated in 1 MiB pieces straight into the file). Returns the
/// checksum and the lexicon (for [`write_texts`]).
pub fn write_synth_model(opts: &SynthOptions, path: &Path) -> Result<(u64, Lexicon)> {
    ensure!(
        opts.latent > 0 && opts.linker > 0 && opts.categories > 0,
        "latent, linker and categories must be positive"
    );
    let lex = synth_lexicon(opts)?;
    let meta = synth_meta(opts, &lex)?;
    let s = opts.shape();
    let mut r = rng(opts.seed, 3);
    let enc_scale = scales(&mut r, s.h, ENC_MAX);
    let link_scale = scales(&mut r, s.e, LINK_MAX);
    let head_scale = scales(&mut r, s.c, HEAD_MAX);
    let link = random_codes(&mut r, s.e * s.h);
    let head = random_codes(&mut r, s.c * s.e);
    // Biases around the logit of a uniform prior over C categories.
    let prior = -(s.c as f32).ln();
    let bias: Vec<f32> = (0..s.c)
        .map(|_| prior + r.random_range(-1.0f32..1.0))
        .collect();
    let small = Int8Weights::from_parts(
        s,
        Vec::new().into(),
        enc_scale.into(),
        link.into(),
        link_scale.into(),
        head.into(),
        head_scale.into(),
    );
    let mut enc_rng = rng(opts.seed, 4);
    let enc_bytes = s.d * s.h;
    let mut tensors = lexicon_tensors(&lex);
    tensors.push(Tensor::from_slice("f32.bias", Dtype::F32, vec![s.c], &bias));
    tensors.push(Tensor {
        name: "int8.encoder",
        dtype: Dtype::I8,
        shape: vec![s.d, s.h],
        data: TensorData::Stream(Box::new(move |out: &mut dyn Write| {
            let mut buf = vec![0u8; 1 << 20];
            let mut left = enc_bytes;
            while left > 0 {
                let n = left.min(buf.len());
                fill_codes(&mut enc_rng, &mut buf[..n]);
                out.write_all(&buf[..n])?;
                left -= n;
            }
            Ok(())
        })),
    });
    tensors.extend(int8_small_tensors(&small));
    let sum = write_model(&meta, tensors, path)?;
    Ok((sum, lex))
}

/// Writes `n` synthetic texts as CSV `id,text` (ids `t0000001`, …), each of
/// 100–400 characters made by walking the vocabulary: every next character
/// completes a trigram of the lexicon with the two before it (chosen
/// uniformly among those), and a walk that cannot go on starts again from a
/// random trigram. So every trigram inside a walk has a column (for
/// synthetic models), and texts of any model read like its vocabulary.
/// Deterministic from `seed`.
pub fn write_texts(lexicon: &Lexicon, n: usize, seed: u64, out: impl Write) -> Result<()> {
    let keys = &*lexicon.keys;
    ensure!(
        !keys.is_empty(),
        "the model has no trigrams to build texts from"
    );
    let mut r = rng(seed, 5);
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["id", "text"])?;
    let mut text = String::new();
    let width = n.to_string().len().max(7);
    for i in 0..n {
        let len = r.random_range(100..=400usize);
        text.clear();
        let (mut a, mut b) = ('\0', '\0');
        let mut chars = 0;
        while chars < len {
            let lo = Trigram::new([a, b, '\0']).0;
            let hi = Trigram::new([a, b, char::MAX]).0;
            let (start, end) = (
                keys.partition_point(|&k| k < lo),
                keys.partition_point(|&k| k <= hi),
            );
            if chars >= 2 && start < end {
                let c = Trigram(keys[r.random_range(start..end)]).chars()[2];
                text.push(c);
                (a, b) = (b, c);
                chars += 1;
            } else {
                let t = Trigram(keys[r.random_range(0..keys.len())]).chars();
                text.extend(t);
                (a, b) = (t[1], t[2]);
                chars += 3;
            }
        }
        w.write_record([format!("t{:0width$}", i + 1), text.clone()])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_is_sorted_and_just_large_enough() {
        for columns in [1, 8, 9, 1000, 2_033_473] {
            let a = alphabet(columns);
            let k = a.len();
            assert!(
                k * k * k >= columns && (k - 1).pow(3) < columns,
                "{columns}"
            );
            assert!(a.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(alphabet(2_033_473).len(), 127);
    }

    #[test]
    fn lexicon_has_exactly_the_columns_sorted_and_consistent() {
        let opts = SynthOptions::new(500, 8, 4, 3, 11);
        let lex = synth_lexicon(&opts).unwrap();
        assert_eq!(lex.n_trigrams(), 500);
        assert_eq!(lex.n_columns(), 500);
        assert!(lex.keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(lex.white_columns(), 500);
        assert_eq!(lex.n_pentagrams(), 25);
        for (col, &t) in lex.column_trigram.iter().enumerate() {
            assert_eq!(lex.column[t as usize] as usize, col);
            assert_eq!(lex.lookup(lex.trigram(t)), Some(t));
        }
        let df: Vec<u32> = lex
            .column_trigram
            .iter()
            .map(|&t| lex.df[t as usize])
            .collect();
        assert!(df.windows(2).all(|w| w[0] >= w[1]));
    }
}
