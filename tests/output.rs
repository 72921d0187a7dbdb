//! Where `-o` writes: regular files replaced whole, everything else written
//! through and never replaced, bad destinations refused before recording,
//! and a recording that cannot be written where asked saved elsewhere.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

fn record_to(out: &str) -> std::process::Output {
    run(iotrace().args(["record", "-d", "30", "-o", out, "--", "true"]).stdout(Stdio::piped()))
}

fn version_of(text: &[u8]) -> Value {
    let p: Value = serde_json::from_slice(text).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(text)));
    p["version"].clone()
}

#[test]
fn special_files_are_written_through_never_replaced() {
    // Standard output, as "-" and as /dev/stdout (a symlink to /proc/self/fd/1): the pipe gets the profile.
    for out in ["-", "/dev/stdout"] {
        let o = record_to(out);
        assert!(o.status.success(), "{out}: {}", stderr(&o));
        assert_eq!(version_of(&o.stdout), 2, "{out}");
    }
    assert!(std::fs::symlink_metadata("/dev/stdout").unwrap().file_type().is_symlink());
    let o = record_to("/dev/null");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device(), "/dev/null was replaced");

    let dir = TempDir::new("output-special");
    let fifo = dir.path().join("fifo");
    ok(Command::new("mkfifo").arg(&fifo));
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::read(fifo).unwrap()
    });
    let o = record_to(fifo.to_str().unwrap());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(version_of(&reader.join().unwrap()), 2);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");

    // A symlink is followed: its target is replaced, the link stays.
    let target = dir.path().join("target.json");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = record_to(link.to_str().unwrap());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(version_of(&std::fs::read(&target).unwrap()), 2);
}

#[test]
fn bad_destinations_fail_before_recording_and_nothing_is_lost() {
    let dir = TempDir::new("output-bad");
    // A directory: a usage error at once, nothing traced.
    let o = record_to(dir.path().to_str().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("recording"), "{}", stderr(&o));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));

    // The temporary file of a run killed earlier is removed by the next run writing there.
    let stale = dir.path().join(".p.json.tmp.4194305"); // above pid_max's limit: never a live process
    std::fs::write(&stale, "").unwrap();
    let o = record_to(dir.path().join("p.json").to_str().unwrap());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stale.exists(), "stale temporary file left");

    // A full file system: the profile is saved in the temporary directory, and the error says where.
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    ok(Command::new("mount").args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"]).arg(&small));
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(small.clone());
    let many = dir.path().join("many");
    let script = format!("mkdir {m}; for i in $(seq 1 60); do echo x > {m}/file$i; done", m = many.display());
    let o =
        run(iotrace().args(["record", "-d", "30", "-o"]).arg(small.join("p.json")).args(["--", "sh", "-c", &script]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let saved =
        err.split("saved to ").nth(1).and_then(|s| s.split(" instead").next()).unwrap_or_else(|| panic!("{err}"));
    let text = std::fs::read(saved).unwrap();
    std::fs::remove_file(saved).unwrap();
    let p: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(
        p["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"].as_str().unwrap().starts_with(many.to_str().unwrap()))
            .count(),
        60
    );
    assert_eq!(std::fs::read_dir(&small).unwrap().count(), 0, "a half-written file was left");
}
