//! Inference plans: which products of the network's matrices run per
//! document. The network is linear up to the logits (`logit = bias +
//! Σ value · W_enc[col] · W_linkᵀ · W_headᵀ`), so when only labels and
//! probabilities are wanted (no embedding), layers can be multiplied
//! together once, ahead of time, and documents pay for fewer multiply-adds:
//!
//! - [`Plan::Full`]: encoder gather (H) → linker (H→E) → head (E→C), the
//!   only plan that yields the embedding;
//! - [`Plan::Linked`]: encoder gather (H) → `W_head · W_link` (H→C);
//! - [`Plan::Folded`]: the gather directly over `W_enc · W_linkᵀ · W_headᵀ`
//!   (`[D][C]`), C values per active column.
//!
//! Folding is exact in real arithmetic; in f32 only the order of the sums
//! changes. The folded matrices are quantized afresh (int8, one symmetric
//! scale per output category), so an int8 folded plan has one weight
//! rounding and one activation rounding per logit where the full plan has
//! three of each. The matrices are computed from the float weights once per
//! process (see [`PlanCache`]), not stored in the model file: at livedoor's
//! shape (D = 200,000, H = 256, C = 9) folding costs 0.46 G multiply-adds,
//! tens of milliseconds on all cores, and old files keep working unchanged.

use std::sync::OnceLock;

use anyhow::{Result, bail};
use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::SparseRow;
use crate::network::{F32Weights, Shape};
use crate::quant::activation::Arithmetic;
use crate::quant::forward::{Int8Scratch, Layer, dense_layer, encode_batch, input_codes};
use crate::quant::kernels::{BLOCK, DenseInt8, Int8Kernel, PackedInt8};
use crate::quant::weights::{Int8Weights, quantize_per_column, quantize_per_row, row_sums};

/// Which matrices run per document (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Encoder → linker → head: today's path, and the one with embeddings.
    Full,
    /// Encoder → `W_head · W_link`.
    Linked,
    /// One sparse gather over `W_enc · W_linkᵀ · W_headᵀ`.
    Folded,
}

/// Every plan, least folded first (ties in cost go to the earlier one).
pub const ALL_PLANS: [Plan; 3] = [Plan::Full, Plan::Linked, Plan::Folded];

/// Largest folded matrix (`D · C` values, f32 plus int8 copy) that a plan
/// may build: beyond it (e.g. SCYTH-5's 2M × 11,883, 120 GB) folding costs
/// more memory than any saving is worth, and `auto` does not consider it.
pub const FOLD_MAX_BYTES: usize = 1 << 30;

/// Mean active columns per document assumed by `auto` when choosing a plan
/// (a news article of a few hundred characters: livedoor dev averages
/// about 1,500). The choice only depends on it when C > H; for C ≤ H the
/// folded plan is the cheapest whatever a document's length.
pub const TYPICAL_ACTIVE_COLUMNS: f64 = 1000.0;

impl Plan {
    /// The plan's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Plan::Full => "full",
            Plan::Linked => "linked",
            Plan::Folded => "folded",
        }
    }

    /// Multiply-adds per document with `active` set input columns.
    pub fn cost(self, shape: Shape, active: f64) -> f64 {
        let Shape { h, e, c, .. } = shape;
        let (h, e, c) = (h as f64, e as f64, c as f64);
        match self {
            Plan::Full => active * h + h * e + e * c,
            Plan::Linked => active * h + h * c,
            Plan::Folded => active * c,
        }
    }

    /// Bytes of the folded `[D][C]` matrices (f32 and int8).
    pub fn folded_bytes(shape: Shape) -> usize {
        shape.d.saturating_mul(shape.c).saturating_mul(5)
    }

    /// The cheapest of `allowed` plans by [`Plan::cost`] (ties to the less
    /// folded one); `Full` when `allowed` is empty.
    pub fn cheapest(shape: Shape, active: f64, allowed: &[Plan]) -> Plan {
        let mut best = Plan::Full;
        let mut best_cost = Plan::Full.cost(shape, active);
        for &p in ALL_PLANS.iter().filter(|p| allowed.contains(p)) {
            let c = p.cost(shape, active);
            if c < best_cost {
                (best, best_cost) = (p, c);
            }
        }
        best
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A plan as asked for on the command line: chosen by cost, or forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanChoice {
    /// The cheapest plan the model and the request allow.
    Auto,
    /// This plan (an error when it cannot serve the request).
    Forced(Plan),
}

impl std::str::FromStr for PlanChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<PlanChoice, String> {
        match s {
            "auto" => Ok(PlanChoice::Auto),
            "full" => Ok(PlanChoice::Forced(Plan::Full)),
            "linked" => Ok(PlanChoice::Forced(Plan::Linked)),
            "folded" => Ok(PlanChoice::Forced(Plan::Folded)),
            other => Err(format!(
                "unknown plan {other:?} (auto, full, linked or folded)"
            )),
        }
    }
}

