"""The pip door and the Colab door: trainkit as its users meet it. The wheel and sdist are built from a copy of the
working tree and checked as the package index would; the wheel alone goes into a brand-new venv outside the repo,
is used offline from an empty directory, and every notebook runs there the way Colab runs it (a copy outside the
repo, a kernel in that venv, no network). Speed is reported, never asserted (shared machines are noisy): a notebook
over 60 s warns, unless its title cell says `- slow_ok: <reason>` (then over 300 s); a cell over 10 min fails."""
import email, json, os, re, shutil, subprocess, sys, tarfile, time, warnings, zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest

from conftest import ROOT, free_port

sys.path.insert(0, str(ROOT/'tools'))
from check_site import copy_tree, notebooks  # noqa: E402

pytestmark = pytest.mark.slow
CFG = ConfigParser(delimiters=['=']); CFG.read(ROOT/'settings.ini'); CFG = CFG['DEFAULT']
DATA = {f'trainkit/assets/mnist/{s}-{k}-ubyte.gz' for s in ('t10k', 'train5k') for k in ('images-idx3', 'labels-idx1')}
DEV_ONLY = {re.split('[<>=!~ ]', r)[0].lower() for r in CFG['dev_requirements'].split()} - {
    re.split('[<>=!~ ]', r)[0].lower() for r in CFG['requirements'].split()} | {'ipython', 'jupyter-client', 'nbformat'}

