#!/usr/bin/env bash
# Publishes the results of a `catapult reproduce` run into docs/reproduction.md: the generated
# REPORT.md replaces the part between the GENERATED markers, and the figures are copied to
# docs/reproduction/<experiment>/. Numbers are never edited by hand: rerun this after a run.
# Usage: scripts/publish_reproduction.sh [results-dir]   (default: results)
set -euo pipefail
cd "$(dirname "$0")/.."
results="${1:-results}"
doc=docs/reproduction.md
[[ -f "$results/REPORT.md" ]] || { echo "publish: no $results/REPORT.md (run catapult reproduce first)" >&2; exit 1; }
grep -q '<!-- BEGIN GENERATED -->' "$doc" || { echo "publish: markers missing in $doc" >&2; exit 1; }
rm -rf docs/reproduction
for dir in "$results"/*/; do
  name="$(basename "$dir")"
  [[ -f "$dir/section.md" ]] || continue
  mkdir -p "docs/reproduction/$name"
  cp "$dir"/*.png "docs/reproduction/$name/" 2>/dev/null || true
  cp "$dir"/meta.json "docs/reproduction/$name/"
done
# Report body without its title line, with figure links pointing into docs/reproduction/.
body="$(mktemp)"
tail -n +2 "$results/REPORT.md" |
  sed -E -e 's#\]\(([a-z]+)/([^)]+\.png)\)#](reproduction/\1/\2)#g' -e 's/^## /### /' > "$body"
out="$(mktemp)"
awk -v body="$body" '
  /<!-- BEGIN GENERATED -->/ { print; while ((getline line < body) > 0) print line; skip = 1; next }
  /<!-- END GENERATED -->/ { skip = 0 }
  !skip { print }
' "$doc" > "$out"
mv "$out" "$doc"
rm -f "$body"
echo "publish: $doc updated from $results/REPORT.md"