/// What a model offers for folding, from which [`resolve`] picks a plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext {
    /// The network's sizes.
    pub shape: Shape,
    /// Whether float weights exist (folding multiplies them).
    pub has_f32: bool,
    /// The int8 rounding rules: imported checkpoints (FBGEMM) stay on the
    /// full plan under `auto`, bit-identical to PyTorch.
    pub arithmetic: Arithmetic,
    /// Whether embeddings are requested (only the full plan has them).
    pub wants_embeddings: bool,
}

/// Resolves a plan choice: `Auto` takes the cheapest plan this context
/// allows; a forced plan fails when it cannot be served (embeddings wanted,
/// no float weights, folded matrix too large).
pub fn resolve(choice: PlanChoice, cx: PlanContext) -> Result<Plan> {
    match choice {
        PlanChoice::Auto => {
            let mut allowed = vec![Plan::Full];
            if !cx.wants_embeddings && cx.has_f32 && cx.arithmetic == Arithmetic::Scyth {
                allowed.push(Plan::Linked);
                if Plan::folded_bytes(cx.shape) <= FOLD_MAX_BYTES {
                    allowed.push(Plan::Folded);
                }
            }
            Ok(Plan::cheapest(cx.shape, TYPICAL_ACTIVE_COLUMNS, &allowed))
        }
        PlanChoice::Forced(Plan::Full) => Ok(Plan::Full),
        PlanChoice::Forced(p) => {
            if cx.wants_embeddings {
                bail!(
                    "plan {p} gives no embeddings (they need the full plan): use --plan full or auto"
                );
            }
            if !cx.has_f32 {
                bail!(
                    "plan {p} folds the float weights, and this model is int8-only: use --plan full or auto"
                );
            }
            if p == Plan::Folded && Plan::folded_bytes(cx.shape) > FOLD_MAX_BYTES {
                bail!(
                    "plan folded needs a {}x{} matrix ({:.1} GB, limit {:.1} GB): use --plan linked, full or auto",
                    cx.shape.d,
                    cx.shape.c,
                    Plan::folded_bytes(cx.shape) as f64 / 1e9,
                    FOLD_MAX_BYTES as f64 / 1e9
                );
            }
            Ok(p)
        }
    }
}

/// `W_head · W_link` (`[C][H]`) in f32 and quantized per output category.
#[derive(Debug)]
pub struct LinkedPlan {
    /// f32 product `[C][H]`: `L[c][h] = Σ_e W_head[c][e] · W_link[e][h]`.
    pub f32: Vec<f32>,
    /// int8 codes `[C][H]`, one symmetric scale per category.
    pub codes: Vec<i8>,
    /// Scale per category `[C]`.
    pub scales: Vec<f32>,
    /// Σ of each row's codes (for the activation zero point).
    pub row_sums: Vec<i32>,
    /// The codes packed for the GEMM kernels.
    pub packed: PackedInt8,
}

