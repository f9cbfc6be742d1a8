# carebot: `make run` sets everything up and starts the bot; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
# Rasa 3.6 needs Python 3.10: from pyenv, else from PATH (looked up when first used, so after
# scripts/ensure-system-deps has had a chance to install it)
NLU_PYTHON ?= $(shell scripts/find-python310)
VENV := .venv
NLU_VENV := .venv-nlu
CAREBOT := $(VENV)/bin/carebot

.PHONY: setup system-deps run test bench train clean

# Debian packages: what `run` needs (Python venv support, Python 3.10), `bench` adds PostgreSQL,
# `test` also Chromium and nginx; installed as root, else the command to run is printed
SYSTEM_DEPS := run
bench: SYSTEM_DEPS := bench
test: SYSTEM_DEPS := test
system-deps:
	@scripts/ensure-system-deps $(SYSTEM_DEPS)

setup: system-deps $(VENV)/.installed $(NLU_VENV)/.installed

$(VENV)/.installed: requirements/service.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements/service.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

$(NLU_VENV)/.installed: requirements/nlu.lock
	@test -n "$(NLU_PYTHON)" || { echo "Python 3.10 not found (PATH or pyenv): Rasa 3.6 needs it"; exit 1; }
	$(NLU_PYTHON) -m venv $(NLU_VENV)
	$(NLU_VENV)/bin/pip install -q --upgrade pip wheel
	$(NLU_VENV)/bin/pip install -q -r requirements/nlu.lock
	touch $@

# trains only when the data, config or dictionary changed (the model file is named by their hash);
# exit 3 (the gate kept a worse model as a candidate) leaves the active model in place: go on
train: setup
	$(CAREBOT) train || test $$? -eq 3

run: train
	$(CAREBOT) serve

test: setup
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider --durations=15

bench: setup
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) $(NLU_VENV) var .cache
