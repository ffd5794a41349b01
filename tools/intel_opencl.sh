#!/usr/bin/env bash
# Intel's oneAPI OpenCL runtime for x86 CPUs, a second OpenCL implementation
# next to PoCL: the PyPI packages intel-opencl-rt and intel-cmplr-lib-rt in
# a virtual environment under build/intel-opencl (installed when missing),
# registered for the ICD loader by build/intel-opencl/vendors/intel.icd.
# Prints that directory, for OCL_ICD_VENDORS:
#   OCL_ICD_VENDORS=$(tools/intel_opencl.sh) build/test_opencl
# Exit status 1 when it cannot be installed (no network, no python3-venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=$PWD/build/intel-opencl
if [ ! -e "$dir/lib/libintelocl.so" ]; then
    rm -rf "$dir"
    python3 -m venv "$dir" >&2
    "$dir/bin/pip" install -q --disable-pip-version-check intel-opencl-rt intel-cmplr-lib-rt >&2
fi
mkdir -p "$dir/vendors"
echo "$dir/lib/libintelocl.so" >"$dir/vendors/intel.icd"
echo "$dir/vendors"