def run(*cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f'{" ".join(map(str, cmd))} failed:\n{(r.stdout + r.stderr)[-3000:]}'
    return r.stdout

@pytest.fixture(scope='module')
def dist(tmp_path_factory):
    "The wheel and the sdist, built in isolation from a copy of the working tree."
    t = tmp_path_factory.mktemp('dist'); copy_tree(t/'src')
    run(sys.executable, '-m', 'build', '--outdir', t/'dist', t/'src')
    return next((t/'dist').glob('*.whl')), next((t/'dist').glob('*.tar.gz'))

@pytest.fixture(scope='module')
def user(tmp_path_factory, dist):
    "A fresh venv holding only the wheel; environments without the repo or the dev env, offline but for 127.0.0.1."
    t = tmp_path_factory.mktemp('user'); v = t/'venv'; (t/'run').mkdir()
    mine = {k: x for k, x in os.environ.items() if not k.startswith(('PYTHON', 'VIRTUAL_ENV', 'JUPYTER', 'MPL'))}
    pip = {**mine, 'PATH': f'{v}/bin:{os.environ["PATH"]}', 'PYTHONNOUSERSITE': '1'}
    dead = f'http://127.0.0.1:{free_port()}'               # nothing listens there: any download fails at once
    offline = {**pip, 'HOME': str(t/'home'), 'TRAINKIT_DATA': str(t/'data'), 'MPLCONFIGDIR': str(t/'home/.mpl'),
               'XDG_CACHE_HOME': str(t/'home/.cache'), 'no_proxy': '127.0.0.1', 'NO_PROXY': '127.0.0.1',
               **{k: dead for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY')}}
    run('python3', '-m', 'venv', v)
    run(v/'bin/python', '-m', 'pip', 'install', '-q', dist[0], env=pip)
    yield dict(venv=v, python=v/'bin/python', pip=pip, offline=offline, run=t/'run', tmp=t)
    shutil.rmtree(v)                                         # gigabytes of torch: do not leave them in /tmp

def test_twine_check_strict_and_the_readme_renders(dist, tmp_path):
    run(sys.executable, '-m', 'pip', 'install', '-q', '--target', tmp_path, 'readme_renderer[md]')   # the index's renderer
    env = {**os.environ, 'PYTHONPATH': str(tmp_path)}   # without its [md] extra, twine skips rendering markdown
    run(sys.executable, '-W', 'error::UserWarning', '-c', 'import readme_renderer.markdown', env=env)  # a renderer
    run(sys.executable, '-m', 'twine', 'check', '--strict', *dist, env=env)

def test_wheel_and_sdist_contents(dist):
    with zipfile.ZipFile(dist[0]) as z:
        names = set(z.namelist())
        read = lambda end: z.read(next(n for n in names if n.endswith(end))).decode()
        meta, eps = email.message_from_string(read('.dist-info/METADATA')), read('.dist-info/entry_points.txt')
    with tarfile.open(dist[1]) as t: snames = {n.split('/', 1)[1] for n in t.getnames() if '/' in n}
    assert {f'trainkit/{p.name}' for p in (ROOT/'trainkit').glob('*.py')} | DATA <= names and DATA <= snames
    assert {n.split('/')[0] for n in names if not n.startswith('trainkit/')} == {f'trainkit-{CFG["version"]}.dist-info'}
    assert re.search(r'^trainkit-train\s*=\s*trainkit\.cli:main$', eps, re.M)
    assert sorted(r for r in meta.get_all('Requires-Dist') if 'extra ==' not in r) == sorted(CFG['requirements'].split())
    assert meta['Version'] == CFG['version'] and meta['Description-Content-Type'].startswith('text/markdown')
    assert meta.get_payload().strip() == (ROOT/'README.md').read_text(encoding='utf-8').strip()

def test_fresh_venv_has_only_runtime_packages(user):
    names = {p['name'].lower().replace('_', '-') for p in
             json.loads(run(user['python'], '-m', 'pip', 'list', '--format=json', env=user['pip']))}
    assert 'trainkit' in names and not names & DEV_ONLY, sorted(names & DEV_ONLY)

INSTALLED = '''
import importlib, pkgutil, sys
from pathlib import Path
import trainkit
from trainkit.datasets import mnist_sample
assert Path(trainkit.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), trainkit.__file__
assert trainkit.__version__ == sys.argv[1], trainkit.__version__
for m in pkgutil.walk_packages(trainkit.__path__, 'trainkit.'):
    mod = importlib.import_module(m.name)
    assert all(hasattr(mod, n) for n in getattr(mod, '__all__', [])), m.name
shapes = [tuple(t.shape) for t in mnist_sample()]
assert shapes == [(5000, 784), (5000,), (10000, 784), (10000,)], shapes
'''

def test_installed_copy_works_outside_the_repo(user):
    run(user['python'], '-I', '-c', INSTALLED, CFG['version'], cwd=user['run'], env=user['offline'])

def test_trainkit_train_runs_offline(user):
    net = ['unshare', '-rn'] if subprocess.run(['unshare', '-rn', 'true'], capture_output=True).returncode == 0 else []
    run(*net, user['venv']/'bin/trainkit-train', '--epochs', '1', cwd=user['run'], env={**user['offline'], 'MPLBACKEND': 'Agg'})
    assert list(user['run'].rglob('*.pt'))

@pytest.fixture(scope='module')
def kernel(user):
    "A Jupyter kernel in the fresh venv (plus ipykernel, as on Colab), isolated from the repo (-I) and offline."
    run(user['python'], '-m', 'pip', 'install', '-q', 'ipykernel', env=user['pip'])
    spec = user['tmp']/'jupyter/kernels/fresh'; spec.mkdir(parents=True)
    (spec/'kernel.json').write_text(json.dumps(dict(
        argv=[str(user['python']), '-I', '-m', 'ipykernel_launcher', '-f', '{connection_file}'], language='python',
        display_name='fresh venv', env={**user['offline'], 'MPLBACKEND': 'module://matplotlib_inline.backend_inline'})))
    return user['tmp']/'jupyter'

@pytest.mark.parametrize('path', notebooks(), ids=lambda p: p.stem)
def test_colab_door(path, user, kernel, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    monkeypatch.setenv('JUPYTER_PATH', str(kernel))
    nb = nbformat.read(path, as_version=4)
    title = next((c.source for c in nb.cells if c.cell_type == 'markdown' and c.source.startswith('# ')), '')
    limit = 300 if re.search(r'^-\s+slow_ok:\s*\S', title, re.M) else 60
    d = user['tmp']/'colab'/path.stem; d.mkdir(parents=True)      # outside the repo: ../settings.ini is not there
    nb.cells.append(nbformat.v4.new_code_cell("import sys; m = sys.modules.get('trainkit'); "
                                              "print(sys.prefix, m.__file__ if m else '-')"))
    t0 = time.perf_counter()
    try: NotebookClient(nb, kernel_name='fresh', timeout=600, resources={'metadata': {'path': str(d)}}).execute()
    finally: nbformat.write(nb, d/path.name)                     # the executed copy, to look at when it fails
    took, (prefix, tk) = time.perf_counter() - t0, nb.cells[-1].outputs[0]['text'].split()
    venv = user['venv'].resolve()   # the kernel is the fresh venv's, and so is any trainkit it imported
    assert Path(prefix).resolve() == venv and (tk == '-' or Path(tk).resolve().is_relative_to(venv)), (prefix, tk)
    if took > limit: warnings.warn(f'{path.name} took {took:.0f} s, over its {limit} s: make it faster, or say why in '
                                   'its title cell: `- slow_ok: <reason>` (or the machine was busy)')
