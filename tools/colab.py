"""Give every lesson notebook its Colab header, built from settings.ini, or check that it has it: (1) a hidden code
cell that installs trainkit when, and only when, it runs in Google Colab; (2) the nbdev title cell (`# Title` +
`> description`), written by the author; (3) an "Open in Colab" badge for this very notebook, as inline HTML (pandoc
renders a lone markdown image, `[![Open In Colab](svg)](url)`, as a centred figure captioned "Open In Colab").

    python tools/colab.py --check        # exit 1 and list what is missing or stale
    python tools/colab.py --fix [NB...]  # insert or refresh the header cells; no other cell changes
"""
import argparse, json, sys
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TAG = '# Colab only:'
OLD_BADGE = '[![Open In Colab]'
SVG = 'https://colab.research.google.com/assets/colab-badge.svg'

def settings():
    "The [DEFAULT] section of settings.ini."
    cp = ConfigParser(delimiters=['=']); cp.read(ROOT/'settings.ini', encoding='utf-8')
    return cp['DEFAULT']

def install_source(cfg):
    "Source of the hidden install cell."
    return ("#| hide\n#| eval: false\n"
            f"{INSTALL_TAG} install trainkit when this notebook runs in Google Colab (elsewhere this does nothing).\n"
            "import sys, subprocess\n"
            "if 'google.colab' in sys.modules:\n"
            "    pip = [sys.executable, '-m', 'pip', 'install', '-q']\n"
            f"    if subprocess.run(pip + ['{cfg['lib_name']}>=0.1']).returncode:  # not on PyPI yet? take it from GitHub\n"
            f"        subprocess.run(pip + ['git+{cfg['git_url']}'], check=True)")

def badge_source(cfg, name):
    "The Colab badge cell for notebook `name`: a link around an image, inline (Jupyter, Colab and Quarto agree)."
    url = f"https://colab.research.google.com/github/{cfg['user']}/{cfg['repo']}/blob/{cfg['branch']}/{cfg['nbs_path']}/{name}"
    return f'<a href="{url}"><img src="{SVG}" alt="Open In Colab"></a>'

def _is_badge(src): return src.startswith(OLD_BADGE) or (src.startswith('<a href=') and SVG in src)

def notebooks():
    "The docs pages' notebooks, index first (nbdev skips names starting with `_`)."
    return sorted((p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.'))),
                  key=lambda p: '' if p.name == 'index.ipynb' else p.name)

def lesson_notebooks(): return notebooks()[1:]

def _src(cell): return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']

def problems(path, cfg):
    "What is wrong with `path`'s header, as a list of strings (empty when all is well)."
    cells = json.loads(path.read_text(encoding='utf-8'))['cells']
    out = []
    if not cells or cells[0]['cell_type'] != 'code' or _src(cells[0]) != install_source(cfg):
        out.append('first cell is not the hidden Colab install cell')
    md = [i for i, c in enumerate(cells) if c['cell_type'] == 'markdown']
    if not md or not _src(cells[md[0]]).startswith('# '):
        out.append('no nbdev title cell (`# Title` + `> description`)')
    elif len(md) < 2 or md[1] != md[0] + 1 or _src(cells[md[1]]) != badge_source(cfg, path.name):
        old = len(md) > 1 and _src(cells[md[1]]).startswith(OLD_BADGE)
        out.append('the Colab badge is a markdown image, which the site shows as a captioned figure' if old else
                   'the cell after the title is not this notebook\'s Colab badge')
    return out

def _put(cells, i, kind, src, is_it):
    "Make cells[i] a `kind` cell with `src`: reuse (and move) an existing cell for which `is_it` holds, else insert one."
    old = next((c for c in cells if c['cell_type'] == kind and is_it(_src(c))), None)
    if old is None:
        old = {'cell_type': kind, 'metadata': {}, 'source': src}
        if kind == 'code': old.update(execution_count=None, outputs=[])
    else: cells.remove(old)
    old['source'] = src
    cells.insert(i, old)

def fix(path, cfg):
    "Insert or refresh the install cell and the badge in `path`, leaving every other cell as it is."
    nb = json.loads(path.read_text(encoding='utf-8'))
    cells = nb['cells']
    _put(cells, 0, 'code', install_source(cfg), lambda s: INSTALL_TAG in s)
    title = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and _src(c).startswith('# ')), None)
    if title is None: sys.exit(f'{path}: write the title cell (`# Title` + `> description`) first')
    _put(cells, title + 1, 'markdown', badge_source(cfg, path.name), _is_badge)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--fix', action='store_true', help='insert or refresh the header cells')
    ap.add_argument('--check', action='store_true', help='only report (the default)')
    ap.add_argument('notebooks', nargs='*', type=Path)
    a = ap.parse_args()
    cfg = settings()
    nbs = [p.resolve() for p in a.notebooks] or lesson_notebooks()
    bad = 0
    for p in nbs:
        if a.fix: fix(p, cfg)
        for msg in problems(p, cfg):
            bad += 1; print(f'{p.relative_to(ROOT)}: {msg}  (fix: python tools/colab.py --fix {p.relative_to(ROOT)})')
    if bad: sys.exit(1)
    print(f'colab headers: {len(nbs)} notebooks ok')

if __name__ == '__main__': main()
