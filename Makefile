# The two commands of the README. Both bootstrap .venv first.
.PHONY: run test lint bench

run:
	@deploy/bootstrap.sh run
	.venv/bin/llm-dlp run $(ARGS)

test: lint
	.venv/bin/python -m pytest $(ARGS)

lint:  # part of the test command: CI fails on a lint or type error as on a failing test
	@deploy/bootstrap.sh test
	.venv/bin/ruff check addons tests bench
	.venv/bin/ruff format --check addons tests bench
	.venv/bin/mypy

bench:  # installs the corpora and formatters the benchmarks read (Debian packages; see deploy/bootstrap.sh)
	@deploy/bootstrap.sh bench
	.venv/bin/python bench/engine_bench.py $(ARGS)
	.venv/bin/python bench/proxy_latency.py
