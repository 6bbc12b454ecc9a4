//! Tests of [`super`] (lock).

use super::*;
use std::collections::BTreeSet;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write_owner(path: &Path, owner: &Owner) {
    std::fs::write(path, serde_json::to_vec(owner).unwrap()).unwrap();
}

/// Threads racing for one key never overlap: a read-modify-write of a counter file under the
/// lock loses no increment.
#[test]
fn racing_holders_exclude_each_other() {
    let d = dir();
    let (lock, counter) = (d.path().join("k.lock"), d.path().join("counter"));
    std::fs::write(&counter, "0").unwrap();
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                for _ in 0..25 {
                    let held = KeyLock::acquire(&lock, |_| {}).unwrap();
                    let n: u32 = std::fs::read_to_string(&counter).unwrap().parse().unwrap();
                    std::thread::yield_now();
                    std::fs::write(&counter, (n + 1).to_string()).unwrap();
                    drop(held);
                }
            });
        }
    });
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "150");
    assert!(!lock.exists(), "released locks leave no file");
}

#[test]
fn a_live_owner_holds_and_a_gone_one_does_not() {
    let d = dir();
    let path = d.path().join("k.lock");
    let held = KeyLock::try_acquire(&path).unwrap().unwrap();
    let record: Owner = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(record, Owner::me());
    assert!(KeyLock::try_acquire(&path).unwrap().is_none());
    assert!(!KeyLock::is_free(&path));
    let mut seen = None;
    let waiter = std::thread::scope(|s| {
        let w = s.spawn(|| KeyLock::acquire(&path, |pid| seen = pid).unwrap());
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        w.join().unwrap()
    });
    assert_eq!(
        seen,
        Some(std::process::id()),
        "the waiter is told whom it waits for"
    );
    waiter.remove().unwrap();

    // A dead process on this host.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let mut owner = Owner::me();
    owner.pid = dead;
    write_owner(&path, &owner);
    assert!(KeyLock::is_free(&path));
    assert!(KeyLock::try_acquire(&path).unwrap().is_some(), "broken");
    // A running pid that is another process than the owner was (pid reuse).
    let mut owner = Owner::me();
    owner.started += 1;
    write_owner(&path, &owner);
    assert!(KeyLock::try_acquire(&path).unwrap().is_some(), "broken");
    // Another host: live until its heartbeat stops.
    let mut owner = Owner::me();
    owner.host = "elsewhere".into();
    write_owner(&path, &owner);
    assert!(KeyLock::try_acquire(&path).unwrap().is_none());
    let file = File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() - STALE_AFTER - Duration::from_secs(5))
        .unwrap();
    assert!(KeyLock::try_acquire(&path).unwrap().is_some(), "broken");
    // Junk (no lock file of ours is ever partly written) is held until it is old.
    std::fs::write(&path, "").unwrap();
    assert!(KeyLock::try_acquire(&path).unwrap().is_none());
    std::fs::remove_file(&path).unwrap();
}

/// A waiter that finds a stale lock while another breaks it does not remove the lock the
/// other then takes.
#[test]
fn breaking_never_removes_a_lock_taken_since() {
    let d = dir();
    let path = d.path().join("k.lock");
    let mut gone = Owner::me();
    gone.started += 1;
    let stale = serde_json::to_vec(&gone).unwrap();
    std::fs::write(&path, &stale).unwrap();
    // Someone broke it and took it since we read it.
    std::fs::remove_file(&path).unwrap();
    let taken = KeyLock::try_acquire(&path).unwrap().unwrap();
    break_stale(&path, &stale).unwrap();
    assert!(path.exists(), "the live lock stays");
    assert!(KeyLock::try_acquire(&path).unwrap().is_none());
    drop(taken);
}

/// A creator's record and a breaker's guard left by a dead process go; a live one's stay.
#[test]
fn debris_of_a_dead_owner_is_removed() {
    let d = dir();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let mut gone = Owner::me();
    gone.pid = dead;
    let me = Owner::me();
    let names = [
        // Killed before it wrote its record: the name says whose it is.
        format!("a.lock.{}-{}-{}-0.tmp", gone.host, gone.pid, gone.started),
        "b.lock.break".to_string(),
        format!("c.lock.{}-{}-{}-0.tmp", me.host, me.pid, me.started),
        "d.lock.break".to_string(),
    ];
    std::fs::write(d.path().join(&names[0]), "").unwrap();
    write_owner(&d.path().join(&names[1]), &gone);
    std::fs::write(d.path().join(&names[2]), "").unwrap();
    write_owner(&d.path().join(&names[3]), &me);
    let listed = remove_debris(d.path(), true);
    assert_eq!(listed.len(), 2);
    assert!(
        d.path().join(&names[0]).exists(),
        "a dry run removes nothing"
    );
    let removed = remove_debris(d.path(), false);
    assert_eq!(removed, listed);
    let left: BTreeSet<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(left, BTreeSet::from([names[2].clone(), names[3].clone()]));
    // Taking a lock leaves no record file of its own behind.
    let held = KeyLock::try_acquire(&d.path().join("e.lock"))
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 3);
    drop(held);
}
