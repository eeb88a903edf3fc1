//! The model file: a safetensors file (so numpy users can open it) whose
//! header metadata holds the JSON [`ModelMeta`], a format tag and an xxh3
//! checksum over the metadata and every tensor. Loading memory-maps the file
//! and borrows the big matrices from the map without copying them.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use bytemuck::Pod;
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors, tensor::TensorInfo};
use xxhash_rust::xxh3::Xxh3;

use crate::buf::Buf;
use crate::features::Lexicon;
use crate::model::Model;
use crate::model::meta::{FORMAT_VERSION, ModelMeta};
use crate::network::F32Weights;
use crate::quant::Int8Weights;

/// The one safetensors metadata key scyth writes (one key, because the
/// header's metadata map is written in hash order: a single entry keeps
/// files byte-identical for identical models). Its value is a JSON object
/// `{"format": "scyth-model", "checksum_xxh3": "<hex>", "meta": "<ModelMeta JSON>"}`.
const HEADER_KEY: &str = "scyth";
const FORMAT_TAG: &str = "scyth-model";

/// The wrapper stored under [`HEADER_KEY`].
#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    format: String,
    checksum_xxh3: String,
    meta: String,
}

/// Writes a tensor's bytes, in order, into the writer it is given.
pub type FillFn<'a> = Box<dyn FnMut(&mut dyn Write) -> std::io::Result<()> + 'a>;

/// Where the bytes of a tensor come from when it is written.
pub enum TensorData<'a> {
    /// Bytes already in memory.
    Bytes(&'a [u8]),
    /// Bytes produced on demand, in order, into the writer (so a tensor that
    /// never exists in memory in one piece, e.g. a synthetic 2 GB encoder,
    /// streams to disk). Must write exactly the tensor's size.
    Stream(FillFn<'a>),
}

/// One tensor to write: name, dtype, shape and data.
pub struct Tensor<'a> {
    /// Tensor name (e.g. `int8.encoder`).
    pub name: &'static str,
    /// Element type.
    pub dtype: Dtype,
    /// Shape (row-major).
    pub shape: Vec<usize>,
    /// The bytes.
    pub data: TensorData<'a>,
}

impl<'a> Tensor<'a> {
    /// A tensor whose elements are in memory.
    pub fn from_slice<T: Pod>(
        name: &'static str,
        dtype: Dtype,
        shape: Vec<usize>,
        data: &'a [T],
    ) -> Tensor<'a> {
        Tensor {
            name,
            dtype,
            shape,
            data: TensorData::Bytes(bytemuck::cast_slice(data)),
        }
    }

    /// Size in bytes, from the shape and dtype.
    fn byte_len(&self) -> usize {
        self.shape.iter().product::<usize>() * self.dtype.bitsize() / 8
    }
}

fn entry<'a, T: Pod>(
    name: &'static str,
    dtype: Dtype,
    shape: Vec<usize>,
    data: &'a [T],
) -> Tensor<'a> {
    Tensor::from_slice(name, dtype, shape, data)
}

fn entries(model: &Model) -> Vec<Tensor<'_>> {
    let s = model.int8_weights.shape;
    let mut list = lexicon_tensors(&model.lexicon);
    list.push(entry("f32.bias", Dtype::F32, vec![s.c], &model.bias));
    // int8-only models have no float encoder, linker and head.
    if let Some(f) = &model.f32_weights {
        list.push(entry("f32.encoder", Dtype::F32, vec![s.d, s.h], &f.enc));
        list.push(entry("f32.linker", Dtype::F32, vec![s.e, s.h], &f.link));
        list.push(entry("f32.head", Dtype::F32, vec![s.c, s.e], &f.head));
    }
    let q = &model.int8_weights;
    list.push(entry("int8.encoder", Dtype::I8, vec![s.d, s.h], &q.enc));
    list.extend(int8_small_tensors(q));
    // Weight zero points exist only for imported affine checkpoints; other
    // files do not carry them (so their bytes are unchanged).
    if let Some(z) = &model.int8_weights.zero_points {
        list.push(entry(
            "int8.encoder_zero_point",
            Dtype::I32,
            vec![s.h],
            &z.enc,
        ));
        list.push(entry(
            "int8.linker_zero_point",
            Dtype::I32,
            vec![s.e],
            &z.link,
        ));
        list.push(entry(
            "int8.head_zero_point",
            Dtype::I32,
            vec![s.c],
            &z.head,
        ));
    }
    list
}

