#!/usr/bin/env bash
# The full benchmark of docs/performance.md: every workload, ours against PyTorch and JAX where
# installed, 3 interleaved rounds; raw timings in results.json, the batch-size sweep in sweep.png.
# OPENBLAS_CORETYPE is unset for this command only: forced to Haswell it halves NumPy's GEMM
# speed on AVX-512 machines, which users' machines do not do. The library never sets it.
# Every framework runs pinned to one core, one thread each, unless --threads N is given.
# Extra arguments go to `backprop bench` (e.g. --threads 2 for an unpinned run with core probes).
set -euo pipefail
cd "$(dirname "$0")/.."
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/backprop bench --rounds 3 \
    --json benchmarks/results.json --plot benchmarks/sweep.png "$@"
