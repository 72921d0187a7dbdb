//! `iotrace amplify` on ext4 on a loop device, exact where the kernel is:
//! each file's data bytes at the device against its syscall bytes, journal
//! and metadata in rows of their own, and the device rows adding up to the
//! /proc/diskstats deltas of the run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// ext4 on a loop device over a file, mounted, unmounted and detached on
/// drop. Inode tables and the journal are initialised by mkfs and block
/// bitmaps are not prefetched, so nothing reads or writes the disk in the
/// background.
struct Ext4 {
    dev: String,
    mnt: PathBuf,
    _dir: TempDir,
}

impl Ext4 {
    fn new(tag: &str) -> Ext4 {
        let dir = TempDir::new(tag);
        let img = dir.path().join("disk.img");
        std::fs::File::create(&img).unwrap().set_len(256 << 20).unwrap();
        let o = ok(Command::new("losetup").args(["-f", "--show", "--direct-io=on"]).arg(&img));
        let dev = stdout(&o).trim().to_string();
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let fs = Ext4 { dev, mnt, _dir: dir };
        ok(Command::new("mkfs.ext4").args(["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"]).arg(&fs.dev));
        // Else ext4lazyinit reads block bitmaps in the background for a while.
        ok(Command::new("mount").args(["-o", "no_prefetch_block_bitmaps"]).arg(&fs.dev).arg(&fs.mnt));
        fs
    }

    fn name(&self) -> &str {
        self.dev.trim_start_matches("/dev/")
    }

    fn path(&self, file: &str) -> PathBuf {
        self.mnt.join(file)
    }

    /// [read_bytes, write_bytes, read_ops, write_ops] as /proc/diskstats has them now.
    fn diskstats(&self) -> [u64; 4] {
        let text = std::fs::read_to_string("/proc/diskstats").unwrap();
        let f: Vec<u64> = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f[2] == self.name())
            .map(|f| [f[5], f[9], f[3], f[7]].iter().map(|v| v.parse().unwrap()).collect())
            .unwrap();
        [f[0] * 512, f[1] * 512, f[2], f[3]]
    }

    /// `iotrace amplify --json -- sh -c SCRIPT`, the script ending with a
    /// sync of this file system so that all its I/O completes inside the
    /// run: the report and the disk's diskstats change over the run.
    fn amplify(&self, script: &str) -> (Value, [u64; 4]) {
        self.amplify_with(&[], script)
    }

    /// [`Ext4::amplify`] with more options.
    fn amplify_with(&self, args: &[&str], script: &str) -> (Value, [u64; 4]) {
        ok(Command::new("sync").arg("-f").arg(&self.mnt));
        let before = self.diskstats();
        let out = self._dir.path().join("amp.json");
        let script = format!("{script} && sync -f {}", self.mnt.display());
        ok_within(
            iotrace()
                .args(["amplify", "--json", "-d", "120"])
                .args(args)
                .arg("-o")
                .arg(&out)
                .args(["--", "sh", "-c", &script]),
            Duration::from_secs(180),
        );
        let after = self.diskstats();
        let report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        (report, [0, 1, 2, 3].map(|i| after[i] - before[i]))
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

fn counts(v: &Value) -> [u64; 4] {
    ["read_bytes", "write_bytes", "read_ops", "write_ops"].map(|k| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}")))
}

/// A device's rows and the requests it reports unseen (completions the
/// kernel ran no BPF program for: README, "How it adapts to the kernel"),
/// which together are what /proc/diskstats counted. A few at most: more
/// would be amplify losing requests, not the kernel.
fn counted_and_unseen(d: &Value) -> [u64; 4] {
    let unseen = counts(&d["unseen"]);
    assert!(unseen[2] + unseen[3] <= 64, "{d}");
    let mut c = counts(d);
    c.iter_mut().zip(unseen).for_each(|(c, u)| *c += u);
    c
}

/// The row of `name` in the report's `table`.
fn named<'a>(r: &'a Value, table: &str, name: &str) -> &'a Value {
    let rows = r[table].as_array().unwrap();
    rows.iter().find(|f| f["name"] == name).unwrap_or_else(|| {
        let names: Vec<&Value> = rows.iter().map(|f| &f["name"]).collect();
        panic!("no {table} row {name}: {names:?}")
    })
}

