//! Full-scale support on tiny shapes: `scyth synth-model` is deterministic
//! for a seed and writes loadable int8-only models whose texts hit the
//! vocabulary; int8-only models refuse f32 with a clear error; files written
//! before int8-only models existed still load and round-trip byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use scyth::model::{Precision, PredictScratch};

const BIN: &str = env!("CARGO_BIN_EXE_scyth");

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs `scyth`; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("the scyth binary starts");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a synthetic model of 400 columns (H=16, E=8, C=6) and, with
/// `texts > 0`, that many texts next to it.
fn synth(dir: &Path, name: &str, seed: u64, texts: usize) -> (PathBuf, PathBuf) {
    let model = dir.join(format!("{name}.scyth"));
    let csv = dir.join(format!("{name}.csv"));
    let seed = seed.to_string();
    let texts = texts.to_string();
    let mut args = vec![
        "synth-model",
        "--columns",
        "400",
        "--latent",
        "16",
        "--linker",
        "8",
        "--categories",
        "6",
        "--seed",
        &seed,
        "--output",
        model.to_str().unwrap(),
    ];
    if texts != "0" {
        args.extend(["--texts", &texts, "--texts-output", csv.to_str().unwrap()]);
    }
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    (model, csv)
}

#[test]
fn synth_model_400_columns_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, ta) = synth(dir.path(), "a", 7, 20);
    let (b, tb) = synth(dir.path(), "b", 7, 20);
    let (c, tc) = synth(dir.path(), "c", 8, 20);
    let read = |p: &Path| std::fs::read(p).unwrap();
    assert_eq!(read(&a), read(&b), "same seed, same model bytes");
    assert_eq!(read(&ta), read(&tb), "same seed, same texts");
    assert_ne!(read(&a), read(&c), "another seed, another model");
    assert_ne!(read(&ta), read(&tc), "another seed, other texts");
}

#[test]
fn synth_model_400_columns_loads_and_its_texts_hit_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (path, csv) = synth(dir.path(), "m", 3, 30);
    let model = scyth::model::load(&path).unwrap();
    let s = model.meta.shape;
    assert_eq!((s.d, s.h, s.e, s.c), (400, 16, 8, 6));
    assert!(model.is_int8_only());
    assert_eq!(model.lexicon.n_columns(), 400);
    assert_eq!(model.lexicon.n_pentagrams(), 20);
    assert_eq!(model.meta.labels[5], "c00005");
    assert!(model.lexicon.keys.is_mapped() && model.int8_weights.enc.is_mapped());

    let texts = super::fixture_texts(csv.to_str().unwrap());
    assert_eq!(texts.len(), 30);
    let mut scratch = PredictScratch::default();
    for text in &texts {
        let n = text.chars().count();
        assert!((100..=402).contains(&n), "{n} characters");
        // A walk restarts only when no trigram continues it: nearly every
        // window of a text is in the vocabulary.
        let chars: Vec<char> = text.chars().collect();
        let known = scyth::text::trigrams(&chars)
            .filter(|&t| model.lexicon.lookup(t).is_some())
            .count();
        assert!(known * 10 >= (n - 2) * 9, "{known} of {} windows", n - 2);
        let pred = model.predict_text(text, Precision::Int8, &mut scratch);
        assert!(pred.n_features > 0);
        assert!(pred.probabilities.iter().all(|p| p.is_finite()));
    }

    // The CLI classifies them all, the same at 1 and 2 threads.
    let args = |t: &'static str| {
        vec![
            "classify".to_string(),
            "-m".into(),
            path.to_str().unwrap().into(),
            "-i".into(),
            csv.to_str().unwrap().into(),
            "-t".into(),
            t.into(),
        ]
    };
    let (code, one, err) = run(&args("1").iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert_eq!(one.lines().count(), 31);
    assert!(one.lines().skip(1).all(|l| l.contains(",c0000")), "{one}");
    let (_, two, _) = run(&args("2").iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(one, two);
}

#[test]
fn synth_model_reuse_keeps_a_matching_file_and_rewrites_another() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = synth(dir.path(), "r", 4, 0);
    let before = std::fs::read(&path).unwrap();
    let p = path.to_str().unwrap();
    let common = [
        "synth-model",
        "--columns",
        "400",
        "--latent",
        "16",
        "--linker",
        "8",
    ];
    let (code, _, err) = run(&[
        &common[..],
        &["--categories", "6", "--seed", "4", "--reuse", "-o", p],
    ]
    .concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("kept"), "{err}");
    let (code, _, err) = run(&[
        &common[..],
        &["--categories", "5", "--seed", "4", "--reuse", "-o", p],
    ]
    .concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("wrote"), "{err}");
    assert_ne!(std::fs::read(&path).unwrap(), before);
    assert_eq!(scyth::model::load(&path).unwrap().meta.shape.c, 5);
}

