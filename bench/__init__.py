"""trainkit's performance benchmark: `python -m bench` (full, several minutes) or `python -m bench --quick` (smoke run).

Every figure is a ratio of medians of interleaved runs (A B C A B C ..., never A A A B B B) measured in one process
with `torch.set_num_threads(1)`, so machine-wide slowdowns hit every contender alike. See `python -m bench --help`
and the docs page nbs/18_performance.ipynb. Speed is never asserted here; correctness is (exit status 1 if a
check fails, e.g. trainkit's SGD not giving exactly torch's numbers)."""