fn file<'a>(r: &'a Value, path: &Path) -> &'a Value {
    named(r, "files", path.to_str().unwrap())
}

/// A file row's device counts: `want` exactly, or short by no more than its
/// disk reports `unseen` (a completion no program saw cannot be charged to
/// a file).
fn device_is(r: &Value, fs: &Ext4, row: &Value, want: [u64; 4]) {
    let unseen = counts(&named(r, "devices", fs.name())["unseen"]);
    let got = counts(&row["device"]);
    let fits = (0..4).all(|i| short_by_unseen(got[i], want[i], unseen[i]));
    assert!(fits, "device {got:?}, want {want:?}, {unseen:?} unseen: {row}");
}

/// `got` is `want`, or short of it by no more than the disk's `unseen`:
/// completions no program saw are missing from every row they belong to.
fn short_by_unseen(got: u64, want: u64, unseen: u64) -> bool {
    got <= want && want - got <= unseen
}

/// The disk's device row and its unseen requests add up to its diskstats
/// change, and the report's own diskstats reading agrees; its file rows add
/// up to the device row, which is returned.
fn check_device(r: &Value, fs: &Ext4, diskstats: [u64; 4]) -> [u64; 4] {
    let d = named(r, "devices", fs.name());
    assert_eq!(counted_and_unseen(d), diskstats, "device row vs /proc/diskstats: {d}");
    assert_eq!(counts(&d["diskstats"]), diskstats, "{d}");
    let mut sum = [0; 4];
    for f in r["files"].as_array().unwrap() {
        let on_disk = f["disk"] == fs.name() || f["name"].as_str().unwrap().starts_with(fs.mnt.to_str().unwrap());
        if on_disk {
            sum.iter_mut().zip(counts(&f["device"])).for_each(|(s, v)| *s += v);
        }
    }
    assert_eq!(sum, counts(d), "the disk's file rows add up to its device row");
    sum
}

#[test]
fn direct_writes_reach_the_device_as_they_are() {
    let fs = Ext4::new("amp-direct");
    let f = fs.path("direct");
    let (r, disk) = fs.amplify(&format!("dd if=/dev/zero of={} bs=4k count=256 oflag=direct", f.display()));
    let row = file(&r, &f);
    assert_eq!(counts(&row["syscall"]), [0, 1 << 20, 0, 256], "{row}");
    device_is(&r, &fs, row, [0, 1 << 20, 0, 256]);
    assert_eq!(counts(&row["fs"]), [0; 4], "direct I/O bypasses the page cache: {row}");
    assert_eq!(row["write_amp"], 1.0);
    check_device(&r, &fs, disk);
}

/// dd under a name of its own: processes are rows by name, machine-wide.
fn own_dd(fs: &Ext4, name: &str) -> PathBuf {
    let copy = fs.path("..").join(name);
    std::fs::copy(which("dd"), &copy).unwrap();
    copy
}

