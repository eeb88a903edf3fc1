//! The `scyth` binary end to end on the fixtures: train → classify → eval,
//! determinism, error rows and exit codes, corrupted model files, f32/int8
//! agreement, standard input, inspect/features/embed/demo, explanations and
//! thread-count independence.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

// ---------------------------------------------------------------- helpers

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_scyth");

/// Number of records in fixtures/corpus/dev.csv.
const DEV_RECORDS: usize = 90;

/// A fixture path relative to the crate root.
fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn dev_csv() -> PathBuf {
    fixture("fixtures/corpus/dev.csv")
}

fn train_csv() -> PathBuf {
    fixture("fixtures/corpus/train.csv")
}

fn tiny_model() -> PathBuf {
    fixture("fixtures/model/tiny.scyth")
}

/// Runs `scyth` with `args` and no standard input; returns (exit code,
/// stdout, stderr).
fn run<S: AsRef<OsStr>>(args: &[S]) -> (i32, String, String) {
    run_with_stdin(args, None)
}

/// Runs `scyth` with `args`, feeding `stdin` (if any) on standard input.
fn run_with_stdin<S: AsRef<OsStr>>(args: &[S], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("the scyth binary starts");
    // Feed stdin from a thread so that a large input cannot deadlock against
    // unread output; dropping the pipe closes it (end of input). The child
    // may exit without reading (usage errors): a broken pipe is fine then.
    let writer = stdin.map(|input| {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        std::thread::spawn(move || match pipe.write_all(&input) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                panic!("writing stdin: {e}")
            }
            _ => {}
        })
    });
    let out = child.wait_with_output().expect("waiting for scyth");
    if let Some(w) = writer {
        w.join().expect("stdin writer");
    }
    let code = out
        .status
        .code()
        .expect("scyth exited normally (no signal)");
    (
        code,
        String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    )
}

