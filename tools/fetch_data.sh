#!/usr/bin/env bash
# Fetch the data sets the examples train on, verify them and unpack them where
# the examples look by default (data/ under the project root).
#
#   tools/fetch_data.sh cifar10|imdb|fashion-mnist|all [--dest DIR] [--mirror DIR]
#
# Sources, in order: a local mirror directory (--mirror DIR or NN_DATA_MIRROR=DIR)
# if one is given, otherwise the official URL (curl or wget). Fashion-MNIST is also
# taken from Debian's dataset-fashion-mnist package when it is installed.
# Every archive is checked against the checksum its publisher gives; a data set
# that is already unpacked and complete is left alone, so re-running is cheap.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=$ROOT/data
MIRROR=${NN_DATA_MIRROR:-}
FMNIST_SYSTEM_DIR=${NN_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
CONNECT_TIMEOUT=${NN_CONNECT_TIMEOUT:-10}

usage() {
    echo "usage: tools/fetch_data.sh cifar10|imdb|fashion-mnist|all [--dest DIR] [--mirror DIR]"
    echo "  --dest DIR     where to unpack (default: $ROOT/data)"
    echo "  --mirror DIR   copy archives/directories from DIR instead of downloading"
    echo "                 (same as NN_DATA_MIRROR=DIR)"
}
die()  { echo "fetch_data: error: $*" >&2; exit 1; }
note() { echo "fetch_data: $*"; }

# ---- portable hashing (coreutils on Linux, md5/shasum on macOS) ----
md5_of() {
    if command -v md5sum >/dev/null; then md5sum | cut -d' ' -f1; else md5 -q; fi
}
sha256_of() {
    if command -v sha256sum >/dev/null; then sha256sum | cut -d' ' -f1; else shasum -a 256 | cut -d' ' -f1; fi
}
# check_sum md5|sha256 FILE EXPECTED
check_sum() {
    local got
    note "verifying $2 ($1) ..."
    got=$("${1}_of" <"$2")
    [ "$got" = "$3" ] || die "checksum mismatch for $2
  expected $1 $3
  got      $1 $got
  The file is corrupt or not the expected archive; delete it and fetch again."
}
# Proxy archives in a mirror are checked against the mirror's own SHA256SUMS.
check_mirror_sum() {
    local file=$1 sums expected
    sums=$(dirname "$file")/SHA256SUMS
    if [ ! -f "$sums" ]; then
        note "warning: no SHA256SUMS next to $file; it is NOT verified"; return
    fi
    expected=$(awk -v f="$(basename "$file")" '$2 == f || $2 == "*" f { print $1 }' "$sums")
    [ -n "$expected" ] || { note "warning: $sums has no entry for $(basename "$file"); NOT verified"; return; }
    check_sum sha256 "$file" "$expected"
}

# download URL OUT: fail fast when offline (connect timeout), name the URL.
download() {
    local url=$1 out=$2
    note "downloading $url"
    # Progress bar only for a person watching; logs get just the errors.
    local quiet=-sS wquiet=-q
    if [ -t 2 ]; then quiet=--progress-bar; wquiet=--show-progress; fi
    if command -v curl >/dev/null; then
        curl -fL $quiet --connect-timeout "$CONNECT_TIMEOUT" --speed-limit 1024 --speed-time 60 \
             -o "$out.part" "$url" || dl_failed "$url" "$out"
    elif command -v wget >/dev/null; then
        wget $wquiet --connect-timeout="$CONNECT_TIMEOUT" --read-timeout=60 --tries=2 \
             -O "$out.part" "$url" || dl_failed "$url" "$out"
    else
        die "neither curl nor wget is installed; install one, or set NN_DATA_MIRROR=DIR"
    fi
    mv "$out.part" "$out"
}
dl_failed() {
    rm -f "$2.part"
    die "download failed: $1
  Are you offline? Put $(basename "$1") in a directory DIR and run with
  NN_DATA_MIRROR=DIR (or --mirror DIR) to copy from it instead."
}

# Everything is built in a scratch dir ($STAGE) inside DEST and moved into
# place only after it passed verification, so an interrupted or failed run
# never leaves a half-filled data set where the examples look.
STAGE=""
new_stage() { STAGE=$(mktemp -d "$DEST/.staging.XXXXXX"); }
unpack() {    # ARCHIVE: extract into the stage
    local flag=-xzf
    case $1 in *.xz) flag=-xJf ;; esac
    note "unpacking $(basename "$1") ..."
    tar -C "$STAGE" $flag "$1" || die "could not unpack $1"
}
copy_dir() {  # DIR: copy into the stage; -L because a mirror may hold symlinks
    note "copying $1 ..."
    cp -RL "$1" "$STAGE/"
}
promote() {   # NAME CHECK_FN WHAT: verify $STAGE/NAME, then move it to DEST/NAME
    "$2" "$STAGE/$1" || die "$1 from this source is incomplete (need $3)"
    rm -rf "${DEST:?}/$1"
    mv "$STAGE/$1" "$DEST/$1"
}
file_size() { wc -c <"$1" | tr -d ' '; }

