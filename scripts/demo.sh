#!/usr/bin/env bash
# `make demo`: runs the README's quick start, exactly as written there, offline.
# The commands live in README.md between the quickstart markers; tests run this script,
# so the README cannot drift from what works.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export SPRINGBOARD_HOME="${SPRINGBOARD_HOME:-$PWD/.demo}"
export HF_HUB_OFFLINE=1
block=$(awk '/<!-- quickstart:start -->/{on=1; next} /<!-- quickstart:end -->/{on=0} on' README.md \
        | sed -e '/^```/d')
[ -n "$block" ] || { echo "no quick start block found in README.md" >&2; exit 1; }
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  printf '\n\033[1m$ %s\033[0m\n' "$line"
  eval "$line"
done <<< "$block"
printf '\nquick start finished\n'
