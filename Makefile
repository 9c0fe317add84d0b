# The two commands of the README. Both bootstrap .venv first.
.PHONY: run test bench

run:
	@deploy/bootstrap.sh run
	.venv/bin/llm-dlp run $(ARGS)

test:
	@deploy/bootstrap.sh test
	.venv/bin/python -m pytest $(ARGS)

bench:
	@deploy/bootstrap.sh test
	.venv/bin/python bench/engine_bench.py $(ARGS)
	.venv/bin/python bench/proxy_latency.py
