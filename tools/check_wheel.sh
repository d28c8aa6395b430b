#!/usr/bin/env bash
# The pip door and the Colab door: trainkit checked the way its users meet it (run by tools/test.sh).
#
#   bash tools/check_wheel.sh                 # everything, in a new temp dir, removed afterwards
#   bash tools/check_wheel.sh --keep          # keep the temp dir (wheel, venv, executed notebooks) and print it
#   bash tools/check_wheel.sh --venv DIR      # reuse a venv made by an earlier --keep run (re-installs the wheel)
#   bash tools/check_wheel.sh --nb 05_module  # the Colab door for some notebooks only (repeatable)
#
# pip door
#   1. copy the working tree as a fresh clone would have it (git ls-files: tracked + new, not ignored) to a temp
#      dir and `python -m build` it there: wheel + sdist (isolated build, nothing is written into the repo);
#   2. `twine check --strict`; the wheel ships every module, the 4 bundled MNIST .gz files (sdist too), the
#      trainkit-train entry point, exactly the runtime requirements of settings.ini; the long description is
#      README.md and renders (readme_renderer, what PyPI uses);
#   3. a brand-new venv (python3 -m venv, no system site-packages) outside the repo; `pip install` the wheel;
#      `pip list` holds no dev-only package (nbdev, execnb, nbclient, ipykernel, ...);
#   4. from a cwd outside the repo, with python -I: every module imports from the venv's site-packages, the
#      bundled data is there and datasets.mnist_sample() works; `trainkit-train --epochs 1` runs offline.
# Colab door (same venv, after the pip door)
#   5. add only ipykernel + nbclient, register a kernel spec inside the venv, and run every notebook
#      (nbs/*.ipynb except _*) top to bottom from a copy outside the repo, offline; any error fails, and so
#      does a notebook slower than 60 s unless its title cell says `- slow_ok: <reason>` (tools/colab_door.py).
#      A per-notebook time table is printed; a probe checks the kernel's sys.prefix is the fresh venv.
# Offline means a network namespace with only loopback (unshare -n); where that is not allowed, proxies
# pointing at 127.0.0.1:9 so that any download fails fast.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python}                  # the dev environment's python (build, twine, readme_renderer)
keep=0; reuse=""; only=()
while (( $# )); do
  case $1 in
    --keep) keep=1;; --venv) reuse=$(cd "$2" && pwd); shift;; --nb) only+=("$2"); shift;;
    *) echo "usage: bash tools/check_wheel.sh [--keep] [--venv DIR] [--nb NAME]..."; exit 2;;
  esac; shift
done
T=$(mktemp -d "${TMPDIR:-/tmp}/trainkit-wheel-XXXXXX")
cleanup() { if (( keep )); then echo "kept: $T"; else rm -rf "$T"; fi; }
trap cleanup EXIT
fails=(); t00=$SECONDS
fail() { fails+=("$1"); echo "FAIL: $1"; }
stage() { echo; echo "--- $1"; }
show_log() { echo "    (last lines of $1)"; tail -n "${2:-25}" "$1" | sed 's/^/    | /'; }

offline() {  # run "$@" with no network but 127.0.0.1
  local lo='ip link set lo up 2>/dev/null || true; exec "$@"'
  if command -v ip >/dev/null && unshare -n true 2>/dev/null; then unshare -n sh -c "$lo" sh "$@"
  elif command -v ip >/dev/null && unshare -rn true 2>/dev/null; then unshare -rn sh -c "$lo" sh "$@"
  else
    local p=http://127.0.0.1:9
    env http_proxy=$p https_proxy=$p HTTP_PROXY=$p HTTPS_PROXY=$p ALL_PROXY=$p no_proxy=127.0.0.1 NO_PROXY=127.0.0.1 "$@"
  fi
}
# a user's clean environment: no repo on the path, no user site, no dev env, an empty home and data dir
clean_env=(env -u PYTHONPATH -u VIRTUAL_ENV -u MPLBACKEND PYTHONNOUSERSITE=1 HOME="$T/home" TRAINKIT_DATA="$T/data"
           XDG_CACHE_HOME="$T/home/.cache" MPLCONFIGDIR="$T/home/.mpl" JUPYTER_PATH="" PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}")
mkdir -p "$T/home" "$T/data" "$T/run"

# ---------------------------------------------------------------- 1. build from what a fresh clone has
stage "build wheel + sdist (python -m build, from a copy of the tree)"
t0=$SECONDS
mkdir -p "$T/src"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$ROOT" && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done \
     | xargs -0 cp --parents -t "$T/src")
else
  cp -r "$ROOT/." "$T/src/"
fi
if "$PY" -m build --outdir "$T/dist" "$T/src" >"$T/build.log" 2>&1; then
  echo "  built $(cd "$T/dist" && ls | tr '\n' ' ')($((SECONDS-t0)) s)"
else
  fail "python -m build"; show_log "$T/build.log"; exit 1
