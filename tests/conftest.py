"Shared helpers for the process-level tests (pytest); `-m 'not slow'` skips the slow ones (tools/test.sh --fast)."
import os, socket, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes more than a few seconds (skipped by tools/test.sh --fast)')

def free_port():
    "A TCP port on 127.0.0.1 that nothing listens on (bound by the OS, then released)."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def python(code, *args, cwd=None, env=None, timeout=600):
    "Run `code` in a new Python process (this interpreter, the repo's trainkit). -> CompletedProcess"
    env = {**os.environ, 'PYTHONPATH': str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, '-c', code, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
