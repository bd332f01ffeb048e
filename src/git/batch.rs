//! The objects one capture writes, gathered and written together: as one pack when there are
//! many (a first checkpoint after edits all over the tree writes hundreds of blobs and trees,
//! and each loose object costs a file created and renamed), loose when there are few (a pack
//! per small capture would pile up packs faster than `git gc --auto` folds them). Blobs the
//! database already has are not written again (a capture's trees are mostly new, and go in
//! as they are). Nothing here is visible until [`finish`] returns: a capture finishes its
//! batch before anything can point at what it wrote.
//!
//! [`finish`]: ObjectBatch::finish

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gix::bstr::{BStr, ByteSlice};
use gix::objs::Write as _;
use gix::objs::tree::EntryMode;

use super::scan::OnDisk;
use super::{GixContext, ObjectId, RepoError, TreeEntry};

/// Objects larger than this are written loose at once, not held for the pack.
const MAX_HELD: usize = 256 << 10;
/// All objects held for the pack together; past it, objects are written loose at once.
const HELD_BUDGET: usize = 64 << 20;
/// Fewer objects than this are written loose: git's own line (`transfer.unpackLimit`)
/// between unpacking what a fetch brings and keeping it as a pack.
const MIN_PACKED: usize = 100;
/// Trees smaller than this go into the pack uncompressed (zlib's stored blocks): each
/// compressed entry is a zlib stream of its own, and starting one clears a 128 KiB table,
/// which costs more than compressing a small tree saves (20-byte ids compress to about two
/// thirds; git's repacks make most of them deltas later). Compressing a push's 412 objects
/// (450 KB) took 4 ms on two threads, storing them 0.8 ms. Blobs compress to about a third
/// and are kept as written (git copies whole objects' bytes when it repacks or pushes):
/// they are compressed whatever their size.
const STORED_TREES_BELOW: usize = 4 << 10;
/// How much of each hashed file's content is kept for judging (see [`ObjectBatch::leading`]),
/// and for how many files at most.
pub const LEADING_BYTES: usize = 1024;
const MAX_LEADING: usize = 16 << 10;

/// The start of a blob this batch hashed: its size and up to [`LEADING_BYTES`] of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leading {
    pub size: u64,
    pub bytes: Vec<u8>,
}

/// A worktree file's tree mode and id; None for a path that vanished or cannot be tracked.
pub type Hashed = Option<(EntryMode, ObjectId)>;

/// Objects waiting to be written (see the module's doc).
pub struct ObjectBatch {
    held: Mutex<Held>,
    /// Bytes still allowed to be held.
    budget: AtomicUsize,
}

#[derive(Default)]
struct Held {
    ids: HashSet<ObjectId>,
    objects: Vec<(ObjectId, gix::objs::Kind, Vec<u8>)>,
    leading: HashMap<ObjectId, Leading>,
}

impl Default for ObjectBatch {
    fn default() -> Self {
        ObjectBatch {
            held: Mutex::default(),
            budget: AtomicUsize::new(HELD_BUDGET),
        }
    }
}

impl ObjectBatch {
    /// Adds an object of `kind` whose encoded bytes are `data`; its id. `known` asks the
    /// database first: a blob often is there already (a file written back as it was); a
    /// capture's trees are mostly new, and a miss looks through every pack index.
    fn add(
        &self,
        repo: &gix::Repository,
        kind: gix::objs::Kind,
        data: Vec<u8>,
        known: bool,
    ) -> Result<ObjectId, RepoError> {
        let id = gix::objs::compute_hash(repo.object_hash(), kind, &data)
            .context(|| format!("hashing a {kind}"))?;
        self.add_hashed(repo, kind, data, id, known)?;
        Ok(id)
    }

