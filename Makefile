# The two commands of the README:  make lab   |   make test
# Everything installs into .venv (created when missing); a second install does no work.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install lab lab-source test test-unit test-notebooks lint notebooks bench bench-quick bench-explorer bench-quality docs homework test-homework clean

help:
	@echo "make lab        create .venv if needed, install, open JupyterLab on your copies in my_notebooks/"
	@echo "make lab-source open JupyterLab on the committed notebooks/ (authors)"
	@echo "make test       create .venv if needed, install, run every test (unit + notebooks)"
	@echo "make notebooks  re-execute the lecture notebooks in place at full quality"
	@echo "make lint       ruff on the package and the tests"
	@echo "make bench      speed and memory benchmarks (make bench-quick: < 3 min)"
	@echo "make bench-quality  the default render of the paper's pair against the published one (~5 min)"
	@echo "make docs       build the course website into docs/_build/html (offline)"
	@echo "make homework   regenerate the student notebooks in homework/ from homework/solutions/"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-installs only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade "pip>=23.1"
	$(PY) -m pip install -e ".[test,notebooks,docs,grading,fetch]"
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	@# widgets keep their state when a notebook is saved: reopened, a run's widgets show, not "model not found"
	mkdir -p $(VENV)/share/jupyter/lab/settings
	printf '%s\n' '{"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}}' \
	  > $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

install: $(STAMP)

# `make lab` opens your own copies in my_notebooks/ (made once, never overwritten), so a live run in class
# cannot replace the committed outputs; `make lab-source` opens the originals (for authors).
# ARGS passes options to JupyterLab, e.g. `make lab ARGS=--allow-root` in a container running as root.
WORK ?= my_notebooks
JUPYTER ?= $(VENV)/bin/jupyter

lab: $(STAMP)
	@mkdir -p $(WORK)
	@for f in notebooks/*.ipynb homework/hw*.ipynb; do \
	  if [ -e "$(WORK)/$$(basename $$f)" ]; then :; else cp "$$f" "$(WORK)/" && echo "copied $$f to $(WORK)/"; fi; \
	done
	$(JUPYTER) lab $(ARGS) $(WORK)/

lab-source: $(STAMP)
	$(JUPYTER) lab $(ARGS) notebooks/

lint: $(STAMP)
	$(PY) -m ruff check nst_helpers tests benchmarks tools

test-unit: $(STAMP)
	$(PY) -m pytest tests

test-notebooks: $(STAMP)
	@if ls notebooks/*.ipynb > /dev/null 2>&1; then \
	  NST_QUICK=1 $(PY) -m pytest --nbval-lax --nbval-current-env -p no:randomly notebooks/; \
	else echo "no notebooks yet"; fi

homework: $(STAMP)
	$(PY) tools/make_homework.py

test-homework: $(STAMP)
	$(PY) tools/make_homework.py --check
	NST_QUICK=1 $(PY) -m pytest --nbval-lax --nbval-current-env -p no:randomly homework/solutions/

test: lint test-unit test-notebooks test-homework

notebooks: $(STAMP)
	$(PY) tools/run_notebooks.py notebooks/*.ipynb

docs: $(STAMP)
	$(PY) docs/build.py

bench: $(STAMP)
	$(PY) benchmarks/bench_speed.py

bench-quick: $(STAMP)
	$(PY) benchmarks/bench_speed.py --quick

bench-quality: $(STAMP)
	$(PY) benchmarks/bench_quality.py

bench-explorer: $(STAMP)
	$(PY) benchmarks/bench_explorer.py --size 256 --steps 50 --runs 3

clean:
	rm -rf .pytest_cache .ruff_cache test-artifacts docs/_build docs/_generated
