#!/usr/bin/env bash
# Real-browser tests of the built book (run by .ci/run after the book build,
# inside the activated .venv, which has playwright from requirements.txt):
#   1. every page of _build/html in headless Chromium, CDN files served from
#      local copies of their npm packages (browser/test_pages.py);
#   2. Binder emulated: JupyterLab from binder/ opens a chapter's launch URL
#      (browser/test_binder.py).
# Uses Debian's chromium (installed here when missing; CI runs as root) and
# never `playwright install`. Screenshots go to _build/screens/.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
lap() { echo "--- browser: $1 after $(( $(date +%s) - t0 )) s"; }

if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
lap "chromium $(chromium --version 2>/dev/null | awk '{print $2}')"

assets=$(mktemp -d)
trap 'rm -rf "$assets"' EXIT
(
  cd "$assets"
  npm pack --silent mathjax@3 @jupyter-widgets/html-manager@1 requirejs@2 >/dev/null 2>&1
  for t in *.tgz; do
    case $t in mathjax-*) d=mathjax ;; jupyter-widgets-html-manager-*) d=html-manager ;; requirejs-*) d=requirejs ;; *) continue ;; esac
    mkdir -p "$d" && tar xzf "$t" -C "$d" --strip-components=1 && rm "$t"
  done
)
lap "npm copies of mathjax, html-manager, requirejs"

venv=$(bash browser/binder_env.sh | tail -n 1)
lap "Binder environment $venv"

set +e
BOOK_ASSETS=$assets BINDER_VENV=$venv CHROMIUM=$(command -v chromium) \
  python -m pytest browser -q -s -p no:cacheprovider
status=$?
set -e
lap "pytest browser (exit $status)"
exit "$status"