/// `run`, asserting exit code 0; returns stdout.
fn run_ok<S: AsRef<OsStr>>(args: &[S]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(
        code, 0,
        "scyth failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// A path as a `&str` (temporary paths are UTF-8 here).
fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Trains a small, fast model on the fixture corpus into `out`.
fn train_small(out: &Path, seed: u64, threads: usize) {
    let seed = seed.to_string();
    let threads = threads.to_string();
    run_ok(&[
        "train",
        "--input",
        s(&train_csv()),
        "--output",
        s(out),
        "--latent",
        "16",
        "--embedding",
        "8",
        "--epochs",
        "3",
        "--seed",
        seed.as_str(),
        "--threads",
        threads.as_str(),
        "--quiet",
    ]);
}

/// Parses every line of JSONL output.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Reads a CSV file with a header into (header, rows).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("output CSV opens");
    let header = r
        .headers()
        .expect("CSV header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|rec| {
            rec.expect("CSV record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect();
    (header, rows)
}

/// The ids of fixtures/corpus/dev.csv, in file order.
fn dev_ids() -> Vec<String> {
    let (header, rows) = read_csv(&dev_csv());
    assert_eq!(header[0], "id");
    rows.into_iter().map(|r| r[0].clone()).collect()
}

/// Index of a column in a CSV header.
fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// A JSON number as f64.
fn num(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

/// The tensor-data region of a safetensors file (everything after the
/// 8-byte header length and the JSON header).
fn tensor_data(bytes: &[u8]) -> &[u8] {
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    &bytes[8 + header_len..]
}

/// Asserts that a failing command did not panic and exited with code 2.
fn assert_clean_failure(code: i32, stderr: &str) {
    assert_eq!(code, 2, "expected exit 2; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "scyth panicked:\n{stderr}");
    assert!(
        stderr.contains("scyth: error:"),
        "no error message on stderr:\n{stderr}"
    );
}

// ------------------------------------------------------- 1. round trip

#[test]
fn train_classify_eval_round_trip_on_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.scyth");
    train_small(&model, 42, 1);
    assert!(
        std::fs::metadata(&model).unwrap().len() > 1000,
        "train wrote no model"
    );

    // CSV output.
    let out_csv = dir.path().join("out.csv");
    run_ok(&[
        "classify",
        "--model",
        s(&model),
        "--input",
        s(&dev_csv()),
        "--output",
        s(&out_csv),
        "--threads",
        "1",
    ]);
    let (header, rows) = read_csv(&out_csv);
    assert_eq!(
        header,
        [
            "id",
            "line",
            "labels",
            "top_labels",
            "top_probabilities",
            "n_features",
            "error"
        ]
    );
    assert_eq!(rows.len(), DEV_RECORDS);
    let ids: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, dev_ids(), "ids are not in input order");
    let labels: Vec<String> = serde_json::from_str::<Value>(&run_ok(&[
        "inspect",
        s(&model),
        "--json",
    ]))
    .unwrap()["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels.len(), 9);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[1], (i + 2).to_string(), "line of row {i}");
        assert_eq!(row[6], "", "unexpected error in row {i}: {row:?}");
        let top: Vec<&str> = row[3].split('|').collect();
        assert_eq!(top.len(), 3, "default top-k is 3: {row:?}");
        assert!(top.iter().all(|l| labels.iter().any(|m| m == l)), "{row:?}");
        let probs: Vec<f64> = row[4].split('|').map(|p| p.parse().unwrap()).collect();
        assert_eq!(probs.len(), 3, "{row:?}");
        assert!(
            probs.iter().all(|p| (0.0..=1.0).contains(p)),
            "probability out of [0,1]: {row:?}"
        );
        assert!(
            probs.windows(2).all(|w| w[0] >= w[1]),
            "probabilities not descending: {row:?}"
        );
        assert!(row[5].parse::<usize>().unwrap() > 0, "no features: {row:?}");
    }

    // JSONL output.
    let out_jsonl = dir.path().join("out.jsonl");
    run_ok(&[
        "classify",
        "--model",
        s(&model),
        "--input",
        s(&dev_csv()),
        "--output",
        s(&out_jsonl),
        "--output-format",
        "jsonl",
    ]);
    let lines = json_lines(&std::fs::read_to_string(&out_jsonl).unwrap());
    assert_eq!(lines.len(), DEV_RECORDS);
    for (line, id) in lines.iter().zip(dev_ids()) {
        assert_eq!(line["id"], id.as_str());
        assert!(line["labels"].is_array(), "{line}");
        let top = line["top"].as_array().expect("top is a list");
        assert_eq!(top.len(), 3, "{line}");
        for t in top {
            assert!(t["label"].is_string(), "{line}");
            assert!((0.0..=1.0).contains(&num(&t["probability"])), "{line}");
        }
    }

    // eval --json.
    let stdout = run_ok(&[
        "eval",
        "--model",
        s(&model),
        "--input",
        s(&dev_csv()),
        "--json",
    ]);
    assert_eq!(stdout.lines().count(), 1, "eval --json prints one line");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["n"], DEV_RECORDS);
    assert_eq!(report["failed"], 0);
    for p in ["int8", "f32"] {
        let acc = num(&report[p]["accuracy"]);
        assert!((0.0..=1.0).contains(&acc), "{p} accuracy {acc}");
    }
    let diff = num(&report["int8_minus_f32_points"]);
    let expected = 100.0 * (num(&report["int8"]["accuracy"]) - num(&report["f32"]["accuracy"]));
    assert!((diff - expected).abs() < 1e-9, "{diff} vs {expected}");
}

// ------------------------------------------------------ 2. determinism

#[test]
fn training_twice_with_same_seed_and_threads_gives_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.scyth"), dir.path().join("b.scyth"));
    train_small(&a, 7, 2);
    train_small(&b, 7, 2);
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(a == b, "model files differ");
}

#[test]
fn training_is_deterministic_in_its_weights_and_depends_on_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.scyth"),
        dir.path().join("b.scyth"),
        dir.path().join("c.scyth"),
    );
    train_small(&a, 7, 2);
    train_small(&b, 7, 2);
    train_small(&c, 8, 2);
    let (a, b, c) = (
        std::fs::read(a).unwrap(),
        std::fs::read(b).unwrap(),
        std::fs::read(c).unwrap(),
    );
    // Same seed: every tensor (lexicon, f32 and int8 weights) is identical.
    assert!(
        tensor_data(&a) == tensor_data(&b),
        "same seed gave different tensors"
    );
    assert!(!tensor_data(&a).is_empty());
    // Another seed: other weights.
    assert!(
        tensor_data(&a) != tensor_data(&c),
        "another seed gave the same tensors"
    );
    assert!(a != c, "another seed gave the same file");
}