/// The int8 tensors except the encoder codes: scales, linker and head.
pub fn int8_small_tensors(q: &Int8Weights) -> Vec<Tensor<'_>> {
    let s = q.shape;
    vec![
        entry("int8.encoder_scale", Dtype::F32, vec![s.h], &q.enc_scale),
        entry("int8.linker", Dtype::I8, vec![s.e, s.h], &q.link),
        entry("int8.linker_scale", Dtype::F32, vec![s.e], &q.link_scale),
        entry("int8.head", Dtype::I8, vec![s.c, s.e], &q.head),
        entry("int8.head_scale", Dtype::F32, vec![s.c], &q.head_scale),
    ]
}

/// The tensors of a lexicon (vocabulary, statistics, pentagram dictionary).
pub fn lexicon_tensors(lex: &Lexicon) -> Vec<Tensor<'_>> {
    let (t, p) = (lex.n_trigrams(), lex.n_pentagrams());
    vec![
        entry("lexicon.keys", Dtype::U64, vec![t], &lex.keys),
        entry(
            "lexicon.slots",
            Dtype::U32,
            vec![lex.slots.len()],
            &lex.slots,
        ),
        entry("lexicon.df", Dtype::U32, vec![t], &lex.df),
        entry("lexicon.score", Dtype::F64, vec![t], &lex.score),
        entry("lexicon.white", Dtype::U8, vec![t], &lex.white),
        entry("lexicon.column", Dtype::U32, vec![t], &lex.column),
        entry(
            "lexicon.column_trigram",
            Dtype::U32,
            vec![lex.n_columns()],
            &lex.column_trigram,
        ),
        entry(
            "pentagram.offsets",
            Dtype::U32,
            vec![t + 1],
            &lex.pent_offsets,
        ),
        entry(
            "pentagram.lists",
            Dtype::U32,
            vec![lex.pent_lists.len() / 3, 3],
            &lex.pent_lists,
        ),
        entry(
            "pentagram.trigrams",
            Dtype::U32,
            vec![p, 3],
            &lex.pent_trigrams,
        ),
        entry("pentagram.df", Dtype::U32, vec![p], &lex.pent_df),
        entry("pentagram.keys", Dtype::U64, vec![p, 2], &lex.pent_keys),
    ]
}

/// Checksum over the metadata JSON and the tensors in name order. `hashed`
/// sees each piece of tensor data (at most [`HASH_PIECE`] bytes) once it is
/// hashed.
fn checksum<'a>(
    meta_json: &str,
    tensors: impl Iterator<Item = (&'a str, &'a [u8])>,
    mut hashed: impl FnMut(&'a [u8]),
) -> u64 {
    let mut sorted: Vec<(&str, &[u8])> = tensors.collect();
    sorted.sort_by_key(|t| t.0);
    let mut h = Xxh3::new();
    h.update(meta_json.as_bytes());
    for (name, bytes) in sorted {
        h.update(name.as_bytes());
        h.update(&(bytes.len() as u64).to_le_bytes());
        for piece in bytes.chunks(HASH_PIECE) {
            h.update(piece);
            hashed(piece);
        }
    }
    h.digest()
}

/// Tensor data is hashed (and, at load, released) in pieces of this size.
const HASH_PIECE: usize = 64 << 20;

/// Writes `model` to `path` (through a temporary file renamed into place, so
/// a crash never leaves a half-written model under the final name). Returns
/// the checksum written.
pub fn save(model: &Model, path: &Path) -> Result<u64> {
    write_model(&model.meta, entries(model), path)
}

