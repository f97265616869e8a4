#!/usr/bin/env bash
# Builds, checks and times the CUDA backend in one run (docs/cuda.md); the
# last thing it prints is a short table of CPU against GPU figures.
#
#   scripts/gpu-check.sh --build   on a machine with nvcc and the Debian
#                                  packages: configure and build build/cuda
#                                  (cuda_test, two_phase_test,
#                                  fgbi_cuda_bench) and copy the
#                                  shared libraries they need beside them
#   scripts/gpu-check.sh           on a GPU machine: build first if
#                                  build/cuda is missing and a toolchain is
#                                  present, then run the CUDA tests (a skip
#                                  counts as a failure) and the benchmark
#
# Options: --gib N (GiB of pages the benchmark identifies, default 4),
# --build-dir DIR (default build/cuda). The full logs go to $OUT where it is
# set (the device machine's result folder), else to DIR/logs.
# Exit status: 0 all passed; 1 a test or check failed, or a program ran past
# its 300 s limit; 2 nothing to run.
set -uo pipefail
cd "$(dirname "$0")/.."

build_dir=build/cuda
gib=4
build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build_only=1 ;;
    --gib) gib="$2"; shift ;;
    --build-dir) build_dir="$2"; shift ;;
    *) echo "usage: $0 [--build] [--gib N] [--build-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done
test_bin="$build_dir/tests/cuda_test"
capture_bin="$build_dir/tests/two_phase_test"
bench_bin="$build_dir/bench/fgbi_cuda_bench"
libs_dir="$build_dir/runtime-libs"

build() {
  echo "== build: $build_dir =="
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DFGBI_WITH_CUDA=ON \
        -DFGBI_BUILD_CLI=OFF >/dev/null || return 1
  cmake --build "$build_dir" -j"$(nproc)" --target cuda_test two_phase_test fgbi_cuda_bench || {
    echo "build failed (is nvcc on PATH? cmake says whether the CUDA backend is enabled)" >&2
    return 1
  }
  # The GPU machine has the CUDA driver and glibc but not every library the
  # binaries link (libhwy has no static archive in Debian): ship them along.
  mkdir -p "$libs_dir"
  ldd "$test_bin" "$capture_bin" "$bench_bin" | awk '/=> \// { print $3 }' | sort -u |
    grep -Ev '/(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+)\.so' |
    while read -r lib; do cp -L "$lib" "$libs_dir/"; done
  echo "built; runtime libraries in $libs_dir: $(ls "$libs_dir" | tr '\n' ' ')"
}

if [ "$build_only" = 1 ]; then
  build
  exit $?
fi
if [ ! -x "$test_bin" ] || [ ! -x "$bench_bin" ]; then
  if command -v nvcc >/dev/null && command -v cmake >/dev/null; then
    build || exit 1
  else
    echo "no $test_bin / $bench_bin and no toolchain to build them:" \
         "run 'scripts/gpu-check.sh --build' where nvcc is, and bring $build_dir" >&2
    exit 2
  fi
fi

export LD_LIBRARY_PATH="$PWD/$libs_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ldd "$test_bin" "$bench_bin" | grep -q "not found"; then
  echo "missing shared libraries:" >&2
  ldd "$test_bin" "$bench_bin" | grep "not found" >&2
  exit 2
fi

log_dir="${OUT:-$build_dir/logs}"
mkdir -p "$log_dir"
echo "== GPU =="
nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.max,pcie.link.width.max \
           --format=csv,noheader 2>&1 || echo "(nvidia-smi not available)"
echo "host: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"

echo "== tests: $test_bin =="
start=$SECONDS
FGBI_REQUIRE_CUDA=1 timeout 300 "$test_bin" --gtest_brief=1 2>&1 | tee "$log_dir/cuda_test.log"
test_status=${PIPESTATUS[0]}
passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\.$/\1/p' "$log_dir/cuda_test.log")
failed=$(grep -c '^\[  FAILED  \] .*([0-9]* ms)$' "$log_dir/cuda_test.log")
test_line="${passed:-0} passed, $failed failed"
echo "tests took $((SECONDS - start)) s"

echo "== capture and golden vectors on the CUDA backend: $capture_bin =="
FGBI_REQUIRE_CUDA=1 timeout 300 "$capture_bin" --gtest_brief=1 --gtest_filter='*cuda*' 2>&1 |
  tee "$log_dir/two_phase_test.log"
capture_status=${PIPESTATUS[0]}
if grep -q '^\[  SKIPPED \]' "$log_dir/two_phase_test.log"; then capture_status=1; fi

echo "== benchmark: $bench_bin --gib $gib =="
start=$SECONDS
timeout 300 "$bench_bin" --gib "$gib" 2>&1 | tee "$log_dir/cuda_bench.log" | sed '/^== fgbi CUDA identify/,$d'
bench_status=${PIPESTATUS[0]}
echo "benchmark took $((SECONDS - start)) s"

echo
echo "cuda_test: $test_line (exit $test_status); two_phase_test (cuda) exit $capture_status;" \
     "fgbi_cuda_bench exit $bench_status"
sed -n '/^== fgbi CUDA identify/,$p' "$log_dir/cuda_bench.log"
[ "$test_status" = 0 ] && [ "$capture_status" = 0 ] && [ "$bench_status" = 0 ]