// ------------------------------------------- 3. error rows, exit codes

#[test]
fn classify_csv_writes_an_error_row_per_bad_record_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"id,text,labels,time\n");
    bytes.extend_from_slice(
        "g1,日銀が追加の利上げを決め、円相場が上昇した。,economy,2026-01-01\n".as_bytes(),
    );
    bytes.extend_from_slice(b"e1,,economy,2026-01-02\n");
    bytes.extend_from_slice(b"u1,\xff\xfe\x80 broken,economy,2026-01-03\n");
    bytes.extend_from_slice("s1,短い行\n".as_bytes());
    std::fs::write(&input, &bytes).unwrap();
    let out = dir.path().join("out.csv");
    let (code, _, stderr) = run(&[
        "classify",
        "--model",
        s(&tiny_model()),
        "--input",
        s(&input),
        "--output",
        s(&out),
    ]);
    assert_eq!(code, 1, "stderr:\n{stderr}");
    assert!(stderr.contains("3 records failed"), "{stderr}");
    let (header, rows) = read_csv(&out);
    let (id, line, err, top) = (
        col(&header, "id"),
        col(&header, "line"),
        col(&header, "error"),
        col(&header, "top_labels"),
    );
    assert_eq!(rows.len(), 4, "{rows:?}");
    let ids: Vec<&str> = rows.iter().map(|r| r[id].as_str()).collect();
    assert_eq!(ids, ["g1", "e1", "u1", "s1"]);
    let lines: Vec<&str> = rows.iter().map(|r| r[line].as_str()).collect();
    assert_eq!(lines, ["2", "3", "4", "5"]);
    assert_eq!(rows[0][err], "");
    assert!(!rows[0][top].is_empty());
    assert!(rows[1][err].contains("empty text"), "{:?}", rows[1]);
    assert!(
        rows[2][err].contains("UTF-8") && rows[2][err].contains("text"),
        "{:?}",
        rows[2]
    );
    assert!(
        rows[3][err].contains("expected 4 fields, found 2"),
        "{:?}",
        rows[3]
    );
    for r in &rows[1..] {
        assert_eq!(r[top], "", "an error row has no result: {r:?}");
    }
}

#[test]
fn classify_jsonl_with_an_invalid_line_writes_an_error_object_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"id": "a", "text": "日銀が追加の利上げを決め、円相場が上昇した。"}"#,
            "\n",
            r#"{"id": "b", "text": "unterminated"#,
            "\n",
            r#"{"id": "c", "text": "サッカーJ2で首位のチームが敗れた。"}"#,
            "\n",
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = run(&[
        "classify",
        "--model",
        s(&tiny_model()),
        "--input",
        s(&input),
    ]);
    assert_eq!(code, 1, "stderr:\n{stderr}");
    let rows = json_lines(&stdout);
    assert_eq!(rows.len(), 3, "{stdout}");
    assert_eq!(rows[0]["id"], "a");
    assert!(rows[0]["top"].is_array());
    assert_eq!(rows[1]["line"], 2);
    assert!(
        rows[1]["error"].as_str().unwrap().contains("invalid JSON"),
        "{}",
        rows[1]
    );
    assert!(rows[1].get("top").is_none());
    assert_eq!(rows[2]["id"], "c");
    assert_eq!(rows[2]["line"], 3);
    assert!(rows[2]["top"].is_array());
}

#[test]
fn classify_missing_input_file_exits_2_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-input.csv");
    let (code, stdout, stderr) = run(&[
        "classify",
        "--model",
        s(&tiny_model()),
        "--input",
        s(&missing),
    ]);
    assert_clean_failure(code, &stderr);
    assert!(stderr.contains(s(&missing)), "{stderr}");
    assert_eq!(stdout, "");
}