#[test]
fn sync_writes_are_amplified_by_the_journal() {
    let fs = Ext4::new("amp-osync");
    let f = fs.path("osync");
    let dd = own_dd(&fs, "ampsync");
    let (r, disk) = fs.amplify(&format!("{} if=/dev/zero of={} bs=4k count=256 oflag=sync", dd.display(), f.display()));
    let row = file(&r, &f);
    assert_eq!(counts(&row["syscall"]), [0, 1 << 20, 0, 256], "{row}");
    // Each write is written back on its own: the file's data part is exact.
    device_is(&r, &fs, row, [0, 1 << 20, 0, 256]);
    assert_eq!(counts(&row["fs"]), [0, 1 << 20, 0, 256], "one page dirtied per write: {row}");
    let journal = row_of(&r, "journal", &fs);
    assert!(journal[1] > 0 && journal[3] > 0, "journal commits: {journal:?}");
    let total = check_device(&r, &fs, disk);
    assert!(total[1] > 1 << 20, "write amplification > 1: {} bytes for 1 MiB", total[1]);
    assert_eq!(row_of(&r, "journal", &fs)[1] + counts(&row["device"])[1] + row_of(&r, "metadata", &fs)[1], total[1]);
    // The commits each write's fsync waited for are the writer's doing (short
    // by no more than the disk's unseen: see device_is).
    let writer = named(&r, "processes", "ampsync");
    let (got, want) = (writer["device"]["write_bytes"].as_u64().unwrap(), (1 << 20) + journal[1]);
    let unseen = counts(&named(&r, "devices", fs.name())["unseen"])[1];
    assert!(short_by_unseen(got, want, unseen), "{got}, want {want}, {unseen} unseen: {writer}");
    assert!(writer["write_amp"].as_f64().unwrap() > 1.0, "{writer}");
}

/// Device counts of the per-disk row of `kind` ([0; 4] if there is none).
fn row_of(r: &Value, kind: &str, fs: &Ext4) -> [u64; 4] {
    r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind && f["disk"] == fs.name())
        .map_or([0; 4], |f| counts(&f["device"]))
}

/// Buffered writes written back by the sync at the end of the run: the data
/// is the file's, and the process that wrote it is charged, not the one that
/// wrote it back.
#[test]
fn write_back_is_charged_to_the_writer() {
    let fs = Ext4::new("amp-writeback");
    let f = fs.path("buffered");
    let writer = own_dd(&fs, "ampwriter");
    let (r, disk) = fs.amplify(&format!("{} if=/dev/zero of={} bs=4k count=256", writer.display(), f.display()));
    let data = file(&r, &f);
    assert_eq!(counts(&data["syscall"]), [0, 1 << 20, 0, 256], "{data}");
    assert_eq!(counts(&data["fs"]), [0, 1 << 20, 0, 256], "{data}");
    assert_eq!(data["device"]["write_bytes"], 1 << 20, "{data}");
    let dd = named(&r, "processes", "ampwriter");
    assert_eq!(dd["device"]["write_bytes"], 1 << 20, "{dd}");
    assert_eq!(dd["device"]["write_ops"], data["device"]["write_ops"], "{dd}");
    check_device(&r, &fs, disk);
}

/// Two processes of different names on one file: each has its own syscall
/// bytes and ops (dd's counts), and the file has their sum.
#[test]
fn shared_file_bytes_stay_with_each_process() {
    let fs = Ext4::new("amp-shared");
    let f = fs.path("shared");
    let (a, b) = (own_dd(&fs, "ampwriter-a"), own_dd(&fs, "ampreader-b"));
    let (r, disk) = fs.amplify(&format!(
        "{a} if=/dev/zero of={f} bs=4k count=48 && {a} if=/dev/zero of={f} bs=8k count=8 seek=2 conv=notrunc && \
         {b} if={f} of=/dev/null bs=16k && {b} if=/dev/zero of={f} bs=1k count=3 conv=notrunc",
        a = a.display(),
        b = b.display(),
        f = f.display()
    ));
    // a: 48 + 8 writes (256 KiB); b: 12 reads of 16 KiB and one at the end, 3 writes of 1 KiB
    let row = file(&r, &f);
    assert_eq!(counts(&row["syscall"]), [192 << 10, (256 << 10) + 3072, 13, 59], "{row}");
    let [a, b] = ["ampwriter-a", "ampreader-b"].map(|p| counts(&named(&r, "processes", p)["syscall"]));
    assert_eq!([a[1], a[3], b[1], b[3]], [256 << 10, 56, 3072, 3], "writes of a: {a:?}, of b: {b:?}");
    // Both also read what the loader and libc read at each of their two
    // execs (the same binary): b read the shared file on top.
    assert_eq!([b[0] - a[0], b[2] - a[2]], [192 << 10, 13], "reads of a: {a:?}, of b: {b:?}");
    check_device(&r, &fs, disk);
}

