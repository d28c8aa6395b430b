"tools/check_site.py catches each defect it claims to, on a small synthetic site (and passes a clean page)."
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tools'))
import check_site as cs  # noqa: E402

URL = 'https://example.test/kit'
SIDEBAR = ('<nav id="quarto-sidebar"><a class="sidebar-link" href="./good.html"><span class="menu-text">Good page</span>'
           '</a><a class="sidebar-link" href="./bad.html"><span class="menu-text">Bad page</span></a></nav>')
CELL = '<div class="cell"><div class="sourceCode cell-code"><pre><code>{}</code></pre></div>{}</div>'
OUT = '<div class="cell-output cell-output-stdout"><pre><code>{}</code></pre></div>'
PAGES = {
    'index.html': '<table><tr><td><a href="./good.html">Good page</a></td></tr>'
                  '<tr><td><a href="./bad.html">Wrong title</a></td></tr></table>',
    'good.html': '<h2 id="there">There</h2>' + CELL.format('def f(x):\n    return x', OUT.format('3')) +
                 '<details class="code-fold"><summary>Code</summary>' + CELL.format('@patch\ndef g(self:A): pass', '') +
                 '</details><p>See <a href="bad.html#top">bad</a>, <a href="#there">here</a>, torch&#8217;s '
                 '<code>DataLoader</code> and <a href="https://example.test/kit/good.html#there">this</a>; 4 <em>x</em> 5 '
                 '&#8212; fine &#8211; 1&#8211;2.</p>',
    'bad.html': '<h3 id="top">h</h3><div class="sourceCode"><pre><code>def h(a, # see [`f`](https://x)\n):</code></pre>'
                '</div>' + CELL.format('#| export\nshow_doc(f)', OUT.format(
                    'Traceback (most recent call last)\nsaved /tmp/run/x.pt\n' + 'y' * 101)) +
                '<p>Run <code>kit</code> with &#8211;epochs 3, read torch&#8217;s <a href="good.html"><code>DataLoader</code>'
                '</a> or <a href="good.html#there"><code>nn.Linear</code></a>; 784<em>50 + 50</em>10 weights, '
                '[x](y) and #| hide.</p><p><a href="good.html#nowhere">a</a> <a href="missing.html">b</a></p>'
                '<p><em>Call self as a function.</em></p><div class="quarto-figure"><figure><p><a href="https://c">'
                '<img src="https://c/colab-badge.svg"></a></p><figcaption>Open In Colab</figcaption></figure></div>',
}
NEED = {'good.html': [('f', 'def f(x):\n    return x'), ('A.g', '@patch\ndef g(self:A): pass')],
        'bad.html': [('h', 'def h(a):\n    pass')]}

def site(tmp_path):
    for name, body in PAGES.items():
        (tmp_path/name).write_text(f'<html><body>{SIDEBAR}<main id="quarto-document-content">{body}</main></body></html>')
    return cs.Site(tmp_path, URL, f'[a]({URL}/good.html#there) [b]({URL}/05_module.html) [c]({URL})', NEED)

def test_clean_page_passes(tmp_path):
    res, lines = cs.check_site(site(tmp_path))
    assert res['good.html'] == {k: [] for k in cs.KINDS}
    assert lines['good.html'] == 5

def test_each_defect_is_caught(tmp_path):
    res, _ = cs.check_site(site(tmp_path))
    bad = res['bad.html']
    assert bad['hidden'] == [bad['hidden'][0]] and bad['hidden'][0].startswith('1 of 1 implementations') and ': h.' in bad['hidden'][0]
    links = '\n'.join(bad['links'])
    assert 'good.html has no #nowhere' in links and 'no page missing.html' in links
    assert '"DataLoader" means torch' in links and '"nn.Linear" means torch' in links and len(bad['links']) == 4
    g = '\n'.join(bad['garbled'])
    for what in ['raw directive shown in a code block: `#| export`', '`show_doc(` source', 'raw markdown link in an API',
                 'garbled flag', 'raw markdown link in the text', 'raw directive in the text', '"Call self as a function."',
                 'intraword emphasis: "; 784*50 + 50*10 weigh"', 'Colab badge renders as a captioned figure',
                 'a traceback is shown', 'absolute local path']:
        assert what in g, what
    assert len(bad['garbled']) == 11
    assert bad['wide'][0].startswith('1 of 7 code/output lines are wider than 100')
    assert len(res['README.md']['links']) == 1 and 'no page 05_module.html' in res['README.md']['links'][0]
    assert res['bad.html']['titles'] == ['the index table says "Wrong title" but the sidebar title is "Bad page": use one '
                                         'name (the notebook\'s `# Title` is the sidebar\'s)']

def test_definitions_follow_the_markers(tmp_path):
    (tmp_path/'m.py').write_text('__all__ = ["f"]\n# %% ../nbs/01_a.ipynb #1\ndef f():\n    "One line."\n'
                                 '# %% ../nbs/02_b.ipynb #2\n@patch\ndef g(self:(A, B)): pass\nx = 1\n'
                                 '@patch_to(C)\ndef h(self): pass\nclass _K: pass\n')
    d = cs.definitions(tmp_path)
    assert [n for n, *_ in d['01_a.ipynb']] == ['f'] and d['01_a.ipynb'][0][2:] == ('One line.', True)
    assert [n for n, *_ in d['02_b.ipynb']] == ['A|B.g', 'C.h', '_K']
    assert cs.page_of('05_module.ipynb') == 'module.html' and cs.page_of('index.ipynb') == 'index.html'

def test_without_quarto_the_site_part_is_skipped(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv('PATH', str(tmp_path))
    assert cs.main(['--part', 'site']) == cs.SKIP
    assert 'site check SKIPPED: quarto is not on PATH' in capsys.readouterr().out
