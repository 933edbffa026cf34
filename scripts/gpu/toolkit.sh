#!/usr/bin/env bash
# Installs the CUDA 13.0 toolkit from NVIDIA's PyPI wheels into a folder outside the
# repository and prints the environment that `--features cuda` builds need, so that a
# machine with no GPU and no system CUDA (CI's included) can compile saar for one.
#
#   eval "$(scripts/gpu/toolkit.sh)"            # compiler and libraries: `cargo build`
#   eval "$(scripts/gpu/toolkit.sh --compile)"  # compiler only: enough for `cargo check`
#
# The folder is $SAAR_CUDA_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/saar-cuda/13.0.
# Each wheel is installed once (a marker file records it), so a second run only prints.
# Needs python3 with pip, a network path to PyPI on the first run, and for the full set
# a C compiler (the one cargo links with) to make the libcuda stub.
#
# Why CUDA 13.0: candle 0.11.1 takes cudarc 0.19.10, which accepts CUDA 11.4 to 13.4
# (it reads `nvcc --version`), and candle loads its kernels as PTX that the driver
# compiles when they load. A driver compiles PTX only up to its own CUDA version, and
# the lent H100/H200 machines run driver 580.159 (the CUDA 13.0 branch): PTX from a
# 13.1+ nvcc would be refused there. CUDA 13.0 needs driver >= 580.65.06 on Linux and a
# GPU of compute capability 7.5 (Turing) or newer.
#
# Layout quirks of the wheels, fixed up inside the folder (never in the repository):
# every wheel unpacks into nvidia/cu13/{bin,include,lib,nvvm}, which nvcc takes as its
# root as it is; the libraries ship only as versioned files (libcublas.so.13, no
# libcublas.so), so the linker's `-lcublas` needs the unversioned links made here; no
# wheel carries the driver library libcuda.so, which only an NVIDIA driver installs, so
# the link step gets a stub made here from cuda.h's declarations (lib/stubs/libcuda.so,
# soname libcuda.so.1, like the toolkit's own stub): a binary linked against it loads
# the real driver library on a GPU machine, and cannot start where none is installed.
set -euo pipefail

compile_only=false
case "${1:-}" in
    --compile) compile_only=true ;;
    "") ;;
    *)
        echo "toolkit.sh: unknown argument '$1'; use no argument (full toolkit) or --compile" >&2
        exit 2
        ;;
esac

cuda_version=13.0
dir="${SAAR_CUDA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/saar-cuda/$cuda_version}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
case "$dir/" in
    "$repo"/*)
        echo "toolkit.sh: $dir is inside the repository; set SAAR_CUDA_DIR to a folder outside it" >&2
        exit 1
        ;;
esac

# What `cargo check` runs: nvcc (with its front end crt, cicc in nvvm) on candle-kernels'
# sources, which include the runtime's headers and CCCL (thrust, cub).
compile_wheels=(
    nvidia-cuda-nvcc==13.0.88
    nvidia-cuda-crt==13.0.88
    nvidia-nvvm==13.0.88
    nvidia-cuda-runtime==13.0.96
    nvidia-cuda-cccl==13.0.85
)
# What the link adds: the libraries cudarc links (nvrtc, curand, cublas, cublasLt).
link_wheels=(
    nvidia-cuda-nvrtc==13.0.88
    nvidia-cublas==13.0.2.14
    nvidia-curand==10.4.0.35
)
wheels=("${compile_wheels[@]}")
$compile_only || wheels+=("${link_wheels[@]}")

root="$dir/nvidia/cu13"
mkdir -p "$dir/.installed"
missing=()
for wheel in "${wheels[@]}"; do
    [[ -e "$dir/.installed/$wheel" ]] || missing+=("$wheel")
done

if ((${#missing[@]})); then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        echo "toolkit.sh: python3 with pip is needed to fetch the CUDA wheels; install python3-pip" >&2
        exit 1
    fi
    echo "toolkit.sh: installing ${missing[*]} into $dir" >&2
    # pip refuses to add to an existing nvidia/ folder, so each set lands in a fresh
    # folder and is merged into the toolkit root.
    staging="$(mktemp -d "$dir/.staging.XXXXXX")"
    trap 'rm -rf "$staging"' EXIT
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-cache-dir --no-deps \
        --no-compile --only-binary=:all: --target "$staging" "${missing[@]}" >&2
    mkdir -p "$root"
    cp -a "$staging/nvidia/cu13/." "$root/"
    rm -rf "$staging"
    trap - EXIT
    for wheel in "${missing[@]}"; do
        touch "$dir/.installed/$wheel"
    done
fi

# Unversioned names for the linker (-lcudart, -lcublas, ...), and lib64 for tools that
# look there.
for lib in "$root"/lib/lib*.so.*; do
    name="$(basename "$lib")"
    link="$root/lib/${name%%.so.*}.so"
    [[ -e "$link" ]] || ln -s "$name" "$link"
done
[[ -e "$root/lib64" ]] || ln -s lib "$root/lib64"

if ! $compile_only && [[ ! -e "$root/lib/stubs/libcuda.so" ]]; then
    # Every cu* function cuda.h declares, in both its current (cuMemAlloc_v2) and its
    # legacy (cuMemAlloc) spellings, as a function that does nothing: the linker only
    # needs the names and the soname.
    cc="${CC:-cc}"
    stub="$(mktemp -d)"
    for legacy in "" "-D__CUDA_API_VERSION_INTERNAL"; do
        "$cc" -E -P $legacy -I"$root/include" -x c "$root/include/cuda.h"
    done | grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' | tr -d '( \t' | sort -u |
        sed 's/.*/int &(void) { return 999; }/' >"$stub/libcuda.c"
    mkdir -p "$root/lib/stubs"
    "$cc" -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$root/lib/stubs/libcuda.so" "$stub/libcuda.c"
    rm -rf "$stub"
fi

# The environment, as shell to eval: nvcc on PATH (candle-kernels' cudaforge and
# cudarc's version probe both look there), the root under the names cudarc and
# cudaforge read, the library folders for the link, and the GPU to build for (90 =
# H100/H200; cudaforge makes it sm_90a).
cat <<EOF
export CUDA_ROOT='$root'
export CUDA_PATH='$root'
export CUDA_HOME='$root'
export PATH='$root/bin':"\$PATH"
export LIBRARY_PATH='$root/lib:$root/lib/stubs'"\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
export CUDA_COMPUTE_CAP="\${CUDA_COMPUTE_CAP:-90}"
EOF
