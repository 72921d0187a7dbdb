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
    }

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
}

fn run(cmd: &mut Command, what: &Path) {
    let st = cmd.status().unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    assert!(st.success(), "{:?} failed on {}", cmd.get_program(), what.display());
}
