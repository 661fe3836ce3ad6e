//! Defence in depth across processes and threads, and durability: child
//! processes hold guards, get killed, hit file-size limits.
// Every file these tests map is a private temporary file that nothing else
// touches except the child processes these tests start on purpose.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::{child_command, child_role, run_child, tempdir};
use ndarray::{Array1, Ix1};
use ndarray_memmap::{Error, Memmap, MemmapExt, MemmapMut, MemmapOptions};

const PATH_VAR: &str = "NDARRAY_MEMMAP_TEST_PATH";

fn child_path() -> std::path::PathBuf {
    std::env::var(PATH_VAR).expect("child gets a path").into()
}

/// Starts this test again as a child with `role`, and waits for its "ready" line.
/// The caller waits for the child; if this panics, the test has failed anyway
/// and the child ends when its stdin closes.
#[allow(clippy::zombie_processes)]
fn spawn_ready(
    test: &str,
    role: &str,
    path: &std::path::Path,
) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = child_command(test, role, &[(PATH_VAR, common::s(path))])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert_ne!(
            out.read_line(&mut line).unwrap(),
            0,
            "child exited before it was ready"
        );
        if line.trim_end().ends_with("ready") {
            return (child, out);
        }
    }
}

/// In a child: says "ready", then blocks until the parent closes stdin.
fn ready_and_wait() {
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn a_writable_guard_in_another_process_locks_others_out() {
    const TEST: &str = concat!(
        module_path!(),
        "::a_writable_guard_in_another_process_locks_others_out"
    );
    if child_role().as_deref() == Some("writer") {
        let _guard = unsafe { Array1::<u8>::open_raw_mut(child_path(), 16) }.unwrap();
        ready_and_wait();
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("shared.bin");
    std::fs::write(&path, [0u8; 16]).unwrap();
    let (mut child, _out) = spawn_ready(TEST, "writer", &path);
    let quick = MemmapOptions::new()
        .lock_wait(Duration::from_millis(20))
        .clone();
    let writable = unsafe { quick.open_raw_mut::<u8, Ix1>(&path) };
    assert!(
        matches!(
            writable,
            Err(Error::Locked {
                requested: "exclusive",
                ..
            })
        ),
        "{writable:?}"
    );
    let readable = unsafe { quick.open_raw::<u8, Ix1>(&path) };
    assert!(
        matches!(
            readable,
            Err(Error::Locked {
                requested: "shared",
                ..
            })
        ),
        "{readable:?}"
    );
    drop(child.stdin.take()); // let the child go
    assert!(child.wait().unwrap().success());
    assert!(unsafe { quick.open_raw_mut::<u8, Ix1>(&path) }.is_ok());
}

#[test]
fn read_only_guards_share_across_processes() {
    const TEST: &str = concat!(module_path!(), "::read_only_guards_share_across_processes");
    if child_role().as_deref() == Some("reader") {
        let guard = unsafe { Array1::<u8>::open_raw(child_path(), 16) }.unwrap();
        assert_eq!(guard.sum(), 16);
        ready_and_wait();
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("shared.bin");
    std::fs::write(&path, [1u8; 16]).unwrap();
    let (mut child, _out) = spawn_ready(TEST, "reader", &path);
    let mine = unsafe { Array1::<u8>::open_raw(&path, 16) }.unwrap();
    let copy = unsafe { Array1::<u8>::open_raw_copy(&path, 16) }.unwrap();
    assert_eq!(mine.sum() + copy.sum(), 32);
    let quick = MemmapOptions::new().lock_wait(Duration::ZERO).clone();
    drop((mine, copy));
    assert!(matches!(
        unsafe { quick.open_raw_mut::<u8, Ix1>(&path) },
        Err(Error::Locked { .. })
    ));
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn threads_read_one_guard_at_once() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Memmap<f64, Ix1>>();
    assert_send_sync::<MemmapMut<f64, Ix1>>();

    let mut data = Array1::<u64>::scratch(100_000).unwrap();
    data.iter_mut().enumerate().for_each(|(i, x)| *x = i as u64);
    let guard = &data;
    let sums: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                scope.spawn(move || {
                    guard
                        .view()
                        .slice(ndarray::s![t * 25_000..(t + 1) * 25_000])
                        .sum()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sums.iter().sum::<u64>(), 99_999 * 100_000 / 2);
    // A guard moves to another thread and writes there.
    let mut moved = data;
    std::thread::spawn(move || {
        moved[0] = 7;
        assert_eq!(moved[0], 7);
    })
    .join()
    .unwrap();
}

#[test]
fn a_writer_killed_without_flushing_leaves_its_data_visible() {
    const TEST: &str = concat!(
        module_path!(),
        "::a_writer_killed_without_flushing_leaves_its_data_visible"
    );
    if child_role().as_deref() == Some("killed") {
        let mut guard = unsafe { Array1::<u32>::create_raw(child_path(), 1024) }.unwrap();
        guard
            .iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = i as u32 * 3);
        ready_and_wait(); // never returns: the parent kills us here
        std::process::abort();
    }
    let dir = tempdir();
    let path = dir.path().join("killed.bin");
    let (mut child, _out) = spawn_ready(TEST, "killed", &path);
    child.kill().unwrap(); // SIGKILL: no flush, no destructors
    let status = child.wait().unwrap();
    assert!(!status.success());
    let reader = unsafe { Array1::<u32>::open_raw(&path, 1024) }.unwrap();
    assert!(reader.iter().enumerate().all(|(i, &x)| x == i as u32 * 3));
}

#[test]
fn a_writer_that_flushes_and_exits_leaves_its_data_on_disk() {
    const TEST: &str = concat!(
        module_path!(),
        "::a_writer_that_flushes_and_exits_leaves_its_data_on_disk"
    );
    if child_role().as_deref() == Some("flusher") {
        let mut guard = unsafe { Array1::<f64>::create_npy(child_path(), 500) }.unwrap();
        guard.fill(2.5);
        guard.close().unwrap();
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("flushed.npy");
    let output = run_child(TEST, "flusher", &[(PATH_VAR, common::s(&path))]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        ndarray_memmap::read_npy::<f64, Ix1>(&path).unwrap().sum(),
        1250.0
    );
}

#[test]
fn unlocked_read_write_maps_in_two_processes_see_each_others_writes() {
    const TEST: &str = concat!(
        module_path!(),
        "::unlocked_read_write_maps_in_two_processes_see_each_others_writes"
    );
    if child_role().as_deref() == Some("peer") {
        let mut guard = unsafe {
            MemmapOptions::new()
                .lock(false)
                .shape(2)
                .open_raw_mut::<u64, Ix1>(child_path())
        }
        .unwrap();
        guard[0] = 0xC0FFEE;
        ready_and_wait(); // the parent writes [1], then releases us
        println!("peer sees {}", guard[1]);
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("peers.bin");
    std::fs::write(&path, [0u8; 16]).unwrap();
    let (mut child, mut out) = spawn_ready(TEST, "peer", &path);
    let mut guard = unsafe {
        MemmapOptions::new()
            .lock(false)
            .shape(2)
            .open_raw_mut::<u64, Ix1>(&path)
    }
    .unwrap();
    assert_eq!(guard[0], 0xC0FFEE);
    guard[1] = 12345;
    writeln!(child.stdin.take().unwrap(), "go").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(rest.contains("peer sees 12345"), "{rest}");
}
