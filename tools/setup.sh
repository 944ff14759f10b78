#!/usr/bin/env bash
# Installs everything ezivk needs to build and test on Debian 12 (bookworm), idempotently.
# - Debian packages from bookworm (and Mesa 25's lavapipe from bookworm-backports).
# - A current glslc/glslang + Vulkan headers (GL_KHR_cooperative_matrix, VK_KHR_cooperative_matrix) from
#   trixie, unpacked into a private prefix (.deps/trixie) and never installed system-wide: they need
#   trixie's libc, so they run through the prefix's own loader via wrapper scripts in .deps/bin.
# Options: --with-python also installs python3-torch and numpy, which only the fixture tools that regenerate
# golden tensors need (a large download; the engine and its tests never use Python). --no-python is the default.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps="$here/.deps"
want_python=0
for a in "$@"; do
  case "$a" in
    --no-python) want_python=0 ;;
    --with-python) want_python=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
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
      libgtest-dev libgmock-dev libbenchmark-dev xvfb x11-apps libicu-dev libpng-dev)
[ "$want_python" = 1 ] && pkgs+=(python3 python3-numpy python3-torch)

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

# --- 3. verify the compiler handles cooperative matrices and lavapipe is visible -------------------------
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
