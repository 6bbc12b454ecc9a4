//! What the store does with an artifact's files: hashing them (fsynced) when it is built,
//! rehashing them for `pipeline verify`, and telling a full disk from other failures.

use std::fs::File;
use std::path::Path;

use crate::engine::error::{EngineError, Result};
use crate::engine::hash_index::hash_file_contents;
use crate::engine::manifest::{self, Manifest, OutputFile};

/// Rehashes an artifact's outputs against its manifest; returns the problems found.
pub fn verify_artifact(dir: &Path, m: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    for out in &m.outputs {
        let p = dir.join(&out.path);
        match std::fs::metadata(&p) {
            Err(_) => problems.push(format!("{}: missing", p.display())),
            Ok(meta) if meta.len() != out.size => problems.push(format!(
                "{}: size {} != recorded {}",
                p.display(),
                meta.len(),
                out.size
            )),
            Ok(_) => match hash_file_contents(&p) {
                Ok(h) if h == out.blake3 => {}
                Ok(h) => problems.push(format!(
                    "{}: blake3 {} != recorded {}",
                    p.display(),
                    &h[..12],
                    &out.blake3[..12]
                )),
                Err(e) => problems.push(e.to_string()),
            },
        }
    }
    let mut on_disk = Vec::new();
    let _ = list_files(dir, dir, &mut on_disk);
    for rel in on_disk {
        if rel != manifest::FILE_NAME && !m.outputs.iter().any(|o| o.path == rel) {
            problems.push(format!("{}: not in the manifest", dir.join(rel).display()));
        }
    }
    problems
}

pub(super) fn hash_outputs(dir: &Path) -> Result<Vec<OutputFile>> {
    let mut files = Vec::new();
    list_files(dir, dir, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for rel in files {
        if rel == manifest::FILE_NAME {
            continue;
        }
        let p = dir.join(&rel);
        // fsync before the rename makes the artifact durable, not just visible.
        let f = File::open(&p).map_err(|e| EngineError::io(&p, e))?;
        f.sync_all().map_err(|e| EngineError::io(&p, e))?;
        let size = f.metadata().map_err(|e| EngineError::io(&p, e))?.len();
        out.push(OutputFile {
            blake3: hash_file_contents(&p)?,
            path: rel,
            size,
        });
    }
    Ok(out)
}

pub(super) fn list_files(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| EngineError::io(dir, e))? {
        let entry = entry.map_err(|e| EngineError::io(dir, e))?;
        let p = entry.path();
        if p.is_dir() {
            list_files(base, &p, out)?;
        } else {
            let rel = p
                .strip_prefix(base)
                .unwrap_or(&p)
                .to_string_lossy()
                .to_string();
            out.push(rel);
        }
    }
    Ok(())
}

/// True if `e` comes from a full disk (ENOSPC, or a quota).
pub(super) fn is_disk_full(e: &EngineError) -> bool {
    let full = |io: &std::io::Error| {
        matches!(
            io.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        )
    };
    match e {
        EngineError::Io { source, .. } => full(source),
        EngineError::StageFailed { source, .. } => source.chain().any(|c| {
            c.downcast_ref::<std::io::Error>().is_some_and(full)
                // Some libraries (Parquet, Burn's recorder) pass the OS error on as text.
                || c.to_string().contains("No space left on device")
        }),
        _ => false,
    }
}

/// The bytes of every file under `dir`.
pub(super) fn folder_bytes(dir: &Path) -> u64 {
    let mut files = Vec::new();
    let _ = list_files(dir, dir, &mut files);
    files
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// The bytes free (for an unprivileged user) on the filesystem holding `path`.
#[allow(unsafe_code)] // statvfs(3); audited below
pub(super) fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call, and `stat` points to
    // writable memory of the struct's size; it is read only when the call succeeded.
    let ok = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) } == 0;
    ok.then(|| {
        // SAFETY: statvfs returned 0, so it initialised `stat`.
        let stat = unsafe { stat.assume_init() };
        stat.f_bavail * stat.f_frsize
    })
}

pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = File::create(path).map_err(|e| EngineError::io(path, e))?;
    f.write_all(bytes).map_err(|e| EngineError::io(path, e))?;
    f.sync_all().map_err(|e| EngineError::io(path, e))
}

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| EngineError::io(dir, e))
}
