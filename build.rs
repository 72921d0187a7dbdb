//! Compiles the BPF objects under bpf/ with clang and generates the Rust side of
//! the headers they share with user space, so the two can never disagree on a
//! layout.
//!
//! Every `bpf/X.bpf.c` becomes `$OUT_DIR/X.bpf.o`. Objects for old kernels
//! (4.14 .. 5.x: no global data, ring buffer or BTF) are named
//! `X_legacy.bpf.c` and compiled with -DIOTRACE_LEGACY (see bpf/compat.bpf.h);
//! the sources in BOTH_FLAVOURS are compiled both ways, into X.bpf.o and
//! X_legacy.bpf.o.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Tools whose one source builds both the modern and the legacy object.
const BOTH_FLAVOURS: &[&str] = &["biosnoop", "biolatency", "biopattern"];

/// Headers shared between BPF C and Rust.
const SHARED_HEADERS: &[&str] = &["probe.h", "record.h", "block.h"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let bpf_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("bpf");
    // libbpf-sys (links = "bpf") exports the directory of its vendored headers.
    let libbpf_inc = env::var("DEP_BPF_INCLUDE").expect("DEP_BPF_INCLUDE: libbpf-sys must be vendored");
    let (arch, multiarch) = match env::var("CARGO_CFG_TARGET_ARCH").unwrap().as_str() {
        "x86_64" => ("x86", "x86_64-linux-gnu"),
        a => panic!("iotrace supports x86_64 only (syscall ABI and pt_regs layout), not {a}"),
    };
    // <asm/types.h> lives in the multiarch directory on Debian; -target bpf does not search it.
    let multiarch_inc = format!("-idirafter/usr/include/{multiarch}");
    println!("cargo:rerun-if-env-changed=BPF_CLANG");
    println!("cargo:rerun-if-changed=bpf");

    let mut sources: Vec<PathBuf> = std::fs::read_dir(&bpf_dir)
        .expect("bpf/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.sort();
    let clang = env::var("BPF_CLANG").unwrap_or_else(|_| "clang".into());
    let builds = sources.iter().flat_map(|src| {
        let stem = src.file_name().unwrap().to_str().unwrap().trim_end_matches(".bpf.c").to_string();
        let mut b = vec![(src, stem.clone(), stem.ends_with("_legacy"))];
        if BOTH_FLAVOURS.contains(&stem.as_str()) {
            b.push((src, format!("{stem}_legacy"), true));
        }
        b
    });
    let mut objects = String::new();
    for (src, stem, legacy) in builds {
        let define = legacy.then_some("-DIOTRACE_LEGACY");
        let obj = out.join(format!("{stem}.bpf.o"));
        let mut cmd = Command::new(&clang);
        cmd.args(["-g", "-O2", "-target", "bpf", "-Wall", "-Werror"])
            .arg(format!("-D__TARGET_ARCH_{arch}"))
            .arg(format!("-I{libbpf_inc}"))
            .arg(format!("-I{}", bpf_dir.display()))
            .arg(&multiarch_inc)
            .args(define)
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(&obj);
        run(&mut cmd, src);
        // Keep .BTF/.BTF.ext (maps and CO-RE need them), drop DWARF: smaller binary.
        run(Command::new("llvm-strip").arg("-g").arg(&obj), &obj);
        objects += &embed(&stem, legacy, &obj);
    }
    std::fs::write(out.join("objects.rs"), objects).unwrap();

    let mut builder = bindgen::Builder::default()
        .clang_arg(&multiarch_inc)
        .allowlist_file(".*/bpf/[a-z_]+\\.h")
        .default_enum_style(bindgen::EnumVariation::Rust { non_exhaustive: false })
        .derive_default(true)
        .layout_tests(true);
    for h in SHARED_HEADERS {
        builder = builder.header(bpf_dir.join(h).to_str().unwrap());
    }
    builder.generate().expect("bindgen on the shared headers").write_to_file(out.join("shared.rs")).unwrap();
    record_lists(&clang, &bpf_dir, &multiarch_inc, &out);
}

/// Expand bpf/record.h's lists (RECORD_KINDS, RECORD_SYSCALLS, RECORD_AIO_SYSCALLS, RECORD_OPENS)
/// with the preprocessor into `$OUT_DIR/record_lists.rs`: the names, classes
/// and syscalls user space needs, from the same list as the BPF programs.
fn record_lists(clang: &str, bpf_dir: &Path, multiarch_inc: &str, out: &Path) {
    let src = out.join("record_lists.c");
    std::fs::write(
        &src,
        "#include \"record.h\"\n#define K(kind, name, class) name class ;\n#define S(sys, kind) sys ;\n#define O(sys) sys ;\n\
         @KINDS RECORD_KINDS(K) @SYSCALLS RECORD_SYSCALLS(S) @AIO RECORD_AIO_SYSCALLS(S) @OPENS RECORD_OPENS(O) @END\n",
    )
    .unwrap();
    let pp = Command::new(clang)
        .args(["-E", "-P", "-target", "bpf"])
        .arg(format!("-I{}", bpf_dir.display()))
        .arg(multiarch_inc)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    assert!(pp.status.success(), "{clang} -E record_lists.c: {}", String::from_utf8_lossy(&pp.stderr));
    let text = String::from_utf8(pp.stdout).unwrap();
    let section = |from: &str, to: &str| -> Vec<Vec<String>> {
        let body = &text[text.find(from).expect(from) + from.len()..text.find(to).expect(to)];
        body.split(';')
            .map(|r| r.split_whitespace().map(String::from).collect::<Vec<_>>())
            .filter(|r| !r.is_empty())
            .collect()
    };
    let (kinds, syscalls, aio, opens) = (
        section("@KINDS", "@SYSCALLS"),
        section("@SYSCALLS", "@AIO"),
        section("@AIO", "@OPENS"),
        section("@OPENS", "@END"),
    );
    let quoted = |v: &[Vec<String>]| v.iter().map(|r| format!("{:?}", r[0])).collect::<Vec<_>>().join(", ");
    let classes = kinds
        .iter()
        .map(|r| match r[1].as_str() {
            "READ" => "Class::Read",
            "WRITE" => "Class::Write",
            "SYNC" => "Class::Sync",
            "CLOSE" => "Class::Close",
            "OTHER" => "Class::Other",
            "BATCH" => "Class::Batch",
            c => panic!("bpf/record.h: unknown class {c}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rust = format!(
        "/// Profile names of the io_kind values, in enum order (RECORD_KINDS).\n\
         pub const KIND_NAMES: [&str; {nk}] = [{names}];\n\
         /// What each io_kind does to a file (RECORD_KINDS).\n\
         pub const KIND_CLASSES: [Class; {nk}] = [{classes}];\n\
         /// Syscalls traced at entry and exit (RECORD_SYSCALLS).\n\
         pub const IO_SYSCALLS: [&str; {ns}] = [{sys}];\n\
         /// Linux AIO's syscalls, traced at entry and exit by the CO-RE strategies (RECORD_AIO_SYSCALLS).\n\
         #[cfg(test)]\n\
         pub const AIO_SYSCALLS: [&str; {na}] = [{aio}];\n\
         /// Opens whose exit names a new struct file (RECORD_OPENS).\n\
         pub const OPENS: [&str; {no}] = [{opens}];\n\
         /// Hand RECORD_SYSCALLS (`both`), RECORD_AIO_SYSCALLS (`aio`) and RECORD_OPENS (`exit`) to a probe-list macro.\n\
         macro_rules! io_syscalls {{\n    ($m:ident!($($pre:tt)*) $($post:tt)*) => {{\n        \
         $m!($($pre)* both: [{sys}], aio: [{aio}], exit: [{opens}] $($post)*)\n    }};\n}}\n",
        nk = kinds.len(),
        names = quoted(&kinds),
        ns = syscalls.len(),
        sys = quoted(&syscalls),
        na = aio.len(),
        aio = quoted(&aio),
        no = opens.len(),
        opens = quoted(&opens),
    );
    std::fs::write(out.join("record_lists.rs"), rust).unwrap();
}

/// The `Attach` (src/bpf.rs) a program's section names, as libbpf reads it:
/// the one place a program's attach point is written is its SEC() in C.
fn attach_of(section: &str) -> String {
    let (kind, target) = section.split_once('/').unwrap_or_else(|| panic!("section {section}: no attach target"));
    match kind {
        "tracepoint" | "tp" => {
            let (category, name) = target.split_once('/').expect("tracepoint/CATEGORY/NAME");
            format!("Attach::Tracepoint {{ category: {category:?}, name: {name:?} }}")
        }
        "raw_tp" | "raw_tracepoint" => format!("Attach::RawTracepoint {{ name: {target:?} }}"),
        "tp_btf" => format!("Attach::TpBtf {{ name: {target:?} }}"),
        "fentry" | "fexit" => format!("Attach::Fentry {{ func: {target:?} }}"),
        "kprobe" => format!("Attach::Kprobe {{ func: {target:?}, ret: false }}"),
        "kretprobe" => format!("Attach::Kprobe {{ func: {target:?}, ret: true }}"),
        _ => panic!("section {section}: an attach kind src/bpf.rs does not know"),
    }
}

/// A `static` for `$OUT_DIR/objects.rs`: the object embedded, with the names
/// of its programs (global functions in a section of their own, with the
/// attach point the section names) and maps (symbols in `.maps`), read from
/// its symbol table, so that src/objects.rs can check at compile time every
/// name the Rust side uses.
fn embed(stem: &str, legacy: bool, obj: &Path) -> String {
    let syms = Command::new("llvm-objdump").arg("-t").arg(obj).output().expect("cannot run llvm-objdump");
    assert!(syms.status.success(), "llvm-objdump -t {}", obj.display());
    let (mut programs, mut maps) = (vec![], vec![]);
    // 0000000000000000 g     F tp_btf/sys_enter	0000000000000090 tb_sys_enter
    for line in String::from_utf8(syms.stdout).unwrap().lines() {
        let Some((left, right)) = line.split_once('\t') else { continue };
        let (Some(section), Some(name)) = (left.split_whitespace().last(), right.split_whitespace().nth(1)) else {
            continue;
        };
        let global = left.get(17..18) == Some("g");
        if section == ".maps" {
            maps.push(format!("{name:?}"));
        } else if global && left.get(23..24) == Some("F") && section != ".text" {
            programs.push(format!("Prog {{ name: {name:?}, attach: {} }}", attach_of(section)));
        }
    }
    maps.sort();
    format!(
        "pub static {}: &Obj = &Obj {{\n    name: {stem:?},\n    flavour: Flavour::{},\n    \
         elf: &Embedded(*include_bytes!({:?})),\n    programs: &[{}],\n    maps: &[{}],\n}};\n",
        stem.to_uppercase(),
        if legacy { "Legacy" } else { "CoRe" },
        obj.display(),
        programs.join(", "),
        maps.join(", ")
    )
}

fn run(cmd: &mut Command, what: &Path) {
    let st = cmd.status().unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    assert!(st.success(), "{:?} failed on {}", cmd.get_program(), what.display());
}
