#!/usr/bin/env bash
# Rebuilds the editor into a temporary directory and compares it with the committed dist/.
# Exit 0: dist/ is up to date. Exit 1: it differs (run `npm run build` in web/ and commit).
# Needs node_modules (npm ci in web/).
set -euo pipefail
cd "$(dirname "$0")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
node build.mjs --outdir "$tmp/dist" >/dev/null
if ! diff -r "$tmp/dist" dist >"$tmp/diff.txt" 2>&1; then
  echo "web/dist is stale: run 'npm run build' in web/ and commit the result" >&2
  head -c 2000 "$tmp/diff.txt" | cut -c1-300 >&2
  exit 1
fi
echo "web/dist is up to date"
