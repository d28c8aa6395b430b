"trainkit-train's exit codes: 0 done, 1 failed, 2 bad option, each failure a one-line error on stderr."
import pytest

from conftest import python

MAIN = "import sys; sys.argv[0] = 'trainkit-train'; from trainkit.cli import main; main(sys.argv[1:])"

def cli(tmp_path, *args):
    r = python(MAIN, *args, cwd=tmp_path)
    return r.returncode, r.stdout, r.stderr.strip()

@pytest.mark.slow
def test_a_run_exits_0_and_saves_a_checkpoint(tmp_path):
    rc, out, err = cli(tmp_path, '--epochs', '1')
    assert rc == 0, err[-2000:]
    assert list(tmp_path.rglob('*.pt')), f'no checkpoint written; output:\n{out}'

@pytest.mark.parametrize('args, says', [(['--epochs', '0'], '--epochs'), (['--no-such-option'], '--no-such-option'),
                                        (['--epochs', 'two'], '--epochs')])
def test_a_bad_option_exits_2_with_one_line(tmp_path, args, says):
    rc, _, err = cli(tmp_path, *args)
    assert rc == 2 and len(err.splitlines()) == 1 and says in err, err
    assert err.startswith('trainkit-train: error:')

def test_a_broken_checkpoint_exits_1_with_one_line(tmp_path):
    (tmp_path/'broken.pt').write_bytes(b'not a checkpoint')
    rc, _, err = cli(tmp_path, '--epochs', '1', '--resume', 'broken.pt')
    assert rc == 1 and len(err.splitlines()) == 1 and 'broken.pt' in err, err

@pytest.mark.parametrize('spelling', ['--data-dir', '--data_dir'])
def test_option_names_take_dashes_or_underscores(tmp_path, spelling):
    rc, _, err = cli(tmp_path, spelling, str(tmp_path))     # the sample needs no folder: a usage error
    assert rc == 2 and '--data-dir is for --dataset mnist or fashion' in err, err