impl LinkedPlan {
    /// Multiplies the head and the linker (`C · E · H` multiply-adds; each
    /// entry summed over `e` in order).
    pub fn build(f: &F32Weights) -> LinkedPlan {
        let Shape { h, e, c, .. } = f.shape;
        let mut l = vec![0.0f32; c * h];
        l.par_chunks_mut(h.max(1))
            .enumerate()
            .for_each(|(ci, row)| {
                for ei in 0..e {
                    let w = f.head[ci * e + ei];
                    for (o, &x) in row.iter_mut().zip(&f.link[ei * h..(ei + 1) * h]) {
                        *o += w * x;
                    }
                }
            });
        let (codes, scales) = quantize_per_row(&l, h);
        let row_sums = row_sums(&codes, h);
        let packed = PackedInt8::pack(&codes, c, h);
        LinkedPlan {
            f32: l,
            codes,
            scales,
            row_sums,
            packed,
        }
    }
}

/// `W_enc · W_linkᵀ · W_headᵀ` (`[D][C]`) in f32 and quantized per category.
#[derive(Debug)]
pub struct FoldedPlan {
    /// Categories.
    pub c: usize,
    /// f32 product `[D][C]`.
    pub f32: Vec<f32>,
    /// Row stride of `codes`: C rounded up to a whole SIMD block.
    pub width: usize,
    /// int8 codes `[D][width]` (padding columns zero), one symmetric scale
    /// per category over all D rows.
    pub codes: Vec<i8>,
    /// Scale per category `[C]`.
    pub scales: Vec<f32>,
}

impl FoldedPlan {
    /// Multiplies the encoder by the linked plan's `[C][H]` product: each
    /// entry is one dot product over `h` (summed in a fixed order of 8
    /// lanes, so the result does not depend on the thread count).
    pub fn build(f: &F32Weights, linked: &LinkedPlan) -> FoldedPlan {
        let Shape { h, c, .. } = f.shape;
        let mut folded = vec![0.0f32; f.shape.d * c];
        folded
            .par_chunks_mut(c.max(1) * 1024)
            .enumerate()
            .for_each(|(chunk, out)| {
                for (i, row) in out.chunks_mut(c.max(1)).enumerate() {
                    let d = chunk * 1024 + i;
                    let enc = &f.enc[d * h..(d + 1) * h];
                    for (ci, o) in row.iter_mut().enumerate() {
                        *o = dot(enc, &linked.f32[ci * h..(ci + 1) * h]);
                    }
                }
            });
        let (codes, scales) = quantize_per_column(&folded, c.max(1));
        let width = c.div_ceil(BLOCK) * BLOCK;
        let mut padded = vec![0i8; f.shape.d * width];
        for (dst, src) in padded.chunks_mut(width).zip(codes.chunks(c.max(1))) {
            dst[..src.len()].copy_from_slice(src);
        }
        FoldedPlan {
            c,
            f32: folded,
            width,
            codes: padded,
            scales,
        }
    }
}

/// Dot product in 8 independent lanes then summed lane by lane: a fixed
/// order (so the same bits everywhere) that the compiler vectorizes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for j in 0..8 {
            lanes[j] += x[j] * y[j];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The folded matrices of one model, built on first use and then shared by
/// every thread (the model is immutable, so they never go stale).
#[derive(Debug, Default)]
pub struct PlanCache {
    linked: OnceLock<LinkedPlan>,
    folded: OnceLock<FoldedPlan>,
}

impl PlanCache {
    /// The linked plan of float weights `f` (built on the first call).
    pub fn linked(&self, f: &F32Weights) -> &LinkedPlan {
        self.linked.get_or_init(|| LinkedPlan::build(f))
    }

    /// The folded plan of float weights `f` (built on the first call).
    pub fn folded(&self, f: &F32Weights) -> &FoldedPlan {
        self.folded
            .get_or_init(|| FoldedPlan::build(f, self.linked(f)))
    }
}

