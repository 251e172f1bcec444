# Two set-up commands: `make demo` and `make test`. Each builds what it needs on a fresh machine.
PY ?= python3
VENV := .venv
MARIO_VENV := .venv-mario
# A CPU build of torch: `pip install torch` alone would pull several GB of CUDA wheels.
TORCH_SPEC ?= torch==2.13.0
# Gymnasium-native Mario (numpy 2) exists from Python 3.13; older Pythons get a second venv.
PY_GE_313 := $(shell $(PY) -c 'import sys; print(int(sys.version_info >= (3, 13)))')

.PHONY: demo test lint pytest pytest-mario setup chromium clean

# The shipped pretrained agent plays 5 seeded games of the real chrome://dino, headless: prints
# each score, writes runs/demo/best.gif (the end of the best game) and runs/demo/scores.png.
demo: $(VENV)/.installed chromium
	$(VENV)/bin/python -m rlgames.demo --seeds 0-4 --out runs/demo

test: lint pytest pytest-mario

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "$(TORCH_SPEC)"
	$(VENV)/bin/pip install --quiet -e ".[all]"
	if [ "$(PY_GE_313)" = 1 ]; then $(VENV)/bin/pip install --quiet -e ".[all,mario]"; fi
	touch $@

# Mario on Python < 3.13 needs numpy < 2 (gym-super-mario-bros 7.4 / nes-py 8.2): its own venv.
$(MARIO_VENV)/.installed: pyproject.toml
	test -x $(MARIO_VENV)/bin/python || $(PY) -m venv $(MARIO_VENV)
	command -v g++ >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++; } || \
		{ echo "nes-py builds a C++ extension: install g++ (apt-get install g++)"; exit 1; }
	$(MARIO_VENV)/bin/pip install --quiet "$(TORCH_SPEC)" "numpy<2"
	$(MARIO_VENV)/bin/pip install --quiet -e ".[mario,atari,dev]"
	touch $@

chromium:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "Chromium not found. Install it with: sudo apt-get install chromium chromium-driver"; \
		echo "(or pass chrome_path= / driver_path=). The Dino tests are skipped without it."; \
	fi

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The main suite runs with numpy 2; Mario (and the numpy-independent core again) with numpy 1.26.
pytest: $(VENV)/.installed chromium
	$(VENV)/bin/python -m pytest -m "not mario" -q

pytest-mario:
	if [ "$(PY_GE_313)" = 1 ]; then \
		$(VENV)/bin/python -m pytest -m mario -q; \
	else \
		$(MAKE) $(MARIO_VENV)/.installed && $(MARIO_VENV)/bin/python -m pytest -m "not dino" -q; \
	fi

clean:
	rm -rf $(VENV) $(MARIO_VENV) runs .pytest_cache .ruff_cache