# ---------------------------------------------------------------- CIFAR-10
CIFAR_URL=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
CIFAR_MD5=c32a1d4ab5d03f1284b67883e8d87530
CIFAR_FILES="data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin"

cifar_complete() {   # DIR: 6 files of 10000 records x (1 label + 3072 pixels)
    local f
    for f in $CIFAR_FILES; do
        [ -f "$1/$f" ] && [ "$(file_size "$1/$f")" = 30730000 ] || return 1
    done
}
fetch_cifar10() {
    local out=$DEST/cifar-10-batches-bin archive
    if cifar_complete "$out"; then
        note "cifar10: $out is complete, skipping"
        [ ! -f "$out/.jpeg75-proxy" ] || note "cifar10: (it holds the JPEG-75 proxy set, not the official one; delete it to replace it)"
        return
    fi
    [ ! -e "$out" ] || note "cifar10: $out is incomplete; fetching it again"
    new_stage
    if [ -n "$MIRROR" ]; then
        if [ -f "$MIRROR/cifar-10-binary.tar.gz" ]; then
            check_sum md5 "$MIRROR/cifar-10-binary.tar.gz" "$CIFAR_MD5"
            unpack "$MIRROR/cifar-10-binary.tar.gz"
        elif [ -f "$MIRROR/cifar10_jpeg75_bin.tar.xz" ]; then
            note "NOTE: using cifar10_jpeg75_bin.tar.xz, the JPEG-75 PROXY of CIFAR-10, not the"
            note "      official archive; pixels differ slightly. Report results as"
            note "      \"CIFAR-10 (JPEG-75 proxy)\"."
            check_mirror_sum "$MIRROR/cifar10_jpeg75_bin.tar.xz"
            unpack "$MIRROR/cifar10_jpeg75_bin.tar.xz"
            # remember the provenance, so later runs (and people) can tell
            echo "CIFAR-10 (JPEG-75 proxy) from cifar10_jpeg75_bin.tar.xz" >"$STAGE/cifar-10-batches-bin/.jpeg75-proxy"
        elif [ -d "$MIRROR/cifar-10-batches-bin" ]; then
            copy_dir "$MIRROR/cifar-10-batches-bin"
        else
            die "mirror $MIRROR has none of cifar-10-binary.tar.gz, cifar10_jpeg75_bin.tar.xz, cifar-10-batches-bin/"
        fi
    else
        archive=$DEST/cifar-10-binary.tar.gz    # kept until unpacked: a retry reuses it
        [ -f "$archive" ] || download "$CIFAR_URL" "$archive"
        check_sum md5 "$archive" "$CIFAR_MD5"
        unpack "$archive"
    fi
    promote cifar-10-batches-bin cifar_complete "$CIFAR_FILES, 30730000 bytes each"
    [ -z "${archive:-}" ] || rm -f "$archive"
    note "cifar10: ready in $out"
}

