//! `scyth stream --state`: a stream killed with SIGKILL at random moments
//! and restarted (with 1, 2 or 3 workers in turn) writes exactly the output
//! of an uninterrupted run — no record lost, none counted twice, no
//! committed epoch repeated — and a damaged or foreign state directory is
//! refused instead of loaded.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_scyth");

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The fixture training corpus as a stream input, with a blank-text record
/// every 40 records (error rows must survive restarts too).
fn write_input(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(fixture("fixtures/corpus/train.csv")).expect("fixture");
    let mut lines = text.lines();
    let mut out = String::from("id,text,time\n");
    lines.next();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.expect("fixture record");
        if i % 40 == 17 {
            out.push_str(&format!("blank-{i},\"  \",{}\n", &rec[3]));
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([&rec[0], &rec[1], &rec[3]]).expect("csv");
        out.push_str(&String::from_utf8(w.into_inner().expect("csv")).expect("utf-8"));
    }
    let path = dir.join("input.csv");
    std::fs::write(&path, out).expect("write input");
    path
}

/// The windows every stream of these tests keeps.
const WINDOWS: [&str; 4] = ["--window-docs", "120", "--window", "25d"];

/// The fixture dev corpus twice (the second copy under new ids) as a
/// stream input: its pentagrams the model does not know recur 90 documents
/// apart, so pruning after fewer documents keeps them unknown.
fn write_repeated_input(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(fixture("fixtures/corpus/dev.csv")).expect("fixture");
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "text", "time"]).expect("csv");
    for copy in ["a", "b"] {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for rec in reader.records() {
            let rec = rec.expect("fixture record");
            let id = format!("{copy}-{}", &rec[0]);
            w.write_record([id.as_str(), &rec[1], &rec[3]])
                .expect("csv");
        }
    }
    let path = dir.join("repeated.csv");
    std::fs::write(&path, w.into_inner().expect("csv")).expect("write input");
    path
}

fn stream_cmd(input: &Path, output: &Path, state: Option<&Path>, workers: usize) -> Command {
    stream_cmd_shaped(input, output, state, workers, &WINDOWS)
}

