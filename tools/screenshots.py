"""Photograph the real docs site: a full-page PNG of every rendered page, and 1280x1600 tiles to read it by.

    python tools/screenshots.py                 # render a copy (as tools/check_site.py does), then photograph it
    python tools/screenshots.py --site DIR      # photograph an earlier render (check_site.py --keep DIR)
    python tools/screenshots.py module data     # some pages only

Serves the site on 127.0.0.1 (a free port), points MathJax at the local copy Quarto's installer leaves in
~/.cache/trainkit-quarto/npm/node_modules/mathjax (so formulas render offline) and shoots with headless Chromium,
which resolves nothing but 127.0.0.1 (`apt-get install -y chromium` if it is missing).
Output: tools/screenshots/<page>.png and tools/screenshots/tiles/<page>-NN.png.
"""
import argparse, functools, http.server, re, shutil, subprocess, sys, tempfile, threading
from pathlib import Path

import check_site

OUT, WIDTH, TILE = check_site.ROOT/'tools'/'screenshots', 1280, 1600
MATHJAX = Path.home()/'.cache/trainkit-quarto/npm/node_modules/mathjax'
CDN = re.compile(r'https://cdn\.jsdelivr\.net/npm/mathjax@3/')
HEIGHT = ('<script>addEventListener("load", () => setTimeout(() => document.body.dataset.pageHeight = '
          'document.documentElement.scrollHeight, 1500))</script></body>')

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass

def chrome(profile, *args):
    exe = next((shutil.which(n) for n in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(n)), None)
    if exe is None: sys.exit('screenshots.py: error: Chromium is not installed: apt-get install -y chromium')
    cmd = [exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--hide-scrollbars',
           '--disable-component-update', '--disable-sync', '--no-first-run', f'--user-data-dir={profile}',
           '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--virtual-time-budget=8000', *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('pages', nargs='*', help='page names (module, 05_module, module.html); default: all')
    ap.add_argument('--site', type=Path, help='an existing render: DIR/_docs or DIR')
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='trainkit-shots-'))
    try:
        if a.site: docs = a.site/'_docs' if (a.site/'_docs').is_dir() else a.site
        else:
            if not shutil.which('quarto'): sys.exit(f'screenshots.py: error: quarto is not on PATH. {check_site.GET_QUARTO}')
            ok, tail = check_site.render(tmp/'repo')
            if not ok: sys.exit('nbdev_docs failed:\n' + '\n'.join(tail))
            docs = tmp/'repo'/'_docs'
        site = tmp/'site'; shutil.copytree(docs, site)
        if MATHJAX.is_dir(): (site/'_mathjax').symlink_to(MATHJAX)
        else: print(f'note: no local MathJax at {MATHJAX}: formulas will show as TeX')
        want = sorted(p.name for p in site.glob('*.html'))
        if a.pages: want = [p for p in want if p in {check_site.page_of(n) for n in a.pages}] or sys.exit('no such page')
        for p in want:
            html = CDN.sub('/_mathjax/', (site/p).read_text(encoding='utf-8'))
            (site/p).write_text(html.replace('</body>', HEIGHT, 1), encoding='utf-8')
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        shutil.rmtree(OUT, ignore_errors=True); (OUT/'tiles').mkdir(parents=True)
        from PIL import Image
        Image.MAX_IMAGE_PIXELS = None
        for p in want:
            url = f'http://127.0.0.1:{server.server_address[1]}/{p}'
            m = re.search(r'data-page-height="(\d+)"', chrome(tmp/'profile', f'--window-size={WIDTH},900', '--dump-dom', url))
            h = min(int(m.group(1)) + 40, 60000) if m else 8000
            png = OUT/p.replace('.html', '.png')
            chrome(tmp/'profile', f'--window-size={WIDTH},{h}', f'--screenshot={png}', url)
            im = Image.open(png)
            for i, top in enumerate(range(0, im.height, TILE)):
                im.crop((0, top, im.width, min(im.height, top + TILE))).save(OUT/'tiles'/f'{png.stem}-{i + 1:02d}.png')
            print(f'{p:24} {h:6d} px  {-(-im.height // TILE):3d} tiles  {png.relative_to(check_site.ROOT)}')
        server.shutdown()
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
