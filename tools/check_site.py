"""Check what a reader of the docs site sees: the real site, rendered by Quarto, plus fast source checks.

source (no Quarto): every notebook is in nbs/sidebar.yml and linked from nbs/index.ipynb; every exported function
  and class has a one-line docstring; every lesson has its Colab header (tools/colab.py).
site: copy the working tree (tracked and new files) to a temp dir, run `nbdev_docs` there (README.md is never
  rewritten) and check every page: (a) every def/class a notebook exports is in a visible or folded code cell;
  (b) README's links to the site, internal links and #anchors resolve, no torch name links to trainkit's page;
  (c) no raw `#|`, garbled `--flag`, intraword `*` emphasis, raw `](`, inherited builtin docstring, captioned Colab
  badge, traceback, absolute local path or `show_doc(` source; (d) no code or output line over 100 characters;
  (e) the index page's lesson table says each page's sidebar title.

    python tools/check_site.py                  # both: exit 0 ok, 1 problems, 77 site skipped (no Quarto)
    python tools/check_site.py --part source    # the fast part only
    python tools/check_site.py --keep DIR       # keep the render in DIR (DIR/_docs)
    python tools/check_site.py --no-render DIR  # check an existing render
    python tools/check_site.py --pages module README   # report only these pages
"""
import argparse, ast, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import colab  # noqa: E402  (the Colab header's single source of truth)
from colab import notebooks  # noqa: E402

SKIP, WIDTH = 77, 100   # 77: "skipped", as automake's test drivers read it
GET_QUARTO = ('Get Quarto 1.7.34 with `bash ../shared/tools/quarto/install.sh` (offline, 2-4 min) or Quarto\'s own '
              'installer, then `export PATH=$HOME/.cache/trainkit-quarto/bin:$PATH`')
KINDS = {'hidden': 'hidden code', 'links': 'dead links', 'garbled': 'garbled', 'wide': 'wide lines', 'titles': 'titles'}
LOCAL_PATH = re.compile(r'(?<![\w.~-])/(work|tmp|root|home)/')
GARBLED = re.compile(r'(?<![\w-])[\u2013\u2014][A-Za-z]')
TORCH_NAME = re.compile(r'(torch|nn|F)\.')
TORCH_S = re.compile(r'torch[\u2019\']s\s*$', re.I)

def page_of(nb_name):
    "The page Quarto renders a notebook to: the number prefix is dropped (05_module.ipynb -> module.html)."
    return re.sub(r'^\d+_', '', Path(nb_name).stem) + '.html'

def _patched(node):
    "`Cls.name` for a `@patch`/`@patch_to(Cls)` function, else `name`."
    for d in node.decorator_list:
        f = d.func if isinstance(d, ast.Call) else d
        fn = f.attr if isinstance(f, ast.Attribute) else getattr(f, 'id', '')
        if fn == 'patch_to' and isinstance(d, ast.Call) and d.args: return f'{ast.unparse(d.args[0])}.{node.name}'
        if fn == 'patch' and node.args.args and node.args.args[0].annotation is not None:
            cls = re.sub(r'[()\s]', '', ast.unparse(node.args.args[0].annotation)).replace(',', '|')
            return f'{cls}.{node.name}'
    return node.name

def definitions(lib):
    """{notebook name: [(name, source, docstring, exported)]}: the top-level defs and classes of `lib`/*.py, each
    under the notebook its `# %% ../nbs/X.ipynb` marker names."""
    out = {}
    for f in sorted(Path(lib).glob('*.py')):
        if f.name.startswith('_'): continue
        text = f.read_text(encoding='utf-8'); lines = text.splitlines()
        marks = [(i + 1, m.group(1)) for i, l in enumerate(lines) if (m := re.match(r'# %% \S*?nbs/(\S+\.ipynb)', l))]
        tree = ast.parse(text)
        names = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                      and any(getattr(t, 'id', '') == '__all__' for t in n.targets)), [])
        for n in tree.body:
            if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): continue
            nb = next((name for line, name in reversed(marks) if line < n.lineno), None)
            if nb is None: continue
            start = min([d.lineno for d in n.decorator_list] + [n.lineno])
            src = '\n'.join(lines[start - 1:n.end_lineno])
            out.setdefault(nb, []).append((_patched(n), src, ast.get_docstring(n), n.name in names))
    return out

