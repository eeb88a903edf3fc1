//! Turns the neutral export of a SCYTH-5 PyTorch checkpoint (written by
//! `scripts/export_scyth5.py`: `export.json` + `export.safetensors`) into a
//! scyth [`Model`]: lowercase-only normalization, the checkpoint's statuses,
//! scores, columns and `pairs_list` order, its int8 weights with their
//! scales and zero points as stored, and PyTorch's int8 rounding rules.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use bytemuck::Pod;
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use crate::features::{ImportedTrigram, ImportedVocabulary, Lexicon, LexiconParams};
use crate::model::Model;
use crate::model::meta::{DecisionRule, FORMAT_VERSION, ModelMeta, ModelSource};
use crate::network::{F32Weights, Shape};
use crate::quant::{Int8Weights, ZeroPoints, quantize_per_row};
use crate::stats::ScoreParams;
use crate::text::Normalization;

/// The format tag and version of the export this scyth reads.
pub const EXPORT_FORMAT: &str = "scyth5-export";
/// See [`EXPORT_FORMAT`].
pub const EXPORT_VERSION: u32 = 1;

/// `export.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// [`EXPORT_VERSION`].
    pub version: u32,
    /// The checkpoint's file name.
    #[serde(default)]
    pub source: String,
    /// The checkpoint's `config`.
    pub config: Config,
    /// Category names by id (`idx2name`).
    pub labels: Vec<String>,
    /// AGR scale (0.07 in SCYTH-5).
    #[serde(default = "default_gray_weight")]
    pub gray_weight: f64,
    /// Everything else (layer descriptions, torch version, ...), kept in the
    /// model's record.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

fn default_gray_weight() -> f64 {
    crate::stats::score::GRAY_WEIGHT
}

/// The checkpoint's `config`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Config {
    /// D.
    pub input_dim: usize,
    /// H.
    pub latent_size: usize,
    /// E.
    pub linker_size: usize,
    /// C.
    pub num_categories: usize,
}

/// The tensors of `export.safetensors`, with errors that list what is there.
struct Tensors<'a> {
    st: SafeTensors<'a>,
}

impl Tensors<'_> {
    fn found(&self) -> String {
        let mut names: Vec<String> = self.st.names().into_iter().map(String::from).collect();
        names.sort();
        names.join(", ")
    }

    fn has(&self, name: &str) -> bool {
        self.st.tensor(name).is_ok()
    }

    /// The bytes of tensor `name`, checked for dtype and shape.
    fn bytes(&self, name: &str, dtype: Dtype, shape: &[usize]) -> Result<&[u8]> {
        let t = self.st.tensor(name).map_err(|_| {
            anyhow::anyhow!(
                "tensor {name} missing from export.safetensors; found: {}",
                self.found()
            )
        })?;
        ensure!(
            t.dtype() == dtype && t.shape() == shape,
            "tensor {name}: {:?} {:?}, expected {dtype:?} {shape:?}",
            t.dtype(),
            t.shape()
        );
        Ok(t.data())
    }

    /// The tensor `name` as a vector, checked for dtype and (when given) shape.
    fn get<T: Pod>(&self, name: &str, dtype: Dtype, shape: Option<&[usize]>) -> Result<Vec<T>> {
        let t = self.st.tensor(name).map_err(|_| {
            anyhow::anyhow!(
                "tensor {name} missing from export.safetensors; found: {}",
                self.found()
            )
        })?;
        ensure!(
            t.dtype() == dtype,
            "tensor {name}: dtype {:?}, expected {dtype:?}",
            t.dtype()
        );
        if let Some(shape) = shape {
            ensure!(
                t.shape() == shape,
                "tensor {name}: shape {:?}, expected {shape:?}",
                t.shape()
            );
        }
        Ok(bytemuck::pod_collect_to_vec(t.data()))
    }
}

/// One Linear layer `[out][in]` in both precisions.
struct LayerWeights {
    f32: Vec<f32>,
    codes: Vec<i8>,
    scales: Vec<f32>,
    zero_points: Vec<i32>,
}

