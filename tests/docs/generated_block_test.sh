#!/usr/bin/env bash
# A generated block of a document equals what its command makes of the committed data, so that no
# number in it was typed or edited by hand:
#   generated_block_test.sh DOC BLOCK COMMAND...
# compares the lines between `<!-- BLOCK:begin -->` and `<!-- BLOCK:end -->` of DOC with the
# standard output of COMMAND (run from the repository root), and prints the difference.
set -euo pipefail
cd "$(dirname "$0")/../.."
doc=$1 block=$2
shift 2
grep -qx "<!-- $block:begin -->" "$doc" || { echo "$doc: no block $block" >&2; exit 1; }
if ! diff -u <(sed -n "/^<!-- $block:begin -->\$/,/^<!-- $block:end -->\$/p" "$doc" | sed '1d;$d') \
  <("$@"); then
  echo "$doc: block $block differs from the output of: $*" >&2
  exit 1
fi
echo "$doc: block $block is the output of: $*"