def source_problems(root=ROOT):
    "{where: [problem]} for what must hold without Quarto."
    import yaml
    out, nbs = {}, notebooks()
    add = lambda where, msg: out.setdefault(where, []).append(msg)
    names = [p.name for p in nbs]

    flat = lambda items: [y for x in items or [] for y in ([x] if isinstance(x, str) else
                                                           [x.get('href')] + flat(x.get('contents')))]
    listed = flat(yaml.safe_load((root/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents'])
    for x in listed:
        if x not in names: add('nbs/sidebar.yml', f'lists {x}, which is not a notebook in nbs/: remove it')
    for x in names:
        if x not in listed: add(f'nbs/{x}', 'not in nbs/sidebar.yml: add it there, in lesson order')
    if [x for x in listed if x in names] != [x for x in names if x in listed]:
        add('nbs/sidebar.yml', f'not in lesson order (index first, then by file name): {", ".join(names)}')
    index = '\n'.join(''.join(c['source']) for c in json.loads((root/'nbs'/'index.ipynb').read_text())['cells'])
    linked = set(re.findall(r'\]\(([\w.-]+\.ipynb)', index))
    for x in names[1:]:
        if x not in linked: add(f'nbs/{x}', 'not linked from nbs/index.ipynb: add a row for it to the lesson table')
    for nb, defs in definitions(root/'trainkit').items():
        for name, _, doc, exported in defs:
            n = len((doc or '').strip().splitlines())
            if exported and n != 1: add(f'nbs/{nb}', f'exported `{name}` has a docstring of {n} lines: give it one line '
                                        '(details go in the prose and the docments)')
    cfg = colab.settings()
    for p in colab.lesson_notebooks():
        for m in colab.problems(p, cfg): add(f'nbs/{p.name}', f'{m} (fix: python tools/colab.py --fix nbs/{p.name})')
    return out

def copy_tree(dst):
    "The working tree as a fresh clone plus uncommitted changes would have it (git's tracked and new files), in `dst`."
    ls = subprocess.run(['git', 'ls-files', '-z', '-co', '--exclude-standard'], cwd=ROOT, capture_output=True, check=True)
    for f in ls.stdout.decode().split('\0'):
        if f and (ROOT/f).is_file() and not {'.git', '_docs', '_proc', '.venv'} & set(Path(f).parts):
            (dst/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT/f, dst/f)

def render(dst):
    "Copy the tree to `dst` and run nbdev_docs there. -> (ok, log tail)"
    copy_tree(dst)
    exe = shutil.which('nbdev_docs') or str(Path(sys.executable).with_name('nbdev_docs'))
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(dst), os.environ.get('PYTHONPATH')]))}
    p = subprocess.run([exe], cwd=dst, env=env, capture_output=True, text=True)
    (dst/'nbdev_docs.log').write_text(p.stdout + p.stderr, encoding='utf-8')
    return p.returncode == 0 and (dst/'_docs'/'index.html').exists(), (p.stdout + p.stderr).splitlines()[-30:]

class Site:
    "A rendered site: parsed pages, their ids, the README, and what each page must show."
    def __init__(self, docs, url, readme='', required=None):
        from bs4 import BeautifulSoup
        self.docs, self.url, self.readme, self.required = Path(docs), url.rstrip('/'), readme, required or {}
        self.pages = {p.name: BeautifulSoup(p.read_text(encoding='utf-8'), 'html.parser')
                      for p in sorted(self.docs.glob('*.html'))}
        self.ids = {k: {t['id'] for t in s.find_all(id=True)} for k, s in self.pages.items()}

    def main(self, page):
        s = self.pages[page]
        return s.find('main', id='quarto-document-content') or s.body or s

    def resolve(self, href, page):
        "(target file, fragment) for a link to this site, None for any other link."
        u = urllib.parse.urlsplit(href)
        if u.scheme or u.netloc:
            if not (href + '/').startswith(self.url + '/'): return None
            path = urllib.parse.urlsplit(href[len(self.url):]).path.lstrip('/')
        else: path = os.path.normpath(os.path.join(os.path.dirname(page), u.path)) if u.path else page
        if path in ('', '.') or path.endswith('/'): path = path.rstrip('.') + 'index.html'
        return path, urllib.parse.unquote(u.fragment)

