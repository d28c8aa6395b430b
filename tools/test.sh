#!/usr/bin/env bash
# The test command (README "Develop"): every check trainkit has, from a clean clone.
#   bash tools/test.sh          # everything
#   bash tools/test.sh --fast   # skip the slow steps: the site render, the slow tests (wheel, Colab door, SIGKILL), bench
# Each step prints PASS, FAIL or SKIP and its time; the last line is "N passed, M failed, K skipped".
# The exit status is non-zero if a step failed. The site step needs Quarto (SKIP without it; it says how to get it).
set -uo pipefail
cd "$(dirname "$0")/.."
fast=0
case ${1:-} in --fast) fast=1;; '') ;; *) echo "usage: bash tools/test.sh [--fast]"; exit 2;; esac
passed=0; failed=0; skipped=0; failures=()

step() {  # step NAME COMMAND...: run one check and time it; exit status 77 means skipped
  local name=$1; shift
  echo; echo "=== $name"
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  local t="($((SECONDS - t0)) s)"
  if (( rc == 0 )); then passed=$((passed + 1)); echo "--- PASS $name $t"
  elif (( rc == 77 )); then skipped=$((skipped + 1)); echo "--- SKIP $name $t"
  else failed=$((failed + 1)); failures+=("$name"); echo "--- FAIL $name $t"; fi
}
slow() { if (( fast )); then echo "(skipped by --fast)"; return 77; fi; "$@"; }

snapshot() { git status --porcelain -- nbs trainkit; git diff -- nbs trainkit | sha1sum; }
sync_check() {  # nbdev_clean + nbdev_export must change nothing: notebooks clean, library generated from them
  local before after; before=$(snapshot)
  nbdev_clean && nbdev_export || return 1
  after=$(snapshot)
  if [[ $before != "$after" ]]; then
    echo "nbdev_clean/nbdev_export changed files: the notebooks and trainkit/ were not in sync."
    diff <(echo "$before") <(echo "$after")
    echo "Fix: run nbdev_clean && nbdev_export and commit what changes (never edit trainkit/*.py by hand)."
    return 1
  fi
  echo "notebooks are clean and trainkit/ is what they export"
}

# 2 notebooks at once on 2 cores: one torch thread each avoids oversubscription (4-45x slowdowns seen).
export MPLBACKEND=Agg PYTHONHASHSEED=0 OMP_NUM_THREADS=1
step "sync: nbdev_clean + nbdev_export change nothing" sync_check
step "README.md is generated from nbs/index.ipynb" python tools/readme.py --check
step "source checks: sidebar, index, docstrings, Colab headers" python tools/check_site.py --part source
step "nbdev_test: every notebook's tests" nbdev_test --n_workers 2
step "real site: Quarto render, what a reader sees" slow python tools/check_site.py --part site
pytest_args=(-q -p no:cacheprovider --durations=8 tests); (( fast )) && pytest_args+=(-m "not slow")
step "pytest tests/: processes, CLI, wheel + Colab doors" python -m pytest "${pytest_args[@]}"
benches() {  # every benchmark's smoke run: each code path once, no timing assertions
  python -m bench --quick && python -m bench.ddp --quick && python -m bench.cnn_record --quick
}
step "benchmark runs (--quick, no timing assertions)" slow benches

echo
if (( failed )); then printf 'failed: %s\n' "${failures[@]}"; fi
echo "$passed passed, $failed failed, $skipped skipped"
(( failed == 0 ))
