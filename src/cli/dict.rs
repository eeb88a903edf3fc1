//! `scyth dict build`: builds the IPADIC word dictionary that `scyth words`
//! loads, from MeCab's sources (Debian's `mecab-ipadic` package).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use scyth::words::dict::{
    DEBIAN_IPADIC_SOURCES, IPADIC_ENCODING, build_dictionary, resolve_dict_dir,
};

use super::Outcome;

/// Options of `scyth dict`.
#[derive(Args, Debug)]
pub struct DictArgs {
    #[command(subcommand)]
    pub action: DictAction,
}

/// What `scyth dict` does.
#[derive(Subcommand, Debug)]
pub enum DictAction {
    /// Build the word dictionary from MeCab IPADIC sources.
    Build(BuildArgs),
}

/// Options of `scyth dict build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Directory of the IPADIC sources (*.csv, matrix.def, char.def, unk.def).
    #[arg(long, default_value = DEBIAN_IPADIC_SOURCES)]
    pub from: PathBuf,
    /// Where to write the dictionary (default: $XDG_CACHE_HOME/scyth/ipadic,
    /// else ~/.cache/scyth/ipadic).
    #[arg(long)]
    pub to: Option<PathBuf>,
    /// Encoding of the source files.
    #[arg(long, default_value = IPADIC_ENCODING)]
    pub encoding: String,
}

/// Runs `scyth dict`.
pub fn run(args: DictArgs) -> Result<Outcome> {
    match args.action {
        DictAction::Build(b) => {
            let to = resolve_dict_dir(b.to.as_deref())?;
            let start = Instant::now();
            build_dictionary(&b.from, &to, &b.encoding)?;
            out!(
                "built the word dictionary from {} into {} in {:.2} s",
                b.from.display(),
                to.display(),
                start.elapsed().as_secs_f64()
            );
            Ok(Outcome::Clean)
        }
    }
}