def _code_blocks(main):
    "(kind, text) of every <pre> on the page: kind is code (a cell's source), output, or doc (show_doc, markdown)."
    for pre in main.find_all('pre'):
        div = pre.find_parent('div')
        cls = ' '.join(div.get('class', [])) if div else ''
        yield ('code' if 'cell-code' in cls else 'output' if 'cell-output' in cls else 'doc'), pre.get_text()

def _prose(main):
    "Every text node a reader sees outside code, math and scripts."
    for s in main.find_all(string=True):
        if s.find_parent(['code', 'pre', 'script', 'style']) is None and s.find_parent(class_='math') is None:
            yield str(s)

def _norm(src): return '\n'.join(l.rstrip() for l in src.splitlines() if l.strip())

def check_hidden(site, page, main):
    "a. Every def/class the page's notebook exports into trainkit/ appears in a visible code cell."
    need = site.required.get(page, [])
    shown = [_norm(t) for k, t in _code_blocks(main) if k == 'code']
    hidden = [name for name, src, *_ in need if not any(_norm(src) in s for s in shown)]
    if not hidden: return []
    return [f'{len(hidden)} of {len(need)} implementations are not shown: {", ".join(hidden)}. Fix: export them with '
            '`#| exports` (shown) instead of `#| export` (hidden), or fold long ones with `#| code-fold: true`']

# What an undocumented override shows as its API docs: the first lines of Python's builtin dunders' docstrings.
BUILTIN_DOCS = sorted({' '.join(v.__doc__.split('\n')[0].split()) for c in (object, type, int, list, dict, tuple, str)
                       for k, v in vars(c).items() if k.startswith('__') and callable(v) and isinstance(v.__doc__, str)
                       and len(v.__doc__.split('\n')[0]) > 12})

def check_links(site, page, main):
    "b. Internal links and anchors resolve; no torch name links to trainkit's page."
    out, fix = [], ' (pages drop the number: 05_module.ipynb is module.html)'
    for a in site.pages[page].find_all('a', href=True):
        r = site.resolve(a['href'], page)
        if r is None: continue
        (target, frag), text = r, a.get_text(strip=True)[:40]
        if target not in site.pages and not (site.docs/target).exists():
            out.append(f'link "{text}" -> {a["href"]}: there is no page {target}{fix}')
        elif frag and target in site.pages and frag not in site.ids[target]:
            out.append(f'link "{text}" -> {a["href"]}: {target} has no #{frag}')
        elif target.endswith('.html') and a.find_parent('main') is not None:
            before = a.previous_sibling
            if TORCH_NAME.match(text) or (isinstance(before, str) and TORCH_S.search(before)):
                out.append(f'"{text}" means torch\'s but links to trainkit\'s {target}: write torch\'s full name '
                           'in backticks (e.g. `torch.utils.data.DataLoader`), which nbdev leaves unlinked')
    return out

