//! One lock per artifact key, that holds on the shared filesystems clusters put `artifacts/` on.
//!
//! A lock is a file that exactly one creator can make: the creator writes its record into a file
//! of its own (`<lock>.<host>-<pid>-<start>-<n>.tmp`) and hard-links that to the lock's name, which fails
//! if the name exists. That is open(2)'s recipe for NFS, and it holds on a local disk, Lustre and
//! GPFS alike; unlike `O_EXCL` on the lock itself, no lock file is ever seen without its whole
//! record (a creator killed between create and write would leave one nobody could judge for
//! [`STALE_AFTER`]). `flock(2)` does not serve there: a Lustre client without `-o flock` refuses
//! it or keeps it local to the node, and what an NFS client does with it depends on the mount.
//! The holder removes the file when it releases the lock. The file records its owner (host, pid,
//! the process's start time, the Slurm job id when there is one) and the holder touches it every
//! [`HEARTBEAT`] while it holds it.
//!
//! A lock whose owner is gone (killed, crashed, its node lost) is stale, and is broken:
//! - owner on this host: its pid is not running, or is a process started at another time
//!   (a reused pid);
//! - owner in a Slurm job that `squeue` no longer lists;
//! - any owner: no heartbeat for [`STALE_AFTER`] (what the first two rules cannot see: a
//!   process on another node outside Slurm).
//!
//! Breaking is itself serialised: the breaker creates `<lock>.break` the same way, checks that
//! the lock file still holds the stale record it judged, removes it and then `.break`. So two
//! waiters that both find a lock stale never remove a live lock one of them has just taken.
//! What a killed process leaves besides a lock (its `.tmp` record, a `.break` guard) is removed
//! by [`remove_debris`] once its owner is gone.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::engine::error::{EngineError, Result};

/// How often a holder touches its lock file.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// A lock file untouched for this long is stale whoever holds it (NFS caches file times for up
/// to a minute, so this is far above both that and the heartbeat).
pub const STALE_AFTER: Duration = Duration::from_secs(600);
/// A `.break` file older than this was left by a breaker that died.
const BREAK_STALE_AFTER: Duration = Duration::from_secs(60);
/// The name ends of a creator's own record before it links it, and of a breaker's guard.
const TMP_SUFFIX: &str = ".tmp";
const BREAK_SUFFIX: &str = ".break";

/// Who holds a lock, as its file records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// The process's start time (clock ticks since boot, from /proc): a pid reused by another
    /// process after the owner died does not pass for the owner.
    pub started: u64,
    /// `SLURM_JOB_ID` of the owner, when it runs in a Slurm job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        let pid = std::process::id();
        Owner {
            host: hostname(),
            pid,
            started: process_start(pid).unwrap_or(0),
            job: std::env::var("SLURM_JOB_ID").ok().filter(|j| !j.is_empty()),
        }
    }

    /// True if the owner is known to be gone (the first two rules of the module's list).
    pub fn is_gone(&self) -> bool {
        if self.host == hostname() {
            return match process_start(self.pid) {
                Some(started) => started != self.started,
                // /proc hides other users' processes where it is mounted with hidepid: a pid we
                // may not signal (EPERM) is alive, only one that does not exist (ESRCH) is gone.
                None => !pid_exists(self.pid),
            };
        }
        match &self.job {
            Some(job) => slurm_job_gone(job),
            None => false,
        }
    }
}

pub struct KeyLock {
    path: PathBuf,
    /// What this holder wrote into the file.
    record: Vec<u8>,
    /// Set to stop the heartbeat thread.
    released: Arc<AtomicBool>,
}

/// What one look at a lock file found.
enum Attempt {
    Taken(KeyLock),
    /// Held by this owner (None: the record is not readable yet).
    Held(Option<Owner>),
}

impl KeyLock {
    /// Takes the lock at `path`, waiting while a live owner holds it; `on_wait` is called once
    /// with the holder's pid (when known) before waiting.
    pub fn acquire(path: &Path, on_wait: impl FnOnce(Option<u32>)) -> Result<KeyLock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        }
        let mut on_wait = Some(on_wait);
        let mut pause = Duration::from_millis(20);
        loop {
            match attempt(path)? {
                Attempt::Taken(lock) => return Ok(lock),
                Attempt::Held(owner) => {
                    if let Some(f) = on_wait.take() {
                        f(owner.map(|o| o.pid));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
            }
        }
    }

    /// Takes the lock only if it is free now (or stale).
    pub fn try_acquire(path: &Path) -> Result<Option<KeyLock>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        }
        Ok(match attempt(path)? {
            Attempt::Taken(lock) => Some(lock),
            Attempt::Held(_) => None,
        })
    }

    /// True if nobody holds the lock at `path` (no file, or a stale one).
    pub fn is_free(path: &Path) -> bool {
        match std::fs::read(path) {
            Err(_) => true,
            Ok(bytes) => is_stale(path, &bytes),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Releases the lock, reporting a failure to remove its file (dropping it releases too,
    /// silently).
    pub fn remove(mut self) -> Result<()> {
        self.release()
    }

    /// Stops the heartbeat and removes the file, if it is still this holder's (a lock wrongly
    /// judged stale and taken by another is theirs now).
    fn release(&mut self) -> Result<()> {
        if self.released.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        if std::fs::read(&self.path).ok().as_deref() != Some(&self.record[..]) {
            return Ok(());
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(EngineError::io(&self.path, e)),
        }
    }
}

impl Drop for KeyLock {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

/// Creates `path` holding this process's owner record, atomically: the record is written into a
/// file of our own, then hard-linked to `path`. Returns the open file and the record, or None if
/// `path` exists.
fn create_exclusive(path: &Path) -> Result<Option<(File, Vec<u8>)>> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let me = Owner::me();
    let record = serde_json::to_vec(&me).expect("a plain struct");
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    // The name says whose it is, since a creator killed before its write leaves it empty.
    let tmp = path.with_file_name(format!(
        "{name}.{}-{}-{}-{}{TMP_SUFFIX}",
        me.host,
        me.pid,
        me.started,
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    // A file of this name is a dead process's with our pid: ours to overwrite.
    let mut file = File::create(&tmp).map_err(|e| EngineError::io(&tmp, e))?;
    file.write_all(&record)
        .and_then(|()| file.sync_all())
        .map_err(|e| EngineError::io(&tmp, e))?;
    let made = match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        // NFS may answer a link that was made with an error (a lost reply to a retried call):
        // the link count of our own file says what happened.
        Err(_) if std::fs::metadata(&tmp).is_ok_and(|m| m.nlink() == 2) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(EngineError::io(path, e)),
    };
    let _ = std::fs::remove_file(&tmp);
    Ok(made?.then_some((file, record)))
}

/// One try: create the lock file, or find who holds it (breaking it when stale, then trying
/// once more).
fn attempt(path: &Path) -> Result<Attempt> {
    for _ in 0..2 {
        if let Some((file, record)) = create_exclusive(path)? {
            return Ok(Attempt::Taken(hold(path, file, record)));
        }
        let mut bytes = Vec::new();
        match File::open(path) {
            // Released between our create and our read: try again.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(EngineError::io(path, e)),
            Ok(mut f) => {
                f.read_to_end(&mut bytes)
                    .map_err(|e| EngineError::io(path, e))?;
            }
        }
        if !is_stale(path, &bytes) {
            return Ok(Attempt::Held(serde_json::from_slice(&bytes).ok()));
        }
        break_stale(path, &bytes)?;
    }
    Ok(Attempt::Held(None))
}

/// Starts the heartbeat of a lock just taken.
fn hold(path: &Path, file: File, record: Vec<u8>) -> KeyLock {
    let released = Arc::new(AtomicBool::new(false));
    let flag = released.clone();
    let _ = std::thread::Builder::new()
        .name("lock heartbeat".into())
        .spawn(move || {
            let tick = Duration::from_millis(200);
            let mut waited = Duration::ZERO;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                waited += tick;
                if waited >= HEARTBEAT {
                    waited = Duration::ZERO;
                    let _ = file.set_modified(SystemTime::now());
                }
            }
        });
    KeyLock {
        path: path.to_path_buf(),
        record,
        released,
    }
}

/// The module's rules, for the lock file at `path` holding `bytes`.
fn is_stale(path: &Path, bytes: &[u8]) -> bool {
    let untouched = is_old(path, STALE_AFTER);
    match serde_json::from_slice::<Owner>(bytes) {
        Ok(owner) => untouched || owner.is_gone(),
        // Junk (lock files are never partly written): only time tells.
        Err(_) => untouched,
    }
}

/// Removes the lock file at `path` if it still holds `stale` (the record judged stale), under
/// `<path>.break`.
fn break_stale(path: &Path, stale: &[u8]) -> Result<()> {
    let guard = path.with_extension(format!("lock{BREAK_SUFFIX}"));
    if create_exclusive(&guard)?.is_none() {
        // Another waiter is breaking it; a guard its breaker left behind goes once it is gone.
        if let Ok(bytes) = std::fs::read(&guard)
            && is_debris_stale(&guard, &bytes, BREAK_STALE_AFTER)
        {
            let _ = std::fs::remove_file(&guard);
        }
        return Ok(());
    }
    if std::fs::read(path).ok().as_deref() == Some(stale) {
        tracing::warn!(lock = %path.display(), "breaking a lock whose owner is gone");
        let _ = std::fs::remove_file(path);
    }
    std::fs::remove_file(&guard).map_err(|e| EngineError::io(&guard, e))
}

/// True if a `.break` guard holding `bytes` was left by an owner that is gone, or is older
/// than `after`.
fn is_debris_stale(path: &Path, bytes: &[u8], after: Duration) -> bool {
    is_old(path, after) || serde_json::from_slice::<Owner>(bytes).is_ok_and(|o| o.is_gone())
}

/// True if the file at `path` was last modified more than `after` ago.
fn is_old(path: &Path, after: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > after)
}

/// The owner a creator's `.tmp` record names (`<lock>.<host>-<pid>-<started>-<n>.tmp`).
fn tmp_owner(name: &str) -> Option<Owner> {
    let stem = name.strip_suffix(TMP_SUFFIX)?;
    let mut parts = stem.rsplitn(4, '-');
    let (_n, started, pid) = (parts.next()?, parts.next()?, parts.next()?);
    let host = parts.next()?;
    let host = &host[host.find(".lock.")? + ".lock.".len()..];
    Some(Owner {
        host: host.to_string(),
        pid: pid.parse().ok()?,
        started: started.parse().ok()?,
        job: None,
    })
}

/// Removes from the lock folder `dir` the `.tmp` records and `.break` guards whose owner is gone
/// (a process killed while it took or broke a lock). Returns their paths.
pub fn remove_debris(dir: &Path, dry_run: bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        let stale = if name.ends_with(TMP_SUFFIX) {
            is_old(&path, STALE_AFTER) || tmp_owner(&name).is_some_and(|o| o.is_gone())
        } else if name.ends_with(BREAK_SUFFIX) {
            std::fs::read(&path).is_ok_and(|b| is_debris_stale(&path, &b, BREAK_STALE_AFTER))
        } else {
            continue;
        };
        if stale {
            if !dry_run {
                let _ = std::fs::remove_file(&path);
            }
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The start time of process `pid` (field 22 of /proc/<pid>/stat), None if it is not running.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// True if a process `pid` exists (whoever owns it).
#[allow(unsafe_code)] // kill(2) with signal 0: no signal is sent
fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// True if `squeue` answers and does not list job `job`.
fn slurm_job_gone(job: &str) -> bool {
    let out = std::process::Command::new("squeue")
        .args(["-h", "-o", "%i", "-j", job])
        .stderr(std::process::Stdio::piped())
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().is_empty(),
        // squeue refuses a job id it has forgotten ("Invalid job id specified").
        Ok(o) => String::from_utf8_lossy(&o.stderr).contains("Invalid job id"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests;
