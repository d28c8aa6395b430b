"""Write README.md from nbs/index.ipynb, or check it is up to date (nbdev_readme does this with Quarto): markdown
cells as they are, code cells as ```python blocks with their printed output, `#| hide` cells left out, and links
to notebooks pointed at their pages on the docs site, which drop the number (05_module.ipynb is module.html).

    python tools/readme.py          # write README.md
    python tools/readme.py --check  # exit 1 if README.md differs from what index.ipynb gives
"""
import json, re, sys
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render():
    "The README text that nbs/index.ipynb gives."
    cp = ConfigParser(delimiters=['=']); cp.read(ROOT/'settings.ini', encoding='utf-8')
    site = cp['DEFAULT']['doc_host'] + cp['DEFAULT']['doc_baseurl']
    nb = json.loads((ROOT/'nbs'/'index.ipynb').read_text(encoding='utf-8'))
    parts = ['<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file. -->']
    for c in nb['cells']:
        src = ''.join(c['source']).strip()
        if re.match(r'#\|\s*(hide|exporti?)\b', src): continue
        if c['cell_type'] == 'markdown':
            src = re.sub(r'\]\((?:\d+_)?(\w+)\.ipynb(#[\w.-]*)?\)', rf']({site}/\1.html\2)', src)
            parts.append(src)
        elif c['cell_type'] == 'code':
            parts.append(f'```python\n{src}\n```')
            out = ''.join(''.join(o['text']) for o in c.get('outputs', []) if o.get('output_type') == 'stream').strip()
            if out: parts.append(f'```\n{out}\n```')
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        if readme.read_text(encoding='utf-8') != text:
            sys.exit('README.md is out of date with nbs/index.ipynb: run `python tools/readme.py` and commit it')
        print('README.md matches nbs/index.ipynb')
    else:
        readme.write_text(text, encoding='utf-8'); print('wrote README.md')