def check_garbled(site, page, main):
    "c. Things that rendered wrong or leaked."
    out = []
    for kind, text in _code_blocks(main):
        for l in text.splitlines():
            if re.match(r'\s*#\s*\|', l): out.append(f'raw directive shown in a code block: `{l.strip()}`: move it to '
                                                     'the top of its cell (nbdev reads only leading `#|` lines)')
        if kind != 'doc' and 'show_doc(' in text: out.append('`show_doc(` source is shown: give it a cell of its own')
        if kind == 'doc' and '](' in text:
            out.append(f'raw markdown link in an API signature: {_around(text, "](")}: no links in docments')
    prose = list(_prose(main))
    for t in prose:
        if '#|' in t: out.append(f'raw directive in the text: {_around(t, "#|")}')
        if m := GARBLED.search(t):
            out.append(f'garbled flag {_around(t, m.group())}: put `--flags` in backticks (pandoc makes -- a dash)')
        if '](' in t: out.append(f'raw markdown link in the text: {_around(t, "](")}: check its brackets')
        n = ' '.join(t.split())
        for d in BUILTIN_DOCS:
            if n.startswith(d): out.append(f'inherited builtin docstring shown as API docs: "{d}": give the method '
                                           'its own one-line docstring, or no show_doc entry')
    for em in main.find_all('em'):
        a, b = em.previous_sibling, em.next_sibling
        if isinstance(a, str) and isinstance(b, str) and a[-1:].isalnum() and b[:1].isalnum():
            out.append(f'intraword emphasis: "{a[-8:]}*{em.get_text()[:30]}*{b[:8]}": a `*` between letters or digits '
                       'made italics; put the formula in backticks or $...$')
    for fig in main.find_all('figure'):
        if fig.find('img', src=re.compile('colab-badge')) or 'Open In Colab' in fig.get_text():
            out.append('the Colab badge renders as a captioned figure: run tools/colab.py --fix on the notebook')
    texts = [t for _, t in _code_blocks(main)] + prose
    if main.select('div.cell-output-error') or any('Traceback (most recent call last)' in t for t in texts):
        out.append('a traceback is shown: fix the cell and re-run the notebook')
    for t in texts:
        if m := LOCAL_PATH.search(t):
            out.append(f'an absolute local path is shown: {_around(t, m.group())}: print relative paths or file names')
            break
    return out

def _around(text, what, n=30):
    i = text.find(what)
    return '"' + ' '.join(text[max(0, i - n): i + len(what) + n].split()) + '"'

def check_wide(site, page, main):
    "d. No code or output line wider than WIDTH characters. -> ([problem], lines checked)"
    lines = [l.expandtabs() for _, t in _code_blocks(main) for l in t.split('\n')]
    wide = [l for l in lines if len(l) > WIDTH]
    if not wide: return [], len(lines)
    shown = ''.join(f'\n      {len(l)}: {l[:90]}...' for l in wide[:3])
    return [f'{len(wide)} of {len(lines)} code/output lines are wider than {WIDTH} characters (print shapes and '
            f'summaries, wrap long lines, keep docments short):{shown}'], len(lines)

def check_titles(site):
    "e. {page: [problem]}: the index page's lesson table says each page's sidebar title."
    side, main = site.pages['index.html'].find(id='quarto-sidebar'), site.main('index.html')
    titles = {site.resolve(a['href'], 'index.html')[0]: ' '.join(a.get_text().split()) for a in
              (side.find_all('a', href=True) if side else []) if site.resolve(a['href'], 'index.html')}
    out = {}
    for a in (a for t in main.find_all('table') for a in t.find_all('a', href=True) if '://' not in a['href']):
        page, text = site.resolve(a['href'], 'index.html')[0], ' '.join(a.get_text().split())
        if titles.get(page) != text:
            out.setdefault(page, []).append(f'the index table says "{text}" but the sidebar title is "{titles.get(page)}":'
                                            ' use one name (the notebook\'s `# Title` is the sidebar\'s)')
    return out

def check_site(site):
    "{page: {kind: [problem]}} and {page: lines checked}, for every page plus README.md."
    res, lines = {}, {}
    for page in site.pages:
        main = site.main(page)
        wide, lines[page] = check_wide(site, page, main)
        res[page] = dict(hidden=check_hidden(site, page, main), links=check_links(site, page, main),
                         garbled=check_garbled(site, page, main), wide=wide, titles=[])
    for page, msgs in check_titles(site).items(): res.setdefault(page, {k: [] for k in KINDS})['titles'] += msgs
    dead = []
    for href in sorted(set(re.findall(re.escape(site.url) + r'[^\s)"\'<>\]]*', site.readme))):
        target, frag = site.resolve(href, 'index.html')
        if target not in site.pages: dead.append(f'README links to {href}: no page {target}')
        elif frag and frag not in site.ids[target]: dead.append(f'README links to {href}: {target} has no #{frag}')
    res['README.md'] = {**{k: [] for k in KINDS}, 'links': [d + ' (README.md comes from nbs/index.ipynb: fix the '
                                                            'link there, then python tools/readme.py)' for d in dead]}
    return res, lines