fi
WHL=$(ls "$T"/dist/*.whl)

# ---------------------------------------------------------------- 2. what PyPI would get
stage "twine check --strict, wheel and sdist contents, long description"
"$PY" -m twine check --strict "$T"/dist/* >"$T/twine.log" 2>&1; rc=$?
sed 's/\x1b\[[0-9;]*m//g; s/^/  /' "$T/twine.log"; (( rc == 0 )) || fail "twine check --strict"
# PyPI renders the README with readme_renderer's [md] extra (comrak or cmarkgfm, by version); twine alone does
# not install it and then skips the rendering. Bring it in beside the dev env (pip --target), not into it.
md_reqs=$("$PY" -c "import importlib.metadata as m, re
print(' '.join(re.split(r';', r)[0].strip() for r in m.requires('readme_renderer') or [] if re.search(r'extra *== *.md.', r)))")
if [[ -n $md_reqs ]] && ! "$PY" -c "import warnings; warnings.simplefilter('error'); import readme_renderer.markdown" 2>/dev/null; then
  "$PY" -m pip install -q --target "$T/md" $md_reqs >"$T/pip-md.log" 2>&1 \
    || { echo "  (could not install $md_reqs)"; show_log "$T/pip-md.log" 5; }
fi
PYTHONPATH="$T/md${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$ROOT/tools/wheel_door.py" artifacts "$T/dist" "$T/src" || fail "wheel/sdist contents"

# ---------------------------------------------------------------- 3. fresh venv
stage "install the wheel into a fresh venv (outside the repo)"
t0=$SECONDS
if [[ -n $reuse ]]; then
  V=$reuse; echo "  reusing $V"
  "${clean_env[@]}" "$V/bin/python" -m pip install --force-reinstall --no-deps "$WHL" >"$T/pip.log" 2>&1 \
    || { fail "pip install (reuse)"; show_log "$T/pip.log"; exit 1; }
else
  V=$T/venv
  python3 -m venv "$V" || { fail "python3 -m venv"; exit 1; }
  grep -q 'include-system-site-packages = false' "$V/pyvenv.cfg" || fail "venv sees system site-packages"
  if "${clean_env[@]}" "$V/bin/python" -m pip install "$WHL" >"$T/pip.log" 2>&1; then :
  else fail "pip install trainkit wheel"; show_log "$T/pip.log"; exit 1; fi
fi
echo "  installed into $V ($((SECONDS-t0)) s); python $("$V/bin/python" -c 'import sys;print(sys.version.split()[0])')"
if [[ -z $reuse ]]; then   # a reused venv already has the notebook tools
  (cd "$T/run" && "${clean_env[@]}" "$V/bin/python" -I "$ROOT/tools/wheel_door.py" pip-list) || fail "dev-only packages at runtime"
fi

# ---------------------------------------------------------------- 4. the installed copy, used from elsewhere
stage "installed copy works from a cwd outside the repo"
ver=$(sed -n 's/^version *= *//p' "$ROOT/settings.ini")
(cd "$T/run" && "${clean_env[@]}" "$V/bin/python" -I "$ROOT/tools/wheel_door.py" installed "$ver") || fail "installed package"

stage "trainkit-train --epochs 1, offline, in an empty directory"
t0=$SECONDS
if (cd "$T/run" && offline "${clean_env[@]}" MPLBACKEND=Agg "$V/bin/trainkit-train" --epochs 1) >"$T/cli.log" 2>&1; then
  sed 's/^/  | /' "$T/cli.log" | tail -n 8
  echo "  ok   trainkit-train --epochs 1 ($((SECONDS-t0)) s); wrote: $(cd "$T/run" && find . -type f | head -5 | tr '\n' ' ')"
else
  fail "trainkit-train --epochs 1"; show_log "$T/cli.log" 20
fi

# ---------------------------------------------------------------- 5. Colab door
stage "Colab door: every notebook, outside the repo, in the fresh venv (+ ipykernel, nbclient only)"
t0=$SECONDS
if "${clean_env[@]}" "$V/bin/python" -m pip install ipykernel nbclient >"$T/pip-nb.log" 2>&1 \
   && "${clean_env[@]}" "$V/bin/python" -m ipykernel install --prefix "$V" --name trainkit-fresh \
        --display-name "trainkit (fresh venv)" >>"$T/pip-nb.log" 2>&1; then
  echo "  ipykernel + nbclient installed, kernel spec $V/share/jupyter/kernels/trainkit-fresh ($((SECONDS-t0)) s)"
else
  fail "install ipykernel/nbclient"; show_log "$T/pip-nb.log"; exit 1
fi
nbs=()
for p in "$ROOT"/nbs/*.ipynb; do
  n=$(basename "$p" .ipynb); [[ $n == _* ]] && continue
  if (( ${#only[@]} )); then for o in "${only[@]}"; do [[ $n == "${o%.ipynb}" ]] && nbs+=("$p"); done; else nbs+=("$p"); fi
done
printf '  %-28s %5s %7s\n' notebook cells seconds
(cd "$T/run" && offline "${clean_env[@]}" JUPYTER_PATH="$V/share/jupyter" JUPYTER_DATA_DIR="$V/share/jupyter" \
   JUPYTER_CONFIG_DIR="$T/home/.jupyter" JUPYTER_RUNTIME_DIR="$T/home/.jupyter/runtime" \
   "$V/bin/python" -I "$ROOT/tools/colab_door.py" --kernel trainkit-fresh --work "$T/colab" "${nbs[@]}") \
  || fail "Colab door (notebooks outside the repo)"

echo
echo "pip + Colab doors: $((SECONDS-t00)) s"
if (( ${#fails[@]} )); then printf 'failed: %s\n' "${fails[@]}"; exit 1; fi
echo "all checks passed"
