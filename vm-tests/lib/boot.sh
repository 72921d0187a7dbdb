# shellcheck shell=bash
# vm-tests/lib/boot.sh - boot one guest under QEMU, turn its serial log into results, report.
#
# Per kernel, $RESULTS/kernels/<label>/ holds:
#   serial.log  console output (kernel + guest init + suite)     qemu.log  qemu's own stderr
#   results.tsv test<TAB>PASS|FAIL|SKIP<TAB>detail, including the host's own "boot" row
#   info        release, boot kind, wall time, status             cmdline   qemu command line

pick_accel() {
  case $ACCEL in
    kvm|tcg) echo "$ACCEL"; return ;;
    auto) ;;
    *) die "--accel must be auto, kvm or tcg" ;;
  esac
  # kvm_pvm (nested, pagetable-based KVM) cannot run stock kernels usefully: every guest
  # instruction until well into boot is emulated and early boot then dies; use TCG there
  if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then echo kvm; else echo tcg; fi
}

# boot_guest LABEL KERNELDIR ACCEL -> writes the files above; never fails (results say it all)
boot_guest() {
  local label=$1 kd=$2 acc=$3 d=$RESULTS/kernels/$1 t0 rc=0 wall cmdline qemu status
  mkdir -p "$d"
  build_initrd "$kd" "$RESULTS/build/base.cpio" "$d/initrd.cpio"
  make_disk "$d/disk.img" "$DISK_MB"
  cmdline="console=ttyS0 panic=-1 oops=panic loglevel=4 iotvm.label=$label"
  [ -n "$FILTER" ] && cmdline="$cmdline iotvm.filter=$FILTER"
  [ -n "$STRATEGIES" ] && cmdline="$cmdline iotvm.strategies=$STRATEGIES"
  [ "$VERBOSE" = 1 ] && cmdline="$cmdline iotvm.verbose=1"
  [ -n "$GUEST_ENV" ] && cmdline="$cmdline iotvm.env=$GUEST_ENV"
  qemu=(qemu-system-x86_64 -M pc -smp "$CPUS" -m "$MEM" -nodefaults -no-user-config -display none -monitor none
        -no-reboot -kernel "$kd/boot" -initrd "$d/initrd.cpio" -append "$cmdline"
        -drive "file=$d/disk.img,format=raw,if=virtio,cache=unsafe" -serial "file:$d/serial.log")
  if [ "$acc" = kvm ]; then qemu+=(-accel kvm -cpu "${CPU:-host}"); else qemu+=(-accel tcg -cpu "${CPU:-max}"); fi
  printf '%q ' "${qemu[@]}" > "$d/cmdline"; echo >> "$d/cmdline"
  t0=$(now_ns)
  # in the background so the runner's INT/TERM trap can stop it by pid (timeout passes it on)
  timeout -k 10 "$BOOT_TIMEOUT" "${qemu[@]}" </dev/null >"$d/qemu.log" 2>&1 &
  echo $! > "$d/qemu.pid"
  wait $! || rc=$?
  rm -f "$d/qemu.pid"
  wall=$(secs_since "$t0")
  status=$(guest_status "$d/serial.log" "$rc")
  [ -f "$d/note" ] && status="$status ($(cat "$d/note"))"
  {
    echo "release=$(cat "$kd/release")"
    echo "boot_kind=$(cat "$kd/boot.kind")"
    echo "origin=$(cat "$kd/origin")"
    echo "wall=$wall"
    echo "qemu_rc=$rc"
    echo "status=$status"
  } > "$d/info"
  collect_results "$d" "$status" "$wall"
  [ "$KEEP" = 1 ] || rm -f "$d/disk.img" "$d/initrd.cpio"
  summarize_kernel "$label"
}

serial_text() { tr -d '\r' < "$1" 2>/dev/null; }
# serial_has SERIAL REGEX: a line of the log matches. grep reads it all: `grep -q` stops at the
# first match, tr may then die of SIGPIPE, and pipefail turns that into "no" (it failed a
# finished 6.12 guest as "stopped before SUITE DONE").
serial_has() { serial_text "$1" | grep -c -- "$2" >/dev/null; }

# guest_status SERIAL QEMU_RC -> "ok" or a one-line reason
guest_status() {
  local s=$1 rc=$2 running why
  if serial_has "$s" '^SUITE DONE'; then echo ok; return; fi
  # the test that was running: last RUN without its TEST line
  running=$(serial_text "$s" | awk '/^RUN /{r=$2} /^TEST /{if ($2 == r) r=""} END{print r}')
  if serial_has "$s" 'Kernel panic'; then
    why="kernel panic: $(serial_text "$s" | awk '/Kernel panic/ && !p {p = 1; sub(/^\[[^]]*\] */, ""); print substr($0, 1, 120)}')"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then why="timeout after ${BOOT_TIMEOUT}s"
  elif ! serial_has "$s" '^IOTVM init'; then why="guest never reached /init (qemu rc=$rc)"
  else why="guest stopped before SUITE DONE (qemu rc=$rc)"
  fi
  [ -n "$running" ] && why="$why, while running $running"
  echo "$why"
}

