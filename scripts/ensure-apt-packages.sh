#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet.
# Used by `make` and `.ci/run`; says plainly what to do when it cannot install them itself.
set -euo pipefail

missing=()
for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: Ketenhub needs these Debian packages (or their equivalents): ${missing[*]}" >&2
    echo "       this machine has no apt-get; install them with its package manager." >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "       installing them needs root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "Installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
    # A fresh machine may have no package lists yet.
    "${sudo[@]}" apt-get update -q
    if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
        echo "error: apt-get could not install: ${missing[*]}" >&2
        exit 1
    fi
fi