/// Reads layer `name` (`[out][in]`): int8 codes with per-tensor or
/// per-channel scales and zero points as stored (float weights dequantized
/// from them), or float weights (quantized per output row, symmetric).
/// With `transposed`, both come out `[in][out]` (the encoder's layout).
fn layer(
    t: &Tensors<'_>,
    name: &str,
    out: usize,
    inp: usize,
    transposed: bool,
) -> Result<LayerWeights> {
    let shape = [out, inp];
    let int8 = format!("{name}.weight_int8");
    if t.has(&int8) {
        let stored: &[i8] = bytemuck::cast_slice(t.bytes(&int8, Dtype::I8, &shape)?);
        let scale: Vec<f32> = t.get(&format!("{name}.scale"), Dtype::F32, None)?;
        let zp: Vec<i32> = t.get(&format!("{name}.zero_point"), Dtype::I32, None)?;
        let scales: Vec<f32> = widen(scale, out, name, "scale")?;
        let zero_points: Vec<i32> = widen(zp, out, name, "zero_point")?;
        let dequant = |r: usize, q: i8| (q as i32 - zero_points[r]) as f32 * scales[r];
        let (codes, f32) = if transposed {
            let mut codes = vec![0i8; stored.len()];
            let mut f32 = vec![0f32; stored.len()];
            // In tiles of 64 input columns, so that the strided writes of a
            // tile stay in cache (a plain loop is TLB-bound at SCYTH-5 size).
            const TILE: usize = 64;
            for c0 in (0..inp).step_by(TILE) {
                let c1 = (c0 + TILE).min(inp);
                for r in 0..out {
                    for c in c0..c1 {
                        let q = stored[r * inp + c];
                        codes[c * out + r] = q;
                        f32[c * out + r] = dequant(r, q);
                    }
                }
            }
            (codes, f32)
        } else {
            let f32 = stored
                .chunks(inp.max(1))
                .enumerate()
                .flat_map(|(r, row)| row.iter().map(move |&q| dequant(r, q)))
                .collect();
            (stored.to_vec(), f32)
        };
        return Ok(LayerWeights {
            f32,
            codes,
            scales,
            zero_points,
        });
    }
    let weight = format!("{name}.weight");
    if !t.has(&weight) {
        bail!(
            "layer {name}: neither {int8} nor {weight} in export.safetensors; found: {}",
            t.found()
        );
    }
    let f32: Vec<f32> = t.get(&weight, Dtype::F32, Some(&shape))?;
    let (codes, scales) = quantize_per_row(&f32, inp);
    let (f32, codes) = match transposed {
        true => (transpose(&f32, out, inp), transpose(&codes, out, inp)),
        false => (f32, codes),
    };
    Ok(LayerWeights {
        f32,
        codes,
        scales,
        zero_points: vec![0; out],
    })
}

/// Per-tensor (one value, repeated) or per-channel (`out` values) parameters
/// of layer `name`.
fn widen<T: Copy>(v: Vec<T>, out: usize, name: &str, what: &str) -> Result<Vec<T>> {
    match v.len() {
        1 => Ok(vec![v[0]; out]),
        n if n == out => Ok(v),
        n => bail!("{name}.{what}: {n} values, expected 1 (per tensor) or {out} (per channel)"),
    }
}

/// `[rows][cols]` → `[cols][rows]`.
fn transpose<T: Copy + Default>(m: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = vec![T::default(); m.len()];
    for (r, row) in m.chunks(cols.max(1)).enumerate() {
        for (c, &x) in row.iter().enumerate() {
            out[c * rows + r] = x;
        }
    }
    out
}

/// The dictionaries, ids turned into indices. Pairs naming an unknown
/// trigram or pentagram are dropped (the card's code can never act on
/// them: such a trigram has no string, such a pentagram no trigrams) and
/// counted in the second value.
fn vocabulary(t: &Tensors<'_>, d: usize) -> Result<(ImportedVocabulary, usize)> {
    let ids: Vec<i64> = t.get("trigram.id", Dtype::I64, None)?;
    let n = ids.len();
    let column: Vec<i64> = t.get("trigram.column", Dtype::I64, Some(&[n]))?;
    let white: Vec<u8> = t.get("trigram.white", Dtype::U8, Some(&[n]))?;
    let score: Vec<f64> = t.get("trigram.score", Dtype::F64, Some(&[n]))?;
    let offsets: Vec<i64> = t.get("trigram.text_offsets", Dtype::I64, Some(&[n + 1]))?;
    let utf8: Vec<u8> = t.get("trigram.text_utf8", Dtype::U8, None)?;
    let at: HashMap<i64, u32> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, i as u32))
        .collect();
    ensure!(at.len() == n, "trigram.id holds duplicate ids");
    let mut trigrams = Vec::with_capacity(n);
    for i in 0..n {
        let (s, e) = (offsets[i] as usize, offsets[i + 1] as usize);
        ensure!(
            s <= e && e <= utf8.len(),
            "trigram.text_offsets[{i}] out of range"
        );
        let text = std::str::from_utf8(&utf8[s..e])
            .with_context(|| format!("trigram id {}: string is not UTF-8", ids[i]))?;
        let chars: Vec<char> = text.chars().collect();
        let col = column[i];
        ensure!(
            col < d as i64,
            "trigram id {} has column {col}, but input_dim is {d}",
            ids[i]
        );
        trigrams.push(ImportedTrigram {
            chars: (chars.len() == 3).then(|| [chars[0], chars[1], chars[2]]),
            white: white[i] == 1,
            score: if score[i].is_nan() { 0.0 } else { score[i] },
            column: (col >= 0).then_some(col as u32),
        });
    }
    let pent_ids: Vec<i64> = t.get("pentagram.id", Dtype::I64, None)?;
    let p = pent_ids.len();
    let members: Vec<i64> = t.get("pentagram.trigrams", Dtype::I64, Some(&[p, 3]))?;
    let pent_at: HashMap<i64, u32> = pent_ids
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, i as u32))
        .collect();
    let mut pentagrams = Vec::with_capacity(p);
    for (k, m) in members.chunks_exact(3).enumerate() {
        let idx = |id: i64| {
            at.get(&id).copied().with_context(|| {
                format!(
                    "ngrm_to_tri[{}] names trigram id {id}, which is not in trigram.id",
                    pent_ids[k]
                )
            })
        };
        pentagrams.push([idx(m[0])?, idx(m[1])?, idx(m[2])?]);
    }
    let pairs_raw: Vec<i64> = t.get("pairs", Dtype::I64, None)?;
    let mut pairs = Vec::with_capacity(pairs_raw.len() / 2);
    let mut dropped = 0;
    for pair in pairs_raw.chunks_exact(2) {
        match (at.get(&pair[0]), pent_at.get(&pair[1])) {
            (Some(&ti), Some(&pi)) => pairs.push((ti, pi)),
            _ => dropped += 1,
        }
    }
    let vocab = ImportedVocabulary {
        trigrams,
        pentagrams,
        pairs,
        n_columns: d,
    };
    Ok((vocab, dropped))
}

