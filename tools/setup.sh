#!/usr/bin/env bash
# Installs everything ezivk needs to build and test on Debian 12 (bookworm), idempotently.
# - Debian packages from bookworm (and Mesa 25's lavapipe from bookworm-backports).
# - A current glslc/glslang + Vulkan headers (GL_KHR_cooperative_matrix, VK_KHR_cooperative_matrix) from
#   trixie, unpacked into a private prefix (.deps/trixie) and never installed system-wide: they need
#   trixie's libc, so they run through the prefix's own loader via wrapper scripts in .deps/bin.
# - Mesa 26's lavapipe (VK_KHR_cooperative_matrix), trixie's Vulkan loader and validation layer, from
#   trixie-backports into a second private prefix (.deps/mesa); ezivk's programs run on it when the machine
#   has no better Vulkan driver (EZIVK_SYSTEM_VULKAN=1 keeps the system driver).
# Options: --with-python also installs python3-torch, numpy, PIL and the emoji font, which only the fixture and
# training tools (tools/fixtures, tools/train) need (a large download; the engine and its tests never use Python).
# --no-python is the default.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps="$here/.deps"
want_python=0
for a in "$@"; do
  case "$a" in
    --no-python) want_python=0 ;;
    --with-python) want_python=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$a' (expected --with-python or --no-python)" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

log() { printf '[setup] %s\n' "$*"; }

# --- 1. bookworm-backports for Mesa 25 (lavapipe with Vulkan 1.4, fp16, 16-bit storage) --------------------
bp_list=/etc/apt/sources.list.d/ezivk-bookworm-backports.sources
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  log "adding bookworm-backports to $bp_list"
  $SUDO tee "$bp_list" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $SUDO apt-get update -q
fi

pkgs=(build-essential cmake ninja-build pkg-config git ca-certificates xz-utils
      libvulkan-dev libvulkan1 vulkan-tools vulkan-validationlayers
      libglfw3-dev libimgui-dev libglm-dev libstb-dev nlohmann-json3-dev
      libgtest-dev libgmock-dev libbenchmark-dev xvfb x11-apps libicu-dev libpng-dev
      libjpeg62-turbo-dev libgif-dev clang libclang-rt-14-dev)
[ "$want_python" = 1 ] && pkgs+=(python3 python3-numpy python3-torch python3-pil libopenblas0-pthread fonts-noto-color-emoji)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
mesa_ver=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
need_mesa=1
case "$mesa_ver" in 2[5-9].*|[3-9][0-9].*) need_mesa=0 ;; esac

