# The README's two commands are `make demo` and `make test`. Each does all of its set-up on a
# fresh machine (venv with Python 3.10, install, build the guest runtime if it is missing or
# stale) and then runs. Set-up is idempotent: the second time it is only file-date checks.

# wasmer's Python wheels exist only for CPython <= 3.10. Find a 3.10 (pyenv's shim may refuse).
PYTHON310 ?= $(firstword $(foreach p,python3.10 $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10) /usr/local/bin/python3.10 /usr/bin/python3.10,$(if $(shell $(p) -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && echo ok),$(p))))

VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
GUEST := plugin_host/_guest/guest.wasm
RUNTIME_INPUTS := runtime/build.py runtime/inject_gas.py runtime/lock.json $(wildcard runtime/harness/*)

.PHONY: demo test bench setup clean

demo: $(GUEST)
	$(VENV)/bin/plugin-host demo $(ARGS)

test: $(GUEST)
	$(PY) -m pytest -q $(ARGS)

bench: $(GUEST)
	$(PY) benches/run.py $(ARGS)

setup: $(GUEST)

$(VENV)/bin/python:
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found: install it or run make PYTHON310=/path/to/python3.10" >&2; exit 1; }
	$(PYTHON310) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,build,bench,near]'
	touch $@

$(GUEST): $(INSTALLED) $(RUNTIME_INPUTS)
	$(PY) runtime/build.py

clean:
	rm -rf $(VENV) runtime/.cache $(GUEST) .pytest_cache
