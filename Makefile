# peclr_mm: every command sets up .venv first (idempotent, seconds when done).
PY := .venv/bin/python
SRC := peclr_mm peclr_synthetic projects tools tests configs setup.py

.PHONY: setup test demo lint format

setup:
	bash tools/setup_env.sh

test: setup
	$(PY) -m pytest tests -q

# make demo [UNLABELED="DIR ..."] [REAL_TEST=ROOT] (see tools/run_demo.sh)
demo: setup
	UNLABELED="$(UNLABELED)" REAL_TEST="$(REAL_TEST)" bash tools/run_demo.sh

lint: setup
	$(PY) -m flake8 $(SRC)
	$(PY) -m isort --check-only --diff $(SRC)
	$(PY) -m yapf --diff --recursive $(SRC)
	$(PY) -m codespell_lib $(SRC) docs README.md

format: setup
	$(PY) -m isort $(SRC)
	$(PY) -m yapf --in-place --recursive $(SRC)
