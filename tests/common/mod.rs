//! Helpers shared by the integration tests: they run the real binary as root
//! against the host kernel.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

pub fn iotrace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotrace"))
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Fail with the command's whole output unless it exited 0.
pub fn ok(cmd: &mut Command) -> Output {
    let o = run(cmd);
    assert!(o.status.success(), "{cmd:?} failed: {}\nstdout:\n{}\nstderr:\n{}", o.status, stdout(&o), stderr(&o));
    o
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("iotrace-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// The same under `base`, for a file system other than the system temp dir's.
    pub fn new_in(base: &Path, tag: &str) -> TempDir {
        let p = base.join(format!("iotrace-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child killed and reaped when the test ends, however it ends.
pub struct Reap(pub Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `prog` in $PATH, if it is there.
pub fn find_in_path(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

/// `prog` in $PATH; the test fails without it.
pub fn which(prog: &str) -> PathBuf {
    find_in_path(prog).unwrap_or_else(|| panic!("{prog} not in PATH"))
}

/// `iotrace record OPTS -o PROFILE -- CMD...`, which must succeed: the profile.
pub fn record(dir: &TempDir, opts: &[&str], cmd: &[&str]) -> serde_json::Value {
    let out = dir.path().join("profile.json");
    ok(iotrace().arg("record").args(opts).arg("-o").arg(&out).arg("--").args(cmd));
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

/// The paths of a profile's files.
pub fn paths(p: &serde_json::Value) -> Vec<String> {
    p["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap_or("<null>").to_string()).collect()
}

/// The one file of a profile with this path (any namespace).
pub fn file<'a>(p: &'a serde_json::Value, path: &Path) -> &'a serde_json::Value {
    let want = path.to_str().unwrap();
    let found: Vec<&serde_json::Value> = p["files"].as_array().unwrap().iter().filter(|f| f["path"] == want).collect();
    assert_eq!(
        found.len(),
        1,
        "want exactly one row of {want} (strategy {}, lost {}); files: {:?}",
        p["strategy"],
        p["lost"],
        paths(p)
    );
    found[0]
}

/// Run `cmd` to its end, which must come within `limit` (else it is killed
/// and the test fails), and must be a success: its output.
pub fn ok_within(cmd: &mut Command, limit: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let child =
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut child = Reap(child);
    // Read both pipes while waiting, so that a full pipe cannot stall the child.
    let mut pipes = (child.0.stdout.take().unwrap(), child.0.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut o = Vec::new();
        let _ = pipes.0.read_to_end(&mut o);
        o
    });
    let err = std::thread::spawn(move || {
        let mut e = Vec::new();
        let _ = pipes.1.read_to_end(&mut e);
        e
    });
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            break st;
        }
        assert!(std::time::Instant::now() < deadline, "{cmd:?} still running after {limit:?}: killed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let o = Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() };
    assert!(o.status.success(), "{cmd:?} failed: {}\nstdout:\n{}\nstderr:\n{}", o.status, stdout(&o), stderr(&o));
    o
}

/// Compile tests/workloads/NAME.c, statically, into `dir` as NAME (so that its comm is NAME).
pub fn build_workload(dir: &Path, name: &str) -> PathBuf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/workloads").join(format!("{name}.c"));
    let bin = dir.join(name);
    ok(Command::new("gcc").args(["-static", "-O2", "-Wall", "-Werror", "-o"]).arg(&bin).arg(src));
    bin
}

/// `svg` as headless Chromium renders it (a screenshot at `png`, 1060x660) is
/// a real picture: more than `min_colours` colours, `min_ink` of it not white
/// (tests/tools/pngcheck.py).
pub fn renders_in_chromium(svg: &Path, png: &Path, min_colours: u32, min_ink: f64) {
    ok(Command::new("timeout")
        .args([
            "120",
            "chromium-headless-shell",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1060,660",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", svg.display())));
    assert!(png.exists(), "no screenshot of {}", svg.display());
    let check = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/pngcheck.py");
    ok(Command::new("python3").arg(check).arg(png).arg(min_colours.to_string()).arg(min_ink.to_string()));
}
