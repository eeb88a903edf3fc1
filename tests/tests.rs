//! All integration tests, built into one test binary:
//! - `suite::spec`: SPEC §1–3 rules through the library (features, scores,
//!   statuses, pentagrams), and properties (batch/thread independence);
//! - `suite::cli`: the `scyth` binary end to end on the fixtures (train →
//!   classify → eval, error rows and exit codes, corrupted model files);
//! - `suite::stream`: the incremental df dataflow against batch counts at 1–3
//!   workers, with insertions and retractions (and a proptest);
//! - `suite::stream_classify`: streaming classifications and statistics
//!   against the batch computation after every epoch, 1–3 workers, status
//!   flips, random insert/retract sequences;
//! - `suite::stream_cli`: `scyth stream` end to end (error rows, window,
//!   statistics lines, a two-process timely cluster);
//! - `suite::import`: imported SCYTH-5 checkpoints against PyTorch, from the
//!   committed fixtures (features, f32, int8; import errors);
//! - `suite::words`: word statistics on a tiny self-written dictionary
//!   (build, POS filter, G², log-odds) and `scyth dict` / `scyth words`.

mod suite;
