#!/usr/bin/env bash
# The test command (README "Develop"): every check trainkit has, from a clean clone, offline.
#   bash tools/test.sh            # everything
#   bash tools/test.sh --fast     # skip the slow doors (fresh-venv wheel + Colab run, benchmark)
# Each step prints PASS/FAIL; the last line is "N passed, M failed". Exit status is non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
fast=0; [[ ${1:-} == --fast ]] && fast=1
passed=0; failed=0; failures=()

step() {  # step NAME COMMAND...: run one check, time it, record the result
  local name=$1; shift
  echo; echo "=== $name"
  local t0=$SECONDS
  if "$@"; then passed=$((passed+1)); echo "--- PASS $name ($((SECONDS-t0)) s)"
  else failed=$((failed+1)); failures+=("$name"); echo "--- FAIL $name ($((SECONDS-t0)) s)"; fi
}

snapshot() { git status --porcelain -- nbs trainkit; git diff -- nbs trainkit | sha1sum; }
sync_check() {  # nbdev_clean + nbdev_export must change nothing: notebooks clean, library generated from them
  local before after; before=$(snapshot)
  nbdev_clean && nbdev_export || return 1
  after=$(snapshot)
  if [[ "$before" != "$after" ]]; then
    echo "nbdev_clean/nbdev_export changed files: the notebooks and trainkit/ were not in sync."
    diff <(echo "$before") <(echo "$after")
    echo "Fix: run nbdev_clean && nbdev_export and commit what changes (never edit trainkit/*.py by hand)."
    return 1
  fi
  echo "notebooks are clean and trainkit/ is what they export"
}

# nbdev_test runs 2 notebooks at once on 2 cores: one torch thread each avoids oversubscription (4-45x slowdowns seen).
export MPLBACKEND=Agg PYTHONHASHSEED=0 OMP_NUM_THREADS=1
step "sync: nbdev_clean + nbdev_export change nothing" sync_check
step "README.md is generated from nbs/index.ipynb" python tools/readme.py --check
step "every lesson has its Colab header" python tools/colab.py --check
step "nbdev_test: every notebook's tests" python tools/timed.py nbdev_test --n_workers 2
step "docs: nbdev processing, sidebar, show_doc coverage" python tools/check_docs.py
if (( ! fast )); then
  step "pip + Colab doors: wheel in a fresh venv, notebooks outside the repo" bash tools/check_wheel.sh
  step "reliability: SIGKILL during checkpoint saves, exact resume across processes" python tools/check_reliability.py --trials 60
  step "benchmark runs (--quick, no timing assertions)" python -m bench --quick
fi

echo
if (( failed )); then printf 'failed: %s\n' "${failures[@]}"; fi
echo "$passed passed, $failed failed"
(( failed == 0 ))