#[test]
fn int8_only_model_refuses_f32_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (path, csv) = synth(dir.path(), "q", 1, 5);
    let model = scyth::model::load(&path).unwrap();
    let err = model
        .check_precision(Precision::F32)
        .unwrap_err()
        .to_string();
    assert!(err.contains("int8-only"), "{err}");
    assert!(model.check_precision(Precision::Int8).is_ok());

    let (m, i) = (path.to_str().unwrap(), csv.to_str().unwrap());
    for cmd in ["classify", "embed"] {
        let mut args = vec![cmd, "-m", m, "-i", i, "--precision", "f32"];
        let npy = dir.path().join("e.npy");
        if cmd == "embed" {
            args.extend(["--output", npy.to_str().unwrap()]);
        }
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{cmd}: {out}");
        assert!(
            err.contains("int8-only") && err.contains("f32"),
            "{cmd}: {err}"
        );
    }
    // eval reports int8 and says why there is no f32 column.
    let (code, out, err) = run(&["eval", "-m", m, "-i", i]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("f32:  not available (int8-only model"),
        "{out}"
    );
    let (_, json, _) = run(&["eval", "-m", m, "-i", i, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["f32"].is_null() && v["int8"]["docs_per_s"].is_number());
    // Explanations fall back to the dequantized int8 weights.
    let (code, out, err) = run(&[
        "classify",
        "-m",
        m,
        "-i",
        i,
        "--explain",
        "--output-format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(
        first["explain"].as_array().is_some_and(|e| !e.is_empty()),
        "{first}"
    );
}

#[test]
fn fixture_model_still_loads_and_round_trips() {
    // Written before int8-only files existed: loads with its f32 weights,
    // and what the streaming writer writes back predicts the same.
    let fixture = fixture("fixtures/model/tiny.scyth");
    let model = scyth::model::load(&fixture).unwrap();
    assert!(!model.is_int8_only());
    assert_eq!(&*model.bias, &*model.f32().unwrap().bias);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.scyth");
    let sum = scyth::model::save(&model, &copy).unwrap();
    let again = scyth::model::load(&copy).unwrap();
    assert_eq!(again.checksum, sum);
    assert!(!again.is_int8_only());
    let mut s = PredictScratch::default();
    for text in super::fixture_texts("fixtures/corpus/dev.csv")
        .iter()
        .take(10)
    {
        for p in [Precision::Int8, Precision::F32] {
            assert_eq!(
                model.predict_text(text, p, &mut s),
                again.predict_text(text, p, &mut s)
            );
        }
    }
}

#[test]
fn dropping_f32_keeps_int8_results_and_shrinks_the_file() {
    let fixture = fixture("fixtures/model/tiny.scyth");
    let full = scyth::model::load(&fixture).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (whole, path) = (dir.path().join("full.scyth"), dir.path().join("int8.scyth"));
    scyth::model::save(&full, &whole).unwrap();
    scyth::model::save(
        &scyth::model::load(&fixture).unwrap().into_int8_only(),
        &path,
    )
    .unwrap();
    let small = scyth::model::load(&path).unwrap();
    assert!(small.is_int8_only());
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    let (a, b) = (size(&whole), size(&path));
    // The three float matrices are gone (and their header entries).
    let sh = full.meta.shape;
    let f32_bytes = 4 * (sh.d * sh.h + sh.e * sh.h + sh.c * sh.e) as u64;
    assert!(
        a - b >= f32_bytes && a - b < f32_bytes + 400,
        "{b} bytes int8-only vs {a}"
    );
    let mut s = PredictScratch::default();
    for text in super::fixture_texts("fixtures/corpus/dev.csv")
        .iter()
        .take(20)
    {
        assert_eq!(
            full.predict_text(text, Precision::Int8, &mut s),
            small.predict_text(text, Precision::Int8, &mut s)
        );
    }
}

#[test]
fn corrupted_synth_model_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = synth(dir.path(), "x", 2, 0);
    let mut bytes = std::fs::read(&path).unwrap();
    // A byte near the end of the data (the one-byte tensors come last).
    let at = bytes.len() - 600;
    bytes[at] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let err = format!("{:#}", scyth::model::load(&path).unwrap_err());
    assert!(err.contains("checksum mismatch"), "{err}");
}

#[test]
fn import_int8_only_classifies_the_same_from_a_smaller_file() {
    let dir = tempfile::tempdir().unwrap();
    let from = fixture("fixtures/scyth5/int8");
    let (full, small) = (
        dir.path().join("full.scyth"),
        dir.path().join("small.scyth"),
    );
    let (f, s) = (full.to_str().unwrap(), small.to_str().unwrap());
    let from = from.to_str().unwrap();
    assert_eq!(run(&["import", "--from", from, "-o", f]).0, 0);
    let (code, _, err) = run(&["import", "--from", from, "-o", s, "--int8-only"]);
    assert_eq!(code, 0, "{err}");
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    // D=4000 H=64 E=32 C=20: the float encoder, linker and head are gone.
    let f32_bytes = 4 * (4000 * 64 + 32 * 64 + 20 * 32);
    let saved = size(&full) - size(&small);
    assert!(saved >= f32_bytes && saved < f32_bytes + 400, "{saved}");
    let input = fixture("fixtures/corpus/dev.csv");
    let i = input.to_str().unwrap();
    let (code, a, _) = run(&["classify", "-m", f, "-i", i]);
    assert_eq!(code, 0);
    let (_, b, _) = run(&["classify", "-m", s, "-i", i]);
    assert_eq!(a, b);
    assert!(scyth::model::load(&small).unwrap().is_int8_only());
}
