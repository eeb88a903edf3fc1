//! What the word benchmarks share: finding (or building) an IPADIC
//! dictionary and reading this thread's CPU time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use scyth::words::dict::{
    DEBIAN_IPADIC_SOURCES, IPADIC_ENCODING, build_dictionary, default_dict_dir,
};

/// The CPU time this thread has run (Linux schedstat), in seconds.
pub fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// A built dictionary: `$SCYTH_DICT`, else the default cache directory,
/// else one built from Debian's IPADIC sources into `target/`; `None`
/// when there is none and no sources to build one from.
pub fn find_dictionary(root: &Path) -> Option<PathBuf> {
    let built = |d: &Path| d.join("metadata.json").is_file();
    if let Some(d) = std::env::var_os("SCYTH_DICT").map(PathBuf::from) {
        return Some(d);
    }
    if let Some(d) = default_dict_dir().filter(|d| built(d)) {
        return Some(d);
    }
    let target = root.join("target/bench-ipadic");
    if built(&target) {
        return Some(target);
    }
    let sources = Path::new(DEBIAN_IPADIC_SOURCES);
    if !sources.is_dir() {
        return None;
    }
    let start = Instant::now();
    build_dictionary(sources, &target, IPADIC_ENCODING).expect("build dictionary");
    println!(
        "built the dictionary in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    Some(target)
}
