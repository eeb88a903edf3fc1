//! `scyth stream` end to end: every record yields a classification (or an
//! error row), changes consolidate to one live result per document, the
//! window retracts old documents, the statistics stream has one line per
//! epoch, and a two-process timely cluster on localhost writes exactly what
//! one process writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_scyth");

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn model() -> String {
    fixture("fixtures/model/tiny.scyth").display().to_string()
}

fn dev() -> String {
    fixture("fixtures/corpus/dev.csv").display().to_string()
}

/// Runs `scyth stream` with `args`; returns (exit code, stdout lines as
/// JSON, stderr).
fn stream(args: &[&str], stdin: Option<&str>) -> (i32, Vec<Value>, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("stream")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("scyth starts");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("scyth runs");
    let lines = String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Consolidates change rows into the live result per id, checking that
/// every retraction removes exactly the current result.
fn live_results(rows: &[Value]) -> BTreeMap<String, Value> {
    let mut live: BTreeMap<String, Value> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.get("diff").is_some()) {
        let id = row["id"].as_str().expect("id").to_string();
        let mut result = row.clone();
        let obj = result.as_object_mut().expect("object");
        obj.remove("diff");
        obj.remove("epoch");
        match row["diff"].as_i64() {
            Some(1) => assert!(
                live.insert(id.clone(), result).is_none(),
                "{id} added twice"
            ),
            Some(-1) => assert_eq!(live.remove(&id), Some(result), "{id} retracted"),
            other => panic!("diff {other:?}"),
        }
    }
    live
}

fn dev_ids() -> Vec<String> {
    let mut reader = csv::Reader::from_path(dev()).expect("dev.csv");
    reader
        .records()
        .map(|r| r.expect("record")[0].to_string())
        .collect()
}

#[test]
fn stream_classifies_every_record_once_net() {
    let (code, rows, err) = stream(&["-m", &model(), "-i", &dev(), "--epoch-docs", "25"], None);
    assert_eq!(code, 0, "{err}");
    let live = live_results(&rows);
    let mut ids = dev_ids();
    ids.sort();
    assert_eq!(live.keys().cloned().collect::<Vec<_>>(), ids);
    assert!(
        rows.iter()
            .all(|r| r["epoch"].as_u64().is_some_and(|e| e < 4))
    );
}

#[test]
fn stream_writes_error_rows_and_exits_1() {
    let input =
        "id,text\na,今日は東京で大きな会議が開かれた。\nb,\nc,新しい研究の成果が発表された。\n";
    let (code, rows, err) = stream(
        &["-m", &model(), "--format", "csv", "--epoch-docs", "2"],
        Some(input),
    );
    assert_eq!(code, 1, "{err}");
    let errors: Vec<&Value> = rows.iter().filter(|r| r.get("error").is_some()).collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["id"], "b");
    assert_eq!(errors[0]["line"], 3);
    let live = live_results(&rows);
    assert_eq!(live.keys().cloned().collect::<Vec<_>>(), ["a", "c"]);
}

