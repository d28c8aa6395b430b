"""Photograph every docs page: nbdev-processed notebooks -> HTML (nbconvert) -> PNG (headless Chromium).

Quarto is not installed everywhere, so this shows what the site will show, from the same input Quarto gets:
the notebooks as `nbdev_proc_nbs` processes them (tools/check_docs.py's pipeline: front matter, show_doc
entries executed, hidden and export cells removed). Quarto's cell options are honoured the way Quarto does
(`#| echo: false` hides the code, `#| include: false` the cell, `#| output: false` the outputs, and the
option lines themselves are not shown), the front matter becomes the page heading, and nbconvert's `lab`
template renders markdown, code, outputs and images (images embedded in the HTML).

Chromium is sandboxed from the network: `--host-resolver-rules` lets it resolve nothing but 127.0.0.1, and all
`<script src=http...>` tags (require.js, MathJax CDNs) are removed from the HTML beforehand, so external
images (the Colab badge's SVG) simply do not load and show their alt text.

    apt-get install -y chromium                # once
    python tools/screenshots.py                # every page -> tools/screenshots/<page>.png (+ tiles/ for reading)
    python tools/screenshots.py 05_module      # some pages only

Output: tools/screenshots/<page>.png (full page, 1280 px wide), tools/screenshots/<page>.html, and
tools/screenshots/tiles/<page>-NN.png (the page cut in 1280x1600 slices, to read at full size).
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE/'screenshots'
sys.path.insert(0, str(HERE))
WIDTH, TILE, MAX_H = 1280, 1600, 60000


def chromium():
    for n in ('chromium', 'chromium-browser', 'google-chrome', 'chrome'):
        if shutil.which(n): return shutil.which(n)
    sys.exit('Chromium is not installed: apt-get update && apt-get install -y chromium')


def chrome_cmd(profile, *args):
    return [chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars',
            '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1', f'--user-data-dir={profile}',
            '--virtual-time-budget=5000', *args]


def quarto_view(nb):
    "Apply what Quarto does with nbdev's output: front matter heading, cell options, option lines hidden."
    import nbformat
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.startswith('---'):
            import yaml
            fm = yaml.safe_load(c.source.strip().strip('-')) or {}
            head = f"# {fm.get('title', '')}" + (f"\n\n{fm['description']}" if fm.get('description') else '')
            cells.append(nbformat.v4.new_markdown_cell(head)); continue
        if c.cell_type == 'code':
            lines, opts = c.source.splitlines(), {}
            while lines and re.match(r'\s*#\s*\|', lines[0]):
                m = re.match(r'\s*#\s*\|\s*([\w-]+)\s*:\s*(.*)', lines.pop(0))
                if m: opts[m.group(1)] = m.group(2).strip().strip('"\'')
            c.source = '\n'.join(lines)
            if opts.get('include') == 'false': continue
            tags = set(c.metadata.get('tags', []))
            if opts.get('echo') == 'false' or not c.source.strip(): tags.add('remove_input')
            if opts.get('output') == 'false': tags.add('remove_output')
            c.metadata['tags'] = sorted(tags)
            for o in c.get('outputs', []):   # Pandoc link attributes ([source](url){target=...}) are Quarto's to read
                md = o.get('data', {}).get('text/markdown')
                if md: o['data']['text/markdown'] = re.sub(r'(\]\([^)]*\))\{[^}]*\}', r'\1', ''.join(md))
        cells.append(c)
    nb.cells = cells
    return nb


def to_html(nb_path, title):
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    nb = quarto_view(nbformat.read(nb_path, as_version=4))
    ex = HTMLExporter(template_name='lab', embed_images=True, exclude_input_prompt=True, exclude_output_prompt=True)
    ex.register_preprocessor(TagRemovePreprocessor(remove_input_tags={'remove_input'},
                                                   remove_all_outputs_tags={'remove_output'}), enabled=True)
    html, _ = ex.from_notebook_node(nb, resources={'metadata': {'name': title}})
    html = re.sub(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', '', html)   # no CDN scripts
    html = re.sub(r'<link[^>]*\bhref="https?://[^"]*"[^>]*>', '', html)
    # report the page height to the first (measuring) Chromium run
    html = html.replace('</body>', '<script>window.addEventListener("load",()=>document.body.setAttribute('
                        '"data-page-height",document.documentElement.scrollHeight))</script></body>')
    return html


def shoot(html_path, png_path, profile):
    "Measure the page, then screenshot it whole at WIDTH px. -> height"
    url = html_path.resolve().as_uri()
    dom = subprocess.run(chrome_cmd(profile, f'--window-size={WIDTH},900', '--dump-dom', url),
                         capture_output=True, text=True, timeout=120).stdout
    m = re.search(r'data-page-height="(\d+)"', dom)
    h = min(MAX_H, int(m.group(1)) + 40) if m else 8000
    subprocess.run(chrome_cmd(profile, f'--window-size={WIDTH},{h}', f'--screenshot={png_path}', url),
                   capture_output=True, text=True, timeout=300)
    return h


def tiles(png, dest):
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = None
    im, out = Image.open(png), []
    for i, top in enumerate(range(0, im.height, TILE)):
        p = dest/f'{png.stem}-{i + 1:02d}.png'
        im.crop((0, top, im.width, min(im.height, top + TILE))).save(p); out.append(p)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('pages', nargs='*', help='page names (e.g. 05_module); default: every page')
    a = ap.parse_args()
    import check_docs
    chromium()
    t0 = time.perf_counter()
    want = [p for p in check_docs.pages() if not a.pages or p.stem in a.pages or p.name in a.pages]
    if not want: sys.exit(f'no such page: {a.pages}')
    cwd = os.getcwd()
    shutil.rmtree(OUT, ignore_errors=True); (OUT/'tiles').mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix='trainkit-shots-') as tmp:
        tmp = Path(tmp)
        proc, _, res = check_docs.process(tmp/'repo', only={p.name for p in want})
        os.chdir(cwd)
        print(f'nbdev processing: {time.perf_counter() - t0:.1f} s')
        rows = []
        for p in want:
            err = res.get(p.name, ('not processed',))[0]
            src = proc/p.relative_to(ROOT/'nbs')
            note = ''
            if err or not src.exists():   # still show the page, from the unprocessed notebook, and say so
                src, note = p, 'nbdev processing FAILED, unprocessed notebook shown: ' + err.splitlines()[0][:90]
            html = OUT/f'{p.stem}.html'
            html.write_text(to_html(src, p.stem), encoding='utf-8')
            png = OUT/f'{p.stem}.png'
            t1 = time.perf_counter()
            h = shoot(html, png, tmp/'chrome-profile')
            ok = png.exists()
            n = len(tiles(png, OUT/'tiles')) if ok else 0
            rows.append((p.name, h, n, time.perf_counter() - t1, ok, note))
    print(f'\n{"page":26} {"height px":>9} {"tiles":>5} {"s":>5}  file')
    for name, h, n, t, ok, note in rows:
        print(f'{name:26} {h:9d} {n:5d} {t:5.1f}  {"tools/screenshots/" + Path(name).stem + ".png" if ok else "NO SCREENSHOT"}'
              + (f'\n{"":26}   note: {note}' if note else ''))
    print(f'\n{len(rows)} pages in {time.perf_counter() - t0:.1f} s; tiles in tools/screenshots/tiles/')
    if not all(r[4] for r in rows): sys.exit(1)


if __name__ == '__main__': main()
