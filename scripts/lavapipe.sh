#!/usr/bin/env bash
# Fetches Mesa's lavapipe (a CPU Vulkan driver that has shader-f16) for the f16 tests, into
# .cache/lavapipe/, and writes .cache/lavapipe/icd.json pointing at it; test/f16Gpu.ts opens a
# Dawn instance on that file. Nothing is registered system-wide, so every other test keeps the
# SwiftShader driver CI pins.
#
# Debian bookworm's own lavapipe (Mesa 22.3) is refused by Dawn; bookworm-backports' (Mesa 25)
# works and links bookworm's own libLLVM-15. The package is fetched with a private apt
# configuration under the cache folder (its own sources list and package lists), so the
# machine's apt sources stay as they are; only missing runtime libraries of the driver are
# installed from the machine's own sources, which needs root or sudo.
#
# Idempotent: a second run finds the driver and does nothing. When the driver cannot be had
# (another OS or architecture, no network, no root), it says why and exits 0: the f16 tests then
# skip with the same kind of message, and the f32 path is still tested everywhere.
set -uo pipefail
cd "$(dirname "$0")/.."

DIR=.cache/lavapipe
ROOT_DIR="$PWD/$DIR/root"
LIB="$ROOT_DIR/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"
ICD="$DIR/icd.json"
SUITE=bookworm-backports

unavailable() {
  echo "lavapipe.sh: $1 — the shader-f16 tests will be skipped." >&2
  exit 0
}

# The ICD file is written last, so its presence means the driver was extracted and links.
if [ -f "$ICD" ] && [ -f "$LIB" ]; then
  echo "lavapipe.sh: already present ($ICD)"
  exit 0
fi

[ "$(uname -m)" = x86_64 ] || unavailable "this fetches the amd64 package, and this machine is $(uname -m)"
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
[ "$codename" = bookworm ] || unavailable "this fetches Debian bookworm-backports' Mesa, and this system is '${codename:-unknown}'"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || unavailable "apt-get and dpkg-deb are missing"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || unavailable "the Debian archive keyring ($keyring) is missing"

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); else sudo_cmd=(none); fi
fi

apt_dir="$PWD/$DIR/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/sources.list.d" "$DIR/debs"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian $SUITE main" >"$apt_dir/sources.list"
# Only this sources list and these package lists: the machine's apt state is not touched, and
# no lock is needed. Downloads run as the calling user (the _apt sandbox user cannot write here).
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache::Archives=$apt_dir/archives"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=$(id -un)"
)

echo "lavapipe.sh: fetching the $SUITE package list"
apt-get "${apt_opts[@]}" -qq update >"$DIR/apt.log" 2>&1 || unavailable "apt-get update for $SUITE failed (see $DIR/apt.log)"
echo "lavapipe.sh: downloading mesa-vulkan-drivers from $SUITE"
rm -f "$DIR"/debs/*.deb
(cd "$DIR/debs" && apt-get "${apt_opts[@]}" -qq download -t "$SUITE" mesa-vulkan-drivers) >>"$DIR/apt.log" 2>&1 ||
  unavailable "apt-get download mesa-vulkan-drivers failed (see $DIR/apt.log)"
deb=$(ls "$DIR"/debs/mesa-vulkan-drivers_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || unavailable "no mesa-vulkan-drivers package was downloaded"

rm -rf "$ROOT_DIR"
dpkg-deb -x "$deb" "$ROOT_DIR" || unavailable "could not unpack $deb"
[ -f "$LIB" ] || unavailable "$deb holds no libvulkan_lvp.so"
echo "lavapipe.sh: unpacked $(basename "$deb") into $ROOT_DIR"

# The driver's own dependencies (libLLVM-15, xcb, wayland…) under their bookworm names, without
# versions: the backports build asks for newer libdrm in its metadata but runs on bookworm's.
missing=()
for pkg in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/(.*)//' -e 's/|.*//' -e 's/ //g'); do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "${sudo_cmd[0]:-}" = none ] && unavailable "the driver needs ${missing[*]}, and installing them needs root or passwordless sudo"
  echo "lavapipe.sh: installing the driver's runtime libraries: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq >>"$DIR/apt.log" 2>&1
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$DIR/apt.log" 2>&1 ||
    unavailable "could not install ${missing[*]} (see $DIR/apt.log)"
fi
if unresolved=$(ldd "$LIB" | grep 'not found'); then
  unavailable "libvulkan_lvp.so does not link: $unresolved"
fi

api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$ROOT_DIR"/usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -n 1)
cat >"$ICD" <<EOF
{
  "file_format_version": "1.0.0",
  "ICD": { "library_path": "$LIB", "api_version": "${api:-1.3.0}" }
}
EOF
echo "lavapipe.sh: wrote $ICD"