#[test]
fn unknown_flag_exits_2() {
    let (code, stdout, stderr) = run(&["classify", "--model", s(&tiny_model()), "--no-such-flag"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
    assert_eq!(stdout, "");
}

/// The `line` values of classify's JSONL rows for a CSV `input`.
fn classified_lines(input: &[u8]) -> Vec<(String, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, input).unwrap();
    let (_, stdout, stderr) = run(&[
        "classify",
        "--model",
        s(&tiny_model()),
        "--input",
        s(&path),
        "--output-format",
        "jsonl",
    ]);
    json_lines(&stdout)
        .iter()
        .map(|r| {
            let line = r["line"]
                .as_u64()
                .unwrap_or_else(|| panic!("no line in {r}; stderr:\n{stderr}"));
            (r["id"].as_str().unwrap().to_string(), line)
        })
        .collect()
}

#[test]
fn classify_reports_physical_line_numbers_for_lf_csv() {
    let lines = classified_lines(
        "id,text\na,日銀が利上げを決めた。\nb,円相場が上昇,extra\nc,\"複数行の\n野球の試合\"\nd,台風が接近した。\n"
            .as_bytes(),
    );
    let expected = [("a", 2), ("b", 3), ("c", 4), ("d", 6)];
    assert_eq!(
        lines,
        expected.map(|(i, l)| (i.to_string(), l)).to_vec(),
        "record lines"
    );
}

#[test]
fn classify_reports_physical_line_numbers_for_crlf_csv() {
    let lines = classified_lines(
        "id,text\r\na,日銀が利上げを決めた。\r\nb,円相場が上昇,extra\r\nc,台風が接近した。\r\n"
            .as_bytes(),
    );
    let expected = [("a", 2), ("b", 3), ("c", 4)];
    assert_eq!(lines, expected.map(|(i, l)| (i.to_string(), l)).to_vec());
}

#[test]
fn classify_reports_physical_line_numbers_after_blank_lines_in_csv() {
    let lines = classified_lines(
        "id,text\na,日銀が利上げを決めた。\n\nb,円相場が上昇,extra\n\n\nc,台風が接近した。\n"
            .as_bytes(),
    );
    let expected = [("a", 2), ("b", 4), ("c", 7)];
    assert_eq!(lines, expected.map(|(i, l)| (i.to_string(), l)).to_vec());
}

// ---------------------------------------------- 4. model file rejection

/// Classifies dev.csv with the model at `path`; returns (code, stderr).
fn classify_with_model(path: &Path) -> (i32, String) {
    let (code, stdout, stderr) = run(&["classify", "--model", s(path), "--input", s(&dev_csv())]);
    assert_eq!(stdout, "", "no output rows with a bad model");
    (code, stderr)
}

#[test]
fn truncated_model_file_is_rejected_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(tiny_model()).unwrap();
    let path = dir.path().join("truncated.scyth");
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let (code, stderr) = classify_with_model(&path);
    assert_clean_failure(code, &stderr);
    assert!(stderr.contains(s(&path)), "{stderr}");
}

#[test]
fn model_file_with_a_flipped_tensor_byte_fails_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(tiny_model()).unwrap();
    let at = bytes.len() * 3 / 4;
    let data_start = bytes.len() - tensor_data(&bytes).len();
    assert!(at > data_start, "3/4 of the file is not in the tensor data");
    bytes[at] ^= 0x5a;
    let path = dir.path().join("flipped.scyth");
    std::fs::write(&path, &bytes).unwrap();
    let (code, stderr) = classify_with_model(&path);
    assert_clean_failure(code, &stderr);
    assert!(stderr.contains("checksum"), "{stderr}");
    assert!(stderr.contains(s(&path)), "{stderr}");
}

#[test]
fn non_model_files_are_rejected_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    // A CSV file, an empty file and a file shorter than the length prefix.
    let empty = dir.path().join("empty.scyth");
    std::fs::write(&empty, b"").unwrap();
    let short = dir.path().join("short.scyth");
    std::fs::write(&short, b"\x10\0\0").unwrap();
    for path in [dev_csv(), empty, short] {
        let (code, stderr) = classify_with_model(&path);
        assert_clean_failure(code, &stderr);
        assert!(stderr.contains(s(&path)), "{stderr}");
    }
    let missing = dir.path().join("missing.scyth");
    let (code, stderr) = classify_with_model(&missing);
    assert_clean_failure(code, &stderr);
    assert!(stderr.contains(s(&missing)), "{stderr}");
}

