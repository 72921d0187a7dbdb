#!/bin/sh
# vm-tests/guest/suite.sh - iotrace test suite run inside each test VM (busybox sh).
#
# Output protocol (parsed by vm-tests/run from the serial console):
#   RUN <name>                         a test starts (tells the host what ran when a guest dies)
#   TEST <name> PASS|FAIL|SKIP <detail> one line per test, detail on one line
#   SUITE DONE passed=N failed=N skipped=N
# Everything else is free-form log (failing tests show their log tail as "  | ..." lines).
#
# Adding a test: write t_<name>() and add <name> to TESTS below. Inside a test, finish with
#   pass "detail" | fail "detail" | skip "detail"   (each ends the test; it runs in a subshell)
# or just return: 0 = PASS, 77 = SKIP, anything else = FAIL. Use `iot ARGS` to run iotrace with
# a timeout and the command echoed into the test log.
# Record tests are written once as r_<name> STRATEGY and listed in RECORD_TESTS; each runs once
# per strategy in STRATEGIES (default: the binary's default strategy (tp_btf with BTF), then
# --strategy raw_tp, legacy, fentry and kprobe) and is reported as <name>.<strategy>; a strategy the kernel lacks a feature
# for is a SKIP (doctor_json checks the features themselves).
#
# Kernel command line knobs (set by vm-tests/run):
#   iotvm.filter=GLOB[,GLOB]  only run tests whose name matches (e.g. doctor_*,dd_sanity)
#   iotvm.strategies=a,b      override STRATEGIES
#   iotvm.verbose=1           print every test's log (default: only the tail of failing tests)
#   iotvm.env=K=V[,K=V]       export these for the whole suite (e.g. IOTRACE_DEBUG=1)

IOTRACE=${IOTRACE:-/usr/bin/iotrace}
WORKLOADS=${WORKLOADS:-/vm-tests/bin}
# per iotrace invocation, seconds. Generous: under TCG on a busy host, loading and attaching
# the legacy strategy's ~95 programs on 4.14 took 11 minutes (2026-11-30); at 600 s timeout's
# SIGTERM stopped `record` before it started its command, which made every 4.14 run look like
# a recording that lost its files (record now exits 128 + 15 then, and says the command was
# not run). The guest as a whole has vm-tests/run's --timeout.
CMD_TIMEOUT=${CMD_TIMEOUT:-1500}
STRATEGIES="default raw_tp legacy fentry kprobe"
FILTER=""
VERBOSE=0                                 # 1: print every test's log, not only failing ones
W=/tmp/iotvm                              # scratch: logs, outputs shared between tests
TRACEFS_PRIV=/tmp/iotvm-tracefs           # the suite's own, short-lived tracefs mount

TESTS="doctor_exit doctor_json doctor_json_kernel doctor_json_features doctor_json_btf
       doctor_json_kprobe doctor_json_syscall_tracepoints doctor_json_plausible
       doctor_no_leftovers help dd_sanity workload_iowork amplify_exact"
RECORD_TESTS="record_exact"                # each: r_<name> STRATEGY
BLOCK_TESTS="biosnoop_diskstats"           # each: b_<name> STRATEGY, for BLOCK_STRATEGIES
BLOCK_STRATEGIES="default tracepoint"
FINAL_TESTS="kernel_health"              # run last, after the record tests

# features every `iotrace doctor --json` must report
EXPECTED_FEATURES="btf ringbuf global_data bounded_loops raw_tp tp_btf fentry kprobe perf_buffer syscall_tracepoints"
# upstream version a feature appeared in: reporting it ok on an older kernel is a probe bug
# (fine for vanilla and Debian kernels; distributions like RHEL backport, adjust if ever used)
FEATURE_FLOORS="raw_tp:4.17 global_data:5.2 bounded_loops:5.3 tp_btf:5.5 fentry:5.5 ringbuf:5.8"

# ------------------------------------------------------------------ helpers
mkdir -p "$W"
set -f    # no pathname expansion of the command line words (filters are globs)
for w in $(cat /proc/cmdline); do
  case $w in
    iotvm.filter=*) FILTER=$(echo "${w#*=}" | tr ',' ' ') ;;
    iotvm.strategies=*) STRATEGIES=$(echo "${w#*=}" | tr ',' ' ') ;;
    iotvm.block_strategies=*) BLOCK_STRATEGIES=$(echo "${w#*=}" | tr ',' ' ') ;;
    iotvm.verbose=1) VERBOSE=1 ;;
    iotvm.env=*) for kv in $(echo "${w#*=}" | tr ',' ' '); do export "${kv?}"; done ;;
  esac
done
set +f