/// f32 logits `[batch][C]` of the linked plan into `out` (replaced): the
/// encoder as in the full plan, then one product with `[C][H]`, plus bias.
pub fn forward_linked_f32(
    f: &F32Weights,
    plan: &LinkedPlan,
    rows: &[&SparseRow],
    out: &mut Vec<f32>,
) {
    let Shape { h, c, .. } = f.shape;
    let z = f.encode(rows);
    let l = ArrayView2::from_shape((c, h), &plan.f32).expect("linked plan is [C][H]");
    let logits = z.dot(&l.t());
    out.clear();
    for row in logits.rows() {
        out.extend(row.iter().zip(f.bias.iter()).map(|(&v, &b)| v + b));
    }
}

/// f32 logits `[batch][C]` of the folded plan into `out` (replaced): per
/// document, Σ value · folded row over its active columns, plus bias.
pub fn forward_folded_f32(
    f: &F32Weights,
    plan: &FoldedPlan,
    rows: &[&SparseRow],
    out: &mut Vec<f32>,
) {
    let c = plan.c;
    out.clear();
    for row in rows {
        let at = out.len();
        out.resize(at + c, 0.0);
        let acc = &mut out[at..];
        for (&col, &val) in row.cols.iter().zip(&row.vals) {
            let w = &plan.f32[col as usize * c..(col as usize + 1) * c];
            for (a, &x) in acc.iter_mut().zip(w) {
                *a += val * x;
            }
        }
        for (a, &b) in acc.iter_mut().zip(f.bias.iter()) {
            *a += b;
        }
    }
}

/// int8 logits `[batch][C]` of the linked plan (in the scratch): the int8
/// encoder of the full plan, then one dynamically quantized `[C][H]` layer
/// with the bias, per document as in [`crate::quant::forward_int8_batch`].
pub fn forward_linked_int8<'s>(
    w: &Int8Weights,
    plan: &LinkedPlan,
    bias: &[f32],
    kernel: &dyn Int8Kernel,
    rows: &[&SparseRow],
    s: &'s mut Int8Scratch,
) -> &'s [f32] {
    encode_batch(w, kernel, rows, s);
    let act = std::mem::take(&mut s.act);
    let mut logits = std::mem::take(&mut s.logits);
    dense_layer(
        kernel,
        w.arithmetic,
        &act,
        rows.len(),
        Layer {
            w: DenseInt8 {
                w: &plan.codes,
                packed: &plan.packed,
            },
            scales: &plan.scales,
            row_sums: &plan.row_sums,
            zero_points: None,
            bias: Some(bias),
        },
        s,
        &mut logits,
    );
    s.act = act;
    s.logits = logits;
    &s.logits
}

/// int8 logits `[batch][C]` of the folded plan (in the scratch): per
/// document, the input codes of the full plan's encoder gathered over the
/// folded int8 rows (C wide instead of H), dequantized, plus bias.
pub fn forward_folded_int8<'s>(
    arithmetic: Arithmetic,
    plan: &FoldedPlan,
    bias: &[f32],
    kernel: &dyn Int8Kernel,
    rows: &[&SparseRow],
    s: &'s mut Int8Scratch,
) -> &'s [f32] {
    s.logits.clear();
    for row in rows {
        let qp = input_codes(arithmetic, &row.vals, &mut s.codes);
        plan.accumulate(kernel, &row.cols, &s.codes, &mut s.acc);
        plan.extend_logits(&s.acc, qp.scale, bias, &mut s.logits);
    }
    &s.logits
}

impl FoldedPlan {
    /// The integer accumulators of one row (`width` of them, replaced):
    /// Σ code · folded codes over its active columns `cols`.
    pub fn accumulate(
        &self,
        kernel: &dyn Int8Kernel,
        cols: &[u32],
        codes: &[i32],
        acc: &mut Vec<i32>,
    ) {
        acc.clear();
        acc.resize(self.width, 0);
        kernel.sparse_accumulate(&self.codes, self.width, cols, codes, acc);
    }

    /// Adds `delta` times column `col`'s folded codes to accumulators `acc`
    /// (a code that changed from `old` to `old + delta`): the same integers
    /// as accumulating the whole row again, since the kernels' sums are
    /// exact ([`Int8Kernel::sparse_accumulate`]).
    pub fn add_column(&self, col: u32, delta: i32, acc: &mut [i32]) {
        let start = col as usize * self.width;
        for (a, &w) in acc[..self.c]
            .iter_mut()
            .zip(&self.codes[start..start + self.c])
        {
            *a += delta * w as i32;
        }
    }