/// [`stream_cmd`] with `shape` (the window or pruning options) instead of
/// the windows.
fn stream_cmd_shaped(
    input: &Path,
    output: &Path,
    state: Option<&Path>,
    workers: usize,
    shape: &[&str],
) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("stream")
        .arg("-m")
        .arg(fixture("fixtures/model/tiny.scyth"))
        .arg("-i")
        .arg(input)
        .arg("-o")
        .arg(output)
        .args(["--epoch-docs", "6"])
        .args(shape)
        .args(["--max-lag", "3", "--words-min-count", "2"])
        .arg("--words")
        .arg(output.with_extension("words.jsonl"))
        .arg("--dict")
        .arg(super::words::tiny_dict())
        .args(["-w", &workers.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(dir) = state {
        // A small compaction floor so that snapshots and log rewrites
        // happen (and get killed) during the test.
        cmd.arg("--state")
            .arg(dir)
            .args(["--state-compact-bytes", "20000"]);
    }
    cmd
}

/// Runs to the end; returns the exit code and stderr.
fn run_to_end(mut cmd: Command) -> (i32, String) {
    let out = cmd.output().expect("scyth runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A small deterministic generator for kill delays.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn stream_killed_at_20_random_points_writes_what_an_uninterrupted_run_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write_input(dir.path());
    let reference = dir.path().join("reference.jsonl");
    let started = Instant::now();
    let (code, err) = run_to_end(stream_cmd(&input, &reference, None, 1));
    let full = started.elapsed();
    assert_eq!(code, 1, "blank records make the exit code 1: {err}");
    let want = std::fs::read(&reference).expect("reference output");
    assert!(want.len() > 10_000, "the reference stream wrote little");
    let words_of = |out: &Path| std::fs::read(out.with_extension("words.jsonl")).expect("words");
    let want_words = words_of(&reference);
    assert!(
        !want_words.is_empty(),
        "the reference stream wrote no words"
    );

    // With a state directory and no crash, the output is the same.
    let calm = dir.path().join("calm.jsonl");
    let calm_state = dir.path().join("calm-state");
    let (code, err) = run_to_end(stream_cmd(&input, &calm, Some(&calm_state), 2));
    assert_eq!(code, 1, "{err}");
    assert_eq!(std::fs::read(&calm).expect("output"), want);
    assert_eq!(words_of(&calm), want_words);
    // Restarting a finished stream writes nothing more.
    let (code, err) = run_to_end(stream_cmd(&input, &calm, Some(&calm_state), 1));
    assert_eq!(code, 1, "{err}");
    assert_eq!(std::fs::read(&calm).expect("output"), want);
    assert_eq!(words_of(&calm), want_words);

    let kill = |state: &Path, output: &Path, workers: usize| {
        stream_cmd(&input, output, Some(state), workers)
    };
    assert_kills_leave_the_output(dir.path(), 20, full, &want, &want_words, 1, kill);
}

/// Kills streams made by `cmd(state, output, workers)` at `kills` random
/// moments within a third of an uninterrupted run's time `full`,
/// restarting each until it finishes, and checks that every round's output
/// and words equal the uninterrupted run's `want` and `want_words` (each
/// finishing run exits with `code`).
fn assert_kills_leave_the_output(
    dir: &Path,
    kills_wanted: usize,
    full: Duration,
    want: &[u8],
    want_words: &[u8],
    code: i32,
    cmd: impl Fn(&Path, &Path, usize) -> Command,
) {
    let words_of = |out: &Path| std::fs::read(out.with_extension("words.jsonl")).expect("words");
    let mut rng = XorShift(0x5eed_cafe_f00d_d00d);
    let window_ms = (full.as_millis() as u64 / 3).max(50);
    let mut kills = 0;
    let mut round = 0;
    while kills < kills_wanted {
        round += 1;
        let state = dir.join(format!("state-{round}"));
        let output = dir.join(format!("out-{round}.jsonl"));
        let mut restarts = 0usize;
        loop {
            let workers = 1 + restarts % 3;
            restarts += 1;
            let mut child = cmd(&state, &output, workers).spawn().expect("scyth starts");
            let deadline = Instant::now() + Duration::from_millis(rng.below(window_ms));
            let mut status = None;
            while Instant::now() < deadline {
                if let Some(s) = child.try_wait().expect("wait") {
                    status = Some(s);
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            match status {
                Some(s) => {
                    let mut err = String::new();
                    if let Some(mut pipe) = child.stderr.take() {
                        use std::io::Read;
                        let _ = pipe.read_to_string(&mut err);
                    }
                    assert_eq!(s.code(), Some(code), "round {round}: {err}");
                    break;
                }
                None if kills < kills_wanted => {
                    child.kill().expect("SIGKILL");
                    child.wait().expect("reaped");
                    kills += 1;
                }
                None => {
                    let out = child.wait_with_output().expect("scyth runs");
                    assert_eq!(
                        out.status.code(),
                        Some(code),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    break;
                }
            }
        }
        let got = std::fs::read(&output).expect("output");
        assert!(
            got.as_slice() == want,
            "round {round} ({restarts} starts, {kills} kills so far): output differs from the uninterrupted run ({} vs {} bytes)",
            got.len(),
            want.len()
        );
        assert!(
            words_of(&output).as_slice() == want_words,
            "round {round}: the words output differs from the uninterrupted run"
        );
    }
}

/// `--prune-rare` with `--state`: killed at 8 random points, the stream
/// still writes what an uninterrupted pruning run writes (the pruning rule
/// depends on documents and their order, not on epochs, so a restart that
/// replays committed epochs as one batch reaches the same statistics).
#[test]
fn pruning_stream_killed_at_8_random_points_writes_what_an_uninterrupted_run_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write_repeated_input(dir.path());
    let prune = ["--prune-rare", "30"];
    let reference = dir.path().join("reference.jsonl");
    let started = Instant::now();
    let (code, err) = run_to_end(stream_cmd_shaped(&input, &reference, None, 1, &prune));
    let full = started.elapsed();
    assert_eq!(code, 0, "{err}");
    let want = std::fs::read(&reference).expect("reference output");
    let want_words =
        std::fs::read(reference.with_extension("words.jsonl")).expect("reference words");
    // Pruning changed what the stream knows: its classifications differ
    // from an unpruned run's somewhere, or the test would not see it.
    let unpruned = dir.path().join("unpruned.jsonl");
    let (code, err) = run_to_end(stream_cmd_shaped(&input, &unpruned, None, 1, &[]));
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read(&unpruned).expect("unpruned output") != want,
        "pruning changed no classification"
    );
    let kill = |state: &Path, output: &Path, workers: usize| {
        stream_cmd_shaped(&input, output, Some(state), workers, &prune)
    };
    assert_kills_leave_the_output(dir.path(), 8, full, &want, &want_words, 0, kill);
}

#[test]
fn stream_refuses_a_corrupt_or_foreign_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write_input(dir.path());
    let output = dir.path().join("out.jsonl");
    let state = dir.path().join("state");
    let (code, err) = run_to_end(stream_cmd(&input, &output, Some(&state), 1));
    assert_eq!(code, 1, "{err}");

    // Another input behind the same state.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "id,text\na,短い文章です。\n").expect("write");
    let (code, err) = run_to_end(stream_cmd(&other, &output, Some(&state), 1));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("same input"), "{err}");

    // Other options behind the same state.
    let mut cmd = stream_cmd(&input, &output, Some(&state), 1);
    cmd.args(["-k", "2"]);
    let (code, err) = run_to_end(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another stream"), "{err}");

    // A damaged byte in the middle of the log (or of the snapshot, if the
    // last commit compacted the log away).
    let log = state.join("log");
    let damaged = if std::fs::metadata(&log).expect("log").len() > 100 {
        log
    } else {
        state.join("snapshot")
    };
    let mut bytes = std::fs::read(&damaged).expect("state file");
    let at = bytes.len() / 3;
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    std::fs::write(&damaged, bytes).expect("write state file");
    let (code, err) = run_to_end(stream_cmd(&input, &output, Some(&state), 1));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("corrupt state"), "{err}");
}