/// The safetensors header of `tensors` laid out as the safetensors crate
/// lays them out (descending dtype alignment, then name: every tensor is
/// aligned for its type), padded with spaces to a multiple of 8 bytes, with
/// the scyth metadata carrying `sum`. Returns the header bytes and each
/// tensor's offset in the data section, in `tensors` order.
fn layout(meta_json: &str, sum: u64, tensors: &[Tensor<'_>]) -> Result<(Vec<u8>, Vec<usize>)> {
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&tensors[a], &tensors[b]);
        b.dtype.cmp(&a.dtype).then(a.name.cmp(b.name))
    });
    let mut offsets = vec![0; tensors.len()];
    let mut infos = Vec::with_capacity(tensors.len());
    let mut at = 0usize;
    for i in order {
        let t = &tensors[i];
        let n = t.byte_len();
        offsets[i] = at;
        infos.push((
            t.name.to_string(),
            TensorInfo {
                dtype: t.dtype,
                shape: t.shape.clone(),
                data_offsets: (at, at + n),
            },
        ));
        at += n;
    }
    let wrapper = Header {
        format: FORMAT_TAG.to_string(),
        checksum_xxh3: format!("{sum:016x}"),
        meta: meta_json.to_string(),
    };
    let mut extra = HashMap::new();
    extra.insert(HEADER_KEY.to_string(), serde_json::to_string(&wrapper)?);
    let metadata = safetensors::tensor::Metadata::new(Some(extra), infos)
        .map_err(|e| anyhow::anyhow!("invalid tensor layout: {e:?}"))?;
    let mut header = serde_json::to_string(&metadata)?.into_bytes();
    header.resize(header.len().next_multiple_of(8), b' ');
    Ok((header, offsets))
}

/// Writes a model file from its metadata and tensors, streaming: tensors
/// are written at their final offsets in name order (the checksum's order),
/// hashed on the way, and the header is written last with the checksum, so
/// no tensor is ever copied or read back. Goes through a temporary file in
/// the same folder, renamed into place. The bytes are those the
/// safetensors crate writes for the same tensors. Returns the checksum.
pub fn write_model(meta: &ModelMeta, mut tensors: Vec<Tensor<'_>>, path: &Path) -> Result<u64> {
    let meta_json = serde_json::to_string(meta).context("serializing model metadata")?;
    for t in &tensors {
        if let TensorData::Bytes(b) = &t.data {
            ensure!(
                b.len() == t.byte_len(),
                "tensor {}: {} bytes for shape {:?} of {:?}",
                t.name,
                b.len(),
                t.shape,
                t.dtype
            );
        }
    }
    let (header, offsets) = layout(&meta_json, 0, &tensors)?;
    let data_start = 8 + header.len();
    let total = data_start + tensors.iter().map(Tensor::byte_len).sum::<usize>();

    let file_name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| -> Result<u64> {
        let file = std::fs::File::create(&tmp)?;
        file.set_len(total as u64)?;
        let mut order: Vec<usize> = (0..tensors.len()).collect();
        order.sort_by_key(|&i| tensors[i].name);
        let mut h = Xxh3::new();
        h.update(meta_json.as_bytes());
        for i in order {
            let t = &mut tensors[i];
            let len = t.byte_len();
            h.update(t.name.as_bytes());
            h.update(&(len as u64).to_le_bytes());
            let mut out = PositionedWriter {
                file: &file,
                at: (data_start + offsets[i]) as u64,
                hash: &mut h,
                written: 0,
            };
            match &mut t.data {
                TensorData::Bytes(b) => out.write_all(b)?,
                TensorData::Stream(fill) => {
                    let mut buffered = std::io::BufWriter::with_capacity(4 << 20, &mut out);
                    fill(&mut buffered)?;
                    buffered.flush()?;
                }
            }
            ensure!(
                out.written == len,
                "tensor {}: {} bytes written, its shape needs {len}",
                t.name,
                out.written
            );
        }
        let sum = h.digest();
        let (header, _) = layout(&meta_json, sum, &tensors)?;
        ensure!(
            header.len() + 8 == data_start,
            "header length changed with the checksum"
        );
        write_at(&file, &(header.len() as u64).to_le_bytes(), 0)?;
        write_at(&file, &header, 8)?;
        // The temporary file is created private; a model is an ordinary file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        Ok(sum)
    })();
    let sum = match written {
        Ok(sum) => sum,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.context(format!("writing model file {}", path.display())));
        }
    };
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(sum)
}

