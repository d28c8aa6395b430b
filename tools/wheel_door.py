"""Helpers for tools/check_wheel.sh (the pip door); not meant to be run by hand.

    python tools/wheel_door.py artifacts DIST_DIR SRC_DIR   # dev env: what the wheel and sdist contain, README renders
    python -I tools/wheel_door.py pip-list                   # fresh venv: no dev-only package installed
    python -I tools/wheel_door.py installed VERSION          # fresh venv, cwd outside the repo: the installed copy works

Standard library only (plus readme_renderer for `artifacts`), so it runs in the fresh venv as well.
"""
import email, json, re, subprocess, sys, tarfile, zipfile
from configparser import ConfigParser
from pathlib import Path

DATA = ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz',
        'train5k-images-idx3-ubyte.gz', 'train5k-labels-idx1-ubyte.gz']
DEV_ONLY = ['nbdev', 'execnb', 'nbclient', 'nbconvert', 'nbformat', 'ipykernel', 'ipython', 'jupyter-client',
            'jupyter-core', 'build', 'twine', 'pytest', 'notebook', 'jupyterlab', 'tqdm', 'pandas']
problems = []


def bad(msg): problems.append(msg); print(f'  FAIL {msg}')
def ok(msg): print(f'  ok   {msg}')


def artifacts(dist, src):
    "The wheel and sdist ship the library, its data and its entry point; the README renders on PyPI."
    dist, src = Path(dist), Path(src)
    whls, sdists = sorted(dist.glob('*.whl')), sorted(dist.glob('*.tar.gz'))
    if len(whls) != 1 or len(sdists) != 1: return bad(f'expected one wheel and one sdist in {dist}, got {whls + sdists}')
    whl, sd = whls[0], sdists[0]
    cp = ConfigParser(delimiters=['=']); cp.read(src/'settings.ini'); cfg = cp['DEFAULT']
    with zipfile.ZipFile(whl) as z: wnames = set(z.namelist())
    with zipfile.ZipFile(whl) as z:
        meta = email.message_from_string(z.read(next(n for n in wnames if n.endswith('.dist-info/METADATA'))).decode('utf-8'))
        eps = z.read(next(n for n in wnames if n.endswith('.dist-info/entry_points.txt'))).decode()
    with tarfile.open(sd) as t: snames = {n.split('/', 1)[1] for n in t.getnames() if '/' in n}
    print(f'  wheel {whl.name}: {len(wnames)} files; sdist {sd.name}: {len(snames)} files')
    # 1. bundled data, in both
    for f in DATA:
        p = f'trainkit/assets/mnist/{f}'
        (ok if p in wnames else bad)(f'wheel contains {p}')
        if p not in snames: bad(f'sdist does not contain {p} (MANIFEST.in)')
    # 2. every module of the source tree
    mods = sorted(str(p.relative_to(src)) for p in (src/'trainkit').rglob('*.py'))
    missing = [m for m in mods if m not in wnames]
    if missing: bad(f'wheel is missing modules {missing}')
    else: ok(f'wheel contains all {len(mods)} modules of trainkit/')
    stray = sorted({n.split('/')[0] for n in wnames} - {'trainkit', whl.name.split('-')[0] + '-' +
                   whl.name.split('-')[1] + '.dist-info'})
    if stray: bad(f'wheel contains top-level entries other than trainkit/: {stray}')
    # 3. entry point and requirements
    if re.search(r'^trainkit-train\s*=\s*trainkit\.cli:main\s*$', eps, re.M): ok('console script trainkit-train = trainkit.cli:main')
    else: bad(f'entry_points.txt has no `trainkit-train = trainkit.cli:main`:\n{eps}')
    reqs = meta.get_all('Requires-Dist') or []
    runtime = [r for r in reqs if 'extra ==' not in r]
    want = cfg['requirements'].split()
    if sorted(runtime) != sorted(want): bad(f'runtime Requires-Dist {runtime} != settings.ini requirements {want}')
    else: ok(f'runtime requirements are exactly {", ".join(want)}')
    if meta['Version'] != cfg['version']: bad(f'wheel version {meta["Version"]} != settings.ini {cfg["version"]}')
    # 4. the long description PyPI shows
    desc = meta.get_payload() or meta.get('Description', '')
    if meta.get('Description-Content-Type', '').split(';')[0] != 'text/markdown':
        bad(f'Description-Content-Type is {meta.get("Description-Content-Type")!r}, expected text/markdown')
    import warnings
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        try:
            from readme_renderer.markdown import render
            html = render(desc, variant='GFM')
        except ImportError: html = None
    if any('not available' in str(w.message) for w in ws) or html is None:
        return bad("readme_renderer[md] (cmarkgfm, PyPI's markdown renderer) is not importable: "
                   "`pip install 'readme_renderer[md]'`")
    readme = (src/'README.md').read_text(encoding='utf-8')
    if '<h1' not in html and '<h2' not in html: bad('the long description does not render to HTML with headings')
    elif desc.strip() != readme.strip(): bad('the long description is not README.md')
    else: ok(f'long description = README.md, renders with readme_renderer (as on PyPI) to {len(html)} chars of HTML, '
             f'{html.count("<h2")} sections, {html.count("<pre")} code blocks')
    rel = sorted(set(re.findall(r'\]\((?!https?://|#|mailto:)([^)\s]+)\)', desc)))
    if rel: print(f'  note relative links in README.md do not work on PyPI (make them absolute): {rel}')

