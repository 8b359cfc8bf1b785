#!/usr/bin/env bash
# Build the environment Binder would build, as repo2docker does for a pip
# project with a binder/ folder: a fresh Python environment, then, from the
# repository root, `pip install -r binder/requirements.txt`, then binder/postBuild.
# Usage: bash browser/binder_env.sh [VENV]   (default _build/binder-venv)
# pip's download/wheel cache is reused, so a second build is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-_build/binder-venv}
if [ ! -x "$venv/bin/jupyter-lab" ] || [ binder/requirements.txt -nt "$venv/.done" ] || [ requirements.txt -nt "$venv/.done" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r binder/requirements.txt
  PATH="$PWD/$venv/bin:$PATH" bash binder/postBuild
  touch "$venv/.done"
fi
echo "$venv"