def load_site(docs, lib=ROOT/'trainkit'):
    cfg, readme = colab.settings(), (ROOT/'README.md').read_text(encoding='utf-8')
    return Site(docs, cfg['doc_host'] + cfg['doc_baseurl'], readme, {page_of(nb): d for nb, d in definitions(lib).items()})

def report(res, lines, only=None):
    "Print the table and the problems. -> number of problems reported"
    want = [p for p in res if not only or p in only]
    count = lambda msgs: int(msgs[0].split()[0]) if msgs and msgs[0][0].isdigit() else len(msgs)   # hidden/wide: items
    print(f'\n{"page":24}' + ''.join(f'{v:>12}' for v in KINDS.values()))
    for p in want: print(f'{p:24}' + ''.join(f'{count(res[p][k]):>12}' for k in KINDS) + f'  of {lines.get(p, 0)} lines')
    msgs = {p: [f'[{KINDS[k]}] {m}' for k, v in res[p].items() for m in v] for p in want}
    for p, ms in msgs.items():
        if ms: print(f'\n{p}: {len(ms)} problem(s)' + ''.join(f'\n  - {m}' for m in ms))
    return sum(map(len, msgs.values()))

def main(argv=None):
    ap = argparse.ArgumentParser(prog='check_site.py', description=__doc__.splitlines()[0])
    ap.add_argument('--part', choices=('source', 'site', 'all'), default='all', help='which checks to run')
    ap.add_argument('--keep', type=Path, metavar='DIR', help='keep the render: the copy and its _docs go in DIR')
    ap.add_argument('--no-render', type=Path, metavar='DIR', help='check this existing _docs (or DIR/_docs)')
    ap.add_argument('--pages', nargs='+', metavar='PAGE', help='report only these (module, 05_module, README, ...)')
    a = ap.parse_args(argv)
    t0, bad = time.perf_counter(), 0
    if a.part != 'site':
        src = source_problems(); bad = sum(map(len, src.values()))
        for where, msgs in src.items(): print(f'{where}:' + ''.join(f'\n  - {m}' for m in msgs))
        print(f'source checks: {len(notebooks())} notebooks, {bad} problem(s)')
        if a.part == 'source': return int(bad > 0)
    if a.no_render:
        docs = a.no_render/'_docs' if (a.no_render/'_docs').is_dir() else a.no_render
        if not (docs/'index.html').exists(): ap.error(f'no index.html in {docs}: render first (--keep DIR)')
        res, lines = check_site(load_site(docs))
    elif not shutil.which('quarto'):
        print(f'site check SKIPPED: quarto is not on PATH. {GET_QUARTO}.')
        return 1 if bad else SKIP
    else:
        tmp = a.keep or Path(tempfile.mkdtemp(prefix='trainkit-site-'))
        if tmp.is_dir() and any(tmp.iterdir()) and not (tmp/'nbdev_docs.log').exists():
            ap.error(f'--keep {tmp}: not empty and not an earlier render: name a new directory')
        shutil.rmtree(tmp, ignore_errors=True); tmp.mkdir(parents=True)
        try:
            ok, tail = render(tmp)
            print(f'nbdev_docs in a copy of the working tree: {time.perf_counter() - t0:.0f} s')
            if not ok: return print('nbdev_docs FAILED, last lines of its log:' + ''.join(f'\n  | {l}' for l in tail)) or 1
            res, lines = check_site(load_site(tmp/'_docs', tmp/'trainkit'))
        finally:
            if not a.keep: shutil.rmtree(tmp, ignore_errors=True)
        if a.keep: print(f'rendered site kept in {tmp/"_docs"}')
    only = a.pages and {'README.md' if n.lower().startswith('readme') else page_of(n) for n in a.pages}
    if only and only - set(res): ap.error(f'no such page {", ".join(sorted(only - set(res)))}: pages are {", ".join(res)}')
    n = report(res, lines, only)
    print(f'\nsite checks: {len(lines)} pages, {n} problem(s) ({time.perf_counter() - t0:.0f} s)')
    return int(bad > 0 or n > 0)

if __name__ == '__main__': sys.exit(main())
