"""Check the docs site up to the point where Quarto takes over (fast, non-visual; run by tools/test.sh).

The real site is built by `nbdev_docs` in .github/workflows/deploy.yaml. Quarto is not installed everywhere,
so this runs every step nbdev_docs runs *before* Quarto, with nbdev's own code, on a temporary copy of the
repo (settings.ini, nbs/, trainkit/; the repo itself is never written to):
  refresh_quarto_yml() -> _build_modidx() -> nbdev_sidebar() -> proc_nbs() (each notebook through
  nbdev.serve_drv.main with FilterDefaults: front matter, show_doc cells added and executed, hidden and
  exported cells removed, ...), exactly what `nbdev_proc_nbs` writes into _proc/ for Quarto to render.
Then it checks, and exits 1 listing every problem with how to fix it:
  1. pages: every nbs/*.ipynb not starting with `_` processes without an error; no notebook has an
     error output; each page has `title` and `description` front matter (`# Title` + `> description` cell);
  2. navigation: nbs/sidebar.yml lists every page, in lesson order (index first, then by file name) and
     nothing that does not exist; nbs/_quarto.yml loads sidebar.yml and nbdev.yml, and both _quarto.yml and
     nbdev.yml are what nbdev_docs regenerates (it overwrites them at deploy time); links between pages
     (`[..](05_module.ipynb)`) point at pages that exist;
  3. API docs: every name in each trainkit module's `__all__` that is a function or class has a docstring
     and a show_doc entry (its heading and its docstring) on a processed page; an exported constant is at
     least mentioned on its module's page;
  4. leaks: no page shows raw directives (`#|` lines outside a code cell's leading Quarto options, or
     options Quarto does not know such as `#| export`), visible `show_doc(` source, tracebacks, or absolute
     local paths (/work, /tmp, /root, /home) in its text or outputs;
  5. Colab: each lesson notebook has the Colab header (tools/colab.py's own check).

    python tools/check_docs.py               # all checks
    python tools/check_docs.py --keep DIR    # also keep the processed notebooks in DIR (tools/screenshots.py uses this)
"""
import argparse, ast, json, os, re, shutil, sys, tempfile, time, traceback, warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import colab  # noqa: E402  (tools/colab.py: the Colab header's single source of truth)

# Quarto cell options nbdev leaves in a code cell (they are consumed by Quarto, not shown).
QUARTO_OPTS = re.compile(r'(echo|output|eval|include|warning|error|label|code-[\w-]+|fig-[\w-]+|tbl-[\w-]+|lst-[\w-]+'
                         r'|layout(-[\w-]+)?|column|classes|panel|message|cache|filename|results|tags)$')
LOCAL_PATH = re.compile(r'(?<![\w.~-])/(work|tmp|root|home)/')
TRACEBACK = re.compile(r'Traceback \(most recent call last\)|^-{20,}\n\w*(Error|Exception)\b', re.M)
ANSI = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')


def src(cell):
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else (s or '')


def pages():
    "Every docs page, in lesson order (nbdev's: index first, then by path)."
    nbs = [p for p in (ROOT/'nbs').rglob('*.ipynb')
           if not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT/'nbs').parts)]
    return sorted(nbs, key=lambda p: (str(p.parent), '00' if p.name.startswith('index.') else p.name))


# ------------------------------------------------------------------ processing (nbdev's pipeline, in a copy)
def _copy_repo(dst):
    "The parts of the repo nbdev_docs reads, copied into `dst` (no build output, no caches)."
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT/'settings.ini', dst/'settings.ini')
    ign = shutil.ignore_patterns('_proc', '_docs', '.ipynb_checkpoints', '__pycache__', '.quarto')
    shutil.copytree(ROOT/'nbs', dst/'nbs', ignore=ign)
    shutil.copytree(ROOT/'trainkit', dst/'trainkit', ignore=ign)


