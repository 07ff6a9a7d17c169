# Two entry points for a fresh machine; both set the stack up first (idempotent).
VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: setup demo test

setup:
	bash tools/setup_env.sh $(VENV)

demo: setup
	$(PYTHON) tools/demo.py --work-dir work_dirs/demo

test: setup
	$(PYTHON) -m pytest tests -q
