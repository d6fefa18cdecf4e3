# `make` (or `make run`): create .venv if missing, install, start the app on the built-in demo at 127.0.0.1.
# `make test`: install what the tests need too, then run the whole suite.
# `make notebook`: install Jupyter too, then open the notebooks in JupyterLab.
# The engine (`core`) is installed editable, so notebooks and scripts import it from any working folder.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test lint bench notebook clean

run: $(VENV)/.installed
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

bench: $(VENV)/.installed
	$(BIN)/python -m core bench

notebook: $(VENV)/.installed-notebooks
	$(BIN)/jupyter lab notebooks/

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e . --no-deps
	touch $@

$(VENV)/.installed-notebooks: $(VENV)/.installed requirements-notebooks.txt
	$(BIN)/python -m pip install --quiet -r requirements-notebooks.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed $(VENV)/.installed-notebooks requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache
