//! Ctrl+C (SIGINT) and SIGTERM: the run stops at once with one line that says what was
//! interrupted and what the next run will do, and exit code 130 or 143 (128 + the signal).
//!
//! The builds in progress (one, or several with `run -j N`; registered by [`Store::build`](crate::engine::store::Store::build)
//! through [`building`]) is handled like a crash, minus the mess: a resumable stage's temporary
//! folder is kept (the next run resumes from its last complete shard or epoch; it is never
//! trusted as an artifact), any other stage's is removed. Key locks are `flock`s: the kernel
//! releases them when the process exits.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

struct Building {
    stage: String,
    tmp: PathBuf,
    resumable: bool,
}

/// The builds in progress, each under a number its [`Guard`] removes it by.
static CURRENT: Mutex<Vec<(u64, Building)>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Starts the thread that handles SIGINT and SIGTERM for the rest of the process.
pub fn install() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        tracing::warn!("cannot handle Ctrl+C: an interrupted run exits without cleaning up");
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            stop(signal);
        }
    });
}

fn stop(signal: i32) -> ! {
    let name = if signal == SIGINT {
        "Ctrl+C"
    } else {
        "SIGTERM"
    };
    let current = CURRENT
        .lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default();
    if current.is_empty() {
        eprintln!("interrupted ({name}); every artifact built so far is kept");
    }
    for (_, b) in current {
        if b.resumable {
            eprintln!(
                "interrupted ({name}) while building {}: the next run resumes it from its last \
                 complete step",
                b.stage
            );
        } else {
            discard(&b.tmp);
            eprintln!(
                "interrupted ({name}) while building {}: nothing of it was kept; the next run \
                 builds it again",
                b.stage
            );
        }
    }
    std::process::exit(128 + signal)
}

/// Moves the folder out of the way first (the stage's thread may still be writing into it),
/// then removes it.
fn discard(tmp: &Path) {
    let mut aside = tmp.as_os_str().to_owned();
    aside.push("-interrupted");
    let aside = PathBuf::from(aside);
    if std::fs::rename(tmp, &aside).is_ok() {
        let _ = std::fs::remove_dir_all(&aside);
    }
}

/// Marks `tmp` as the folder of a build in progress until the guard is dropped.
pub fn building(stage: &str, tmp: &Path, resumable: bool) -> Guard {
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut c) = CURRENT.lock() {
        c.push((
            id,
            Building {
                stage: stage.into(),
                tmp: tmp.to_path_buf(),
                resumable,
            },
        ));
    }
    Guard(id)
}

pub struct Guard(u64);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(mut c) = CURRENT.lock() {
            c.retain(|(id, _)| *id != self.0);
        }
    }
}