# collect_results DIR STATUS WALL: TEST lines -> results.tsv (+ the host's "boot" row first).
# A FAIL listed in known-failures for this kernel becomes XFAIL (reported, not counted as a
# failure); a listed test that passes becomes XPASS, so the list is noticed when it goes stale.
collect_results() {
  local d=$1 status=$2 wall=$3 label
  label=$(basename "$d")
  {
    if [ "${status%% *}" = ok ]; then printf 'boot\tPASS\tsuite completed in %ss\n' "$wall"
    else printf 'boot\tFAIL\t%s\n' "$status"; fi
    serial_text "$d/serial.log" | awk '
      /^TEST [^ ]+ (PASS|FAIL|SKIP)( |$)/ {
        name = $2; res = $3; det = $0; sub(/^TEST [^ ]+ [A-Z]+ ?/, "", det)
        if (name in seen) { res = "FAIL"; det = "reported twice; last: " det } else order[++n] = name
        seen[name] = 1; r[name] = res; dd[name] = det
      }
      END { for (i = 1; i <= n; i++) printf "%s\t%s\t%s\n", order[i], r[order[i]], dd[order[i]] }'
  } | awk -F'\t' -v OFS='\t' -v l="$label" '
      FNR == NR { if ($0 !~ /^#/ && NF) { split($0, w, /[ \t]+/); if (w[1] == l) { why = $0
                    sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", why); known[w[2]] = why } }; next }
      $1 in known && $2 == "FAIL" { $2 = "XFAIL"; $3 = "known: " known[$1] " | got: " $3 }
      $1 in known && $2 == "PASS" { $2 = "XPASS"; $3 = "listed in known-failures but passed: " $3 }
      { print }' "$VMT_DIR/known-failures" - > "$d/results.tsv"
}

# a kernel that could not be prepared still gets a results.tsv with a failed boot row
record_prepare_failure() {
  local label=$1 why=$2 d=$RESULTS/kernels/$1
  mkdir -p "$d"
  printf 'status=%s\n' "$why" > "$d/info"
  printf 'boot\tFAIL\t%s\n' "$why" > "$d/results.tsv"
  summarize_kernel "$label"
}

count_results() { # FILE... -> "pass fail skip": XPASS counts as passed, XFAIL as skipped
  cat "$@" 2>/dev/null | awk -F'\t' '{ c[$2]++ } END { printf "%d %d %d\n", c["PASS"] + c["XPASS"], c["FAIL"], c["SKIP"] + c["XFAIL"] }'
}
info_get() { sed -n "s/^$2=//p" "$RESULTS/kernels/$1/info" 2>/dev/null; }

summarize_kernel() {
  local label=$1 p f s
  read -r p f s < <(count_results "$RESULTS/kernels/$label/results.tsv")
  log "$(printf '%-9s %s: %d passed, %d failed, %d skipped%s' "$label" "$([ "$f" = 0 ] && echo ok || echo FAILED)" \
        "$p" "$f" "$s" "$( w=$(info_get "$label" wall); [ -n "$w" ] && echo " in ${w}s")")"
}

# report LABEL...: the tables and the final line; returns 1 if anything failed
report() {
  local labels=("$@") l t p f s tests=() files=() w wl
  for l in "${labels[@]}"; do files+=("$RESULTS/kernels/$l/results.tsv"); done
  mapfile -t tests < <(cat "${files[@]}" 2>/dev/null | awk -F'\t' '!seen[$1]++ { print $1 }')
  w=8; for l in "${labels[@]}"; do [ ${#l} -ge $w ] && w=$(( ${#l} + 1 )); done

  echo
  printf '%-10s %-30s %-8s %8s %5s %5s %5s  %s\n' kernel release boot wall pass fail skip status
  for l in "${labels[@]}"; do
    read -r p f s < <(count_results "$RESULTS/kernels/$l/results.tsv")
    wl=$(info_get "$l" wall)
    printf '%-10s %-30s %-8s %8s %5d %5d %5d  %s\n' "$l" "$(info_get "$l" release | cut -c1-30)" \
      "$(info_get "$l" boot_kind)" "${wl:+${wl}s}" "$p" "$f" "$s" "$(info_get "$l" status)"
  done

  echo
  printf '%-34s' test; for l in "${labels[@]}"; do printf " %-${w}s" "$l"; done; echo
  for t in "${tests[@]}"; do
    printf '%-34s' "$t"
    for l in "${labels[@]}"; do
      printf " %-${w}s" "$(awk -F'\t' -v t="$t" '$1 == t { print $2; found = 1 } END { if (!found) print "-" }' \
                           "$RESULTS/kernels/$l/results.tsv" 2>/dev/null || echo -)"
    done
    echo
  done

  if grep -qs $'\tFAIL\t' "${files[@]}"; then
    echo; echo "failures:"
    for l in "${labels[@]}"; do
      awk -F'\t' -v l="$l" '$2 == "FAIL" { printf "  %-10s %-30s %s\n", l, $1, $3 }' "$RESULTS/kernels/$l/results.tsv" 2>/dev/null
    done
    echo "  (logs: $RESULTS/kernels/<kernel>/serial.log)"
  fi
  if grep -qs $'\tX\(FAIL\|PASS\)\t' "${files[@]}"; then
    echo; echo "known failures (vm-tests/known-failures):"
    for l in "${labels[@]}"; do
      awk -F'\t' -v l="$l" '$2 ~ /^X/ { printf "  %-10s %-30s %-5s %s\n", l, $1, $2, $3 }' "$RESULTS/kernels/$l/results.tsv" 2>/dev/null
    done
  fi
  # machine-readable copy of everything
  for l in "${labels[@]}"; do sed "s/^/$l\t/" "$RESULTS/kernels/$l/results.tsv" 2>/dev/null; done > "$RESULTS/results.tsv"

  read -r p f s < <(count_results "${files[@]}")
  echo
  if [ "$s" -gt 0 ]; then echo "vm-tests: $p passed, $f failed, $s skipped"; else echo "vm-tests: $p passed, $f failed"; fi
  [ "$f" = 0 ]
}
