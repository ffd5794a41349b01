#!/usr/bin/env bash
# Before and after: tools/bench_opencl.c built against an older nn_opencl.h
# (default e029d51, before the one-launch recurrent steps; nn.h and the
# benchmark are this tree's) and against this tree's, both run in turn on
# every OpenCL device of PoCL and of Intel's CPU runtime (tools/intel_opencl.sh)
# in one run.  Prints per device the IMDb GRU step's tokens/s and the CNN
# step's images/s of both builds with their ratio (new / old), then each
# build's RESULT lines (launches, kernel creations, blocking reads per step).
# Writes its builds, logs and CSV under build/compare.
#   tools/bench_opencl_compare.sh [--old COMMIT] [--rounds N] [--only pocl|intel] [-- bench_opencl flags]
# Default flags: --steps-only --quick.  With --rounds N (default 1) the two
# builds alternate N times and the best of each device's times counts.
# Last line: RESULT compare ... gru_tokens_per_s_ratio_<device>=...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
old=e029d51 rounds=1 only=
while [ $# -gt 0 ]; do
    case $1 in
    --old) old=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--old COMMIT] [--rounds N] [--only pocl|intel] [-- bench_opencl flags]" >&2; exit 2 ;;
    esac
done
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(--steps-only --quick)
dir=build/compare
mkdir -p "$dir/old" "$dir/icd"
git show "$old:nn_opencl.h" >"$dir/old/nn_opencl.h"
# the ICD loader sees both implementations: PoCL where installed, Intel's runtime
rm -f "$dir"/icd/*.icd
if [ "$only" != intel ] && [ -e /etc/OpenCL/vendors/pocl.icd ]; then cp /etc/OpenCL/vendors/pocl.icd "$dir/icd/"; fi
if [ "$only" != pocl ]; then
    if intel=$(tools/intel_opencl.sh 2>"$dir/intel_opencl.log"); then cp "$intel"/*.icd "$dir/icd/"
    else echo "bench_opencl_compare: Intel's runtime is not installed (see $dir/intel_opencl.log)" >&2; fi
fi
[ -n "$(ls "$dir/icd")" ] || { echo "bench_opencl_compare: no OpenCL implementation found" >&2; exit 1; }
cc=${CC:-gcc}
cflags=(-O3 -march=native -fopenmp)
# ops this nn.h has and the old header does not (the build names them):
# their rows of the old header's op table name dense's, which they never
# reach (the benchmark's networks do not use them)
stand_in=()
for op in $(LC_ALL=C "$cc" "${cflags[@]}" -fsyntax-only -I"$dir/old" -I. tools/bench_opencl.c 2>&1 |
            sed -n "s/.*'nn__opencl_has_no_kernel_for_\([a-z0-9_]*\)' undeclared.*/\1/p" | sort -u); do
    stand_in+=("-Dnn__opencl_has_no_kernel_for_$op=nn__opencl_has_no_kernel_for_dense")
done
# -I order: the old header shadows this tree's nn_opencl.h; nn.h is this tree's
"$cc" "${cflags[@]}" "${stand_in[@]}" -I"$dir/old" -I. tools/bench_opencl.c -o "$dir/bench_old" -lOpenCL -lclblast -lm
"$cc" "${cflags[@]}" -I. tools/bench_opencl.c -o "$dir/bench_new" -lOpenCL -lclblast -lm
: >"$dir/old.txt"
: >"$dir/new.txt"
for ((r = 0; r < rounds; r++)); do
    for which in old new; do
        echo "round $((r + 1)): $which build" >&2
        OCL_ICD_VENDORS=$PWD/$dir/icd "$dir/bench_$which" "${flags[@]}" --csv "$dir/$which.csv" >"$dir/$which.log" 2>&1 ||
            { cat "$dir/$which.log" >&2; exit 1; }
        grep '^RESULT device=.*gru_step_launches=' "$dir/$which.log" >>"$dir/$which.txt"
    done
done
for which in old new; do echo "$which build (last round):"; grep '^RESULT device=' "$dir/$which.log"; done
python3 - "$dir/old.txt" "$dir/new.txt" <<'EOF'
import re, sys
def read(path):   # device -> RESULT fields, the best times over the rounds
    best = {}
    for line in open(path):
        f = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
        dev = f['device'].strip('"')
        if dev not in best or float(f['tokens_per_s']) > float(best[dev]['tokens_per_s']):
            best.setdefault(dev, {}).update({k: v for k, v in f.items() if k != 'images_per_s'})
        if 'images_per_s' not in best[dev] or float(f['images_per_s']) > float(best[dev]['images_per_s']):
            best[dev]['images_per_s'] = f['images_per_s']
    return best
old, new = read(sys.argv[1]), read(sys.argv[2])
print('%-44s %12s %12s %7s %11s %11s %7s' % ('device', 'old tok/s', 'new tok/s', 'ratio', 'old img/s', 'new img/s', 'ratio'))
summary = []
for dev in new:
    if dev not in old: continue
    o, n = old[dev], new[dev]
    rt = float(n['tokens_per_s']) / float(o['tokens_per_s'])
    ri = float(n['images_per_s']) / float(o['images_per_s'])
    print('%-44.44s %12.0f %12.0f %7.2f %11.1f %11.1f %7.2f' % (dev, float(o['tokens_per_s']), float(n['tokens_per_s']), rt,
          float(o['images_per_s']), float(n['images_per_s']), ri))
    for name, f in (('old', o), ('new', n)):
        print('  %s: gru_step_launches=%s gru_step_seq_len=%s gru_step_kernel_creations=%s cnn_step_launches=%s'
              ' cnn_step_kernel_creations=%s step_blocking_reads_max=%s' % (name, f['gru_step_launches'], f['gru_step_seq_len'],
              f['gru_step_kernel_creations'], f['cnn_step_launches'], f['cnn_step_kernel_creations'], f['step_blocking_reads_max']))
    key = re.sub(r'\W+', '_', dev).strip('_')
    summary.append('gru_tokens_per_s_ratio_%s=%.2f cnn_images_per_s_ratio_%s=%.2f' % (key, rt, key, ri))
print('RESULT compare ' + ' '.join(summary))
EOF
