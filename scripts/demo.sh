#!/usr/bin/env bash
# `make demo`: runs the README's quick start, exactly as written there, offline.
# The commands live in README.md between the quickstart markers; tests run this script,
# so the README cannot drift from what works.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf out/summarize out/in-context out/qg-loss.png out/invocation out/sc  # the quick start writes its outputs here
export PATH="$PWD/.venv/bin:$PATH"
# A fresh home per run unless you pick one, so a run never trips over an earlier one.
export SPRINGBOARD_HOME="${SPRINGBOARD_HOME:-$(mktemp -d "${TMPDIR:-/tmp}/springboard-demo.XXXXXX")}"
cleanup() {  # never leave an endpoint process behind, even when a step fails
  springboard endpoints list --json 2>/dev/null \
    | python3 -c 'import json,sys; [print(e["name"]) for e in json.load(sys.stdin)]' \
    | while read -r name; do springboard endpoints delete "$name" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
export HF_HUB_OFFLINE=1
block=$(awk '/<!-- quickstart:start -->/{on=1; next} /<!-- quickstart:end -->/{on=0} on' README.md \
        | sed -e '/^```/d')
[ -n "$block" ] || { echo "no quick start block found in README.md" >&2; exit 1; }
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  printf '\n\033[1m$ %s\033[0m\n' "$line"
  eval "$line"
done <<< "$block"
printf '\nquick start finished (state in %s)\n' "$SPRINGBOARD_HOME"