def _proc_one(job):
    "Worker: one notebook through nbdev's docs processor (what proc_nbs runs for it). -> (name, error, warnings, s)"
    s, d = map(Path, job)
    from nbdev.serve_drv import main
    from nbdev.processors import FilterDefaults
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        try: main((s, d, FilterDefaults)); err = None
        except BaseException as e:
            err = ''.join(traceback.format_exception(e)).strip()
            c = e.__cause__ or e.__context__
            if c is not None:   # nbdev re-raises the cell's exception as the cause: name it first
                err = (f'{type(c).__name__}: {c}\n' + ''.join(traceback.format_exception_only(e)).strip()
                       + '\n(nbdev_docs runs every cell that has an import, and every exported cell, to build '
                       'the show_doc entries: give imports a cell of their own, see nbdev FAQ)')
    msgs = [str(w.message).strip() for w in ws if 'nbdev' in (w.filename or '') or 'FAQ' in str(w.message)]
    return s.name, err, msgs, time.perf_counter() - t0


def process(work, only=None):
    """Run nbdev_docs' pre-Quarto steps in a copy of the repo under `work`.
    Returns (proc_dir, copy_root, {notebook name: (error, warnings, seconds)})."""
    _copy_repo(work)
    os.chdir(work)
    sys.path.insert(0, str(work))                   # the copy's trainkit, for show_doc and for us
    os.environ['PYTHONPATH'] = os.pathsep.join([str(work), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    from nbdev.config import get_config
    get_config.cache_clear()
    import nbdev.doclinks
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import _proc_file
    from nbdev.doclinks import nbglob
    cfg = get_config()
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    nbdev_sidebar.__wrapped__(path=cfg.nbs_path)
    path, cache = cfg.nbs_path, cfg.config_path/'_proc'
    cache.mkdir(parents=True, exist_ok=True)
    files = nbglob(path, func=Path, file_glob='', file_re='')
    if (path/'_quarto.yml').exists(): files.append(path/'_quarto.yml')
    jobs = [r for r in (_proc_file(f, cache=cache, path=path) for f in files) if r]
    jobs = [(str(s), str(d)) for s, d, _ in jobs if only is None or s.name in only]
    res = {}
    import check_docs as me   # workers find the job function by module name: nbdev's IPython shell replaces __main__
    with ProcessPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1)),
                             mp_context=get_context('spawn')) as ex:
        for name, err, ws, t in ex.map(me._proc_one, jobs):
            res[name] = (err, ws, t)
    return cache, work, res


# ------------------------------------------------------------------ checks
def _outputs_text(cell):
    "Every text an output of `cell` shows (stream, text/plain, text/markdown, text/html, errors)."
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': yield ''.join(o.get('text', ''))
        elif o.get('output_type') == 'error': yield '\n'.join(o.get('traceback', [])) or o.get('evalue', '')
        for k, v in (o.get('data') or {}).items():
            if k.startswith('text/') or k in ('application/javascript',):
                yield ''.join(v) if isinstance(v, list) else str(v)


def _directives(source):
    "(leading `#|` option lines, the rest) of a code cell."
    lines = source.splitlines()
    i = 0
    while i < len(lines) and (re.match(r'\s*#\s*\|', lines[i]) or not lines[i].strip()): i += 1
    return lines[:i], lines[i:]


