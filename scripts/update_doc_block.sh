#!/usr/bin/env bash
# Replaces the lines between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in FILE with the
# contents of CONTENT_FILE (so figures in docs/ are written by the command that measures them).
#   scripts/update_doc_block.sh FILE NAME CONTENT_FILE
set -euo pipefail
file=$1 name=$2 content=$3
grep -q "<!-- $name:begin -->" "$file" || { echo "no block '$name' in $file" >&2; exit 1; }
awk -v name="$name" -v content="$content" '
  $0 == "<!-- " name ":begin -->" { print; while ((getline line < content) > 0) print line; skip = 1; next }
  $0 == "<!-- " name ":end -->" { skip = 0 }
  !skip { print }' "$file" >"$file.tmp"
mv "$file.tmp" "$file"
