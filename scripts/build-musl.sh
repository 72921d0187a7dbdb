#!/bin/sh
# Build a fully static musl iotrace:
#   target/x86_64-unknown-linux-musl/release/iotrace
# libbpf, libelf (elfutils) and zlib are all compiled from the sources that
# ship inside the libbpf-sys crate (feature `vendored`), with Debian's musl-gcc.
# Nothing from Debian's glibc-built libelf.a/libz.a is linked.
# Run as root on Debian 12 (installs packages). Idempotent.
#   scripts/build-musl.sh             install build deps, then build
#   SKIP_INSTALL=1 scripts/build-musl.sh   build only
#   scripts/build-musl.sh --timings   extra arguments go to cargo build
set -eu
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-musl

if [ -z "${SKIP_INSTALL:-}" ]; then
    # musl-tools: musl-gcc (cc-rs picks it for *-linux-musl);
    # autoconf..gawk: libbpf-sys runs autoreconf + configure on its elfutils copy;
    # linux-libc-dev: kernel uapi headers, which musl's include dir lacks.
    . scripts/install-packages.sh
    install_packages build-musl musl-tools autoconf automake autopoint flex bison gawk make pkg-config \
        linux-libc-dev clang llvm
    rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
fi

# Extra include dir searched by musl-gcc *after* musl's own headers:
#  - linux/, asm/, asm-generic/: kernel uapi headers (libbpf needs them);
#  - argp.h: declarations only. elfutils' lib/color.c and lib/printversion.c
#    include it; they land in libeu.a, which only the elfutils tools use, so
#    nothing from argp is ever linked (the link would fail if it were).
compat="$PWD/target/musl-compat/include"
mkdir -p "$compat"
ln -sfn /usr/include/linux "$compat/linux"
ln -sfn /usr/include/x86_64-linux-gnu/asm "$compat/asm"
ln -sfn /usr/include/asm-generic "$compat/asm-generic"
cat > "$compat/argp.h" <<'EOF'
/* Declarations-only stand-in for <argp.h> (musl has none), so that elfutils'
 * libeu.a compiles. Nothing in libelf.a or iotrace calls argp. */
#ifndef IOTRACE_ARGP_STUB_H
#define IOTRACE_ARGP_STUB_H
#include <stdio.h>
#include <errno.h>
typedef int error_t;
struct argp_state;
typedef error_t (*argp_parser_t)(int key, char *arg, struct argp_state *state);
struct argp_option { const char *name; int key; const char *arg; int flags; const char *doc; int group; };
struct argp_child;
struct argp {
  const struct argp_option *options; argp_parser_t parser; const char *args_doc; const char *doc;
  const struct argp_child *children; char *(*help_filter)(int, const char *, void *); const char *argp_domain;
};
struct argp_child { const struct argp *argp; int flags; const char *header; int group; };
struct argp_state {
  const struct argp *root_argp; int argc; char **argv; int next; unsigned flags; unsigned arg_num;
  int quoted; void *input; void **child_inputs; void *hook; char *name; FILE *err_stream; FILE *out_stream; void *pstate;
};
#define OPTION_ARG_OPTIONAL 0x1
#define OPTION_HIDDEN 0x2
#define ARGP_ERR_UNKNOWN E2BIG
#define ARGP_KEY_ARG 0
#define ARGP_KEY_END 0x1000001
#define ARGP_KEY_NO_ARGS 0x1000002
#define ARGP_KEY_INIT 0x1000003
#define ARGP_KEY_SUCCESS 0x1000004
#define ARGP_KEY_ERROR 0x1000005
#define ARGP_HELP_SEE 0x10
extern void argp_help(const struct argp *, FILE *, unsigned, char *);
extern void argp_error(const struct argp_state *, const char *, ...);
extern error_t argp_parse(const struct argp *, int, char **, unsigned, int *, void *);
#endif
EOF

# cc-rs adds these to the flags libbpf-sys passes to zlib, elfutils and libbpf.
export CFLAGS_x86_64_unknown_linux_musl="-idirafter $compat"
# elfutils' configure insists on argp/fts/obstack, which only its tools use
# (musl-dev ships fts anyway). Autoconf cache variables skip those checks.
export ac_cv_search_argp_parse='none required'
export ac_cv_search_fts_close='none required'
export ac_cv_search__obstack_free='none required'
# .cargo/config.toml points this at /usr/lib/x86_64-linux-gnu for the glibc
# build; on musl that -L would make `-lc` pick glibc's libc.a. Set but empty
# here (cargo's [env] does not override a variable that is already set).
export LIBBPF_SYS_LIBRARY_PATH=

start=$(date +%s)
cargo build --release --locked --target "$TARGET" --features libbpf-sys/vendored "$@"
echo "build-musl: built target/$TARGET/release/iotrace in $(( $(date +%s) - start )) s"
