"""Run notebooks the way Colab does, for tools/check_wheel.sh (the Colab door); not meant to be run by hand.

    python -I tools/colab_door.py --kernel NAME --work DIR NB.ipynb...

Run with the *fresh venv's* python (it has only the wheel + ipykernel + nbclient). Each notebook is copied to
DIR/<stem>/ (outside the repo, so `Path('../settings.ini')` does not exist and the export cell does nothing)
and executed top to bottom with nbclient on kernel NAME; a probe run in the same kernel checks that the kernel
really is the fresh venv (sys.prefix) and that trainkit came from its site-packages, not from the repo.

Time budget: a notebook must finish within 60 s (kernel start included). A notebook that needs longer says so,
with a reason, in its nbdev front matter, i.e. a line in its title cell:

    # MNIST end to end

    > Train on the real digits.

    - slow_ok: trains 8 epochs on 5000 digits to show the curves

(nbdev puts it in the page's front matter, which Quarto ignores, and nbdev_clean keeps it.) Notebook metadata
`{"trainkit": {"slow_ok": "reason"}}` is honoured too, but nbdev_clean strips it unless settings.ini has
`allowed_metadata_keys = trainkit`. A slow_ok notebook may take up to 300 s; no cell may take longer than 300 s.
"""
import argparse, json, re, shutil, sys, time, warnings
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

BUDGET, SLOW_CAP = 60.0, 300.0
ANSI = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')


def slow_ok(nb):
    "The reason this notebook may take more than BUDGET seconds, or None."
    md = (nb.metadata.get('trainkit') or {}).get('slow_ok')
    if md: return str(md)
    for c in nb.cells:
        if c.cell_type == 'markdown' and re.match(r'\s*#\s', c.source):   # the title cell (nbdev front matter)
            m = re.search(r'^-\s+slow_ok:\s*(\S.*?)\s*$', c.source, re.M)
            return m.group(1) if m else None
    return None


def _text(cell):
    out = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': out.append(o.get('text', ''))
        elif 'data' in o and 'text/plain' in o['data']: out.append(o['data']['text/plain'])
    return ''.join(out)


def run(path, work, kernel, venv):
    "Execute one notebook outside the repo. -> dict(name, cells, seconds, error, slow_ok, probe)"
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # nbformat's MissingIDFieldWarning: nbdev_clean strips cell ids on purpose
        nb = nbformat.read(path, as_version=4)
    d = work/path.stem; d.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, d/path.name)
    r = dict(name=path.name, cells=sum(c.cell_type == 'code' for c in nb.cells), seconds=0.0, error=None,
             slow_ok=slow_ok(nb), probe=None)
    cell_limit = SLOW_CAP if r['slow_ok'] else BUDGET * 1.5    # fail fast on a stuck cell
    client = NotebookClient(nb, kernel_name=kernel, timeout=int(cell_limit), startup_timeout=120,
                            extra_arguments=['--IPKernelApp.log_level=ERROR'],
                            resources={'metadata': {'path': str(d)}})
    t0 = time.perf_counter()
    try:
        with client.setup_kernel():
            def probe(code):   # run `code` in the notebook's kernel without leaving a trace in the notebook
                c = nbformat.v4.new_code_cell(code); nb.cells.append(c)
                try: client.execute_cell(c, len(nb.cells) - 1)
                finally: nb.cells.pop()
                return _text(c).split()
            prefix = probe('import sys; print(sys.prefix); print(sys.executable)')
            for i, cell in enumerate(nb.cells):
                r['at'] = i
                client.execute_cell(cell, i)
            r['seconds'] = time.perf_counter() - t0
            after = probe("import sys, os\nm = sys.modules.get('trainkit')\n"
                          "print(m.__file__ if m else 'trainkit-not-imported')\nprint(os.getcwd())")
            r['probe'] = prefix + after
    except CellTimeoutError as e:
        cur = r.get('at')
        r['error'] = (f'cell {cur} ran longer than {cell_limit:.0f} s and was stopped:\n'
                      + (nb.cells[cur].source[:600] if cur is not None else str(e)))
    except CellExecutionError as e:
        r['error'] = ANSI.sub('', str(e)).strip()
    except Exception as e:
        r['error'] = f'{type(e).__name__}: {e}'
    if not r['seconds']: r['seconds'] = time.perf_counter() - t0
    (d/path.name).write_text(nbformat.writes(nb), encoding='utf-8')   # executed copy, for a look afterwards
    if r['error'] is None and r['probe']:
        pre, exe, tk, cwd = (r['probe'] + ['?'] * 4)[:4]
        if Path(pre).resolve() != venv.resolve():
            r['error'] = f'the kernel ran in {pre} ({exe}), not in the fresh venv {venv}: kernel spec is wrong'
        elif tk != 'trainkit-not-imported' and not Path(tk).resolve().is_relative_to(venv.resolve()):
            r['error'] = f'the notebook imported trainkit from {tk}, not from the installed wheel in {venv}'
        elif not Path(cwd).resolve().is_relative_to(work.resolve()):
            r['error'] = f'the notebook ran in {cwd}, not in its copy under {work}'
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--kernel', required=True); ap.add_argument('--work', type=Path, required=True)
    ap.add_argument('notebooks', nargs='+', type=Path)
    a = ap.parse_args()
    venv = Path(sys.prefix)
    res = []
    for p in a.notebooks:
        r = run(p, a.work, a.kernel, venv); res.append(r)
        lim = SLOW_CAP if r['slow_ok'] else BUDGET
        if r['error'] is None and r['seconds'] > lim:
            r['error'] = (f'took {r["seconds"]:.0f} s, over the {lim:.0f} s budget' +
                          ('' if r['slow_ok'] else ': make it faster, or say why it may be slow with '
                           '`- slow_ok: <reason>` in its title cell (see tools/colab_door.py)'))
        status = 'FAIL' if r['error'] else 'ok'
        print(f'  {r["name"]:28} {r["cells"]:5d} {r["seconds"]:7.1f}  {status}'
              + (f'  (slow_ok: {r["slow_ok"]})' if r['slow_ok'] else ''), flush=True)
    kern = res and next((r['probe'] for r in res if r['probe']), None)
    print(f'  {"total":28} {sum(r["cells"] for r in res):5d} {sum(r["seconds"] for r in res):7.1f}')
    if kern: print(f'  kernel: sys.prefix {kern[0]} (the fresh venv), trainkit from {kern[2]}')
    failed = [r for r in res if r['error']]
    for r in failed:
        lines = r['error'].splitlines()
        print(f'\n  {r["name"]} FAILED:\n    ' + '\n    '.join(lines[:6] + (['    ...'] if len(lines) > 18 else []) + lines[-12:]
                                                           if len(lines) > 18 else lines))
    sys.exit(1 if failed else 0)


if __name__ == '__main__': main()
