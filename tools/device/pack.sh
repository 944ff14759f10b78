#!/usr/bin/env bash
# Packs what a lent GPU machine needs to run tools/device/gpu_checks.sh into .gpu/bundle.tar.xz (ignored by git; the
# device tool's `carry` takes it there with the working tree): the built programs, the shared libraries they load
# that a bare machine may lack (copied from this machine, the C and C++ runtimes left to the machine's newer ones),
# the Vulkan loader and the Khronos validation layer of the private prefix. Compressed, so the working tree and the
# bundle stay under the tool's 64 MiB.
#
#   bash tools/device/pack.sh        # after building (cmake --build build)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/build/tests" "$stage/rt/lib" "$stage/rt/layers"
for b in build/ezivk build/ezivk-viewer build/tests/ezivk_tests; do
  [ -x "$b" ] || { echo "pack.sh: $b is missing: build first (cmake --build build)" >&2; exit 1; }
  cp "$b" "$stage/$b"
done
# Every library the programs load, except the loader-level runtimes (libc and friends, libstdc++, libgcc) whose newer
# versions on the machine serve these programs too; the Vulkan loader comes from the private prefix below.
for b in build/ezivk build/ezivk-viewer build/tests/ezivk_tests; do ldd "$b"; done |
  awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
  grep -v -E '/(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|ld-linux[^/]*|libvulkan)\.so' |
  while read -r lib; do cp -L "$lib" "$stage/rt/lib/"; done
# (GLFW's optional X libraries, which it opens only at run time, are not packed: the checks run the viewer --offscreen.)
loader=.deps/trixie/usr/lib/x86_64-linux-gnu/libvulkan.so.1
layer=.deps/mesa/root/usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so
manifest=.deps/mesa/root/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
old_loader=/usr/lib/x86_64-linux-gnu/libvulkan.so.1
old_layer=/usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so
old_manifest=/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
for f in "$loader" "$layer" "$manifest" "$old_loader" "$old_layer" "$old_manifest"; do
  [ -e "$f" ] || { echo "pack.sh: $f is missing: run tools/setup.sh first" >&2; exit 1; }
done
cp -L "$loader" "$stage/rt/lib/libvulkan.so.1"
cp -L "$layer" "$manifest" "$stage/rt/layers/"
# The prefix's loader and layer need glibc 2.38; for a machine with an older C library, Debian 12's own (1.3.239,
# which predates VK_KHR_cooperative_matrix's validation) as a fallback the checks report when they take it.
mkdir -p "$stage/rt/old/lib" "$stage/rt/old/layers"
cp -L "$old_loader" "$stage/rt/old/lib/"
cp -L "$old_layer" "$old_manifest" "$stage/rt/old/layers/"
git rev-parse HEAD > "$stage/rt/commit"
echo "$root" > "$stage/rt/source_dir"  # the tests name their fixtures by this checkout's absolute path
mkdir -p .gpu
tar -C "$stage" -cJf .gpu/bundle.tar.xz build rt
ls -l .gpu/bundle.tar.xz
echo "pack.sh: built from $(cat "$stage/rt/commit"); send it with: carry [\".gpu\"], command \"bash tools/device/gpu_checks.sh\""