#[test]
fn fdatasync_keeps_data_and_journal_apart() {
    let fs = Ext4::new("amp-fdatasync");
    let f = fs.path("big");
    let (r, disk) = fs.amplify(&format!("dd if=/dev/zero of={} bs=1M count=10 conv=fdatasync", f.display()));
    let row = file(&r, &f);
    assert_eq!(counts(&row["syscall"]), [0, 10 << 20, 0, 10], "{row}");
    let ops = counts(&row["device"])[3];
    device_is(&r, &fs, row, [0, 10 << 20, 0, ops]);
    assert_eq!(row["fs"]["write_bytes"], 10 << 20, "{row}");
    let journal = row_of(&r, "journal", &fs);
    assert!(journal[1] > 0, "the allocation's commit is journal: {}", r["files"]);
    check_device(&r, &fs, disk);
}

#[test]
fn cold_reads_show_read_ahead() {
    let fs = Ext4::new("amp-cold");
    let f = fs.path("data");
    ok(Command::new("dd").arg("if=/dev/urandom").arg(format!("of={}", f.display())).args([
        "bs=1M",
        "count=16",
        "conv=fsync",
    ]));
    ok(&mut Command::new("sync"));
    std::fs::write("/proc/sys/vm/drop_caches", "3").unwrap();
    // fio's default fadvise(RANDOM) would turn read-ahead off.
    let (r, disk) = fs.amplify(&format!(
        "fio --name=cold --filename={} --rw=randread --bs=4k --size=16M --io_size=1M --ioengine=psync \
         --randseed=7 --fadvise_hint=0 --output=/dev/null",
        f.display()
    ));
    let row = file(&r, &f);
    assert_eq!(counts(&row["syscall"])[..3], [1 << 20, 0, 256], "{row}");
    let (fs_read, dev_read) =
        (row["fs"]["read_bytes"].as_u64().unwrap(), row["device"]["read_bytes"].as_u64().unwrap());
    assert!(dev_read >= 1 << 20, "{row}");
    // every page added to the cold cache was read from the disk
    device_is(&r, &fs, row, [fs_read, 0, counts(&row["device"])[2], 0]);
    assert!(row["read_amp"].as_f64().unwrap() >= 1.0, "{row}");
    check_device(&r, &fs, disk);
}

#[test]
fn csv_and_svg() {
    let fs = Ext4::new("amp-out");
    let f = fs.path("x");
    let (csv, svg) = (fs.path("../amp.csv"), fs.path("../amp.svg"));
    ok_within(
        iotrace()
            .args(["amplify", "--csv", "-d", "60", "--system", "copier=dd", "-o"])
            .arg(&csv)
            .arg("--svg")
            .arg(&svg)
            .args(["--", "dd", "if=/dev/zero"])
            .arg(format!("of={}", f.display()))
            .args(["bs=64k", "count=16", "oflag=direct"]),
        Duration::from_secs(120),
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("table,name,kind,disk,syscall_read_bytes,syscall_write_bytes,"), "{}", lines[0]);
    // The file's line: syscall and page-cache layers exact, its device layer
    // too unless the disk had completions no program saw (its two `devices`
    // lines differ by them: see device_is)
    let line = |prefix: &str| -> Vec<u64> {
        let l = lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix}\n{text}"));
        l[prefix.len()..].split(',').take(12).map(|v| v.parse().unwrap()).collect()
    };
    let row = line(&format!("files,{},file,,", f.display()));
    assert_eq!(row[..8], [0, 1 << 20, 0, 16, 0, 0, 0, 0], "{text}");
    let counted = line(&format!("devices,{},,,", fs.name()));
    let diskstats = line(&format!("devices,{},diskstats,,", fs.name()));
    for (i, want) in [0, 1 << 20, 0, 16].into_iter().enumerate() {
        let (got, unseen) = (row[8 + i], diskstats[8 + i] - counted[8 + i]);
        assert!(short_by_unseen(got, want, unseen), "device column {i}: {got}, want {want}, {unseen} unseen\n{text}");
    }
    let system: Vec<&str> = lines.iter().find(|l| l.starts_with("systems,copier,")).expect(&text).split(',').collect();
    assert_eq!(system[5], "1048576", "syscall_write_bytes of the system: {text}");
    ok(Command::new("xmllint").arg("--noout").arg(&svg));
    assert!(std::fs::read_to_string(&svg).unwrap().contains(">copier</text>"));
    // Bars of three layers in their colours, antialiased text: a few colours; one process's
    // bars in the top of the window: 1 % ink (2.4 % when this was written).
    renders_in_chromium(&svg, &fs.path("../amp.png"), 3, 0.01);
}