# ---------------------------------------------------------------- IMDb
IMDB_URL=https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz
IMDB_SHA256=c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe

imdb_complete() {    # DIR: 12500 reviews in each of the four labeled folders
    local d n
    for d in train/pos train/neg test/pos test/neg; do
        [ -d "$1/$d" ] || return 1
        n=$(find "$1/$d" -maxdepth 1 -name '*.txt' | wc -l | tr -d ' ')
        [ "$n" = 12500 ] || return 1
    done
}
fetch_imdb() {
    local out=$DEST/aclImdb archive
    if imdb_complete "$out"; then note "imdb: $out is complete, skipping"; return; fi
    [ ! -e "$out" ] || note "imdb: $out is incomplete; fetching it again"
    new_stage
    if [ -n "$MIRROR" ]; then
        if [ -f "$MIRROR/aclImdb_v1.tar.gz" ]; then
            check_sum sha256 "$MIRROR/aclImdb_v1.tar.gz" "$IMDB_SHA256"
            unpack "$MIRROR/aclImdb_v1.tar.gz"
        elif [ -f "$MIRROR/aclImdb_labeled.tar.gz" ]; then
            note "using aclImdb_labeled.tar.gz (labeled reviews only; no train/unsup)"
            check_mirror_sum "$MIRROR/aclImdb_labeled.tar.gz"
            unpack "$MIRROR/aclImdb_labeled.tar.gz"
        elif [ -d "$MIRROR/aclImdb" ]; then
            copy_dir "$MIRROR/aclImdb"
        else
            die "mirror $MIRROR has none of aclImdb_v1.tar.gz, aclImdb_labeled.tar.gz, aclImdb/"
        fi
    else
        archive=$DEST/aclImdb_v1.tar.gz
        [ -f "$archive" ] || download "$IMDB_URL" "$archive"
        check_sum sha256 "$archive" "$IMDB_SHA256"
        unpack "$archive"
    fi
    promote aclImdb imdb_complete "12500 .txt in each of train/pos train/neg test/pos test/neg"
    [ -z "${archive:-}" ] || rm -f "$archive"
    note "imdb: ready in $out"
}

# ---------------------------------------------------------------- Fashion-MNIST
FMNIST_URL=http://fashion-mnist.s3-website.eu-central-1.amazonaws.com
# name  md5-of-.gz (published by Zalando)  md5-of-contents  size-of-contents
# Content md5s matter because Debian re-gzips the files (different .gz bytes,
# identical contents); they are the values common loaders (torchvision-style) use.
FMNIST_TABLE="train-images-idx3-ubyte 8d4fb7e6c68d591d4c3dfef9ec88bf0d f4a8712d7a061bf5bd6d2ca38dc4d50a 47040016
train-labels-idx1-ubyte 25c81989df183df01b3e8a0aad5dffbe 9018921c3c673c538a1fc5bad174d6f9 60008
t10k-images-idx3-ubyte bef4ecab320f06d8554ea6380940ec79 8181f5470baa50b63fa0f6fddb340f0a 7840016
t10k-labels-idx1-ubyte bb300cfdad3c16e7a12a480ee83cd310 15d484375f8d13e6eb1aabb0c3f46965 10008"