    /// Appends the logits of accumulators `acc` of a row quantized with
    /// `scale`: dequantized per category, plus bias.
    pub fn extend_logits(&self, acc: &[i32], scale: f32, bias: &[f32], logits: &mut Vec<f32>) {
        logits.extend(
            acc[..self.c]
                .iter()
                .zip(&self.scales)
                .zip(bias)
                .map(|((&a, &sc), &b)| a as f32 * (scale * sc) + b),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(d: usize, h: usize, e: usize, c: usize) -> Shape {
        Shape { d, h, e, c }
    }

    /// `auto` picks the plan with the fewest multiply-adds: folded whenever
    /// C ≤ H; at SCYTH-5's shape the folded matrix is over the memory cap
    /// and linked (a·H + H·C) costs more than full (a·H + H·E + E·C), so
    /// full; and embeddings, int8-only or imported models force full.
    #[test]
    fn auto_picks_the_cheapest_allowed_plan() {
        let cx = |s, has_f32, arithmetic, wants_embeddings| PlanContext {
            shape: s,
            has_f32,
            arithmetic,
            wants_embeddings,
        };
        let livedoor = shape(200_000, 256, 512, 9);
        let s5 = shape(2_033_473, 1024, 512, 11_883);
        let auto = |c| resolve(PlanChoice::Auto, c).unwrap();
        assert_eq!(
            auto(cx(livedoor, true, Arithmetic::Scyth, false)),
            Plan::Folded
        );
        assert_eq!(auto(cx(s5, true, Arithmetic::Scyth, false)), Plan::Full);
        assert_eq!(
            auto(cx(livedoor, true, Arithmetic::Scyth, true)),
            Plan::Full
        );
        assert_eq!(
            auto(cx(livedoor, false, Arithmetic::Scyth, false)),
            Plan::Full
        );
        assert_eq!(
            auto(cx(livedoor, true, Arithmetic::Fbgemm, false)),
            Plan::Full
        );
        // Many categories, narrow embedding: the linked product is cheaper
        // than the two layers, and folding is over the cap.
        let wide = shape(50_000_000, 64, 512, 300);
        assert_eq!(auto(cx(wide, true, Arithmetic::Scyth, false)), Plan::Linked);
        // The cost order itself.
        for (s, a) in [(livedoor, 1500.0), (s5, 600.0), (wide, 10.0)] {
            let best = Plan::cheapest(s, a, &ALL_PLANS);
            for p in ALL_PLANS {
                assert!(best.cost(s, a) <= p.cost(s, a));
            }
        }
        // Forced plans that cannot serve the request fail with a reason.
        let forced = |p, c| resolve(PlanChoice::Forced(p), c);
        assert!(forced(Plan::Folded, cx(livedoor, true, Arithmetic::Scyth, true)).is_err());
        assert!(forced(Plan::Linked, cx(livedoor, false, Arithmetic::Scyth, false)).is_err());
        assert!(forced(Plan::Folded, cx(s5, true, Arithmetic::Scyth, false)).is_err());
        assert_eq!(
            forced(Plan::Linked, cx(s5, true, Arithmetic::Fbgemm, false)).unwrap(),
            Plan::Linked
        );
    }

    #[test]
    fn plan_names_parse() {
        for p in ALL_PLANS {
            assert_eq!(p.name().parse::<PlanChoice>(), Ok(PlanChoice::Forced(p)));
        }
        assert_eq!("auto".parse::<PlanChoice>(), Ok(PlanChoice::Auto));
        assert!("fold".parse::<PlanChoice>().is_err());
    }

    /// The 8-lane dot product equals the plain sum within f32 rounding.
    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..37).map(|i| (i as f32 * 0.91).cos()).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
        assert!((dot(&a, &b) as f64 - plain).abs() < 1e-5);
    }
}