def check_page(nb, name):
    "Problems a processed notebook `nb` would show on the site."
    out = []
    cells = nb['cells']
    fm = {}
    if cells and cells[0]['cell_type'] == 'raw' and src(cells[0]).startswith('---'):
        import yaml
        try: fm = yaml.safe_load(src(cells[0]).strip().strip('-')) or {}
        except Exception as e: out.append(f'front matter is not valid YAML: {e}')
    for k in ('title', 'description'):
        if not str(fm.get(k) or '').strip():
            out.append(f'no `{k}` in the front matter: start the notebook with a markdown cell '
                       f'"# Title\\n\\n> One-line description"')
    for i, c in enumerate(cells):
        s, where = src(c), f'cell {i}'
        opts = {}
        if c['cell_type'] == 'code':
            lead, body = _directives(s)
            for l in lead:
                m = re.match(r'\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*)', l)
                if not m: continue
                key = m.group(1); opts[key] = m.group(2).strip()
                if not QUARTO_OPTS.match(key):
                    out.append(f'{where}: directive `{l.strip()}` reaches Quarto (not a Quarto option): is it misspelt?')
            for l in body:
                if re.match(r'\s*#\s*\|', l):
                    out.append(f'{where}: `{l.strip()}` is not in the leading directive lines, so it is shown as code: '
                               'move it to the top of the cell')
            visible = opts.get('echo', 'true') != 'false' and opts.get('include', 'true') != 'false'
            if visible and re.search(r'^\s*show_doc\(', '\n'.join(body), re.M):
                out.append(f'{where}: raw `show_doc(` source is shown on the page (nbdev adds `#| echo: false` '
                           'only when the cell starts with show_doc): put show_doc calls in a cell of their own')
            shown = '\n'.join(body) if visible else ''
        elif c['cell_type'] == 'markdown':
            shown = s
            for l in s.splitlines():
                if re.match(r'\s*#\s*\|', l): out.append(f'{where}: markdown shows the raw directive `{l.strip()}`')
        else: shown = ''
        m = LOCAL_PATH.search(shown)
        if m: out.append(f'{where}: the page shows an absolute local path ({_around(shown, m)}): use a relative '
                         'path or tempfile and do not print it')
        for o in c.get('outputs', []):
            if o.get('output_type') == 'error':
                out.append(f'{where}: error output {o.get("ename")}: {o.get("evalue", "")[:120]}')
        for t in _outputs_text(c):
            t = ANSI.sub('', t)
            if TRACEBACK.search(t): out.append(f'{where}: a traceback in the outputs: fix the cell and re-run the notebook')
            m = LOCAL_PATH.search(t)
            if m: out.append(f'{where}: an output shows an absolute local path ({_around(t, m)}): print relative '
                             'paths (or only file names) and re-run the notebook')
            if re.search(r'^\s*#\s*\|\s*\w', t, re.M): out.append(f'{where}: an output shows a raw `#|` directive')
            if 'show_doc(' in t and not re.search(r'#{1,6} show_doc', t):
                out.append(f'{where}: an output shows raw `show_doc(` text')
    return fm, out


def _around(text, m, n=40):
    return repr(text[max(0, m.start() - 10): m.start() + n].splitlines()[0] if text[m.start():] else text)


def showdoc_entries(nb):
    "{name: markdown} of the show_doc entries on a processed page."
    res = {}
    for c in nb['cells']:
        if c['cell_type'] != 'code' or not re.search(r'^show_doc\(', src(c), re.M): continue
        for t in _outputs_text(c):
            for m in re.finditer(r'^#{1,6} (\S+)\s*$', t, re.M):
                res[m.group(1).replace('\\_', '_')] = t
    return res


def _norm(s):
    "Compare docstrings as text: nbdev turns `name` into a link to its docs ([`name`](url)) and escapes _ and *."
    s = re.sub(r'\[(`[^`]+`)\]\([^)]*\)', r'\1', s)
    return ' '.join(s.replace('\\_', '_').replace('\\*', '*').split())