pass() { [ $# -gt 0 ] && detail "$*"; exit 0; }
fail() { [ $# -gt 0 ] && detail "$*"; exit 1; }
skip() { [ $# -gt 0 ] && detail "$*"; exit 77; }
detail() { echo "$*" >> "$W/detail"; }

# tmo SECS CMD...: busybox timeout changed syntax in 1.30 (-t SECS before)
if timeout 5 true 2>/dev/null; then tmo() { timeout "$@"; }; else tmo() { s=$1; shift; timeout -t "$s" "$@"; }; fi

# iot ARGS...: run iotrace with a timeout; the command goes to the test log
iot() { echo "+ iotrace $*" >&2; tmo "$CMD_TIMEOUT" "$IOTRACE" "$@"; }

kver_code() { # "5.10.0-46-cloud-amd64" -> 5010 ; used for version comparisons
  echo "$1" | awk -F'[.-]' '{ printf "%d\n", $1 * 1000 + $2 }'
}
KVER=$(uname -r); KCODE=$(kver_code "$KVER")

tracing_mounts() { # "tracefs@/sys/kernel/tracing ..." or "none"
  local m
  m=$(awk '$3 == "tracefs" || $3 == "debugfs" { print $3 "@" $2 }' /proc/mounts | tr '\n' ' ')
  echo "${m:-none}"
}

# tracefs_private: mount tracefs at a private spot for the suite's own checks; tracefs_release
# unmounts it again so iotrace never finds a tracefs the suite left behind
tracefs_private() {
  mkdir -p "$TRACEFS_PRIV"
  if ! grep -q " $TRACEFS_PRIV " /proc/mounts; then
    mount -t tracefs nodev "$TRACEFS_PRIV" 2>/dev/null || {
      mkdir -p /tmp/iotvm-debugfs && mount -t debugfs nodev /tmp/iotvm-debugfs 2>/dev/null &&
        mount --bind /tmp/iotvm-debugfs/tracing "$TRACEFS_PRIV"; }
  fi
  [ -e "$TRACEFS_PRIV/events" ] && echo "$TRACEFS_PRIV"
}
tracefs_release() {
  umount "$TRACEFS_PRIV" 2>/dev/null
  grep -q ' /tmp/iotvm-debugfs ' /proc/mounts && umount /tmp/iotvm-debugfs
  return 0
}

# independent facts (never from iotrace)
fact_btf() { [ -e /sys/kernel/btf/vmlinux ] && echo true || echo false; }
fact_kprobe() {
  local t r=false
  t=$(tracefs_private) || { tracefs_release; echo false; return; }
  if [ -w "$t/kprobe_events" ] && echo 'p:iotvm_probe vfs_read' 2>/dev/null >> "$t/kprobe_events"; then
    [ -d "$t/events/kprobes/iotvm_probe" ] && r=true
    echo '-:iotvm_probe' >> "$t/kprobe_events"
  fi
  tracefs_release; echo $r
}
fact_syscall_tracepoints() {
  local t r=false
  t=$(tracefs_private) && [ -d "$t/events/syscalls/sys_enter_openat" ] && r=true
  tracefs_release; echo $r
}

# JSON -> "path=value" lines (objects: a.b, arrays: a.0); exit 1 on a syntax error
json_flatten() {
  awk '
  function ws() { while (pos <= n && index(" \t\r\n", substr(s, pos, 1))) pos++ }
  function perr(m) { if (!bad) print "JSON_ERROR " m " at offset " pos > "/dev/stderr"; bad = 1; pos = n + 1 }
  function str(   c, c2, out) {
    pos++; out = ""
    while (pos <= n) {
      c = substr(s, pos, 1)
      if (c == "\\") {
        c2 = substr(s, pos + 1, 1)
        if (c2 == "u") { out = out "\\u" substr(s, pos + 2, 4); pos += 6 }
        else { out = out (c2 == "n" ? " " : c2 == "t" ? " " : c2); pos += 2 }
        continue
      }
      if (c == "\"") { pos++; return out }
      out = out c; pos++
    }
    perr("unterminated string"); return out
  }
  function value(path,   c, k, i) {
    ws(); c = substr(s, pos, 1)
    if (c == "{") {
      pos++; ws()
      if (substr(s, pos, 1) == "}") { pos++; print path "={}"; return }
      while (!bad) {
        ws(); if (substr(s, pos, 1) != "\"") { perr("key expected"); return }
        k = str(); ws()
        if (substr(s, pos, 1) != ":") { perr("colon expected"); return }
        pos++
        value(path == "" ? k : (path "." k))
        ws(); c = substr(s, pos, 1); pos++
        if (c == "}") return
        if (c != ",") { perr("comma or } expected"); return }
      }
    } else if (c == "[") {
      pos++; ws(); i = 0
      if (substr(s, pos, 1) == "]") { pos++; print path "=[]"; return }
      while (!bad) {
        value(path "." i++)
        ws(); c = substr(s, pos, 1); pos++
        if (c == "]") return
        if (c != ",") { perr("comma or ] expected"); return }
      }
    } else if (c == "\"") {
      print path "=" str()
    } else if (match(substr(s, pos, 40), /^(true|false|null|-?[0-9][0-9.eE+-]*)/)) {
      print path "=" substr(s, pos, RLENGTH); pos += RLENGTH
    } else perr("value expected")
  }
  { s = s $0 "\n" }
  END { n = length(s); pos = 1; bad = 0
        if (n > 0) value(""); ws(); if (!bad && pos <= n) perr("trailing data")
        if (n == 0) perr("empty input")
        exit bad }'
}
# jget KEY [FLATFILE]: value of KEY in flattened JSON (default: the doctor --json output)
jget() { awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "${2:-$W/doctor.flat}"; }
need_json() { [ -s "$W/doctor.flat" ] || fail "no valid 'iotrace doctor --json' output (see doctor_json)"; }

# compare one feature's ok flag with an independently found fact
check_feature() { # NAME FACT(true|false) HOW
  local got; need_json
  got=$(jget "features.$1.ok")
  [ -n "$got" ] || fail "features.$1 missing from doctor --json"
  [ "$got" = "$2" ] || fail "doctor says $1=$got but $3 says $2 ($(jget "features.$1.detail"))"
  pass "$1=$got, agrees with $3"
}

diskstat() { # DEV FIELD(1-based after the name: 1=reads 3=sectors read 5=writes 7=sectors written)
  awk -v d="$1" -v f="$2" '$3 == d { print $(3 + f) }' /proc/diskstats
}

strategy_args() { [ "$1" = default ] || echo "--strategy $1"; }

# ------------------------------------------------------------------ tests
t_doctor_exit() {
  local before rc after
  before=$(tracing_mounts)
  iot doctor > "$W/doctor.txt"; rc=$?
  cat "$W/doctor.txt"
  after=$(tracing_mounts)
  [ $rc = 0 ] || fail "exit status $rc"
  [ -s "$W/doctor.txt" ] || fail "exit 0 but no output"
  pass "exit 0, $(wc -l < "$W/doctor.txt") lines; tracing mounts before: $before, after: $after"
}

t_doctor_json() {
  local rc nf st tool
  iot doctor --json > "$W/doctor.json"; rc=$?
  cat "$W/doctor.json"; echo
  [ $rc = 0 ] || fail "exit status $rc"
  json_flatten < "$W/doctor.json" > "$W/doctor.flat.tmp" || fail "not valid JSON: $(json_flatten < "$W/doctor.json" 2>&1 >/dev/null)"
  mv "$W/doctor.flat.tmp" "$W/doctor.flat"
  [ -n "$(jget kernel)" ] || fail "no \"kernel\" string"
  nf=$(grep -c '^features\.[^.]*\.ok=' "$W/doctor.flat")
  [ "$nf" -gt 0 ] || fail "no features.NAME.ok entries"
  # strategies: {TOOL: "name"} or {TOOL: {"strategy": "name", ...}}
  st=""
  for tool in $(sed -n 's/^strategies\.\([^.=]*\).*/\1/p' "$W/doctor.flat" | uniq); do
    st="$st $tool=$(jget "strategies.$tool")$(jget "strategies.$tool.strategy")"
  done
  [ -n "$st" ] || fail "no strategies"
  pass "$nf features, ok: $(sed -n 's/^features\.\([^.]*\)\.ok=true$/\1/p' "$W/doctor.flat" | tr '\n' ' ' | sed 's/ $//'); strategies:$st"
}

t_doctor_json_kernel() {
  need_json
  case "$(jget kernel)" in
    *"$KVER"*) pass "kernel=$(jget kernel)" ;;
    *) fail "kernel=\"$(jget kernel)\" does not contain uname -r \"$KVER\"" ;;
  esac
}

t_doctor_json_features() {
  local f missing=""
  need_json
  for f in $EXPECTED_FEATURES; do
    [ -n "$(jget "features.$f.ok")" ] || missing="$missing $f"
  done
  [ -z "$missing" ] || fail "missing features:$missing"
  pass "all $(echo $EXPECTED_FEATURES | wc -w) expected features reported"
}

t_doctor_json_btf() { check_feature btf "$(fact_btf)" "/sys/kernel/btf/vmlinux existence"; }
t_doctor_json_kprobe() { check_feature kprobe "$(fact_kprobe)" "adding p:iotvm_probe vfs_read to kprobe_events"; }
t_doctor_json_syscall_tracepoints() {
  need_json
  [ -n "$(jget features.syscall_tracepoints.ok)" ] || skip "features.syscall_tracepoints not reported"
  check_feature syscall_tracepoints "$(fact_syscall_tracepoints)" "tracefs events/syscalls/sys_enter_openat"
}

t_doctor_json_plausible() {
  local fl f v bad=""
  need_json
  for fl in $FEATURE_FLOORS; do
    f=${fl%%:*}; v=${fl#*:}
    if [ "$(jget "features.$f.ok")" = true ] && [ "$KCODE" -lt "$(kver_code "$v")" ]; then
      bad="$bad $f(ok on $KVER, needs $v)"
    fi
  done
  for f in tp_btf fentry; do
    [ "$(jget "features.$f.ok")" = true ] && [ "$(jget features.btf.ok)" != true ] && bad="$bad $f(ok without btf)"
  done
  [ -z "$bad" ] || fail "implausible:$bad"
  pass "no feature reported ok below its upstream version; tp_btf/fentry imply btf"
}

t_doctor_no_leftovers() {
  local t k u
  [ -s "$W/doctor.txt" ] || [ -s "$W/doctor.json" ] || skip "doctor did not run"
  t=$(tracefs_private) || { tracefs_release; skip "no tracefs"; }
  k=$(grep -v '^#' "$t/kprobe_events" 2>/dev/null | tr '\n' ';')
  u=$(grep -v '^#' "$t/uprobe_events" 2>/dev/null | tr '\n' ';')
  tracefs_release
  [ -z "$k$u" ] || fail "probes left registered after doctor: kprobe_events=[$k] uprobe_events=[$u]"
  pass "kprobe_events and uprobe_events empty; tracing mounts now: $(tracing_mounts)"
}

t_help() {
  local rc
  iot --help > "$W/help.txt" 2>&1; rc=$?
  cat "$W/help.txt"
  [ $rc = 0 ] || fail "exit status $rc"
  [ -s "$W/help.txt" ] || fail "exit 0 but no output"
  grep -q doctor "$W/help.txt" || fail "usage does not mention the doctor subcommand"
  pass "exit 0, $(wc -l < "$W/help.txt") lines"
}

t_dd_sanity() {
  local mb=16 w0 w1 size
  grep -q ' /mnt ext4 ' /proc/mounts || fail "/mnt is not the ext4 test disk"
  w0=$(diskstat vda 7)
  dd if=/dev/zero of=/mnt/iotvm-dd bs=1M count=$mb conv=fsync || fail "dd failed"
  w1=$(diskstat vda 7)
  size=$(stat -c %s /mnt/iotvm-dd)
  rm -f /mnt/iotvm-dd; sync
  [ "$size" = $((mb * 1048576)) ] || fail "file size $size, expected $((mb * 1048576))"
  [ $((w1 - w0)) -ge $((mb * 2048)) ] || fail "vda sectors written grew by $((w1 - w0)), expected >= $((mb * 2048))"
  pass "${mb} MiB written+fsynced; vda sectors written +$((w1 - w0))"
}

t_workload_iowork() {
  local out
  [ -x "$WORKLOADS/iowork" ] || skip "no iowork workload in the payload"
  out=$("$WORKLOADS/iowork" pwrite /mnt/iotvm-iowork 64 4096 fsync) || fail "iowork pwrite failed: $out"
  echo "$out"
  [ "$(stat -c %s /mnt/iotvm-iowork)" = 262144 ] || fail "file size $(stat -c %s /mnt/iotvm-iowork) != 262144"
  out=$("$WORKLOADS/iowork" pread /mnt/iotvm-iowork 64 4096) || fail "iowork pread failed: $out"
  echo "$out"
  rm -f /mnt/iotvm-iowork
  case $out in *"calls=64 bytes=262144"*) pass "64x4 KiB pwrite+fsync and pread" ;; *) fail "unexpected: $out" ;; esac
}

# amplify: the file's data at the device equals its syscall bytes (written back by the fsync),
# and vda's row equals the diskstats change amplify read itself (the guest is quiet enough
# for the bytes; its own reading is the reference for the window); --events has a line per
# write and one for the fsync (dd's own counts); the file has no page-cache reads. Without BTF (the tracepoint strategy, no
# --events): the file's dirtied pages are its syscall bytes, it has no device layer, and
# vda's row is its diskstats change, unattributed.
t_amplify_exact() {
  local out=$W/amp.json err=$W/amp.err flat=$W/amp.flat ev=$W/amp.events i d k n strategy events=--events
  rm -f /mnt/iotvm-amp
  while :; do
    iot amplify $events --json -o "$out" -- dd if=/dev/zero of=/mnt/iotvm-amp bs=4k count=64 conv=fsync \
      2>"$err" >"$ev"
    rc=$?
    cat "$err"
    [ $rc -ne 0 ] && [ -n "$events" ] && grep -q -- "--events needs the raw_tp strategy" "$err" && {
      events=
      continue
    }
    break
  done
  if [ $rc -ne 0 ]; then
    grep -q "no attach strategy" "$err" && skip "$(tail -n 1 "$err")"
    fail "exit $rc: $(tail -n 1 "$err")"
  fi
  json_flatten < "$out" > "$flat" || fail "invalid JSON"
  rm -f /mnt/iotvm-amp
  strategy=$(jget strategy "$flat")
  i=$(awk -F= '$1 ~ /^files\.[0-9]+\.name$/ && $2 == "/mnt/iotvm-amp" { split($1, a, "."); print a[2]; exit }' "$flat")
  [ -n "$i" ] || fail "no row for /mnt/iotvm-amp"
  # the pages dd's writes add to the cache are not misses (bpf_task_pt_regs from 5.15, VFS
  # hooks before: fentry, or kprobes for the tracepoint strategy)
  [ "$(jget "files.$i.fs.read_bytes" "$flat")" = 0 ] || fail "files.$i.fs.read_bytes = $(jget "files.$i.fs.read_bytes" "$flat"), want 0 ($(jget notes.0 "$flat"))"
  if [ "$strategy" = tracepoint ]; then
    for k in syscall.write_bytes fs.write_bytes; do
      [ "$(jget "files.$i.$k" "$flat")" = 262144 ] || fail "files.$i.$k = $(jget "files.$i.$k" "$flat"), want 262144"
    done
    [ "$(jget "files.$i.fs.write_ops" "$flat")" = 64 ] || fail "files.$i.fs.write_ops = $(jget "files.$i.fs.write_ops" "$flat"), want 64"
    [ "$(jget "files.$i.device" "$flat")" = null ] || fail "files.$i.device = $(jget "files.$i.device" "$flat"), want null"
  else
    for k in syscall.write_bytes device.write_bytes; do
      [ "$(jget "files.$i.$k" "$flat")" = 262144 ] ||
        fail "files.$i.$k = $(jget "files.$i.$k" "$flat"), want 262144 (notes: $(grep '^notes\.' "$flat" | tr '\n' ' '); rows: $(grep -E '^files\.[0-9]+\.(name|syscall\.write_(bytes|ops))=' "$flat" | tr '\n' ' '))"
    done
  fi
  d=$(awk -F= '$1 ~ /^devices\.[0-9]+\.name$/ && $2 == "vda" { split($1, a, "."); print a[2]; exit }' "$flat")
  [ -n "$d" ] || fail "no device row for vda"
  for k in read_bytes write_bytes read_ops write_ops; do
    [ "$(jget "devices.$d.$k" "$flat")" = "$(jget "devices.$d.diskstats.$k" "$flat")" ] ||
      fail "vda $k: $(jget "devices.$d.$k" "$flat") counted, diskstats $(jget "devices.$d.diskstats.$k" "$flat")"
  done
  [ "$strategy" = tracepoint ] && pass "tracepoint: 256 KiB dirtied = syscall bytes for the file, no device layer; vda = diskstats ($(jget "devices.$d.write_bytes" "$flat") bytes written)"
  n=$(awk '$2 == "SYSCALL_W" && $6 == "/mnt/iotvm-amp" && $7 == 4096 && $10 == 4096' "$ev" | wc -l)
  [ "$n" -eq 64 ] || fail "$n SYSCALL_W lines of 4096 bytes for /mnt/iotvm-amp, want 64"
  n=$(awk '$2 == "SYSCALL_F" && $6 == "/mnt/iotvm-amp" && $10 == 0' "$ev" | wc -l)
  [ "$n" -eq 1 ] || fail "$n SYSCALL_F lines for /mnt/iotvm-amp, want 1"
  pass "256 KiB: syscall = device for the file; vda = diskstats ($(jget "devices.$d.write_bytes" "$flat") bytes written); 64 + 1 syscall events"
}

# --- record tests: r_<name> STRATEGY (see RECORD_TESTS). A strategy the binary does not know
# is a SKIP, so e.g. "legacy" tests switch themselves on once the strategy exists.
record_or_skip() { # STRATEGY PROFILE CMD...: iotrace record [--strategy S] -o PROFILE -- CMD...
  local s=$1 out=$2 rc
  shift 2
  iot record $(strategy_args "$s") -o "$out" -- "$@" > "$W/record.out" 2>&1; rc=$?
  cat "$W/record.out"
  if [ $rc != 0 ]; then
    grep -q "unknown strategy '$s'" "$W/record.out" && skip "the binary has no strategy '$s'"
    [ "$s" != default ] && grep -q "no attach strategy works" "$W/record.out" &&
      skip "$s: $(sed -n "s/.*($s: \(this kernel has .*\)); see .*/\1/p" "$W/record.out")"
    fail "iotrace record exited $rc: $(grep -v '^+ ' "$W/record.out" | tail -n 2 | tr '\n' ' ')"
  fi
  json_flatten < "$out" > "$out.flat" || fail "the profile is not valid JSON"
}
# profile_file FLAT PATH -> the files.N prefix of PATH's entry
profile_file() {
  local k
  k=$(awk -v p="$2" 'match($0, /^files\.[0-9]+\.path=/) && substr($0, RLENGTH + 1) == p { print substr($0, 1, RLENGTH - 6); exit }' "$1")
  [ -n "$k" ] || fail "$2 not in the profile (files: $(sed -n 's/^files\.[0-9]*\.path=//p' "$1" | tr '\n' ' ');" \
    "$(grep -E '^(lost\.[a-z_]+|files\.[0-9]+\.(comms\.[0-9]+|syscalls\.[a-z0-9_]+\.calls))=' "$1" | head -n 30 | tr '\n' ' '))"
  echo "$k"
}
expect() { # FLAT KEY VALUE
  local v; v=$(jget "$2" "$1")
  [ "$v" = "$3" ] || fail "$2 = '${v}', expected $3 ($(grep -E '^(lost\.|strategy=)|\.syscalls\.[a-z0-9_]+\.(calls|errors)=' "$1" | tr '\n' ' '))"
}

# pwrite64 at explicit offsets, fsync, then read(2) at the file position (each strategy's
# position tracking) of the same file, in one recording: each record run costs minutes on 4.14
# under TCG (attaching and detaching the legacy strategy's ~70 tracepoint programs).
# In the same recording, files created and deleted in turn on ext4, which get the inode number
# (and kernel addresses) of the one before: each path must still be its own row, and a path
# created again must add up in its row.
r_record_exact() {
  local s=$1 p=$W/rec.$1.json f n=100 bs=4096 d=/mnt/iotvm-id i
  [ -x "$WORKLOADS/iowork" ] || skip "no iowork workload in the payload"
  same_as_default record "$s"
  rm -rf /mnt/iotvm-rec /mnt/iotvm-rec.* $d && mkdir $d
  record_or_skip "$s" "$p" sh -c "$WORKLOADS/iowork pwrite /mnt/iotvm-rec $n $bs fsync &&
    $WORKLOADS/iowork read /mnt/iotvm-rec $((n / 2)) $((bs * 2)) &&
    $WORKLOADS/iowork copy_file_range /mnt/iotvm-rec 10 $bs && $WORKLOADS/iowork splice /mnt/iotvm-rec 10 $bs &&
    $WORKLOADS/iowork aio_pread /mnt/iotvm-rec 10 $bs || exit 1
    $WORKLOADS/iowork uring_readv /mnt/iotvm-rec 10 $bs || [ \$? = 3 ] || exit 1
    $WORKLOADS/iowork mmap /mnt/iotvm-rec 10 $bs || exit 1
    for i in 1 2 3 4 5; do $WORKLOADS/iowork pwrite $d/tmp_\$i \$i 4096 && rm $d/tmp_\$i || exit 1; done
    for i in 1 2 3; do $WORKLOADS/iowork write $d/again 2 512 && rm $d/again || exit 1; done"
  f=$(profile_file "$p.flat" /mnt/iotvm-rec) || exit 1
  [ "$s" = default ] || expect "$p.flat" strategy "$s"
  expect "$p.flat" "$f.syscalls.pwrite64.calls" $n
  expect "$p.flat" "$f.syscalls.pwrite64.bytes" $((n * bs))
  expect "$p.flat" "$f.syscalls.pwrite64.errors" 0
  expect "$p.flat" "$f.syscalls.fsync.calls" 1
  expect "$p.flat" "$f.syscalls.read.calls" $((n / 2))
  expect "$p.flat" "$f.syscalls.read.bytes" $((n * bs))
  expect "$p.flat" "$f.write_bytes" $((n * bs))
  # copies: a read of the in-file, a write of the out-file (a pipe end is no file)
  for c in copy_file_range splice; do
    expect "$p.flat" "$f.syscalls.${c}_in.calls" 10
    expect "$p.flat" "$f.syscalls.${c}_in.bytes" $((10 * bs))
    f2=$(profile_file "$p.flat" /mnt/iotvm-rec.$c) || exit 1
    expect "$p.flat" "$f2.syscalls.${c}_out.calls" 10
    expect "$p.flat" "$f2.write_bytes" $((10 * bs))
  done
  # Linux AIO: per iocb with every strategy (legacy: by tail calls).
  # io_uring: with the CO-RE strategies where an io_uring tracepoint passes the request: 5.12+,
  # and 5.10's later stable updates (the matrix's 5.10 is Debian's 5.10.2xx); else the profile
  # says it cannot.
  local reads=$((n * bs + 3 * 10 * bs)) uring=0
  case $(uname -r) in [0-4].*|5.[0-9].*|5.11.*) ;; *) [ "$(jget strategy "$p.flat")" = legacy ] || uring=1 ;; esac
  expect "$p.flat" "$f.syscalls.aio_pread.calls" 10
  expect "$p.flat" "$f.syscalls.aio_pread.bytes" $((10 * bs))
  if [ $uring = 1 ]; then
    expect "$p.flat" "$f.syscalls.uring_readv.calls" 10
    expect "$p.flat" "$f.syscalls.uring_readv.bytes" $((10 * bs))
    expect "$p.flat" "$f.syscalls.uring_readv.request_hist.0.count" 10
    reads=$((reads + 10 * bs))
  else
    grep -q '^unsupported\.[0-9]*=io_uring$' "$p.flat" || fail "io_uring not seen but not listed as unsupported"
  fi
  expect "$p.flat" "$f.read_bytes" $reads
  # mmap: 10 shared read-only maps of a block each; what is loaded through them is no syscall
  expect "$p.flat" "$f.syscalls.mmap.calls" 10
  expect "$p.flat" "$f.mmap.shared" 10
  expect "$p.flat" "$f.mmap.shared_bytes" $((10 * bs))
  expect "$p.flat" "$f.mmap.read" 10
  for i in 1 2 3 4 5; do
    f=$(profile_file "$p.flat" $d/tmp_$i) || exit 1
    expect "$p.flat" "$f.syscalls.pwrite64.calls" $i
    expect "$p.flat" "$f.write_bytes" $((i * 4096))
  done
  f=$(profile_file "$p.flat" $d/again) || exit 1
  expect "$p.flat" "$f.syscalls.write.calls" 6
  expect "$p.flat" "$f.write_bytes" 3072
  expect "$p.flat" "lost.path_events" 0
  [ "$(grep -c "^files\.[0-9]*\.path=$d/" "$p.flat")" = 6 ] ||
    fail "rows under $d: $(grep "^files\.[0-9]*\.path=$d/" "$p.flat" | tr '\n' ' ')"
  rm -rf /mnt/iotvm-rec /mnt/iotvm-rec.* $d
  pass "strategy $(jget strategy "$p.flat"): pwrite64 $n x $bs, fsync, read $((n / 2)) x $((bs * 2)), copy_file_range, splice, Linux AIO, io_uring and mmap 10 x $bs: exact ($(jget unsupported.0 "$p.flat") ... unsupported);" \
    "5 files created and deleted in turn, one path created 3 times: 6 exact rows"
}
# same_as_default TOOL STRATEGY: the kernel's default strategy was just tested as .default
# (per doctor --json): skip a second, slow run of it.
same_as_default() {
  [ "$2" != default ] && [ "$(jget "strategies.$1.strategy")" = "$2" ] &&
    skip "the default strategy on this kernel (tested as .default)"
  return 0
}

# --- block tools: b_<name> STRATEGY (see BLOCK_TESTS)
# bg_tool OUT ERR ARGS...: start an iotrace tool in the background and wait until it traces;
# sets BG_PID. Fails the test if the tool exits first (skips on an unknown strategy).
bg_tool() {
  local out=$1 err=$2 n=0
  shift 2
  echo "+ iotrace $* &" >&2
  "$IOTRACE" "$@" > "$out" 2> "$err" &
  BG_PID=$!
  until grep -q tracing "$err"; do
    if ! kill -0 "$BG_PID" 2>/dev/null; then
      cat "$err" >&2
      grep -q "unknown strategy\|no attach strategy" "$err" && skip "$(head -n 1 "$err")"
      fail "iotrace $1 exited before tracing: $(head -n 1 "$err")"
    fi
    n=$((n + 1)); [ $n -lt 3000 ] || fail "iotrace $1 not tracing after 600 s"
    sleep 0.2
  done
}
bg_stop() { # SIGINT the background tool; fail unless it exits 0
  local rc
  kill -INT "$BG_PID"; wait "$BG_PID"; rc=$?
  [ $rc = 0 ] || fail "iotrace exited $rc after SIGINT: $(tail -n 2 "$1" | tr '\n' ' ')"
}
# ndjson_sum FILE OP FIELD: sum of FIELD over biosnoop --json lines whose op is OP
ndjson_sum() {
  awk -v op="\"op\":\"$2\"" -v f="\"$3\":" 'index($0, op) { s = substr($0, index($0, f) + length(f)); s += 0; t += s } END { print t + 0 }' "$1"
}
ndjson_count() { grep -c "\"op\":\"$2\"" "$1"; }

b_biosnoop_diskstats() {
  local s=$1 out=$W/snoop.$1.ndjson err=$W/snoop.$1.err n=64 bs=65536 d0 d1 want got missed
  [ -x "$WORKLOADS/iowork" ] || skip "no iowork workload in the payload"
  same_as_default biosnoop "$s"
  # A file to read back with O_DIRECT; noatime: reading it must not write.
  mount -o remount,noatime /mnt || fail "cannot remount /mnt noatime"
  "$WORKLOADS/iowork" pwrite /mnt/iotvm-snoop $n $bs fsync > /dev/null || fail "iowork pwrite failed"
  sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1
  bg_tool "$out" "$err" biosnoop --json -d vda $(strategy_args "$s")
  d0="$(diskstat vda 1) $(diskstat vda 3) $(diskstat vda 5) $(diskstat vda 7)"
  "$WORKLOADS/iowork" pread /mnt/iotvm-snoop $n $bs direct || fail "iowork pread direct failed"
  "$WORKLOADS/iowork" pwrite /mnt/iotvm-snoop $n $bs direct || fail "iowork pwrite direct failed"
  d1="$(diskstat vda 1) $(diskstat vda 3) $(diskstat vda 5) $(diskstat vda 7)"
  bg_stop "$err"
  cat "$err"; tail -n 3 "$out"
  rm -f /mnt/iotvm-snoop
  want=$(echo "$d0 $d1" | awk '{ print $5 - $1, ($6 - $2) * 512, $7 - $3, ($8 - $4) * 512 }')
  got="$(ndjson_count "$out" read) $(ndjson_sum "$out" read bytes) $(ndjson_count "$out" write) $(ndjson_sum "$out" write bytes)"
  missed=$(sed -n 's/.*"missed_runs":\([0-9]*\).*/\1/p' "$out")
  [ "$(grep -c '"comm":"iowork"' "$out")" -ge $((2 * n)) ] || fail "fewer than $((2 * n)) requests attributed to iowork"
  if [ "$got" = "$want" ]; then
    pass "strategy $(strategy_of "$err"): reads, bytes read, writes, bytes written = $got, as /proc/diskstats"
  fi
  # perf-event tracepoint programs skip a run nested in another BPF program (counted as missed)
  [ "$(echo "$want $got" | awk '{ print ($1 - $5) + ($3 - $7) }')" -le "${missed:-0}" ] ||
    fail "biosnoop saw $got, /proc/diskstats says $want (missed BPF runs: ${missed:-0})"
  pass "strategy $(strategy_of "$err"): $got vs /proc/diskstats $want; the difference is within the $missed missed BPF runs"
}
strategy_of() { sed -n 's/.*with strategy \([a-z_]*\).*/\1/p' "$1" | head -n 1; }

t_kernel_health() {
  local taint log
  taint=$(cat /proc/sys/kernel/tainted)
  # headlines of kernel trouble; a bare "Call Trace" only when there is no headline
  log=$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection|soft lockup|blocked for more than|RCU stall|self-detected stall|invoked oom-killer|Out of memory|Killed process' |
        sed 's/^\[ *[0-9.]*\] //' | head -4 | tr '\n' ';')
  [ -n "$log" ] || log=$(dmesg | grep -B1 'Call Trace' | sed 's/^\[ *[0-9.]*\] //' | head -2 | tr '\n' ';')
  [ "$taint" = "$TAINT0" ] || fail "kernel taint changed during the suite: $TAINT0 -> $taint; $log"
  [ -z "$log" ] || fail "kernel log: $log"
  pass "taint $taint unchanged, no BUG/WARNING/Oops/OOM in the kernel log"
}

