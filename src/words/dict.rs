//! The IPADIC dictionary: built once from MeCab's CSV sources (Debian's
//! `mecab-ipadic` package) with lindera's builder into a cache directory,
//! then loaded from there by every command that needs words.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use lindera::dictionary::{Dictionary, DictionaryBuilder, Metadata};

/// Where Debian's `mecab-ipadic` package puts the dictionary sources.
pub const DEBIAN_IPADIC_SOURCES: &str = "/usr/share/mecab/dic/ipadic";

/// The encoding of the IPADIC sources (MeCab's distribution is EUC-JP).
pub const IPADIC_ENCODING: &str = "EUC-JP";

/// The command that creates the default dictionary, named in every error
/// about a missing one.
pub const BUILD_COMMAND: &str = "scyth dict build";

/// The source files a MeCab dictionary directory must hold besides its
/// `*.csv` word lists.
const SOURCE_FILES: [&str; 3] = ["matrix.def", "char.def", "unk.def"];

/// The files lindera writes; all must be present for a usable dictionary.
const BUILT_FILES: [&str; 2] = ["metadata.json", "matrix.mtx"];

/// The default dictionary directory: `$XDG_CACHE_HOME/scyth/ipadic`, else
/// `$HOME/.cache/scyth/ipadic`; `None` when neither variable is set.
pub fn default_dict_dir() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let cache = match non_empty("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(non_empty("HOME")?).join(".cache"),
    };
    Some(cache.join("scyth").join("ipadic"))
}

/// The dictionary directory to use: `explicit` when given, else
/// [`default_dict_dir`].
pub fn resolve_dict_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.to_path_buf()),
        None => default_dict_dir()
            .context("no dictionary directory: set XDG_CACHE_HOME or HOME, or pass --dict DIR"),
    }
}

/// Lindera metadata for IPADIC sources in `encoding` (IPADIC's column
/// layout, its default context ids and detail normalization).
pub fn ipadic_metadata(encoding: &str) -> Metadata {
    Metadata {
        name: "ipadic".to_string(),
        encoding: encoding.to_string(),
        flexible_csv: true,
        normalize_details: true,
        ..Metadata::default()
    }
}

/// Builds a lindera dictionary from the MeCab IPADIC sources in `from`
/// (`*.csv`, `matrix.def`, `char.def`, `unk.def`, text in `encoding`) into
/// `to`. The result is written to a sibling temporary directory first and
/// moved into place, so a reader never sees a half-built dictionary and
/// concurrent builders do not corrupt each other.
pub fn build_dictionary(from: &Path, to: &Path, encoding: &str) -> Result<()> {
    check_sources(from)?;
    if to.exists() && !is_replaceable(to) {
        bail!(
            "{} exists and is not a scyth word dictionary: refusing to replace it (choose another --to)",
            to.display()
        );
    }
    let parent = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = tempdir_in(parent, to)?;
    let built = DictionaryBuilder::new(ipadic_metadata(encoding))
        .build_dictionary(from, &tmp)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("building the dictionary from {}", from.display()));
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if to.exists() {
        std::fs::remove_dir_all(to).with_context(|| format!("replacing {}", to.display()))?;
    }
    std::fs::rename(&tmp, to).with_context(|| {
        let _ = std::fs::remove_dir_all(&tmp);
        format!("moving the dictionary to {}", to.display())
    })
}

/// Whether `to` may be replaced by a new build: an empty directory or a
/// dictionary written by lindera (never an arbitrary directory).
fn is_replaceable(to: &Path) -> bool {
    if !to.is_dir() {
        return false;
    }
    let Ok(mut entries) = std::fs::read_dir(to) else {
        return false;
    };
    entries.next().is_none() || BUILT_FILES.iter().all(|f| to.join(f).is_file())
}

/// A fresh, empty directory beside `to` for building into.
fn tempdir_in(parent: &Path, to: &Path) -> Result<PathBuf> {
    let name = to.file_name().and_then(|n| n.to_str()).unwrap_or("dict");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = parent.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    Ok(tmp)
}

/// Fails with a message naming what is missing when `from` is not a MeCab
/// dictionary source directory.
fn check_sources(from: &Path) -> Result<()> {
    if !from.is_dir() {
        bail!(
            "no dictionary sources at {} (install them with `apt-get install mecab-ipadic`, or pass --from DIR)",
            from.display()
        );
    }
    for f in SOURCE_FILES {
        if !from.join(f).is_file() {
            bail!(
                "{} lacks {f}: not a MeCab dictionary source directory",
                from.display()
            );
        }
    }
    let has_csv = std::fs::read_dir(from)
        .with_context(|| format!("reading {}", from.display()))?
        .filter_map(|e| e.ok())
        .any(|e| e.path().extension().is_some_and(|x| x == "csv"));
    if !has_csv {
        bail!("{} has no *.csv word lists", from.display());
    }
    Ok(())
}

/// Loads a dictionary built by [`build_dictionary`]. When `dir` holds none,
/// the error says which command creates it.
pub fn load_dictionary(dir: &Path) -> Result<Dictionary> {
    if !BUILT_FILES.iter().all(|f| dir.join(f).is_file()) {
        bail!(
            "no word dictionary at {}: create it with `{BUILD_COMMAND} --to {}` (needs the mecab-ipadic package)",
            dir.display(),
            dir.display()
        );
    }
    Dictionary::load_from_path(dir)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| {
            format!(
                "loading the dictionary at {} (rebuild it with `{BUILD_COMMAND} --to {}`)",
                dir.display(),
                dir.display()
            )
        })
}