def check_api(proc, copy_root, failed=()):
    "Every exported function/class has a docstring and a show_doc entry. -> (problems, count checked)"
    import importlib
    out, n = [], 0
    docs, texts, page_of = {}, {}, {}
    for p in sorted(proc.glob('**/*.ipynb')):
        nb = json.loads(p.read_text(encoding='utf-8'))
        for k, v in showdoc_entries(nb).items(): docs.setdefault(k, []).append((p.name, v))
        texts[p.name] = '\n'.join(src(c) + '\n'.join(_outputs_text(c)) for c in nb['cells'])
    for p in pages():
        m = re.search(r'^\s*#\s*\|\s*default_exp\s+(\S+)', '\n'.join(src(c) for c in
                      json.loads(p.read_text(encoding='utf-8'))['cells'] if c['cell_type'] == 'code'), re.M)
        if m: page_of[m.group(1)] = p.name
    lib = copy_root/'trainkit'
    for f in sorted(lib.rglob('*.py')):
        if f.name.startswith('_'): continue
        modname = '.'.join(f.relative_to(copy_root).with_suffix('').parts)
        short = modname.split('.', 1)[1]
        if short not in page_of: out.append(f'{modname}: no notebook has `#| default_exp {short}`'); continue
        try: mod = importlib.import_module(modname)
        except Exception as e: out.append(f'{modname}: does not import: {e!r}'); continue
        names = getattr(mod, '__all__', None)
        if names is None: out.append(f'{modname}: has no __all__ (was it written by nbdev_export?)'); continue
        if page_of[short] in failed:
            out.append(f'{modname}: show_doc entries not checked, {page_of[short]} failed nbdev processing (see above)')
        for nm in names:
            n += 1
            obj = getattr(mod, nm, None)
            if obj is None and not hasattr(mod, nm):
                out.append(f'{modname}.{nm}: in __all__ but not defined'); continue
            if not (callable(obj) or isinstance(obj, type)):
                if page_of[short] not in failed and not re.search(rf'\b{re.escape(nm)}\b', texts.get(page_of[short], '')):
                    out.append(f'{modname}.{nm}: exported constant never mentioned on {page_of[short]}: say what it is in '
                               f'the prose (or add a `show_doc({nm})` cell, or make it private: _{nm})')
                continue
            doc = obj.__dict__.get('__doc__') if isinstance(obj, type) else getattr(obj, '__doc__', None)
            if not (doc or '').strip():
                out.append(f'{modname}.{nm}: exported without a docstring: add a one-line docstring (and docments) '
                           f'in {page_of[short]}'); continue
            if page_of[short] in failed: continue
            entries = docs.get(nm) or docs.get(f'{short}.{nm}')
            if not entries:
                out.append(f'{modname}.{nm}: no show_doc entry on any page (is it defined in an `#| export` cell of '
                           f'{page_of[short]}? a name bound by assignment needs an explicit `show_doc({nm})` cell)')
                continue
            first = _norm(doc.strip().splitlines()[0])
            if not any(first in _norm(t) for _, t in entries):
                out.append(f'{modname}.{nm}: its show_doc entry on {entries[0][0]} does not show its docstring '
                           f'"{first[:60]}"')
    return out, n


def check_nav(copy_root):
    "sidebar.yml / _quarto.yml / nbdev.yml against the pages; links between pages."
    import yaml
    out = []
    want = [str(p.relative_to(ROOT/'nbs')) for p in pages()]
    sb_path = ROOT/'nbs'/'sidebar.yml'
    if not sb_path.exists(): return ['nbs/sidebar.yml is missing (custom_sidebar = True in settings.ini)']

    def flat(items):
        for it in items or []:
            if isinstance(it, str): yield it
            elif isinstance(it, dict):
                if it.get('href'): yield it['href']
                yield from flat(it.get('contents'))

    sb = yaml.safe_load(sb_path.read_text(encoding='utf-8')) or {}
    listed = list(flat(((sb.get('website') or {}).get('sidebar') or {}).get('contents')))
    for x in listed:
        if x not in want: out.append(f'nbs/sidebar.yml lists {x}, which is not a page (no nbs/{x}): remove it')
    for x in want:
        if x not in listed: out.append(f'nbs/sidebar.yml does not list {x}: add it (in lesson order)')
    if [x for x in listed if x in want] != [x for x in want if x in listed]:
        out.append(f'nbs/sidebar.yml is not in lesson order: expected {", ".join(want)}')
    qy_path = ROOT/'nbs'/'_quarto.yml'
    qy = yaml.safe_load(qy_path.read_text(encoding='utf-8')) if qy_path.exists() else None
    if qy is None: out.append('nbs/_quarto.yml is missing')
    else:
        mf = qy.get('metadata-files') or []
        for f in ('nbdev.yml', 'sidebar.yml'):
            if f not in mf: out.append(f'nbs/_quarto.yml: metadata-files does not load {f}')
        qlisted = list(flat(((qy.get('website') or {}).get('sidebar') or {}).get('contents')))
        for x in qlisted:
            if x not in want: out.append(f'nbs/_quarto.yml lists {x}, which is not a page')
    for f in ('_quarto.yml', 'nbdev.yml'):   # nbdev_docs rewrites these from settings.ini (custom_quarto_yml = False)
        a, b = ROOT/'nbs'/f, copy_root/'nbs'/f
        if a.exists() and b.exists() and a.read_text(encoding='utf-8').strip() != b.read_text(encoding='utf-8').strip():
            out.append(f'nbs/{f} differs from what nbdev_docs regenerates at deploy time from settings.ini, so the '
                       f'change would be lost: put it in settings.ini (or set custom_quarto_yml = True)')
    names = {p.name for p in (ROOT/'nbs').glob('*.ipynb')}
    for p in pages():
        for i, c in enumerate(json.loads(p.read_text(encoding='utf-8'))['cells']):
            if c['cell_type'] != 'markdown': continue
            for m in re.finditer(r'\]\((?!https?:|#|mailto:)([\w./-]+?)\.(ipynb|html)(#[\w-]*)?\)', src(c)):
                if Path(m.group(1)).name + '.ipynb' not in names:
                    out.append(f'nbs/{p.name} cell {i}: link to {m.group(1)}.{m.group(2)}, which is not a page')
    return out