    /// [`add`](Self::add) of an object whose id is computed already.
    fn add_hashed(
        &self,
        repo: &gix::Repository,
        kind: gix::objs::Kind,
        data: Vec<u8>,
        id: ObjectId,
        known: bool,
    ) -> Result<(), RepoError> {
        if known && repo.objects.exists_without_refresh(&id) {
            return Ok(());
        }
        let held = data.len() <= MAX_HELD
            && self
                .budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(data.len())
                })
                .is_ok();
        if !held {
            repo.objects
                .write_buf_with_known_id(kind, &data, id)
                .context(|| format!("writing {kind} {id}"))?;
            return Ok(());
        }
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.ids.insert(id) {
            held.objects.push((id, kind, data));
        }
        Ok(())
    }

    /// Adds a tree from entries in any order (sorted the way git sorts them).
    pub fn add_tree(
        &self,
        repo: &gix::Repository,
        entries: &[TreeEntry],
    ) -> Result<ObjectId, RepoError> {
        let tree = super::repo::tree_object(entries);
        let mut data = Vec::with_capacity(tree.entries.len() * 40);
        gix::objs::WriteTo::write_to(&tree, &mut data).context(|| "encoding a tree".into())?;
        self.add(repo, gix::objs::Kind::Tree, data, false)
    }

    /// Hashes the worktree file at `rela_path` with git's filters applied, as
    /// `gix::filter::Pipeline::worktree_file_to_object` does, but into this batch: its tree
    /// mode and id (None for a path that vanished or cannot be tracked), and its `lstat` as
    /// taken before it was read (None when it vanished).
    pub fn add_worktree_file(
        &self,
        pipeline: &mut gix::filter::Pipeline<'_>,
        rela_path: &BStr,
        index: &gix::index::State,
    ) -> Result<(Hashed, Option<rustix::fs::Stat>), RepoError> {
        let repo = pipeline.repo;
        let what = || format!("hashing {}", rela_path.to_str_lossy());
        let root = repo.workdir().ok_or_else(|| RepoError::Gix {
            context: what(),
            source: "the repository is bare".into(),
        })?;
        let Some((stat, on_disk)) =
            super::scan::read_worktree_file(root, pipeline, index, rela_path)?
        else {
            return Ok((None, None));
        };
        let (kind, data) = match on_disk {
            OnDisk::Blob(kind, data) => (kind, data),
            // A submodule or nested repository (its HEAD), or what cannot be tracked:
            // nothing is written for either.
            OnDisk::Other => {
                let head = pipeline
                    .worktree_file_to_object(rela_path, index)
                    .context(what)?
                    .map(|(id, kind, _)| (EntryMode::from(kind), id));
                return Ok((head, Some(stat)));
            }
        };
        let id = gix::objs::compute_hash(repo.object_hash(), gix::objs::Kind::Blob, &data)
            .context(what)?;
        // A file holding what the index says (stale stat data after a checkout in the same
        // second as its index write: thousands in a fresh worktree). The index stands for
        // it, as for every file it lists: not looked for in the database nor written, and
        // published by nobody for the first time.
        if index.entry_by_path(rela_path).is_some_and(|e| e.id == id) {
            return Ok((Some((kind.into(), id)), Some(stat)));
        }
        let leading = Leading {
            size: data.len() as u64,
            bytes: data[..data.len().min(LEADING_BYTES)].to_vec(),
        };
        self.add_hashed(repo, gix::objs::Kind::Blob, data, id, true)?;
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.leading.len() < MAX_LEADING {
            held.leading.insert(id, leading);
        }
        Ok((Some((kind.into(), id)), Some(stat)))
    }

    /// Writes what is held: one pack (and its index) when there are many objects, else loose
    /// objects. After it returns, every object added is in the database. Returns the start
    /// of each worktree file hashed (up to 16,384 of them), by blob id: a push judges what it
    /// publishes for secrets without reading the blobs back.
    /// `root`: the tree the held trees make up. When the database has it already (the same
    /// state captured again: a push or a diff right after a checkpoint, with no monitor's
    /// memo to reuse trees by), the held trees are looked for one by one and only the
    /// missing ones written, not a pack of copies. A new root is the usual case, and its
    /// trees are mostly new: they are not looked for (each miss reads every pack's index).
    pub fn finish(
        self,
        repo: &gix::Repository,
        root: ObjectId,
    ) -> Result<HashMap<ObjectId, Leading>, RepoError> {
        let mut held = self.held.into_inner().unwrap_or_else(|e| e.into_inner());
        if held.objects.len() >= MIN_PACKED && repo.objects.exists_without_refresh(&root) {
            held.objects.retain(|(id, kind, _)| {
                *kind != gix::objs::Kind::Tree || !repo.objects.exists_without_refresh(id)
            });
        }
        if held.objects.len() < MIN_PACKED {
            for (id, kind, data) in &held.objects {
                // Blobs were looked for when they were added.
                if *kind == gix::objs::Kind::Tree && repo.objects.exists_without_refresh(id) {
                    continue;
                }
                repo.objects
                    .write_buf_with_known_id(*kind, data, *id)
                    .context(|| format!("writing {kind} {id}"))?;
            }
        } else {
            write_pack(repo, &held.objects)?;
            want_maintenance(repo);
        }
        Ok(held.leading)
    }
}

