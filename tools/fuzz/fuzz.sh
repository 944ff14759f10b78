#!/usr/bin/env bash
# libFuzzer campaigns for ezivk's parsers of untrusted input (tools/fuzz/fuzz_*.cpp; clang, ASan + UBSan).
#   tools/fuzz/fuzz.sh build                     configure and build the targets into build/fuzz
#   tools/fuzz/fuzz.sh smoke SECONDS             every target for SECONDS each on its seed corpus (CI)
#   tools/fuzz/fuzz.sh run TARGET SECONDS        one target, growing its campaign corpus
#   tools/fuzz/fuzz.sh campaign SECONDS          every target in turn for SECONDS each (run it in the background:
#                                                nohup nice tools/fuzz/fuzz.sh campaign 3600 &)
#   tools/fuzz/fuzz.sh stats                     executions and findings per target so far
# Campaign state lives outside the repository in $EZIVK_FUZZ_DIR (default ~/.cache/ezivk/fuzz): <target>/corpus,
# <target>/findings (crash/leak/timeout inputs) and stats.tsv (one line per run: date, target, seconds, executions,
# findings). Seeds come from tests/fixtures. A finding makes the command exit non-zero.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="$here/build/fuzz"
state="${EZIVK_FUZZ_DIR:-$HOME/.cache/ezivk/fuzz}"
targets=(safetensors config_json npy image tokenizer torch_checkpoint)
fx="$here/tests/fixtures"

die() { echo "fuzz.sh: $*" >&2; exit 2; }

do_build() {
  command -v clang++ >/dev/null || die "clang++ not found (tools/setup.sh installs clang and libclang-rt-14-dev)"
  cmake -S "$here/tools/fuzz" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" >/dev/null
}

# The seed files of one target.
seeds() {
  case "$1" in
    safetensors) ls "$fx"/io/*.safetensors "$fx"/torch/*.safetensors "$fx"/models/sd2-tiny/vae/*.safetensors ;;
    config_json) ls "$fx"/models/*/*/config.json "$fx"/models/*/scheduler/*.json "$fx"/models/*/model_index.json ;;
    npy) ls "$fx"/io/sample_*.npy "$fx"/io/resize_bicubic_5x5.npy ;;
    image) find "$fx" \( -name '*.png' -o -name '*.jpg' \) -size -24k ;;
    torch_checkpoint) ls "$fx"/torch/*.bin ;;
    tokenizer) ;;  # made below: tiny vocab 0xFF merges 0xFF prompt
  esac
}

prepare() {
  local t=$1 dir="$state/$1"
  mkdir -p "$dir/corpus" "$dir/findings" "$dir/seeds"
  if [ -z "$(ls -A "$dir/seeds")" ]; then
    if [ "$t" = tokenizer ]; then
      local tk="$fx/models/sd2-tiny/tokenizer" i=0
      for p in "a photo of a cat" "A DOG's life!! 123 <|endoftext|> x" "naïve café — 東京 🐕"; do
        { cat "$tk/vocab.json"; printf '\xff'; cat "$tk/merges.txt"; printf '\xff%s' "$p"; } > "$dir/seeds/seed$i"
        printf '%s' "$p" > "$dir/seeds/prompt$i"
        i=$((i + 1))
      done
    else
      for f in $(seeds "$t"); do cp "$f" "$dir/seeds/$(basename "$(dirname "$f")")_$(basename "$f")"; done
    fi
  fi
}

# run TARGET SECONDS: appends a stats line; returns 1 when libFuzzer reported a finding.
run_one() {
  local t=$1 secs=$2 dir="$state/$1" log rc=0
  prepare "$t"
  log="$dir/last.log"
  # Each execution writes its input to a scratch file (the parsers read files): keep it in memory when we can.
  local tmp="${TMPDIR:-}"
  if [ -z "$tmp" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then tmp=/dev/shm; fi
  (cd "$dir" && TMPDIR="${tmp:-/tmp}" "$build/fuzz_$t" "$dir/corpus" "$dir/seeds" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
     -max_len=65536 -print_final_stats=1 -artifact_prefix="$dir/findings/" >"$log" 2>&1) || rc=$?
  local execs findings
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  findings=$(ls "$dir/findings" | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$secs" "${execs:-0}" "$findings" >> "$state/stats.tsv"
  printf '%-18s %6ss %12s executions, %s findings in total\n' "$t" "$secs" "${execs:-0}" "$findings"
  if [ "$rc" != 0 ]; then
    echo "fuzz_$t reported a finding (exit $rc); the input is in $dir/findings, the log in $log:" >&2
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -20 >&2
    return 1
  fi
}

cmd=${1:-}
case "$cmd" in
  build) do_build ;;
  smoke|campaign)
    [ $# = 2 ] || die "usage: fuzz.sh $cmd SECONDS"
    do_build
    fail=0
    for t in "${targets[@]}"; do run_one "$t" "$2" || fail=1; done
    exit $fail ;;
  run)
    [ $# = 3 ] || die "usage: fuzz.sh run TARGET SECONDS"
    [[ " ${targets[*]} " == *" $2 "* ]] || die "unknown target '$2' (one of: ${targets[*]})"
    do_build
    run_one "$2" "$3" ;;
  stats)
    [ -f "$state/stats.tsv" ] || die "no campaign has run yet ($state/stats.tsv)"
    awk -F'\t' '{ s[$2] += $3; e[$2] += $4; f[$2] = $5 } END { for (t in e) printf "%-18s %8d s %14d executions %4d findings\n", t, s[t], e[t], f[t] }' "$state/stats.tsv" | sort ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
