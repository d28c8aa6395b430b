"trainkit's performance benchmark: `python -m bench` (several minutes) or `python -m bench --quick`; see README.md."
