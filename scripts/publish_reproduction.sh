#!/usr/bin/env bash
# Publishes the results of a `catapult reproduce` run into docs/reproduction.md: the generated
# REPORT.md replaces the part between the markers of its protocol (quick or full), and the
# figures with their CSV data and gnuplot scripts, and the meta.json files, are copied to
# docs/reproduction/<protocol>/<experiment>/. Numbers
# are never edited by hand: rerun this after a run.
# Usage: scripts/publish_reproduction.sh [results-dir] [quick|full]   (default: results quick)
set -euo pipefail
cd "$(dirname "$0")/.."
results="${1:-results}"
mode="${2:-quick}"
doc=docs/reproduction.md
[[ "$mode" == quick || "$mode" == full ]] || { echo "publish: mode must be quick or full" >&2; exit 2; }
[[ -f "$results/REPORT.md" ]] || { echo "publish: no $results/REPORT.md (run catapult reproduce first)" >&2; exit 1; }
grep -q "<!-- BEGIN GENERATED $mode -->" "$doc" || { echo "publish: $mode markers missing in $doc" >&2; exit 1; }
rm -rf "docs/reproduction/$mode"
for dir in "$results"/*/; do
  name="$(basename "$dir")"
  [[ -f "$dir/section.md" ]] || continue
  mkdir -p "docs/reproduction/$mode/$name"
  # Each figure with the data and gnuplot script that draw it (`gnuplot name.gp` re-renders it).
  for f in "$dir"/*.png "$dir"/*.gp "$dir"/*.csv; do
    [[ -f "$f" ]] && cp "$f" "docs/reproduction/$mode/$name/"
  done
  cp "$dir"/meta.json "docs/reproduction/$mode/$name/"
done
# Report body without its title line, headings one level down, figure links into docs/.
body="$(mktemp)"
tail -n +2 "$results/REPORT.md" |
  sed -E -e "s#\\]\\(([a-z-]+)/([^)]+\\.png)\\)#](reproduction/$mode/\\1/\\2)#g" -e 's/^### /##### /' -e 's/^## /#### /' > "$body"
out="$(mktemp)"
awk -v body="$body" -v begin="<!-- BEGIN GENERATED $mode -->" -v end="<!-- END GENERATED $mode -->" '
  $0 == begin { print; while ((getline line < body) > 0) print line; skip = 1; next }
  $0 == end { skip = 0 }
  !skip { print }
' "$doc" > "$out"
mv "$out" "$doc"
rm -f "$body"
echo "publish: $doc ($mode) updated from $results/REPORT.md"