if [ ${#missing[@]} -gt 0 ] || [ "$need_mesa" = 1 ]; then
  log "installing: ${missing[*]} $( [ $need_mesa = 1 ] && echo 'mesa-vulkan-drivers(backports)')"
  $SUDO apt-get update -q
  [ ${#missing[@]} -gt 0 ] && $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$need_mesa" = 1 ]; then
    $SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports mesa-vulkan-drivers
  fi
else
  log "Debian packages already installed (mesa-vulkan-drivers $mesa_ver)"
fi

# --- 2. private trixie prefix: glslc/glslang with GL_KHR_cooperative_matrix, Vulkan 1.4 headers -------------
prefix="$deps/trixie"
stamp="$prefix/.complete-v1"
if [ ! -f "$stamp" ]; then
  log "provisioning trixie glslc + Vulkan headers into $prefix"
  rm -rf "$prefix" "$deps/apt"
  mkdir -p "$prefix" "$deps/apt/lists/partial" "$deps/apt/cache/archives/partial" "$deps/apt/debs"
  cat >"$deps/apt/sources.list" <<'SRC'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SRC
  aopt=(-o Dir::Etc::SourceList="$deps/apt/sources.list" -o Dir::Etc::SourceParts=-
        -o Dir::State::Lists="$deps/apt/lists" -o Dir::Cache="$deps/apt/cache"
        -o Dir::State::status=/var/lib/dpkg/status -o APT::Architecture=amd64)
  apt-get "${aopt[@]}" update -q
  ( cd "$deps/apt/debs" && apt-get "${aopt[@]}" download \
      glslang-tools glslc libshaderc1 spirv-tools libc6 libstdc++6 libgcc-s1 libvulkan-dev libvulkan1 )
  for d in "$deps"/apt/debs/*.deb; do dpkg-deb -x "$d" "$prefix"; done
  touch "$stamp"
fi
mkdir -p "$deps/bin"
for tool in glslc glslang spirv-val spirv-dis; do
  cat >"$deps/bin/$tool" <<W
#!/bin/sh
# Runs trixie's $tool through the private prefix's own loader (it needs trixie's libc).
p="$prefix"
exec "\$p/usr/lib64/ld-linux-x86-64.so.2" --library-path "\$p/usr/lib/x86_64-linux-gnu:\$p/lib/x86_64-linux-gnu" "\$p/usr/bin/$tool" "\$@"
W
  chmod +x "$deps/bin/$tool"
done

# --- 3. private Mesa 26 lavapipe (cooperative matrices on the CPU) from trixie-backports ---------------------
# bookworm's Mesa has no VK_KHR_cooperative_matrix. trixie-backports' lavapipe does, but it needs glibc >= 2.39,
# so it runs only inside a process started through the prefix's own loader: ezivk's programs re-execute
# themselves that way when the machine has no better Vulkan driver (engine/gpu/private_driver.cpp). The
# prefix also carries trixie's Vulkan loader and validation layer (bookworm's 1.3.239 layer does not know the
# cooperative-matrix structures). Nothing here touches the system. When the archive no longer offers Mesa >= 26
# with cooperative matrices, the manifest is not written and every program stays on the system driver.
mesa="$deps/mesa"
manifest="$mesa/ezivk-private-vulkan.txt"
# Returns 0 with the manifest written, 1 when the packages could not be had, 2 when what they hold is not
# Mesa >= 26 with cooperative matrices. It runs as an `if` condition, where bash ignores `set -e`: every
# step that can fail is checked by hand.
provision_private_mesa() {
  local ma="$deps/apt-mesa" r="$mesa/root"
  rm -rf "$mesa" "$ma"
  mkdir -p "$r" "$ma/lists/partial" "$ma/cache/archives/partial" "$ma/debs" || return 1
  cat >"$ma/sources.list" <<'SRC' || return 1
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main
SRC
  local mopt=(-o Dir::Etc::SourceList="$ma/sources.list" -o Dir::Etc::SourceParts=- -o Dir::State::Lists="$ma/lists"
              -o Dir::Cache="$ma/cache" -o Dir::State::status=/dev/null -o APT::Architecture=amd64
              -o APT::Architectures=amd64 -o APT::Default-Release=trixie-backports)
  apt-get "${mopt[@]}" update -q || return 1
  mesa_pkg=$(apt-cache "${mopt[@]}" policy mesa-vulkan-drivers 2>/dev/null | sed -n 's/^ *Candidate: //p') || return 1
  [ -n "$mesa_pkg" ] || return 1
  # The whole dependency closure (libc, LLVM, X/Wayland client libraries), as apt resolves it.
  local closure
  closure=$(apt-cache "${mopt[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
              --no-replaces --no-enhances mesa-vulkan-drivers vulkan-validationlayers vulkan-tools libvulkan1 2>/dev/null |
            grep -v '^[ <]' | sort -u) || return 1
  ( cd "$ma/debs" && apt-get "${mopt[@]}" download $closure ) || return 1
  local d
  for d in "$ma"/debs/*.deb; do dpkg-deb -x "$d" "$r" || return 1; done
  rm -rf "$ma/debs" "$ma/cache"
  local libs="$r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu"
  local lvp="$r/usr/share/vulkan/icd.d/lvp_icd.json" layer="$r/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json"
  [ -f "$lvp" ] && [ -f "$layer" ] && [ -x "$r/usr/lib64/ld-linux-x86-64.so.2" ] || return 2
  # Manifests with absolute library paths, so nothing depends on the loader's search path.
  mkdir -p "$mesa/icd.d" "$mesa/explicit_layer.d" || return 1
  sed "s#\"library_path\": \"libvulkan_lvp.so\"#\"library_path\": \"$r/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so\"#" \
    "$lvp" >"$mesa/icd.d/lvp_icd.json" || return 2
  sed "s#\"library_path\": \"libVkLayer_khronos_validation.so\"#\"library_path\": \"$r/usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so\"#" \
    "$layer" >"$mesa/explicit_layer.d/VkLayer_khronos_validation.json" || return 2
  # Check what the project needs: Mesa >= 26 and cooperative matrices, seen through trixie's vulkaninfo.
  local info mesa_major
  info=$(VK_DRIVER_FILES="$mesa/icd.d/lvp_icd.json" NODEVICE_SELECT=1 \
         "$r/usr/lib64/ld-linux-x86-64.so.2" --library-path "$libs" "$r/usr/bin/vulkaninfo" 2>/dev/null) || info=""
  driver_info=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*driverInfo *= *//p' | head -1)
  mesa_major=$(printf '%s' "$driver_info" | sed -n 's/^Mesa \([0-9]*\)\..*/\1/p')
  [ -n "$mesa_major" ] && [ "$mesa_major" -ge 26 ] && [[ "$info" == *VK_KHR_cooperative_matrix* ]] || return 2
  cat >"$manifest" <<MAN || return 1
# Written by tools/setup.sh after checking this lavapipe offers cooperative matrices. Read by ezivk's programs.
mesa_package=$mesa_pkg
driver_info=$driver_info
loader=$r/usr/lib64/ld-linux-x86-64.so.2
library_path=$libs
icd=$mesa/icd.d/lvp_icd.json
layer_path=$mesa/explicit_layer.d
MAN
  touch "$mesa/.complete-v1"
}
if [ "${EZIVK_SKIP_PRIVATE_MESA:-0}" = 1 ]; then
  log "EZIVK_SKIP_PRIVATE_MESA=1: not provisioning the private lavapipe"
elif [ -f "$mesa/.complete-v1" ] && [ -f "$manifest" ]; then
  log "private lavapipe already provisioned: $(sed -n 's/^driver_info=//p' "$manifest")"
else
  log "provisioning Mesa 26 lavapipe from trixie-backports into $mesa"
  mesa_pkg="" driver_info=""
  status=0
  provision_private_mesa || status=$?
  case $status in
    0) log "private lavapipe: $driver_info (package mesa-vulkan-drivers $mesa_pkg) with VK_KHR_cooperative_matrix" ;;
    1) rm -f "$manifest"
       log "WARNING: could not fetch Mesa 26 from trixie-backports; staying on the system Vulkan driver (setup retries next time)" ;;
    *) rm -f "$manifest"
       log "WARNING: trixie-backports' mesa-vulkan-drivers ${mesa_pkg:-?} reports '${driver_info:-nothing}', not Mesa >= 26 with VK_KHR_cooperative_matrix; staying on the system Vulkan driver" ;;
  esac
fi

# --- 4. verify the compiler handles cooperative matrices and lavapipe is visible -------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/t.comp" <<'GLSL'
#version 450
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer B { float16_t d[]; };
void main() {
  coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a;
  coopMatLoad(a, d, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
  coopMatStore(a, d, 256, 16, gl_CooperativeMatrixLayoutRowMajor);
}
GLSL
"$deps/bin/glslc" --target-env=vulkan1.3 -o "$tmp/t.spv" "$tmp/t.comp"
log "glslc OK ($("$deps/bin/glslc" --version | head -1)), GL_KHR_cooperative_matrix compiles"
test -f "$prefix/usr/include/vulkan/vulkan_core.h" && grep -q VK_KHR_cooperative_matrix "$prefix/usr/include/vulkan/vulkan_core.h"
log "Vulkan headers with VK_KHR_cooperative_matrix: $prefix/usr/include"
log "done"