/// Reads an export folder into a model (checksum 0 until saved).
pub fn import_dir(dir: &Path) -> Result<Model> {
    let manifest_path = dir.join("export.json");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected {{format, version, config {{input_dim, latent_size, linker_size, num_categories}}, labels, ...}}",
            manifest_path.display()
        )
    })?;
    ensure!(
        manifest.format == EXPORT_FORMAT && manifest.version == EXPORT_VERSION,
        "{}: format {:?} version {}, expected {EXPORT_FORMAT:?} version {EXPORT_VERSION}",
        manifest_path.display(),
        manifest.format,
        manifest.version
    );
    let tensor_path = dir.join("export.safetensors");
    let file = std::fs::File::open(&tensor_path)
        .with_context(|| format!("opening {}", tensor_path.display()))?;
    // SAFETY: read-only map of a file scyth does not write; the export is
    // converted (copied) before the map is dropped.
    let bytes = unsafe { memmap2::Mmap::map(&file) }
        .with_context(|| format!("memory-mapping {}", tensor_path.display()))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a safetensors file: {e:?}", tensor_path.display()))?;
    from_parts(&manifest, &Tensors { st }).with_context(|| format!("importing {}", dir.display()))
}

fn from_parts(manifest: &Manifest, t: &Tensors<'_>) -> Result<Model> {
    let c = manifest.config;
    let shape = Shape {
        d: c.input_dim,
        h: c.latent_size,
        e: c.linker_size,
        c: c.num_categories,
    };
    ensure!(
        manifest.labels.len() == shape.c,
        "{} labels for num_categories = {}",
        manifest.labels.len(),
        shape.c
    );
    let enc = layer(t, "encoder", shape.h, shape.d, true)?;
    let link = layer(t, "linker", shape.e, shape.h, false)?;
    let head = layer(t, "category_head", shape.c, shape.e, false)?;
    let bias: Vec<f32> = t.get("category_head.bias", Dtype::F32, Some(&[shape.c]))?;

    let (vocab, dropped) = vocabulary(t, shape.d)?;
    let params = LexiconParams {
        score: ScoreParams {
            // Statuses are frozen: τ is only reported, as the lowest white score.
            tau: vocab
                .trigrams
                .iter()
                .filter(|t| t.white)
                .map(|t| t.score)
                .fold(f64::INFINITY, f64::min)
                .min(f64::MAX),
            gray_weight: manifest.gray_weight,
            ..ScoreParams::default()
        },
        min_df: 0,
        max_columns: None,
        pent_min_df: 0,
    };
    let lexicon = Lexicon::from_imported(&vocab, params)?;

    let f32_weights = F32Weights {
        shape,
        enc: enc.f32.into(),
        link: link.f32.into(),
        head: head.f32.into(),
        bias: bias.into(),
    };
    let int8_weights = Int8Weights::from_parts(
        shape,
        enc.codes.into(),
        enc.scales.into(),
        link.codes.into(),
        link.scales.into(),
        head.codes.into(),
        head.scales.into(),
    )
    .with_fbgemm(Some(ZeroPoints {
        enc: enc.zero_points,
        link: link.zero_points,
        head: head.zero_points,
    }));

    let mut record = manifest.rest.clone();
    record.insert("imported_from".into(), manifest.source.clone().into());
    record.insert("pairs_dropped".into(), dropped.into());
    record.insert("pairs".into(), vocab.pairs.len().into());
    let meta = ModelMeta {
        format_version: FORMAT_VERSION,
        normalization: Normalization::Lowercase,
        lexicon: params,
        n_docs: 0,
        df_max: 0,
        shape,
        labels: manifest.labels.clone(),
        decision: DecisionRule {
            multi_label: true,
            global: 0.5,
            per_category: Vec::new(),
        },
        training: serde_json::Value::Object(record),
        source: ModelSource::ImportedScyth5,
    };
    Ok(Model {
        meta,
        lexicon: lexicon.into(),
        bias: f32_weights.bias.to_vec().into(),
        f32_weights: Some(f32_weights),
        int8_weights,
        checksum: 0,
    })
}
