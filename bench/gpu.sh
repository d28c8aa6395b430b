#!/usr/bin/env bash
# The GPU check (under 5 minutes): what this CPU-only project can't measure here, on a machine with CUDA GPUs.
#   bash bench/gpu.sh [results.json]
# 1. python -m bench.ddp --gpu: an epoch of train() on cuda:0 in float32, bfloat16 and float16 (16-mixed, with the
#    gradient scaler), for the 784-50-10 MLP and a 784-1024-1024-10 one; with 2 or more GPUs, DDP over all of
#    them against one GPU.
# 2. the CUDA tests of tests/test_distributed.py (skipped, with their reason, where there is no GPU).
# Exit status 77 (skipped) without a GPU, 1 if a check or test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "bench/gpu.sh: no CUDA GPU here (torch.cuda.is_available() is False): nothing to measure"; exit 77
fi
nvidia-smi -L 2>/dev/null || python -c "import torch; print(torch.cuda.device_count(), 'CUDA GPU(s)')"
status=0
timeout 210 python -m bench.ddp --gpu --rounds 2 ${1:+--json "$1"} || status=1
timeout 90 python -m pytest -q -p no:cacheprovider tests/test_distributed.py -k "cuda or gpus" || status=1
exit $status