// ------------------------------------------- 5. f32 / int8 agreement

/// Classifies dev.csv with tiny.scyth as JSONL with extra `args`.
fn classify_dev_jsonl(extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "classify".to_string(),
        "--model".into(),
        s(&tiny_model()).into(),
        "--input".into(),
        s(&dev_csv()).into(),
        "--output-format".into(),
        "jsonl".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let rows = json_lines(&run_ok(&args));
    assert_eq!(rows.len(), DEV_RECORDS);
    rows
}

#[test]
fn f32_and_int8_agree_on_top1_label_and_probability() {
    let int8 = classify_dev_jsonl(&[]);
    let f32 = classify_dev_jsonl(&["--precision", "f32"]);
    let mut same = 0;
    for (a, b) in int8.iter().zip(&f32) {
        assert_eq!(a["id"], b["id"]);
        let (ta, tb) = (&a["top"][0], &b["top"][0]);
        if ta["label"] == tb["label"] {
            same += 1;
        }
        let (pa, pb) = (num(&ta["probability"]), num(&tb["probability"]));
        assert!(
            (pa - pb).abs() <= 0.05,
            "top-1 probability differs on {}: int8 {pa}, f32 {pb}",
            a["id"]
        );
    }
    assert!(
        same as f64 >= 0.95 * DEV_RECORDS as f64,
        "top-1 agrees on only {same} of {DEV_RECORDS}"
    );
}

// --------------------------------------------------------- 6. stdin

#[test]
fn classify_reads_jsonl_from_stdin() {
    let input = concat!(
        r#"{"id": "x1", "text": "日銀が追加の利上げを決め、円相場が上昇した。"}"#,
        "\n",
        r#"{"id": "x2", "text": "サッカーJ2で首位のチームが6試合ぶりに敗れた。"}"#,
        "\n",
    );
    let (code, stdout, stderr) = run_with_stdin(
        &[
            "classify",
            "--model",
            s(&tiny_model()),
            "--input",
            "-",
            "--format",
            "jsonl",
        ],
        Some(input.as_bytes()),
    );
    assert_eq!(code, 0, "{stderr}");
    let rows = json_lines(&stdout);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], "x1");
    assert_eq!(rows[1]["id"], "x2");
    assert_eq!(rows[1]["line"], 2);
    assert_eq!(rows[0]["top"].as_array().unwrap().len(), 3);
}

#[test]
fn classify_stdin_without_format_exits_2() {
    let (code, stdout, stderr) = run_with_stdin(
        &["classify", "--model", s(&tiny_model()), "--input", "-"],
        Some(b"{\"text\": \"abc\"}\n"),
    );
    assert_clean_failure(code, &stderr);
    assert!(stderr.contains("--format"), "{stderr}");
    assert_eq!(stdout, "");
}

// ------------------------------------------------ 7. inspect, features

#[test]
fn inspect_json_reports_shape_and_labels_of_tiny_model() {
    let info: Value =
        serde_json::from_str(&run_ok(&["inspect", s(&tiny_model()), "--json"])).unwrap();
    let shape = &info["shape"];
    assert_eq!(shape["h"], 64);
    assert_eq!(shape["e"], 32);
    assert_eq!(shape["c"], 9);
    let d = shape["d"].as_u64().expect("shape.d");
    assert!(d > 0);
    assert_eq!(info["statistics"]["columns"], d);
    let labels = info["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 9);
    assert!(labels.iter().any(|l| l == "sports"), "{labels:?}");
    assert_eq!(info["decision"]["multi_label"], true);
    assert_eq!(
        info["bytes"],
        std::fs::metadata(tiny_model()).unwrap().len()
    );
}

#[test]
fn features_of_a_fixture_text_include_direct_pairs() {
    let (_, rows) = read_csv(&dev_csv());
    let text = &rows[1][1];
    let stdout = run_ok(&["features", "--model", s(&tiny_model()), text.as_str()]);
    let direct: Vec<&str> = stdout
        .lines()
        .filter(|l| l.split('\t').nth(4) == Some("direct"))
        .collect();
    assert!(!direct.is_empty(), "no direct feature:\n{stdout}");
    for l in stdout.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 6, "{l:?}");
        assert_eq!(f[0], "text");
        assert!(f[1].parse::<u32>().is_ok(), "column: {l:?}");
        assert!(f[3].parse::<f64>().unwrap() > 0.0, "value: {l:?}");
        assert!(f[4] == "direct" || f[4] == "agr", "{l:?}");
    }
}