/// Writes `bytes` at `offset` of `file` (all of them).
fn write_at(file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(bytes, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::Seek;
        let mut f = file;
        f.seek(std::io::SeekFrom::Start(offset))?;
        f.write_all(bytes)
    }
}

/// Writes consecutive bytes from a starting offset of a file, hashing them.
struct PositionedWriter<'f, 'h> {
    file: &'f std::fs::File,
    at: u64,
    hash: &'h mut Xxh3,
    written: usize,
}

impl Write for PositionedWriter<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        write_at(self.file, buf, self.at)?;
        self.hash.update(buf);
        self.at += buf.len() as u64;
        self.written += buf.len();
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Loads a model file, memory-mapped. Rejects files that are not scyth
/// models, of another format version, truncated, or whose checksum does not
/// match (corruption), with an error saying which.
pub fn load(path: &Path) -> Result<Model> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("opening model file {}", path.display()))?;
    // SAFETY: the map is read-only; scyth never writes to a model file in
    // place (saves go through a temporary file and a rename).
    let map = unsafe { Mmap::map(&file) }
        .with_context(|| format!("memory-mapping {}", path.display()))?;
    let map = Arc::new(map);
    load_from_map(map).with_context(|| format!("invalid model file {}", path.display()))
}

fn load_from_map(map: Arc<Mmap>) -> Result<Model> {
    let (header_len, header) = SafeTensors::read_metadata(&map).map_err(|e| {
        anyhow::anyhow!("not a readable safetensors file (truncated or corrupted header): {e:?}")
    })?;
    let data_start = 8 + header_len;
    let extra = header.metadata().clone().unwrap_or_default();
    let wrapper: Header = extra
        .get(HEADER_KEY)
        .and_then(|h| serde_json::from_str(h).ok())
        .filter(|h: &Header| h.format == FORMAT_TAG)
        .context("not a scyth model (no scyth header in the safetensors metadata)")?;
    let meta_json = &wrapper.meta;
    let stored_sum = &wrapper.checksum_xxh3;
    let probe: serde_json::Value =
        serde_json::from_str(meta_json).context("model metadata is not valid JSON")?;
    let version = probe
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    ensure!(
        version == FORMAT_VERSION as u64,
        "model format version {version}, this scyth reads version {FORMAT_VERSION}"
    );
    let meta: ModelMeta =
        serde_json::from_value(probe).context("model metadata does not match this version")?;

    let infos = header.tensors();
    let tensor_bytes = |name: &str| -> Result<(&safetensors::tensor::TensorInfo, &[u8])> {
        let info = *infos
            .get(name)
            .with_context(|| format!("tensor {name} missing"))?;
        let (s, e) = info.data_offsets;
        Ok((info, &map[data_start + s..data_start + e]))
    };
    let sum = checksum(
        meta_json,
        infos
            .keys()
            .map(|name| tensor_bytes(name).map(|(_, b)| (name.as_str(), b)))
            .collect::<Result<Vec<_>>>()?
            .into_iter(),
        // Reading the whole file for the checksum would page all of it into
        // this process; each hashed piece is let go again (the page cache
        // keeps it), so resident memory stays what inference touches: int8
        // runs read a few encoder rows per document and never the f32 copy.
        |piece| release(&map, piece),
    );
    let stored = u64::from_str_radix(stored_sum, 16).context("checksum is not hexadecimal")?;
    if sum != stored {
        bail!(
            "checksum mismatch (stored {stored:016x}, computed {sum:016x}): the file is corrupted"
        );
    }

    let get = |name: &str, dtype: Dtype, shape: &[usize]| -> Result<(usize, usize)> {
        let (info, _) = tensor_bytes(name)?;
        ensure!(
            info.dtype == dtype,
            "tensor {name}: dtype {:?}, expected {dtype:?}",
            info.dtype
        );
        ensure!(
            info.shape == shape,
            "tensor {name}: shape {:?}, expected {shape:?}",
            info.shape
        );
        Ok((
            data_start + info.data_offsets.0,
            info.data_offsets.1 - info.data_offsets.0,
        ))
    };
    macro_rules! buf {
        ($name:expr, $dtype:expr, $shape:expr) => {{
            let (start, len) = get($name, $dtype, &$shape)?;
            Buf::mapped(map.clone(), start, len).with_context(|| format!("tensor {}", $name))?
        }};
    }
    let t = infos
        .get("lexicon.keys")
        .context("tensor lexicon.keys missing")?
        .shape
        .first()
        .copied()
        .unwrap_or(0);
    let p = infos
        .get("pentagram.df")
        .context("tensor pentagram.df missing")?
        .shape
        .first()
        .copied()
        .unwrap_or(0);
    let n_lists = infos
        .get("pentagram.lists")
        .context("tensor pentagram.lists missing")?
        .shape
        .first()
        .copied()
        .unwrap_or(0);
    let n_slots = infos
        .get("lexicon.slots")
        .context("tensor lexicon.slots missing")?
        .shape
        .first()
        .copied()
        .unwrap_or(0);
    let s = meta.shape;
    let mut lexicon = Lexicon {
        params: meta.lexicon,
        n_docs: meta.n_docs,
        df_max: meta.df_max,
        keys: buf!("lexicon.keys", Dtype::U64, [t]),
        slots: buf!("lexicon.slots", Dtype::U32, [n_slots]),
        df: buf!("lexicon.df", Dtype::U32, [t]),
        score: buf!("lexicon.score", Dtype::F64, [t]),
        white: buf!("lexicon.white", Dtype::U8, [t]),
        column: buf!("lexicon.column", Dtype::U32, [t]),
        column_trigram: buf!("lexicon.column_trigram", Dtype::U32, [s.d]),
        pent_offsets: buf!("pentagram.offsets", Dtype::U32, [t + 1]),
        pent_lists: buf!("pentagram.lists", Dtype::U32, [n_lists, 3]),
        pent_trigrams: buf!("pentagram.trigrams", Dtype::U32, [p, 3]),
        pent_df: buf!("pentagram.df", Dtype::U32, [p]),
        pent_keys: buf!("pentagram.keys", Dtype::U64, [p, 2]),
        records: Vec::new(),
        scan: Default::default(),
    };
    validate_lexicon(&lexicon, s.d)?;
    lexicon.index_records();
    let bias: Buf<f32> = buf!("f32.bias", Dtype::F32, [s.c]);
    // Files without a float encoder are int8-only (all three float matrices
    // are absent together).
    let f32_weights = match infos.contains_key("f32.encoder") {
        true => Some(F32Weights {
            shape: s,
            enc: buf!("f32.encoder", Dtype::F32, [s.d, s.h]),
            link: buf!("f32.linker", Dtype::F32, [s.e, s.h]),
            head: buf!("f32.head", Dtype::F32, [s.c, s.e]),
            bias: buf!("f32.bias", Dtype::F32, [s.c]),
        }),
        false => {
            for name in ["f32.linker", "f32.head"] {
                ensure!(
                    !infos.contains_key(name),
                    "tensor {name} without f32.encoder"
                );
            }
            None
        }
    };
    let int8_weights = Int8Weights::from_parts(
        s,
        buf!("int8.encoder", Dtype::I8, [s.d, s.h]),
        buf!("int8.encoder_scale", Dtype::F32, [s.h]),
        buf!("int8.linker", Dtype::I8, [s.e, s.h]),
        buf!("int8.linker_scale", Dtype::F32, [s.e]),
        buf!("int8.head", Dtype::I8, [s.c, s.e]),
        buf!("int8.head_scale", Dtype::F32, [s.c]),
    );
    let int8_weights = match meta.source {
        crate::model::ModelSource::Trained => int8_weights,
        crate::model::ModelSource::ImportedScyth5 => {
            let zero_points = match infos.contains_key("int8.encoder_zero_point") {
                true => Some(crate::quant::ZeroPoints {
                    enc: buf!("int8.encoder_zero_point", Dtype::I32, [s.h]).to_vec(),
                    link: buf!("int8.linker_zero_point", Dtype::I32, [s.e]).to_vec(),
                    head: buf!("int8.head_zero_point", Dtype::I32, [s.c]).to_vec(),
                }),
                false => None,
            };
            int8_weights.with_fbgemm(zero_points)
        }
    };
    ensure!(
        meta.labels.len() == s.c,
        "{} label names for {} categories",
        meta.labels.len(),
        s.c
    );
    Ok(Model {
        meta,
        lexicon: lexicon.into(),
        f32_weights,
        int8_weights,
        bias,
        checksum: sum,
    })
}

