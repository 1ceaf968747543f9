#!/usr/bin/env bash
# Installs every build, test and sample dependency from Debian packages (and the npm test
# servers). Idempotent: does nothing when everything is present. Needs root (or sudo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates procps util-linux
  nlohmann-json3-dev libcli11-dev libboost-dev libssl-dev libcurl4-openssl-dev zlib1g-dev
  libarchive-dev
  openmpi-bin libopenmpi-dev
  libtorch-dev libopenblas0-serial python3 python3-dev python3-torch python3-torchvision python3-mpi4py pybind11-dev
  awscli pigz librsvg2-bin dataset-fashion-mnist libpugixml-dev
  nodejs npm
)
backports_packages=(libcatch2-dev)  # Catch2 v3 lives in bookworm-backports

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

missing=()
for p in "${packages[@]}" "${backports_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may carry its own node/npm outside dpkg; accept that instead of the Debian ones.
if command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo 'deb http://deb.debian.org/debian bookworm-backports main' |
      "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/smp-local-backports.list >/dev/null
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  main_missing=() bp_missing=()
  for p in "${missing[@]}"; do
    if [[ " ${backports_packages[*]} " == *" $p "* ]]; then bp_missing+=("$p"); else main_missing+=("$p"); fi
  done
  [ ${#main_missing[@]} -eq 0 ] || "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${main_missing[@]}"
  [ ${#bp_missing[@]} -eq 0 ] || "${sudo_cmd[@]}" apt-get install -y -q -t bookworm-backports "${bp_missing[@]}"
fi

# npm test servers (S3), installed into the project's own folder from its lock file.
if [ -f "$here/s3/package.json" ] && [ ! -d "$here/s3/node_modules" ]; then
  (cd "$here/s3" && npm ci --no-audit --no-fund --loglevel=error)
fi
