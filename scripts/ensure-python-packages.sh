#!/usr/bin/env bash
# Installs the Python packages the contract tests need when they cannot be imported.
# Arguments are module[:pip-package] pairs, for example yaml:pyyaml.
set -euo pipefail
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
    "$(dirname "$0")/ensure-apt-packages.sh" python3 python3-pip
fi
missing=()
for pair in "$@"; do
    module=${pair%%:*}
    package=${pair#*:}
    "$python" -c "import $module" 2>/dev/null || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing missing Python packages: ${missing[*]}"
if ! "$python" -m pip install --quiet "${missing[@]}"; then
    # Debian's own Python refuses pip outside a virtual environment unless told otherwise.
    "$python" -m pip install --quiet --break-system-packages "${missing[@]}" || {
        echo "error: could not install the Python packages ${missing[*]}; install them with pip" >&2
        exit 1
    }
fi
