#!/usr/bin/env bash
# The checks to run on a lent GPU machine, in one call of the device tool, from the repository root with
# .gpu/bundle.tar.xz (tools/device/pack.sh) carried along:
#
#   run(command="bash tools/device/gpu_checks.sh", carry=[".gpu"], timeout_s=600)
#
# Each step is bounded, and all of them together by $EZIVK_CHECK_BUDGET_S (560 s), so the whole stays inside one
# call of at most 600 s (a step that would start with under 10 s left is skipped, saying so); what it prints is also written under $OUT (what comes
# back): summary.txt (the figures an issue note quotes), devices.txt, viewer-own.json and viewer-shared.json (the
# viewer's --dump-state on the demo run, with its window on a queue of its own and on generation's queue),
# viewer-t2i.json and generate-t2i.json (a text-to-image run with and without the viewer), tests.log, bench-ops.txt. The viewer runs --offscreen: NVIDIA's
# driver presents to no virtual display, and no window is needed to measure the frames.
#
#   bash tools/device/gpu_checks.sh --here   # a dry run on this machine: its own libraries and driver, a few tests
set -uo pipefail
cd "$(dirname "$0")/../.."
here=0
[ "${1:-}" = "--here" ] && here=1
out=${OUT:-$PWD/out/gpu}
mkdir -p "$out"
summary=$out/summary.txt
: > "$summary"
exec 3>&1  # say's stream, which the steps' own redirections leave alone
say() { echo "$*" | tee -a "$summary" >&3; }
budget=${EZIVK_CHECK_BUDGET_S:-560}
# bounded SECONDS COMMAND...: runs COMMAND for at most SECONDS and no further than the budget; 124 when cut short.
bounded() {
  local want=$1 left=$((budget - SECONDS))
  shift
  if [ $left -lt 10 ]; then
    say "skipped (budget spent): $*"
    return 124
  fi
  timeout $((want < left ? want : left)) "$@"
}
py=$(command -v python3 || true)

if [ $here = 0 ]; then
  [ -f .gpu/bundle.tar.xz ] || { say "no .gpu/bundle.tar.xz: run tools/device/pack.sh here and carry .gpu"; exit 1; }
  tar -xJf .gpu/bundle.tar.xz
  say "bundle built from $(cat rt/commit)"
  # The tests find their fixtures and the viewer's binary by the absolute path of the checkout they were built in.
  src=$(cat rt/source_dir)
  if [ "$PWD" != "$src" ] && [ ! -e "$src" ]; then mkdir -p "$(dirname "$src")" && ln -s "$PWD" "$src"; fi
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  at_least() { [ -n "$glibc" ] && [ "$(printf '%s\n%s\n' "$glibc" "$1" | sort -V | head -1)" = "$1" ]; }
  # The programs were built on Debian 12 and need glibc 2.35 or newer.
  at_least 2.35 || { say "this machine's glibc (${glibc:-unknown}) is older than 2.35, which the programs need"; exit 1; }
  if at_least 2.38; then
    export LD_LIBRARY_PATH=$PWD/rt/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export VK_LAYER_PATH=$PWD/rt/layers
  else
    say "glibc $glibc < 2.38: Debian 12's Vulkan loader and validation layer 1.3.239 (older than the project's)"
    export LD_LIBRARY_PATH=$PWD/rt/old/lib:$PWD/rt/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export VK_LAYER_PATH=$PWD/rt/old/layers
  fi
  export EZIVK_SYSTEM_VULKAN=1
  nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if ! ./build/ezivk devices > /dev/null 2>&1 && [ -f "$nv" ]; then export VK_DRIVER_FILES=$nv; fi
fi
export EZIVK_CACHE_DIR=${EZIVK_CACHE_DIR:-/tmp/ezivk-gpu-cache}
export EZIVK_DEMO_DIR=$PWD/models/demo

say "== devices"
bounded 60 ./build/ezivk devices > "$out/devices.txt" 2>&1
say "$(grep -E '^\[|type|queue families|coopmat kernels|cooperative matrix' "$out/devices.txt")"