fmnist_complete() {  # DIR: both the .gz and the raw IDX file, raw at its known size
    local name gz raw size
    while read -r name gz raw size; do
        [ -f "$1/$name.gz" ] && [ -f "$1/$name" ] || return 1
        [ "$(file_size "$1/$name")" = "$size" ] || return 1
    done <<<"$FMNIST_TABLE"
}
# A .gz is accepted if it is byte-identical to the published one, or (local
# copies only) if its decompressed contents match the published data.
fmnist_check_gz() {   # FILE GZ_MD5 RAW_MD5 ALLOW_REPACKED
    local got
    got=$(md5_of <"$1")
    [ "$got" = "$2" ] && return 0
    [ "$4" = yes ] || check_sum md5 "$1" "$2"          # dies with the mismatch
    got=$(gzip -dc "$1" | md5_of) || die "$1 is not a valid gzip file"
    [ "$got" = "$3" ] || die "checksum mismatch for $1 (neither the published .gz md5 $2
  nor the published contents md5 $3 matches)"
    note "  re-compressed copy (e.g. Debian's); its contents match the published data"
}
fetch_fashion_mnist() {
    local out=$DEST/fashion-mnist src="" d name gz raw size
    if fmnist_complete "$out"; then note "fashion-mnist: $out is complete, skipping"; return; fi
    for d in ${MIRROR:+"$MIRROR/fashion-mnist" "$MIRROR"} "$FMNIST_SYSTEM_DIR"; do
        if [ -f "$d/train-images-idx3-ubyte.gz" ] && [ -f "$d/train-labels-idx1-ubyte.gz" ] &&
           [ -f "$d/t10k-images-idx3-ubyte.gz" ] && [ -f "$d/t10k-labels-idx1-ubyte.gz" ]; then
            src=$d; break
        fi
    done
    if [ -z "$src" ] && [ -n "$MIRROR" ]; then
        die "mirror $MIRROR has no Fashion-MNIST .gz files (looked in $MIRROR/fashion-mnist and $MIRROR),
  and $FMNIST_SYSTEM_DIR does not have them either (Debian: apt-get install dataset-fashion-mnist)"
    fi
    [ -n "$src" ] && note "fashion-mnist: using local copy in $src"
    new_stage
    d=$STAGE/fashion-mnist
    mkdir "$d"
    while read -r name gz raw size; do
        if [ -n "$src" ]; then
            note "verifying $src/$name.gz ..."
            fmnist_check_gz "$src/$name.gz" "$gz" "$raw" yes
            cp "$src/$name.gz" "$d/$name.gz"
        else
            download "$FMNIST_URL/$name.gz" "$d/$name.gz"
            note "verifying $name.gz ..."
            fmnist_check_gz "$d/$name.gz" "$gz" "$raw" no
        fi
        # nn.h reads raw IDX files, not gzip: keep both.
        gzip -dc "$d/$name.gz" >"$d/$name"
        (cd "$d" && check_sum md5 "$name" "$raw")
    done <<<"$FMNIST_TABLE"
    promote fashion-mnist fmnist_complete "the four .gz files and their raw IDX contents"
    note "fashion-mnist: ready in $out"
}

# ---------------------------------------------------------------- main
SETS=()
while [ $# -gt 0 ]; do
    case $1 in
        cifar10|imdb|fashion-mnist) SETS+=("$1") ;;
        all) SETS+=(cifar10 imdb fashion-mnist) ;;
        --dest)   [ $# -ge 2 ] || die "--dest needs a directory"; DEST=$2; shift ;;
        --mirror) [ $# -ge 2 ] || die "--mirror needs a directory"; MIRROR=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
    shift
done
[ ${#SETS[@]} -gt 0 ] || { usage >&2; exit 2; }
[ -z "$MIRROR" ] || [ -d "$MIRROR" ] || die "mirror directory $MIRROR does not exist"
[ -z "$MIRROR" ] || MIRROR=$(cd "$MIRROR" && pwd)
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)

# Each set runs in its own subshell so that with "all" one failure (e.g. a
# missing mirror file) does not stop the others; the exit status reports it.
failed=()
for s in "${SETS[@]}"; do
    set +e
    ( set -e; trap 'rm -rf "$STAGE"' EXIT; "fetch_${s//-/_}" )
    rc=$?
    set -e
    [ $rc -eq 0 ] || failed+=("$s")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fetch_data: FAILED: ${failed[*]}" >&2
    exit 1
fi