/// Without BTF (forced here): the page cache per file and process, exact;
/// device bytes per disk only, as diskstats counted them, and no device
/// layer or ratio for files and processes (null, not 0).
#[test]
fn tracepoint_strategy_has_the_page_cache_per_file_and_disks_only() {
    let fs = Ext4::new("amp-tracepoint");
    let f = fs.path("buffered");
    let writer = own_dd(&fs, "amptpwriter");
    let (r, disk) = fs.amplify_with(
        &["--strategy", "tracepoint"],
        &format!("{} if=/dev/zero of={} bs=4k count=256", writer.display(), f.display()),
    );
    assert_eq!(r["strategy"], "tracepoint");
    let row = file(&r, &f);
    assert_eq!(counts(&row["syscall"]), [0, 1 << 20, 0, 256], "{row}");
    // each write dirties a page, and adds it to the cache: not a miss where
    // kprobes on the VFS tell (bpf/amplify_writes.bpf.h), counted as one
    // where there are none (as on this project's host), which a note says
    let notes = r["notes"].to_string();
    let told = !notes.contains("fs reads include the pages writes add");
    let (reads, read_ops) = if told { (0, 0) } else { (1 << 20, 256) };
    assert_eq!(counts(&row["fs"]), [reads, 1 << 20, read_ops, 256], "{row}");
    for k in ["device", "read_amp", "write_amp", "read_ops_amp", "write_ops_amp"] {
        assert!(row[k].is_null(), "{k}: {row}");
    }
    let p = named(&r, "processes", "amptpwriter");
    assert_eq!(counts(&p["fs"])[1], 1 << 20, "{p}");
    assert!(p["device"].is_null(), "{p}");
    // the disk: all of it unattributed, exactly its diskstats change
    let d = named(&r, "devices", fs.name());
    assert_eq!(counts(d), disk, "{d}");
    assert_eq!(counts(&d["diskstats"]), disk, "{d}");
    assert_eq!(counts(&d["unseen"]), [0; 4], "{d}");
    assert_eq!(row_of(&r, "unattributed", &fs), disk);
    assert!(disk[1] >= 1 << 20, "the sync wrote the file: {disk:?}");
    assert!(notes.contains("device bytes are per disk only"), "{notes}");
    // no stream without a ring buffer: said at once
    let o = run(iotrace().args(["amplify", "--strategy", "tracepoint", "--events", "-d", "1"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("--events needs the raw_tp strategy"), "{}", stderr(&o));
}

#[test]
fn bad_usage_is_one_line_and_status_2() {
    for args in
        [&["--json", "--csv"][..], &["--system", "nocomms"], &["--bogus"], &["-d", "0"], &["--strategy", "kprobe"]]
    {
        let o = run(iotrace().arg("amplify").args(args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
    }
    let o = run(iotrace().args(["amplify", "-d", "5", "--", "/nonexistent/cmd"]));
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
}

/// A PostgreSQL cluster of its own on the loop device's file system, run as
/// the `postgres` user on a Unix socket only; stopped through its pid file
/// (pg_ctl) on drop.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    sock: PathBuf,
}

const PG_PORT: &str = "54329";

impl Postgres {
    /// None when PostgreSQL 15+ is not installed (its binaries are not in $PATH on Debian).
    fn start(fs: &Ext4) -> Option<Postgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql").ok()?.flatten().map(|v| v.path().join("bin")).next()?;
        let (data, sock) = (fs.path("pg"), fs.path("../sock"));
        for d in [&data, &sock] {
            std::fs::create_dir(d).unwrap();
            ok(Command::new("chown").arg("postgres").arg(d));
        }
        // the socket directory's parent must be searchable by postgres
        ok(Command::new("chmod").arg("755").arg(fs.path("..")));
        let pg = Postgres { bin, data, sock };
        ok(pg.as_postgres("initdb").args(["--no-sync", "-A", "trust", "-D"]).arg(&pg.data));
        let opts = format!("-k {} -p {PG_PORT} -c listen_addresses=", pg.sock.display());
        ok(pg.as_postgres("pg_ctl").arg("-D").arg(&pg.data).args(["-o", &opts, "-l", "/dev/null", "-w", "start"]));
        ok(pg.as_postgres("pgbench").args(pg.connection()).args(["-i", "-q", "-s", "1", "postgres"]));
        Some(pg)
    }

    fn as_postgres(&self, prog: &str) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(self.bin.join(prog));
        c
    }

    fn connection(&self) -> Vec<String> {
        vec!["-h".into(), self.sock.display().to_string(), "-p".into(), PG_PORT.into()]
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.as_postgres("pg_ctl").arg("-D").arg(&self.data).args(["-m", "immediate", "stop"]).status();
    }
}

/// pgbench for 3 s, then a checkpoint: per WAL segment and data file, and
/// for the system `postgres` (its processes traced by name).
#[test]
fn pgbench_per_wal_and_data_file() {
    let fs = Ext4::new("amp-pg");
    let pg = Postgres::start(&fs).expect("PostgreSQL is not installed (scripts/setup.sh installs it)");
    let out = fs.path("../pg.json");
    let conn = pg.connection().join(" ");
    let script = format!(
        "{b}/pgbench {conn} -T 3 -c 2 postgres >/dev/null && {b}/psql {conn} -qc CHECKPOINT postgres",
        b = pg.bin.display()
    );
    ok_within(
        iotrace()
            .args(["amplify", "-c", "postgres", "--json", "-d", "120", "-o"])
            .arg(&out)
            .args(["--", "runuser", "-u", "postgres", "--", "sh", "-c", &script]),
        Duration::from_secs(180),
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let files = r["files"].as_array().unwrap();
    let under = |dir: &str| {
        let prefix = pg.data.join(dir).display().to_string();
        files.iter().filter(move |f| f["name"].as_str().unwrap().starts_with(&prefix)).collect::<Vec<_>>()
    };
    let wal = under("pg_wal/");
    let segment = wal.iter().max_by_key(|f| counts(&f["syscall"])[1]).expect("a WAL segment was written");
    let [sys, dev] = [&segment["syscall"], &segment["device"]].map(|l| l["write_bytes"].as_u64().unwrap());
    // Whole WAL pages, each written back at the fdatasync after it (a page
    // written twice before one reaches the disk once).
    assert!(dev > 0 && dev <= sys, "{segment}");
    assert!(under("base/").iter().any(|f| f["device"]["write_bytes"].as_u64() > Some(0)), "the checkpoint wrote data");
    let system = named(&r, "systems", "postgres");
    assert!(system["syscall"]["write_bytes"].as_u64() > Some(0), "{system}");
    assert!(system["write_amp"].as_f64().is_some_and(|a| a > 0.0), "{system}");
    assert!(row_of(&r, "journal", &fs)[1] > 0);
    // postgres' background processes may write outside the run: its own
    // diskstats reading is the reference
    let d = named(&r, "devices", fs.name());
    assert_eq!(counted_and_unseen(d), counts(&d["diskstats"]), "{d}");
}

/// --events: a line of ten fields per syscall, bio and folio, in time
/// order, files named by the paths they were opened by; the report as usual.
#[test]
fn events_stream_every_call_and_bio() {
    let fs = Ext4::new("amp-events");
    let f = fs.path("ev");
    let report = fs.path("../ev.json");
    let o = ok_within(
        iotrace()
            .args(["amplify", "--events", "--json", "-d", "60", "-o"])
            .arg(&report)
            .args(["--", "dd", "if=/dev/zero"])
            .arg(format!("of={}", f.display()))
            .args(["bs=4k", "count=16", "oflag=direct", "conv=fsync"]),
        Duration::from_secs(120),
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(counts(&file(&r, &f)["syscall"]), [0, 16 << 12, 0, 16]);
    let name = f.display().to_string();
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("TIME(s) LAYER PID TID COMM FILE SIZE OFFSET LAT(us) RET"));
    let fields: Vec<Vec<&str>> = lines.map(|l| l.split(' ').collect()).collect();
    assert!(fields.iter().all(|f| f.len() == 10), "{text}");
    let times: Vec<f64> = fields.iter().map(|l| l[0].parse().unwrap()).collect();
    assert!(times.windows(2).all(|t| t[0] <= t[1]), "lines in time order: {text}");
    let of = |layer: &str| -> Vec<&Vec<&str>> { fields.iter().filter(|l| l[1] == layer && l[5] == name).collect() };
    let dd = |l: &&Vec<&str>| l[4] == "dd" && l[8].parse::<f64>().unwrap() > 0.0;
    // dd's own count: 16 writes of 4 KiB, one after the other, then an fsync
    let calls = of("SYSCALL_W");
    assert_eq!(calls.len(), 16, "{text}");
    assert!(calls.iter().all(dd), "{text}");
    for (i, l) in calls.iter().enumerate() {
        assert_eq!([l[6], l[7], l[9]], ["4096", &(i * 4096).to_string(), "4096"], "{text}");
    }
    let syncs = of("SYSCALL_F");
    assert_eq!(syncs.len(), 1, "{text}");
    assert!(syncs.iter().all(dd) && syncs[0][9] == "0", "{text}");
    // O_DIRECT: a bio per write, before the write returns; a completion no
    // program saw has no line (see device_is)
    let bios = of("BLOCK_W");
    let unseen = counts(&named(&r, "devices", fs.name())["unseen"])[3];
    assert!(short_by_unseen(bios.len() as u64, 16, unseen), "{} BLOCK_W lines, {unseen} unseen: {text}", bios.len());
    assert!(bios.iter().all(|l| dd(l) && l[6] == "4096" && l[9] == "0"), "{text}");
    if bios.len() == 16 {
        for (bio, call) in bios.iter().zip(&calls) {
            assert!(bio[0].parse::<f64>().unwrap() <= call[0].parse::<f64>().unwrap(), "{text}");
        }
    }
}

/// A sysfs setting, put back as it was on drop.
struct Restore(String, String);

impl Restore {
    fn write(path: String, value: &str) -> Restore {
        let old = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, value).unwrap();
        Restore(path, old)
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, self.1.trim());
    }
}

/// Bios the block layer splits to the device's limit (64 KiB here) are
/// never queued themselves: they are known by the bio they came from.
#[test]
fn split_bios_stay_with_their_file() {
    let fs = Ext4::new("amp-split");
    // The limit outlives the loop device's file: the next user of the device must not inherit it.
    let _limit = Restore::write(format!("/sys/block/{}/queue/max_sectors_kb", fs.name()), "64");
    let f = fs.path("split");
    let (r, disk) = fs.amplify(&format!(
        "dd if=/dev/zero of={f} bs=1M count=8 oflag=direct && dd if={f} of=/dev/null bs=1M iflag=direct",
        f = f.display()
    ));
    let row = file(&r, &f);
    assert_eq!(counts(&row["syscall"])[..2], [8 << 20, 8 << 20], "{row}");
    device_is(&r, &fs, row, [8 << 20, 8 << 20, 128, 128]); // 1 MiB bios in 64 KiB requests
    check_device(&r, &fs, disk);
}