#[test]
fn features_of_a_two_character_text_prints_no_features() {
    let (code, stdout, stderr) = run(&["features", "--model", s(&tiny_model()), "ab"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "text\t(no features)\n");
}

// ------------------------------------------------------------ 8. embed

#[test]
fn embed_npy_writes_matrix_and_ids_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.npy");
    run_ok(&[
        "embed",
        "--model",
        s(&tiny_model()),
        "--input",
        s(&dev_csv()),
        "--output",
        s(&out),
    ]);
    let npy = std::fs::read(&out).unwrap();
    assert_eq!(&npy[..6], b"\x93NUMPY");
    let header = String::from_utf8_lossy(&npy[..128.min(npy.len())]);
    assert!(header.contains("(90, 32)"), "{header}");
    // 90 × 32 f32 values after the header.
    assert!(npy.len() >= DEV_RECORDS * 32 * 4);
    let ids = std::fs::read_to_string(dir.path().join("x.npy.ids.tsv")).unwrap();
    let lines: Vec<&str> = ids.lines().collect();
    assert_eq!(lines.len(), DEV_RECORDS + 1);
    assert_eq!(lines[0], "row\tid\tline\terror");
    let dev = dev_ids();
    assert_eq!(lines[1], format!("0\t{}\t2\t", dev[0]));
    assert_eq!(lines[90], format!("89\t{}\t91\t", dev[89]));
}

#[test]
fn embed_jsonl_embeddings_are_unit_length_or_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jsonl");
    run_ok(&[
        "embed",
        "--model",
        s(&tiny_model()),
        "--input",
        s(&dev_csv()),
        "--output",
        s(&out),
    ]);
    let rows = json_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(rows.len(), DEV_RECORDS);
    let mut unit = 0;
    for (row, id) in rows.iter().zip(dev_ids()) {
        assert_eq!(row["id"], id.as_str());
        let e: Vec<f64> = row["embedding"]
            .as_array()
            .unwrap_or_else(|| panic!("no embedding: {row}"))
            .iter()
            .map(num)
            .collect();
        assert_eq!(e.len(), 32);
        let norm = e.iter().map(|x| x * x).sum::<f64>().sqrt();
        if e.iter().all(|&x| x == 0.0) {
            continue;
        }
        assert!((norm - 1.0).abs() < 1e-3, "norm {norm} for {id}");
        unit += 1;
    }
    assert!(unit > 0, "every embedding is zero");
}

// ------------------------------------------------------------- 9. demo

#[test]
fn demo_trains_evaluates_and_classifies_examples() {
    let stdout = run_ok(&["demo", "--threads", "2"]);
    assert!(stdout.contains("dev Int8"), "{stdout}");
    assert!(stdout.contains("dev F32"), "{stdout}");
    assert!(stdout.contains("examples"), "{stdout}");
    assert!(
        stdout.contains("360 training and 90 dev documents"),
        "{stdout}"
    );
}

// ---------------------------------------------------------- 10. explain