def check_source_notebooks():
    "Error outputs anywhere in the source notebooks (also in hidden cells, which the page does not show)."
    out = []
    for p in pages():
        for i, c in enumerate(json.loads(p.read_text(encoding='utf-8'))['cells']):
            for o in c.get('outputs', []):
                if o.get('output_type') == 'error':
                    out.append(f'nbs/{p.name} cell {i}: error output {o.get("ename")}: re-run the notebook after fixing it')
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--keep', type=Path, help='copy the processed notebooks (nbdev _proc/) into this directory')
    a = ap.parse_args()
    t0 = time.perf_counter()
    problems = {}
    def add(section, msgs):
        if msgs: problems.setdefault(section, []).extend(msgs)

    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix='trainkit-docs-') as tmp:
        proc, copy_root, res = process(Path(tmp))
        os.chdir(cwd)
        t_proc = time.perf_counter() - t0
        print(f'nbdev processing (refresh_quarto_yml, _build_modidx, nbdev_sidebar, proc_nbs) of '
              f'{len(res)} notebooks: {t_proc:.1f} s')
        print(f'{"page":28} {"proc s":>6}  title'); seen_notes = set()
        for p in pages():
            err, ws, t = res.get(p.name, ('not processed by nbdev (is it skipped by nbglob?)', [], 0))
            if err:
                lines = err.splitlines()
                lines = lines[:9] + ['...'] + lines[-1:] if len(lines) > 10 else lines
                add(p.name, [f'nbdev processing failed:\n      ' + '\n      '.join(lines)]); fm = {}
            else:
                nb = json.loads((proc/p.relative_to(ROOT/'nbs')).read_text(encoding='utf-8'))
                fm, msgs = check_page(nb, p.name); add(p.name, msgs)
            for w in sorted(set(ws)):
                if w in seen_notes: continue
                if 'cell_number' in w: seen_notes.add(w)
                print(f'  note ({p.name}): nbdev warns {ws.count(w)}x: {w.splitlines()[0]}')
            print(f'{p.name:28} {t:6.1f}  {fm.get("title", "?")}')
        add('source notebooks', check_source_notebooks())
        add('navigation', check_nav(copy_root))
        api, n_api = check_api(proc, copy_root, failed={k for k, v in res.items() if v[0]})
        add('API docs', api)
        cfg = colab.settings()
        add('Colab header', [f'nbs/{p.name}: {m}  (fix: python tools/colab.py --fix nbs/{p.name})'
                             for p in colab.lesson_notebooks() for m in colab.problems(p, cfg)])
        if a.keep:
            shutil.rmtree(a.keep, ignore_errors=True); shutil.copytree(proc, a.keep)
            print(f'processed notebooks kept in {a.keep}')
    print(f'checked {len(res)} pages, {n_api} exported names, {len(colab.lesson_notebooks())} Colab headers '
          f'in {time.perf_counter() - t0:.1f} s')
    if problems:
        n = sum(map(len, problems.values()))
        print(f'\n{n} docs problem(s):')
        for k, v in problems.items():
            print(f'  {k}:')
            for m in v: print(f'    - {m}')
        sys.exit(1)
    print('docs OK: every page processes, navigation complete, every export documented, nothing leaks')


if __name__ == '__main__': main()