def pip_list():
    "No dev-only package in the fresh venv (before the notebook tools are added)."
    out = subprocess.run([sys.executable, '-m', 'pip', 'list', '--format=json'], capture_output=True, text=True, check=True)
    pkgs = {d['name'].lower().replace('_', '-'): d['version'] for d in json.loads(out.stdout)}
    dev = sorted(n for n in pkgs if n in DEV_ONLY)
    if dev: bad(f'dev-only packages installed at runtime: {dev} (move them to dev_requirements in settings.ini)')
    else: ok(f'{len(pkgs)} packages installed, none dev-only ({", ".join(d for d in DEV_ONLY[:6])}, ...)')
    print('  ' + ', '.join(f'{n} {pkgs[n]}' for n in ('trainkit', 'torch', 'torchvision', 'matplotlib', 'fastcore') if n in pkgs))


def installed(version):
    "Import every module of the installed trainkit and load the bundled data, from a cwd outside the repo."
    import importlib, pkgutil
    import trainkit
    where = Path(trainkit.__file__).resolve()
    if not str(where).startswith(str(Path(sys.prefix).resolve())):
        return bad(f'trainkit was imported from {where}, not from the fresh venv {sys.prefix}')
    ok(f'trainkit {trainkit.__version__} imported from the venv ({where.parent.name}/ in site-packages)')
    if trainkit.__version__ != version: bad(f'trainkit.__version__ = {trainkit.__version__}, settings.ini says {version}')
    mods = [m.name for m in pkgutil.walk_packages(trainkit.__path__, 'trainkit.')]
    failed = []
    for m in mods:
        try:
            mod = importlib.import_module(m)
            for n in getattr(mod, '__all__', []):
                if not hasattr(mod, n): failed.append(f'{m}.{n} (in __all__, not defined)')
        except Exception as e: failed.append(f'{m} ({type(e).__name__}: {e})')
    if failed: bad(f'modules that do not import from the wheel: {failed}')
    else: ok(f'all {len(mods)} modules import: {", ".join(m.split(".", 1)[1] for m in mods)}')
    from importlib.resources import files
    data = files('trainkit')/'assets'/'mnist'
    missing = [f for f in DATA if not (data/f).is_file()]
    if missing: bad(f'bundled data missing from the installed package: {missing}')
    try:
        from trainkit.datasets import mnist_sample
        xt, yt, xv, yv = mnist_sample()
        shapes = tuple(tuple(t.shape) for t in (xt, yt, xv, yv))
        want = ((5000, 784), (5000,), (10000, 784), (10000,))
        if shapes != want: bad(f'mnist_sample() shapes {shapes}, expected {want}')
        elif not (0 <= float(xt.min()) and float(xt.max()) <= 1 and sorted(set(yt.tolist())) == list(range(10))):
            bad('mnist_sample() values are off: x must be in [0,1], y must hold the 10 digits')
        else: ok(f'datasets.mnist_sample() works from the installed copy: {shapes}, x {xt.dtype}, y {yt.dtype}')
    except Exception as e: bad(f'datasets.mnist_sample() failed from the installed copy: {type(e).__name__}: {e}')


if __name__ == '__main__':
    cmd, *args = sys.argv[1:]
    {'artifacts': artifacts, 'pip-list': pip_list, 'installed': installed}[cmd](*args)
    sys.exit(1 if problems else 0)