#[test]
fn stream_window_retracts_old_documents_and_stats_follow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stats = dir.path().join("stats.jsonl");
    let (code, rows, err) = stream(
        &[
            "-m",
            &model(),
            "-i",
            &dev(),
            "--epoch-docs",
            "20",
            "--window-docs",
            "30",
            "--stats",
            stats.to_str().expect("utf-8 path"),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let live = live_results(&rows);
    let ids = dev_ids();
    let want: Vec<String> = {
        let mut last: Vec<String> = ids[ids.len() - 30..].to_vec();
        last.sort();
        last
    };
    assert_eq!(live.keys().cloned().collect::<Vec<_>>(), want);
    let lines: Vec<Value> = std::fs::read_to_string(&stats)
        .expect("stats file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 5, "one stats line per epoch (90 records / 20)");
    let last = lines.last().expect("a line");
    assert_eq!(last["live_docs"], 30);
    let base_docs = 360; // tiny.scyth is trained on the 360 train records
    assert_eq!(last["n_docs"], base_docs + 30);
    let label_total: u64 = last["label_counts"]
        .as_object()
        .expect("label counts")
        .values()
        .map(|v| v.as_u64().expect("count"))
        .sum();
    assert!(label_total >= 30, "every single-label document has a label");
}

#[test]
fn stream_rejects_bad_cluster_arguments() {
    let (code, _, err) = stream(&["-m", &model(), "-i", &dev(), "-n", "2"], None);
    assert_eq!(code, 2);
    assert!(err.contains("--hostfile"), "{err}");
}

/// Two processes of a timely cluster on localhost write exactly what one
/// process writes.
#[test]
fn stream_two_processes_equal_one_process() {
    let (code, single, err) = stream(&["-m", &model(), "-i", &dev(), "--epoch-docs", "30"], None);
    assert_eq!(code, 0, "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let hostfile = dir.path().join("hosts");
    let base = 20_000 + (std::process::id() % 20_000) as u16;
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{base}\n127.0.0.1:{}\n", base + 1),
    )
    .expect("hostfile");
    // Timely prints connection progress on standard output, so the cluster
    // writes its rows to a file.
    let out = dir.path().join("cluster.jsonl");
    let spawn = |index: &str| {
        Command::new(BIN)
            .args([
                "stream",
                "-m",
                &model(),
                "-i",
                &dev(),
                "--epoch-docs",
                "30",
                "-n",
                "2",
                "-p",
                index,
                "-H",
                hostfile.to_str().expect("utf-8 path"),
                "-o",
                out.to_str().expect("utf-8 path"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("scyth starts")
    };
    let second = spawn("1");
    let first = spawn("0");
    let first = first.wait_with_output().expect("process 0 runs");
    let second = second.wait_with_output().expect("process 1 runs");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let cluster: Vec<Value> = std::fs::read_to_string(&out)
        .expect("process 0 wrote the output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(cluster, single);
}

/// Runs a `scyth` subcommand that must succeed.
fn scyth_ok(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("scyth runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The live stream results by id as (labels, top labels, top scores).
fn results_by_id(rows: &[Value]) -> BTreeMap<String, (Value, Vec<Value>, Vec<f64>)> {
    live_results(rows)
        .into_iter()
        .map(|(id, r)| {
            let top = r["top"].as_array().expect("top").clone();
            (
                id,
                (
                    r["labels"].clone(),
                    top.iter().map(|t| t["label"].clone()).collect(),
                    top.iter()
                        .map(|t| t["probability"].as_f64().expect("p"))
                        .collect(),
                ),
            )
        })
        .collect()
}

/// An imported SCYTH-5 model streams with frozen statistics, so the stream
/// gives exactly what `scyth classify` gives, with the model's categories
/// and with user-defined ones.
#[test]
fn stream_of_an_imported_model_equals_batch_with_and_without_user_categories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).display().to_string();
    let s5 = path("s5.scyth");
    let export = fixture("fixtures/scyth5/int8").display().to_string();
    scyth_ok(&["import", "--from", &export, "--output", &s5]);
    let cats = path("cats.json");
    let train = fixture("fixtures/corpus/train.csv").display().to_string();
    scyth_ok(&[
        "categories",
        "build",
        "--model",
        &s5,
        "--input",
        &train,
        "--output",
        &cats,
    ]);

    for extra in [vec![], vec!["--categories", cats.as_str()]] {
        let mut stream_args = vec!["-m", s5.as_str(), "-i", dev_path(), "--epoch-docs", "17"];
        stream_args.extend(&extra);
        let (code, rows, err) = stream(&stream_args, None);
        assert_eq!(code, 0, "{err}");
        let mut classify_args = vec![
            "classify",
            "-m",
            s5.as_str(),
            "-i",
            dev_path(),
            "--output-format",
            "jsonl",
        ];
        classify_args.extend(&extra);
        let batch: Vec<Value> = scyth_ok(&classify_args)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        let streamed = results_by_id(&rows);
        assert_eq!(streamed.len(), batch.len());
        for row in &batch {
            let id = row["id"].as_str().expect("id");
            let (labels, top, probs) = &streamed[id];
            assert_eq!(labels, &row["labels"], "{id} {extra:?}");
            let want_top: Vec<Value> = row["top"]
                .as_array()
                .expect("top")
                .iter()
                .map(|t| t["label"].clone())
                .collect();
            assert_eq!(top, &want_top, "{id} {extra:?}");
            let want_p: Vec<f64> = row["top"]
                .as_array()
                .expect("top")
                .iter()
                .map(|t| t["probability"].as_f64().expect("p"))
                .collect();
            assert_eq!(probs, &want_p, "{id} {extra:?}");
        }
    }
}

/// `scyth stream` resolves `--plan` as `scyth classify` does: the default
/// (auto) is the folded plan on the tiny model, so its output is exactly
/// `--plan folded`'s and not the full plan's; a plan without embeddings is
/// refused with user categories.
#[test]
fn stream_default_plan_is_classify_default() {
    let base = ["-m", &model(), "-i", &dev(), "--epoch-docs", "25"].map(String::from);
    let run = |plan: Option<&str>| {
        let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
        if let Some(p) = plan {
            args.extend(["--plan", p]);
        }
        let (code, rows, err) = stream(&args, None);
        assert_eq!(code, 0, "{plan:?}: {err}");
        rows
    };
    let auto = run(None);
    assert_eq!(auto, run(Some("folded")));
    assert_ne!(auto, run(Some("full")));
    let dir = tempfile::tempdir().expect("tempdir");
    let cats = dir.path().join("cats.json").display().to_string();
    let train = fixture("fixtures/corpus/train.csv").display().to_string();
    scyth_ok(&[
        "categories",
        "build",
        "--model",
        &model(),
        "--input",
        &train,
        "--output",
        &cats,
    ]);
    let (code, _, err) = stream(
        &[
            "-m",
            &model(),
            "-i",
            &dev(),
            "--plan",
            "folded",
            "--categories",
            &cats,
        ],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("embeddings"), "{err}");
}

fn dev_path() -> &'static str {
    static DEV: std::sync::LazyLock<String> = std::sync::LazyLock::new(dev);
    &DEV
}

/// `--window 5d`: at the end of each epoch, documents of earlier epochs
/// older than the newest time minus five days are retracted; every record
/// is classified at least once; the live set at the end is what that rule
/// leaves (simulated here from the records' times).
#[test]
fn stream_time_window_retracts_documents_older_than_the_window() {
    let (code, rows, err) = stream(
        &[
            "-m",
            &model(),
            "-i",
            &dev(),
            "--epoch-docs",
            "5",
            "--window",
            "5d",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let mut reader = csv::Reader::from_path(dev()).expect("dev.csv");
    let records: Vec<(String, i64)> = reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            let t = scyth::io::time::parse_timestamp(&r[3]).expect("a time");
            (r[0].to_string(), t)
        })
        .collect();
    let mut held: Vec<(String, i64)> = Vec::new();
    let mut newest = i64::MIN;
    for chunk in records.chunks(5) {
        newest = chunk.iter().map(|r| r.1).fold(newest, i64::max);
        held.retain(|(_, t)| *t >= newest - 5 * 86_400);
        held.extend(chunk.iter().cloned());
    }
    let want: std::collections::BTreeSet<String> = held.into_iter().map(|(id, _)| id).collect();
    let live = live_results(&rows);
    let got: std::collections::BTreeSet<String> = live.keys().cloned().collect();
    assert_eq!(got, want);
    assert!(
        want.len() < records.len() / 3,
        "the window retracted most documents"
    );
    let inserted: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| r["diff"] == 1)
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        inserted.len(),
        records.len(),
        "every record classified once"
    );
}

/// Output, statistics and a state directory may go to a device such as
/// `/dev/null` (it cannot be cut back on a restart, so it is written like
/// standard output), and the run still succeeds.
#[cfg(unix)]
#[test]
fn stream_writes_to_dev_null() {
    let state = tempfile::tempdir().expect("tempdir");
    let state_dir = state.path().join("state");
    let model = model();
    let dev = dev();
    for _ in 0..2 {
        scyth_ok(&[
            "stream",
            "-m",
            &model,
            "-i",
            &dev,
            "--epoch-docs",
            "40",
            "-o",
            "/dev/null",
            "--stats",
            "/dev/null",
            "--state",
            state_dir.to_str().expect("utf-8 path"),
        ]);
    }
}

/// `--prune-rare`: every record is still classified once, the statistics
/// count fewer trigrams than without pruning (dev's one-off names and
/// numbers leave them), and pruning with a window is refused.
#[test]
fn stream_prune_rare_forgets_one_off_trigrams_and_refuses_a_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let last_stats = |extra: &[&str], name: &str| -> (BTreeMap<String, Value>, Value) {
        let stats = dir.path().join(name);
        let (model, dev) = (model(), dev());
        let mut args = vec![
            "-m",
            model.as_str(),
            "-i",
            dev.as_str(),
            "--epoch-docs",
            "15",
            "--stats",
            stats.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(extra);
        let (code, rows, err) = stream(&args, None);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(&stats).expect("stats file");
        let last = text.lines().last().expect("a stats line");
        (
            live_results(&rows),
            serde_json::from_str(last).expect("JSON"),
        )
    };
    let (full, full_stats) = last_stats(&[], "full.jsonl");
    let (pruned, pruned_stats) = last_stats(&["--prune-rare", "10"], "pruned.jsonl");
    assert_eq!(
        pruned.keys().collect::<Vec<_>>(),
        full.keys().collect::<Vec<_>>()
    );
    assert_eq!(pruned.len(), dev_ids().len());
    let trigrams = |s: &Value| s["trigrams"].as_u64().expect("trigrams");
    assert!(
        trigrams(&pruned_stats) < trigrams(&full_stats),
        "{} trigrams pruned, {} not",
        trigrams(&pruned_stats),
        trigrams(&full_stats)
    );
    assert_eq!(pruned_stats["n_docs"], full_stats["n_docs"]);
    assert!(full_stats["trigram_slots"].as_u64().expect("slots") > 0);

    let (code, _, err) = stream(
        &[
            "-m",
            &model(),
            "-i",
            &dev(),
            "--prune-rare",
            "10",
            "--window-docs",
            "30",
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--prune-rare"), "{err}");
}
