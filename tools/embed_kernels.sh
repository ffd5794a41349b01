#!/usr/bin/env bash
# Embeds kernels/*.cl into nn_opencl.h between its BEGIN KERNELS and
# END KERNELS lines: one C string per source line, common.cl first, then
# the others in name order, a table of which lines came from which file and
# nn__cl_sources, through which the code above the block reads them.
#   tools/embed_kernels.sh           rewrite nn_opencl.h
#   tools/embed_kernels.sh --check   exit 1 if nn_opencl.h is out of date
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
header=nn_opencl.h
files=(kernels/common.cl)
for f in kernels/*.cl; do [ "$f" = kernels/common.cl ] || files+=("$f"); done

block=$(mktemp)
out=$(mktemp)
trap 'rm -f "$block" "$out"' EXIT
{
    echo 'static const char *const nn__cl_source[] = {'
    for f in "${files[@]}"; do
        echo "/* $f */"
        # escape \ and ", break ?? (trigraphs), keep every line's newline
        sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/??/?\\?/g' -e 's/^/"/' -e 's/$/\\n",/' "$f"
    done
    echo '};'
    echo 'static const nn__cl_file nn__cl_files[] = {'
    first=0
    for f in "${files[@]}"; do
        n=$(wc -l <"$f")
        echo "  {\"$f\", $first, $n},"
        first=$((first + n))
    done
    echo '};'
    echo 'static const char *const *nn__cl_sources(size_t *count) {'
    echo '  *count = sizeof nn__cl_source / sizeof nn__cl_source[0];'
    echo '  return nn__cl_source;'
    echo '}'
} >"$block"

awk -v block="$block" '
    /^\/\* BEGIN KERNELS / { print; while ((getline line < block) > 0) print line; skip = 1; next }
    /^\/\* END KERNELS \*\/$/ { skip = 0 }
    !skip { print }
' "$header" >"$out"
grep -q '^/\* BEGIN KERNELS ' "$header" || { echo "embed_kernels: no BEGIN KERNELS line in $header" >&2; exit 1; }

if [ "${1:-}" = --check ]; then
    if cmp -s "$out" "$header"; then echo "embed_kernels: $header is up to date"
    else echo "embed_kernels: $header differs from kernels/*.cl; run tools/embed_kernels.sh" >&2; exit 1; fi
else
    cmp -s "$out" "$header" || cp "$out" "$header"
fi