/// Per object of a pack: its id, the CRC-32 of its entry as stored, the entry's offset.
type PackEntries = Vec<(ObjectId, u32, u64)>;

/// Appends the pack entries of `objects` to `pack`; where each one went.
fn encode(
    pack: &mut Vec<u8>,
    objects: &[(ObjectId, gix::objs::Kind, Vec<u8>)],
) -> Result<PackEntries, RepoError> {
    use gix::zlib::stream::deflate::{Compress, FlushCompress};
    let what = || "compressing the checkpoint's objects".to_owned();
    let room = |(_, kind, data): &(ObjectId, gix::objs::Kind, Vec<u8>)| {
        if stored_whole(*kind, data) {
            data.len() + 24
        } else {
            data.len() / 2 + 80
        }
    };
    pack.reserve(objects.iter().map(room).sum());
    let mut entries = Vec::with_capacity(objects.len());
    let mut compress = Compress::new(gix::zlib::Compression::BEST_SPEED);
    for (id, kind, data) in objects {
        let offset = pack.len();
        let type_bits: u8 = match kind {
            gix::objs::Kind::Commit => 1,
            gix::objs::Kind::Tree => 2,
            gix::objs::Kind::Blob => 3,
            gix::objs::Kind::Tag => 4,
        };
        // The type and size: 4 bits of size in the first byte, then 7 per byte.
        let mut size = data.len() as u64;
        let mut byte = (type_bits << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size != 0 {
            pack.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        pack.push(byte);
        if stored_whole(*kind, data) {
            stored(pack, data);
            entries.push((*id, crc32fast::hash(&pack[offset..]), offset as u64));
            continue;
        }
        compress.reset();
        let mut input = data.as_slice();
        loop {
            let (before_in, before_out) = (compress.total_in(), compress.total_out());
            let start = pack.len();
            pack.resize(start + input.len() / 2 + 64, 0);
            let status = compress
                .compress(input, &mut pack[start..], FlushCompress::Finish)
                .context(what)?;
            let written = (compress.total_out() - before_out) as usize;
            pack.truncate(start + written);
            input = &input[(compress.total_in() - before_in) as usize..];
            if status == gix::zlib::Status::StreamEnd {
                break;
            }
        }
        entries.push((*id, crc32fast::hash(&pack[offset..]), offset as u64));
    }
    Ok(entries)
}

/// Whether an object goes into the pack uncompressed ([`STORED_TREES_BELOW`]).
fn stored_whole(kind: gix::objs::Kind, data: &[u8]) -> bool {
    kind == gix::objs::Kind::Tree && data.len() < STORED_TREES_BELOW
}

/// Appends `data` as a zlib stream of stored (uncompressed) blocks: the two-byte header,
/// blocks of at most 65,535 bytes each with its length and the length's complement, the last
/// one flagged final, then the Adler-32 of `data` (RFC 1950 and 1951).
fn stored(out: &mut Vec<u8>, data: &[u8]) {
    const MOD_ADLER: u32 = 65521;
    // Deflate, a 32 KiB window, no preset dictionary; the check bits make it a multiple of 31.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(usize::from(u16::MAX)).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let len = u16::try_from(block.len()).expect("blocks are at most u16::MAX bytes");
        out.push(u8::from(blocks.peek().is_none()));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    // 5,552 bytes is the most that can be summed before the sums overflow 32 bits.
    let (mut a, mut b) = (1u32, 0u32);
    for run in data.chunks(5552) {
        for &byte in run {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD_ADLER;
        b %= MOD_ADLER;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
}

/// Writes `objects` as one pack (version 2, every object whole, none a delta) with its
/// index (version 2) into the repository's pack directory, as `git index-pack` would name
/// them. The pack goes in first and the index last: git and gix see a pack by its index.
fn write_pack(
    repo: &gix::Repository,
    objects: &[(ObjectId, gix::objs::Kind, Vec<u8>)],
) -> Result<(), RepoError> {
    let what = || "writing a pack of the checkpoint's objects".to_owned();
    let hash = repo.object_hash();
    let count = u32::try_from(objects.len()).context(what)?;
    let mut pack = Vec::new();
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&count.to_be_bytes());
    // Compressed in two parts on two threads when there are many (a capture's other steps are
    // one thread's work): the second part is laid after the first.
    let split = if objects.len() >= 2 * MIN_PACKED {
        objects.len() / 2
    } else {
        objects.len()
    };
    let (first, second) = objects.split_at(split);
    let (entries, rest) = std::thread::scope(|scope| {
        let other = (!second.is_empty()).then(|| {
            scope.spawn(|| {
                let mut part = Vec::new();
                encode(&mut part, second).map(|entries| (part, entries))
            })
        });
        let mine = encode(&mut pack, first);
        (
            mine,
            other.map(|h| h.join().expect("encoding does not panic")),
        )
    });
    let mut entries = entries?;
    if let Some(rest) = rest {
        let (part, part_entries) = rest?;
        let base = pack.len() as u64;
        entries.extend(
            part_entries
                .into_iter()
                .map(|(id, crc, offset)| (id, crc, base + offset)),
        );
        pack.extend_from_slice(&part);
    }
    let checksum = {
        let mut hasher = gix::hash::hasher(hash);
        hasher.update(&pack);
        hasher.try_finalize().context(what)?
    };
    pack.extend_from_slice(checksum.as_bytes());

    entries.sort_unstable_by_key(|e| e.0);
    let mut index = Vec::with_capacity(8 + 256 * 4 + entries.len() * 32 + 40);
    index.extend_from_slice(&[0xff, b't', b'O', b'c']);
    index.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in &entries {
        fanout[usize::from(id.as_bytes()[0])] += 1;
    }
    let mut total = 0;
    for n in fanout {
        total += n;
        index.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in &entries {
        index.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in &entries {
        index.extend_from_slice(&crc.to_be_bytes());
    }
    // Offsets past 2 GiB go in a table of 8-byte offsets, the 4-byte one naming its slot.
    let mut large = Vec::new();
    for (_, _, offset) in &entries {
        let small = match u32::try_from(*offset) {
            Ok(small) if small < 0x8000_0000 => small,
            _ => {
                let slot = u32::try_from(large.len()).context(what)?;
                large.push(*offset);
                0x8000_0000 | slot
            }
        };
        index.extend_from_slice(&small.to_be_bytes());
    }
    for offset in large {
        index.extend_from_slice(&offset.to_be_bytes());
    }
    index.extend_from_slice(checksum.as_bytes());
    let index_checksum = {
        let mut hasher = gix::hash::hasher(hash);
        hasher.update(&index);
        hasher.try_finalize().context(what)?
    };
    index.extend_from_slice(index_checksum.as_bytes());

    let dir = repo.objects.store_ref().path().join("pack");
    std::fs::create_dir_all(&dir).context(what)?;
    let name = format!("pack-{}", checksum.to_hex());
    let (pack_path, index_path) = (
        dir.join(format!("{name}.pack")),
        dir.join(format!("{name}.idx")),
    );
    // The same name is the same content: a pack written before stays as it is.
    let new_pack = !pack_path.exists();
    if new_pack {
        persist(&dir, &pack_path, &pack).context(what)?;
    }
    if !index_path.exists()
        && let Err(e) = persist(&dir, &index_path, &index)
    {
        // A pack without its index is nothing git would ever use or remove.
        if new_pack {
            let _ = std::fs::remove_file(&pack_path);
        }
        return Err(e).context(what);
    }
    Ok(())
}

/// The repository (its common directory) whose maintenance a pack written by this process
/// asked for.
static MAINTENANCE_WANTED: Mutex<Option<std::path::PathBuf>> = Mutex::new(None);

/// Starts the maintenance a pack written by this process asked for: `git maintenance run
/// --auto`, not waited for (it folds the packs in the background, `gc.autoDetach`). Called
/// when a command has ended, never while a capture's objects are not yet reachable from a
/// ref (a gc with a short `gc.pruneExpire` would take them).
pub fn start_wanted_maintenance() {
    let Some(common) = MAINTENANCE_WANTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    else {
        return;
    };
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C")
        .arg(common)
        .args(["maintenance", "run", "--auto", "--quiet"])
        .env("GIT_SESSION_HOOKS", "0");
    if let Ok(mut child) = super::runner::start_detached(cmd) {
        // Reaped when it ends, not left behind as a zombie by a long-running process.
        std::thread::spawn(move || child.wait());
    }
}

/// After a pack is written, as git does after a fetch: when there are more packs than
/// `gc.autoPackLimit` (50 unless set; 0 or less: never) and `maintenance.auto` is not false,
/// maintenance is wanted ([`start_wanted_maintenance`]).
fn want_maintenance(repo: &gix::Repository) {
    let config = repo.config_snapshot();
    let limit = config.integer("gc.autoPackLimit").unwrap_or(50);
    if limit <= 0 || config.boolean("maintenance.auto") == Some(false) {
        return;
    }
    let dir = repo.objects.store_ref().path().join("pack");
    let packs = std::fs::read_dir(&dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
            .count()
    });
    if i64::try_from(packs).unwrap_or(i64::MAX) <= limit {
        return;
    }
    *MAINTENANCE_WANTED.lock().unwrap_or_else(|e| e.into_inner()) =
        Some(repo.common_dir().to_owned());
}

/// Writes `bytes` under a temporary name in `dir`, read-only as git leaves packs, flushed to
/// the disk (git's default `core.fsync` covers packs and their indexes, not loose objects),
/// and moves the file to `path`.
fn persist(dir: &std::path::Path, path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let mut file = tempfile::Builder::new()
        .prefix("tmp_pack_")
        .permissions(std::fs::Permissions::from_mode(0o444))
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_data()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate(stream: &[u8], len: usize) -> Vec<u8> {
        let mut out = vec![0; len + 64];
        let (status, consumed, written) = gix::zlib::Inflate::default()
            .once(stream, &mut out)
            .expect("a valid zlib stream");
        assert_eq!(status, gix::zlib::Status::StreamEnd);
        assert_eq!(consumed, stream.len(), "nothing after the stream");
        out.truncate(written);
        out
    }

    #[test]
    fn stored_streams_inflate_to_what_went_in() {
        for len in [0, 1, 4095, 5552, 5553, 65535, 65536, 140_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8 | 0x80).collect();
            let mut stream = vec![0xaa];
            stored(&mut stream, &data);
            assert_eq!(inflate(&stream[1..], len), data, "{len} bytes");
        }
    }
}