# The demo run (the README's) in the viewer, drawn continuously so the frame times are the device's, not the idle
# rate's: with the window on a queue of its own (where the device has a second) and on generation's. Then what the
# viewer costs generation: a text-to-image run of the demo model in the viewer and in `ezivk generate`, per step.
say "== viewer on the demo run (--offscreen, --idle-fps 0); text-to-image with and without the viewer"
for q in own shared; do
  extra=""
  [ $q = shared ] && extra="--shared-queue"
  bounded 150 ./build/ezivk-viewer --offscreen --window 1100x720 --select 0.5,0.55 --idle-fps 0 --idle-frames 60 \
    --dump-state "$out/viewer-$q.json" $extra > "$out/viewer-$q.log" 2>&1
  say "viewer ($q queue): exit $?"
done
t2i=(--model models/demo --prompt "a photo of a house on the grass" --seed 2103 --steps 25 --size 256x256)
bounded 120 ./build/ezivk-viewer --offscreen --window 1100x720 --idle-fps 0 "${t2i[@]}" \
  --dump-state "$out/viewer-t2i.json" > "$out/viewer-t2i.log" 2>&1
say "viewer (text-to-image): exit $?"
bounded 120 ./build/ezivk generate "${t2i[@]}" --out "$out/generate-t2i.png" --json "$out/generate-t2i.json" \
  > "$out/generate-t2i.log" 2>&1
say "generate (text-to-image): exit $?"
if [ -n "$py" ]; then
  "$py" - "$out" <<'PY' | tee -a "$summary"
import json, sys, os
out = sys.argv[1]
def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception as e:
        print(f"{name}: unreadable ({e})")
        return None
def frames(f, kind):
    return f"{f[kind]['mean']:.2f} ms mean / {f[kind]['max']:.2f} max ({f[kind]['count']})"
for q in ("own", "shared", "t2i"):
    j = load(f"viewer-{q}.json")
    if not j:
        continue
    f = j["frame_ms"]
    steps = j.get("step_seconds") or [0]
    later = steps[1:] or steps
    print(f"viewer {q}: queues '{j['queues']}'; {j['steps_done']} steps, {1000 * sum(later) / len(later):.2f} ms per "
          f"step after the first; frames while running {frames(f, 'while_running')}, after the run "
          f"{frames(f, 'while_idle')}, while loading {frames(f, 'while_loading')}")
g, v = load("generate-t2i.json"), load("viewer-t2i.json")
if g and v:
    alone = g["timings"]["seconds_per_step_after_first"]
    steps = v["step_seconds"][1:]
    with_viewer = sum(steps) / max(1, len(steps))
    print(f"text-to-image per step after the first: {1000 * alone:.2f} ms alone, {1000 * with_viewer:.2f} ms in the "
          f"viewer drawing continuously ({100 * (with_viewer / alone - 1):+.1f}%)")
PY
fi

say "== tests (validation layer on; the windowed viewer tests skip without Xvfb)"
filter=${EZIVK_CHECK_TESTS:-*}  # a gtest filter, to run fewer
[ $here = 1 ] && filter=${EZIVK_CHECK_TESTS:-'QueuePlan.*:ContextThreads.TheWindows*:PreviewRingTest.*:ViewerHeadless.Offscreen*'}
bounded 280 ./build/tests/ezivk_tests --gtest_filter="$filter" --gtest_brief=1 > "$out/tests.log" 2>&1
say "tests: exit $? ($(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$out/tests.log" | tr '\n' ' '))"
grep -E '^\[  FAILED  \]' "$out/tests.log" | head -20 | tee -a "$summary"

if [ $here = 0 ]; then
  say "== kernels (bench ops --quick)"
  bounded 120 ./build/ezivk bench ops --quick --out "$out/bench-ops.txt" > "$out/bench-ops.log" 2>&1
  say "bench ops: exit $?"
  tail -n 40 "$out/bench-ops.txt" 2>/dev/null >> "$summary"
fi
say "== done"