# ------------------------------------------------------------------ runner
NPASS=0; NFAIL=0; NSKIP=0
selected() {
  local g
  [ -z "$FILTER" ] && return 0
  set -f
  for g in $FILTER; do case $1 in $g) set +f; return 0 ;; esac; done
  set +f
  return 1
}
run_test() { # NAME FUNCTION [ARGS]
  local name=$1 fn=$2 rc res d
  shift 2
  selected "$name" || return 0
  echo "RUN $name"
  rm -f "$W/detail"
  ( "$fn" "$@" ) > "$W/log.$name" 2>&1
  rc=$?
  [ "$VERBOSE" = 1 ] && sed 's/^/  | /' "$W/log.$name"
  case $rc in
    0) res=PASS; NPASS=$((NPASS + 1)) ;;
    77) res=SKIP; NSKIP=$((NSKIP + 1)) ;;
    *) res=FAIL; NFAIL=$((NFAIL + 1))
       [ -s "$W/detail" ] || echo "exit status $rc" > "$W/detail"
       [ "$VERBOSE" = 1 ] || tail -n 25 "$W/log.$name" | sed 's/^/  | /' ;;
  esac
  d=$(tr '\t\r\n' '   ' < "$W/detail" 2>/dev/null | sed 's/  */ /g; s/ $//' | cut -c1-400)
  echo "TEST $name $res ${d:--}"
}

TAINT0=$(cat /proc/sys/kernel/tainted)
echo "IOTVM suite: kernel $KVER, iotrace $IOTRACE ($(wc -c < "$IOTRACE") bytes), strategies: $STRATEGIES${FILTER:+, filter: $FILTER}"
echo "IOTVM suite: tracing mounts before the first iotrace run: $(tracing_mounts)"
for t in $TESTS; do run_test "$t" "t_$t"; done
for t in $RECORD_TESTS; do
  for s in $STRATEGIES; do run_test "$t.$s" "r_$t" "$s"; done
done
for t in $BLOCK_TESTS; do
  for s in $BLOCK_STRATEGIES; do run_test "$t.$s" "b_$t" "$s"; done
done
for t in $FINAL_TESTS; do run_test "$t" "t_$t"; done
echo "---- kernel log, warnings and worse (last 30) ----"
dmesg -r 2>/dev/null | grep '^<[0-4]>' | tail -n 30 | sed 's/^/  dmesg| /'
echo "SUITE DONE passed=$NPASS failed=$NFAIL skipped=$NSKIP"