#[test]
fn classify_explain_lists_top_contributions_in_descending_order() {
    let rows = classify_dev_jsonl(&["--explain"]);
    let mut entries = 0;
    for row in &rows {
        let explain = row["explain"]
            .as_array()
            .unwrap_or_else(|| panic!("no explain list: {row}"));
        assert!(explain.len() <= 10, "{row}");
        let mut last = f64::INFINITY;
        for e in explain {
            assert!(!e["trigram"].as_str().expect("trigram").is_empty(), "{e}");
            match e["kind"].as_str() {
                Some("direct") => assert!(e.get("pentagram").is_none(), "{e}"),
                Some("agr") => assert!(e["pentagram"].is_string(), "{e}"),
                other => panic!("kind {other:?} in {e}"),
            }
            let c = num(&e["contribution"]);
            assert!(c <= last, "contributions not descending in {row}");
            last = c;
            entries += 1;
        }
    }
    assert!(entries > DEV_RECORDS, "only {entries} explain entries");
}

// ---------------------------------------------------------- 11. threads

#[test]
fn classify_output_is_identical_with_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    // More records than one parallel chunk (2048), so chunking is exercised.
    let (_, rows) = read_csv(&dev_csv());
    let input = dir.path().join("many.csv");
    let mut w = csv::Writer::from_path(&input).unwrap();
    w.write_record(["id", "text"]).unwrap();
    for i in 0..2100 {
        let r = &rows[i % rows.len()];
        w.write_record([format!("{}-{i}", r[0]), r[1].clone()])
            .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let classify = |threads: &str, format: &str| {
        let out = dir.path().join(format!("out-{threads}.{format}"));
        run_ok(&[
            "classify",
            "--model",
            s(&tiny_model()),
            "--input",
            s(&input),
            "--output",
            s(&out),
            "--threads",
            threads,
        ]);
        std::fs::read(out).unwrap()
    };
    for format in ["csv", "jsonl"] {
        let one = classify("1", format);
        let two = classify("2", format);
        assert_eq!(
            String::from_utf8_lossy(&one).lines().count(),
            2100 + usize::from(format == "csv")
        );
        assert!(
            one == two,
            "{format} output differs between 1 and 2 threads"
        );
    }
}

// ------------------------------------------------------- closed stdout

/// Regression: `scyth eval ... | head -1` panicked with "failed printing to
/// stdout: Broken pipe" instead of ending quietly.
#[test]
fn closed_stdout_ends_quietly_for_eval_inspect_and_classify() {
    let model = tiny_model();
    let dev = dev_csv();
    let cases: Vec<Vec<&OsStr>> = vec![
        vec![
            "eval".as_ref(),
            "--model".as_ref(),
            model.as_os_str(),
            "--input".as_ref(),
            dev.as_os_str(),
        ],
        vec!["inspect".as_ref(), model.as_os_str()],
        vec![
            "classify".as_ref(),
            "--model".as_ref(),
            model.as_os_str(),
            "--input".as_ref(),
            dev.as_os_str(),
        ],
    ];
    for args in cases {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("the scyth binary starts");
        // Close the read end at once: every write to stdout fails.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("scyth finishes");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// Every pentagram scan the CPU offers (gathers or plain loads, chosen by
/// `SCYTH_SCAN`; AVX-512, AVX2 or portable, limited by `SCYTH_KERNEL`)
/// gives byte-identical classifications, explanations included.
#[test]
fn classify_output_is_identical_on_every_scan_path() {
    let classify = |env: &[(&str, &str)]| -> String {
        let out = Command::new(BIN)
            .args([
                OsStr::new("classify"),
                OsStr::new("--model"),
                tiny_model().as_os_str(),
                OsStr::new("--input"),
                dev_csv().as_os_str(),
                OsStr::new("--output-format"),
                OsStr::new("jsonl"),
                OsStr::new("--explain"),
            ])
            .envs(env.iter().copied())
            .output()
            .expect("the scyth binary runs");
        assert!(out.status.success(), "classify failed under {env:?}");
        String::from_utf8(out.stdout).expect("stdout is UTF-8")
    };
    let reference = classify(&[("SCYTH_KERNEL", "scalar")]);
    assert_eq!(reference.lines().count(), DEV_RECORDS);
    for env in [
        &[("SCYTH_SCAN", "gather")][..],
        &[("SCYTH_SCAN", "loads")],
        &[("SCYTH_SCAN", "gather"), ("SCYTH_KERNEL", "avx2")],
        &[],
    ] {
        assert_eq!(classify(env), reference, "output differs under {env:?}");
    }
}
