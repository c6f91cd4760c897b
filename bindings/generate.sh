#!/usr/bin/env bash
# Regenerates bindings/src from native/include/clif.h with jextract and records how in bindings/PROVENANCE.
# Usage (from the repository root): bash bindings/generate.sh /path/to/jextract
set -euo pipefail
jextract=${1:?usage: bindings/generate.sh /path/to/jextract}
cd "$(dirname "$0")/.."
header=native/include/clif.h

# Only what clif.h itself declares (not stdint.h's typedefs): ask jextract for the symbol list first.
includes=$(mktemp)
trap 'rm -f "$includes" "$includes.args"' EXIT
"$jextract" --dump-includes "$includes" "$header" >/dev/null
grep -E "^--include-[a-z]+ [A-Za-z0-9_]+ +# header: .*/native/include/clif.h$" "$includes" \
  | awk '{print $1; print $2}' > "$includes.args"

rm -rf bindings/src
"$jextract" @"$includes.args" @bindings/jextract.args

{
  echo "# Generated bindings: where they come from. Never edit bindings/src by hand; run"
  echo "#   make bindings JEXTRACT=/path/to/jextract"
  echo "jextract-version: $("$jextract" --version 2>&1 | head -1)"
  echo "jextract-details: $("$jextract" --version 2>&1 | tail -n +2 | paste -sd ';' -)"
  echo "command: jextract @<clif.h symbols from --dump-includes> @bindings/jextract.args"
  echo "header: $header"
  echo "header-sha256: $(sha256sum "$header" | cut -d' ' -f1)"
} > bindings/PROVENANCE
echo "bindings regenerated; PROVENANCE:"
cat bindings/PROVENANCE
