//! One advisory lock per artifact key.
//!
//! `flock(2)` locks (std's `File::lock`) belong to the open file: the kernel releases them when
//! the holder exits, however it exits (Ctrl+C, kill -9, a crash). A lock file left on disk by a
//! dead process is therefore just an unlocked file and never blocks anyone; no "unable to
//! acquire lock" that a user must clear by hand. The holder's pid is written into the file only
//! to tell a waiting user who they are waiting for.
//!
//! A lock file may be removed (`gc` removes the lock files of the artifacts it deletes), but
//! only by the lock's holder, through [`KeyLock::remove`]. A process that opened the file before
//! it was unlinked then locks an orphan inode; so after locking, [`KeyLock::acquire`] checks that
//! the path still names the file it locked, and starts over when it does not.

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
        let mut on_wait = Some(on_wait);
        loop {
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
                    if let Some(f) = on_wait.take() {
                        f(holder_pid(&mut file));
                    }
                    file.lock().map_err(|e| EngineError::io(path, e))?;
                }
                Err(TryLockError::Error(e)) => return Err(EngineError::io(path, e)),
            }
            if !still_at(&file, path) {
                // Its holder removed it while we waited: that lock guards nothing now.
                continue;
            }
            // Record who holds it (informational only).
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = write!(file, "{}", std::process::id());
            return Ok(KeyLock {
                file,
                path: path.to_path_buf(),
            });
        }
    }

    /// Takes the lock only if it is free now.
    pub fn try_acquire(path: &Path) -> Result<Option<KeyLock>> {
        let file = match File::options().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EngineError::io(path, e)),
        };
        match file.try_lock() {
            Ok(()) if still_at(&file, path) => Ok(Some(KeyLock {
                file,
                path: path.to_path_buf(),
            })),
            // Removed by its holder since we opened it: no longer the key's lock.
            Ok(()) => Ok(None),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(EngineError::io(path, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the lock file, then releases the lock. Processes waiting on this file find it
    /// gone when they get it and start over on a new one.
    pub fn remove(self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(EngineError::io(&self.path, e)),
        }
    }
}

/// The pid its holder wrote into the lock file. The holder writes it just after locking, so a
/// waiter that came in between finds the file empty: it looks again for up to 100 ms.
fn holder_pid(file: &mut File) -> Option<u32> {
    for _ in 0..20 {
        let mut text = String::new();
        let _ = file.rewind();
        let _ = file.read_to_string(&mut text);
        if let Ok(pid) = text.trim().parse() {
            return Some(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    None
}

/// True if `path` still names the file `file` has open (same device and inode).
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Drop for KeyLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A waiter that comes between the holder's locking and its writing the pid still learns it.
    #[test]
    fn a_waiter_learns_the_pid_written_just_after_locking() {
        let dir = std::env::temp_dir().join(format!("keylock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.lock");
        let holder = File::create(&path).unwrap();
        holder.try_lock().unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            let mut h = &holder;
            write!(h, "12345").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
            drop(holder);
        });
        let mut seen = None;
        let lock = KeyLock::acquire(&path, |pid| seen = pid).unwrap();
        writer.join().unwrap();
        assert_eq!(seen, Some(12345));
        drop(lock);
        // A lock file removed by its holder is not shared: the next one is a new file.
        let a = KeyLock::acquire(&path, |_| {}).unwrap();
        a.remove().unwrap();
        assert!(!path.exists());
        let b = KeyLock::acquire(&path, |_| {}).unwrap();
        assert!(path.exists() && KeyLock::try_acquire(&path).unwrap().is_none());
        drop(b);
        let _ = std::fs::remove_dir_all(dir);
    }
}
