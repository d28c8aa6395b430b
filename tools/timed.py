"Run a command and print its wall time: `python tools/timed.py CMD ARGS...` (exit status is the command's)."
import subprocess, sys, time

t0 = time.perf_counter()
rc = subprocess.call(sys.argv[1:])
print(f'{" ".join(sys.argv[1:])}: {time.perf_counter() - t0:.1f} s wall, exit {rc}')
sys.exit(rc)