/// Drops the pages of `piece` (a window of `map`) from this process.
fn release(map: &Mmap, piece: &[u8]) {
    #[cfg(unix)]
    {
        let offset = piece.as_ptr() as usize - map.as_ptr() as usize;
        // SAFETY: a read-only shared file mapping: a dropped page is read
        // back from the file on its next access, with the same contents.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, piece.len())
        };
    }
    #[cfg(not(unix))]
    let _ = (map, piece);
}

/// Index invariants that, if broken, would make lookups read out of bounds.
fn validate_lexicon(lex: &Lexicon, d: usize) -> Result<()> {
    let t = lex.n_trigrams();
    ensure!(
        lex.keys.windows(2).all(|w| w[0] < w[1]),
        "trigram keys are not sorted"
    );
    ensure!(
        lex.column
            .iter()
            .all(|&c| c == crate::features::NO_COLUMN || (c as usize) < d),
        "column out of range"
    );
    ensure!(
        lex.column_trigram.iter().all(|&i| (i as usize) < t),
        "column trigram out of range"
    );
    ensure!(
        lex.pent_trigrams.iter().all(|&i| (i as usize) < t),
        "pentagram trigram out of range"
    );
    let offsets = &*lex.pent_offsets;
    ensure!(
        offsets.windows(2).all(|w| w[0] <= w[1])
            && offsets.last().copied().unwrap_or(0) as usize * 3 == lex.pent_lists.len(),
        "pentagram offsets are inconsistent"
    );
    let p = lex.n_pentagrams() as u32;
    ensure!(
        lex.pent_lists
            .chunks_exact(3)
            .all(|e| e[0] < p && (e[1] as usize) < t && (e[2] as usize) < t),
        "pentagram list entry out of range"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streaming writer writes exactly what the safetensors crate
    /// writes for the same tensors and metadata (so files stay readable by
    /// any safetensors reader, and the layout is the one it chose).
    #[test]
    fn streaming_writer_matches_the_safetensors_crate() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/model/tiny.scyth");
        let model = load(&fixture).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, model) in [
            ("full", model),
            ("int8", load(&fixture).unwrap().into_int8_only()),
        ] {
            let path = dir.path().join(name);
            let sum = save(&model, &path).unwrap();
            let wrapper = Header {
                format: FORMAT_TAG.to_string(),
                checksum_xxh3: format!("{sum:016x}"),
                meta: serde_json::to_string(&model.meta).unwrap(),
            };
            let list = entries(&model);
            let sum_again = checksum(
                &wrapper.meta,
                list.iter().map(|t| match &t.data {
                    TensorData::Bytes(b) => (t.name, *b),
                    TensorData::Stream(_) => unreachable!("a saved model's tensors are in memory"),
                }),
                |_| {},
            );
            assert_eq!(sum, sum_again);
            let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = list
                .iter()
                .map(|t| match &t.data {
                    TensorData::Bytes(b) => (
                        t.name,
                        safetensors::tensor::TensorView::new(t.dtype, t.shape.clone(), b).unwrap(),
                    ),
                    TensorData::Stream(_) => unreachable!(),
                })
                .collect();
            let mut extra = HashMap::new();
            extra.insert(
                HEADER_KEY.to_string(),
                serde_json::to_string(&wrapper).unwrap(),
            );
            let expected = safetensors::serialize(views, Some(extra)).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), expected, "{name}");
        }
    }

    #[test]
    fn a_stream_of_the_wrong_length_is_an_error_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let model =
            load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/model/tiny.scyth")).unwrap();
        let mut list = lexicon_tensors(&model.lexicon);
        list.push(Tensor {
            name: "int8.encoder",
            dtype: Dtype::I8,
            shape: vec![4, 4],
            data: TensorData::Stream(Box::new(|out: &mut dyn Write| out.write_all(&[1; 15]))),
        });
        let path = dir.path().join("short.scyth");
        let err = format!("{:#}", write_model(&model.meta, list, &path).unwrap_err());
        assert!(
            err.contains("15 bytes written, its shape needs 16"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
