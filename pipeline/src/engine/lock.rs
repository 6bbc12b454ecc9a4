//! One advisory lock per artifact key.
//!
//! `flock(2)` locks (std's `File::lock`) belong to the open file: the kernel releases them when
//! the holder exits, however it exits (Ctrl+C, kill -9, a crash). A lock file left on disk by a
//! dead process is therefore just an unlocked file and never blocks anyone; no "unable to
//! acquire lock" that a user must clear by hand. The holder's pid is written into the file only
//! to tell a waiting user who they are waiting for.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::engine::error::{EngineError, Result};

pub struct KeyLock {
    file: File,
    path: PathBuf,
}

impl KeyLock {
    /// Takes the lock at `path`, waiting if another process holds it; `on_wait` is called once
    /// with the holder's pid (when known) before waiting.
    pub fn acquire(path: &Path, on_wait: impl FnOnce(Option<u32>)) -> Result<KeyLock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        }
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| EngineError::io(path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                on_wait(pid.trim().parse().ok());
                file.lock().map_err(|e| EngineError::io(path, e))?;
            }
            Err(TryLockError::Error(e)) => return Err(EngineError::io(path, e)),
        }
        // Record who holds it (informational only).
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        Ok(KeyLock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Takes the lock only if it is free now.
    pub fn try_acquire(path: &Path) -> Result<Option<KeyLock>> {
        let file = match File::options().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EngineError::io(path, e)),
        };
        match file.try_lock() {
            Ok(()) => Ok(Some(KeyLock {
                file,
                path: path.to_path_buf(),
            })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(EngineError::io(path, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for KeyLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}
