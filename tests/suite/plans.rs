//! Inference plans (full, linked, folded) on the fixture model: each plan's
//! f32 logits against the full network's, each int8 plan against its f32
//! arithmetic within the quantization bound, `--plan` from the CLI, `auto`
//! choosing the cheapest plan, embeddings forcing the full plan, and the
//! fixture model file (written before plans existed) still loading.

use std::path::{Path, PathBuf};
use std::process::Command;

use scyth::features::{FeatureScratch, SparseRow};
use scyth::model::{Model, Precision, PredictScratch};
use scyth::network::F32Weights;
use scyth::quant::activation::QMAX_REDUCED;
use scyth::quant::plan::{
    ALL_PLANS, PlanContext, forward_folded_f32, forward_folded_int8, forward_linked_f32,
    forward_linked_int8, resolve,
};
use scyth::quant::{Arithmetic, Int8Scratch, Plan, PlanChoice, available_kernels, input_codes};

const BIN: &str = env!("CARGO_BIN_EXE_scyth");

/// f32 unit roundoff.
const U: f64 = f32::EPSILON as f64 / 2.0;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The fixture model, a file written before plans existed (format v1, no
/// folded tensors): loading it and folding at run time is the
/// compatibility path every older file takes.
fn model() -> Model {
    scyth::model::load(&fixture("fixtures/model/tiny.scyth")).expect("the fixture model loads")
}

/// Feature rows of the fixture dev corpus, plus an empty text's row.
fn rows(model: &Model) -> Vec<SparseRow> {
    let mut s = FeatureScratch::default();
    let mut rows: Vec<SparseRow> = super::fixture_texts("fixtures/corpus/dev.csv")
        .iter()
        .map(|t| model.features(t, &mut s))
        .collect();
    rows.push(SparseRow::default());
    rows
}

/// `Σ_col |v| · (|W_enc| · |W_link|ᵀ · |W_head|ᵀ)[col][c]` for one row: the
/// size of the sum whose order folding changes.
fn magnitudes(f: &F32Weights, row: &SparseRow) -> Vec<f64> {
    let s = f.shape;
    let mut z = vec![0f64; s.h];
    for (&col, &v) in row.cols.iter().zip(&row.vals) {
        for (j, zj) in z.iter_mut().enumerate() {
            *zj += (v as f64).abs() * (f.enc[col as usize * s.h + j] as f64).abs();
        }
    }
    let y: Vec<f64> = (0..s.e)
        .map(|e| {
            (0..s.h)
                .map(|j| (f.link[e * s.h + j] as f64).abs() * z[j])
                .sum()
        })
        .collect();
    (0..s.c)
        .map(|c| {
            (0..s.e)
                .map(|e| (f.head[c * s.e + e] as f64).abs() * y[e])
                .sum()
        })
        .collect()
}

/// Folding only reorders the sums of `logit = bias + Σ v · W_enc · W_linkᵀ ·
/// W_headᵀ`, and every order of an n-term f32 dot product is within
/// `γ_n · Σ|terms|` of the exact value (γ_n = n·u/(1 − n·u), u = 2⁻²⁴). Each
/// logit passes through three nested sums (active columns, H, E), so both
/// paths are within `γ_{a+H+E}` of the exact logit and of each other within
/// twice that, plus the rounding of adding the bias. The test also checks
/// that the plans are not trivially equal to full (the bound is not vacuous:
/// some logits differ).
#[test]
fn folded_plans_f32_logits_equal_the_full_network_within_reassociation_rounding() {
    let model = model();
    let f = model.f32().expect("the fixture has f32 weights");
    let rows = rows(&model);
    let refs: Vec<&SparseRow> = rows.iter().collect();
    let full = f.forward(&refs).logits;
    let linked_plan = model.int8_weights.plans.linked(f);
    let folded_plan = model.int8_weights.plans.folded(f);
    let (mut linked, mut folded) = (Vec::new(), Vec::new());
    forward_linked_f32(f, linked_plan, &refs, &mut linked);
    forward_folded_f32(f, folded_plan, &refs, &mut folded);
    let s = f.shape;
    let mut differing = 0;
    for (i, row) in rows.iter().enumerate() {
        let n = (row.cols.len() + s.h + s.e) as f64;
        let gamma = n * U / (1.0 - n * U);
        for (c, m) in magnitudes(f, row).into_iter().enumerate() {
            let want = full[[i, c]] as f64;
            let bound = 2.0 * gamma * m + 2.0 * U * (want.abs() + f.bias[c].abs() as f64);
            for (name, got) in [
                ("linked", linked[i * s.c + c]),
                ("folded", folded[i * s.c + c]),
            ] {
                let err = (got as f64 - want).abs();
                assert!(
                    err <= bound,
                    "{name} doc {i} category {c}: {got} vs full {want}, error {err:e} > bound {bound:e}"
                );
                differing += usize::from(err > 0.0);
            }
        }
    }
    assert!(differing > 0, "no logit differs: the comparison is vacuous");
}

/// The folded int8 plan against its own f32 arithmetic: rounding each input
/// value to its step `s_x` errs by at most `s_x/2`, each folded weight by
/// `s_c/2`, so logit c is off by at most
/// `Σ_i (|x_i|·s_c + |F_ic|·s_x + s_x·s_c/2) / 2` (plus f32 rounding of the
/// sums, 1e-5 relative), the dense-layer bound of `src/quant/forward.rs`.
/// Every kernel gives the same integers, so every kernel meets it.
#[test]
fn folded_int8_plan_is_within_the_quantization_bound_of_folded_f32() {
    let model = model();
    let f = model.f32().expect("f32 weights");
    let rows = rows(&model);
    let refs: Vec<&SparseRow> = rows.iter().collect();
    let plan = model.int8_weights.plans.folded(f);
    let mut exact = Vec::new();
    forward_folded_f32(f, plan, &refs, &mut exact);
    let c = plan.c;
    let mut worst = 0f64;
    for kernel in available_kernels() {
        let mut s = Int8Scratch::default();
        let got = forward_folded_int8(Arithmetic::Scyth, plan, &model.bias, kernel, &refs, &mut s)
            .to_vec();
        for (i, row) in rows.iter().enumerate() {
            let mut codes = Vec::new();
            let sx = input_codes(Arithmetic::Scyth, &row.vals, &mut codes).scale as f64;
            for k in 0..c {
                let sc = plan.scales[k] as f64;
                let bound: f64 = row
                    .cols
                    .iter()
                    .zip(&row.vals)
                    .map(|(&col, &v)| {
                        let w = plan.f32[col as usize * c + k].abs() as f64;
                        ((v as f64).abs() * sc + w * sx + sx * sc / 2.0) / 2.0
                    })
                    .sum::<f64>()
                    + 1e-5 * (exact[i * c + k].abs() as f64).max(1.0);
                let err = (got[i * c + k] as f64 - exact[i * c + k] as f64).abs();
                assert!(
                    err <= bound,
                    "kernel {} doc {i} category {k}: error {err} > bound {bound}",
                    kernel.name()
                );
                worst = worst.max(err / bound);
            }
        }
    }
    assert!(worst > 0.01, "bound too loose to test anything ({worst})");
}

/// The linked int8 plan runs the full plan's int8 encoder, then one
/// dynamically quantized layer `[C][H]`. Given the encoder's output `z`
/// (recomputed here from the stored codes), the layer is within the
/// dense-layer bound `Σ_j (|z_j|·s_c + |L_cj|·s_z + s_z·s_c/2) / 2` of
/// `bias + z · Lᵀ` in f32, `s_z` being z's activation step.
#[test]
fn linked_int8_plan_is_within_the_quantization_bound_of_its_layer() {
    let model = model();
    let f = model.f32().expect("f32 weights");
    let w = &model.int8_weights;
    let rows = rows(&model);
    let refs: Vec<&SparseRow> = rows.iter().collect();
    let plan = w.plans.linked(f);
    let sh = w.shape;
    let mut worst = 0f64;
    for kernel in available_kernels() {
        let mut s = Int8Scratch::default();
        let got = forward_linked_int8(w, plan, &model.bias, kernel, &refs, &mut s).to_vec();
        for (i, row) in rows.iter().enumerate() {
            let mut codes = Vec::new();
            let qp = input_codes(w.arithmetic, &row.vals, &mut codes);
            let z: Vec<f32> = (0..sh.h)
                .map(|j| {
                    let acc: i32 = row
                        .cols
                        .iter()
                        .zip(&codes)
                        .map(|(&col, &q)| q * w.enc[col as usize * sh.h + j] as i32)
                        .sum();
                    acc as f32 * (qp.scale * w.enc_scale[j])
                })
                .collect();
            let (lo, hi) = z
                .iter()
                .fold((0f32, 0f32), |(l, h), &v| (l.min(v), h.max(v)));
            let sz = ((hi - lo) / QMAX_REDUCED as f32) as f64;
            for c in 0..sh.c {
                let l = &plan.f32[c * sh.h..(c + 1) * sh.h];
                let sc = plan.scales[c] as f64;
                let exact: f64 = model.bias[c] as f64
                    + z.iter()
                        .zip(l)
                        .map(|(&a, &b)| a as f64 * b as f64)
                        .sum::<f64>();
                let bound: f64 = z
                    .iter()
                    .zip(l)
                    .map(|(&a, &b)| {
                        ((a as f64).abs() * sc + (b as f64).abs() * sz + sz * sc / 2.0) / 2.0
                    })
                    .sum::<f64>()
                    + 1e-5 * exact.abs().max(1.0);
                let err = (got[i * sh.c + c] as f64 - exact).abs();
                assert!(
                    err <= bound,
                    "kernel {} doc {i} category {c}: error {err} > bound {bound}",
                    kernel.name()
                );
                worst = worst.max(err / bound);
            }
        }
    }
    assert!(worst > 0.01, "bound too loose to test anything ({worst})");
}

/// Batches of any size give each document the same result under every
/// plan (activations are quantized per document), and the full plan's
/// predictions are the ones `predict_texts` gave before plans existed.
#[test]
fn plans_do_not_depend_on_the_batch_and_full_is_todays_path() {
    let model = model();
    let texts = super::fixture_texts("fixtures/corpus/dev.csv");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let kernel = scyth::quant::default_kernel();
    let mut s = PredictScratch::default();
    let today = model.predict_texts(&refs, Precision::Int8, &mut s);
    let full = model.predict_texts_plan(&refs, Precision::Int8, Plan::Full, kernel, &mut s);
    assert_eq!(today, full);
    for plan in ALL_PLANS {
        for precision in [Precision::Int8, Precision::F32] {
            let whole = model.predict_texts_plan(&refs, precision, plan, kernel, &mut s);
            let one_by_one: Vec<_> = refs
                .iter()
                .flat_map(|t| model.predict_texts_plan(&[*t], precision, plan, kernel, &mut s))
                .collect();
            assert_eq!(whole, one_by_one, "plan {plan} {precision:?}");
            let embeddings = whole.iter().all(|p| p.linked.len() == model.meta.shape.e);
            assert_eq!(
                embeddings,
                plan == Plan::Full,
                "plan {plan}: embeddings only from full"
            );
        }
    }
}

/// `auto` takes the cheapest plan the request allows: folded for the
/// fixture (C = 9 ≤ H = 64), full as soon as embeddings are wanted or the
/// model is int8-only; a forced folded plan with embeddings is refused.
#[test]
fn auto_picks_the_cheapest_plan_and_embeddings_force_full() {
    let model = model();
    let cx = model.plan_context(false);
    let auto = resolve(PlanChoice::Auto, cx).expect("auto resolves");
    assert_eq!(auto, Plan::Folded);
    for p in ALL_PLANS {
        assert!(auto.cost(cx.shape, 100.0) <= p.cost(cx.shape, 100.0));
    }
    assert_eq!(
        model.prepare_plan(PlanChoice::Auto, true).expect("auto"),
        Plan::Full
    );
    assert!(
        model
            .prepare_plan(PlanChoice::Forced(Plan::Folded), true)
            .is_err()
    );
    let int8_only = PlanContext {
        has_f32: false,
        ..cx
    };
    assert_eq!(
        resolve(PlanChoice::Auto, int8_only).expect("auto"),
        Plan::Full
    );
    let int8_only_model = model.into_int8_only();
    assert!(
        int8_only_model
            .prepare_plan(PlanChoice::Forced(Plan::Linked), false)
            .is_err()
    );
}

fn scyth(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("scyth runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--plan` on classify: every plan writes one row per record, and the
/// folded plans agree with the full one on the top label (near-ties may
/// flip: at most 2 of 90); an unknown plan is a usage error; `eval` scores
/// every plan in both precisions and names the one `auto` chose.
#[test]
fn plan_flag_on_classify_and_eval() {
    let model = fixture("fixtures/model/tiny.scyth");
    let dev = fixture("fixtures/corpus/dev.csv");
    let (m, d) = (model.to_str().expect("utf-8"), dev.to_str().expect("utf-8"));
    let top = |plan: &str| -> Vec<String> {
        let (code, out, err) = scyth(&[
            "classify",
            "-m",
            m,
            "-i",
            d,
            "--plan",
            plan,
            "--output-format",
            "jsonl",
        ]);
        assert_eq!(code, 0, "{plan}: {err}");
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json row");
                v["top"][0]["label"]
                    .as_str()
                    .expect("a top label")
                    .to_string()
            })
            .collect()
    };
    let full = top("full");
    assert_eq!(full.len(), 90);
    for plan in ["linked", "folded", "auto"] {
        let got = top(plan);
        assert_eq!(got.len(), full.len());
        let differ = got.iter().zip(&full).filter(|(a, b)| a != b).count();
        assert!(differ <= 2, "{plan}: top label differs on {differ} of 90");
    }
    let (code, _, err) = scyth(&["classify", "-m", m, "-i", d, "--plan", "fold"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown plan"), "{err}");

    let (code, out, err) = scyth(&["eval", "-m", m, "-i", d, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("eval json");
    assert_eq!(v["plan"], "folded");
    let plans = v["plans"].as_array().expect("plans");
    assert_eq!(plans.len(), 6, "three plans × two precisions: {out}");
    for p in plans {
        let acc = p["accuracy"].as_f64().expect("accuracy");
        let full_acc = v["int8"]["accuracy"].as_f64().expect("int8 accuracy");
        assert!((acc - full_acc).abs() <= 0.03, "{p}");
    }
    let (code, out, err) = scyth(&["eval", "-m", m, "-i", d, "--plan", "full"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("plan: full (--plan full)"), "{out}");
    assert!(out.contains("folded f32"), "{out}");
}
