# Two set-up commands: `make demo` and `make test`. Each builds what it needs on a fresh machine.
PY ?= python3
VENV := .venv
# The ray extra in a venv of its own: RLlib pins Gymnasium (2.60: gymnasium==1.2.2), so the
# suite runs there too, on that Gymnasium, beside the main venv's newest one.
RAY_VENV := .venv-ray
# A CPU build of torch: `pip install torch` alone would pull several GB of CUDA wheels.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test test-ray lint pytest pytest-ray setup chromium clean
# One recipe at a time, even under `make -j`: both test runs start browsers, and the Dino tests
# check that no other browser is running.
.NOTPARALLEL:

# The shipped pretrained agent plays 5 seeded games of the real chrome://dino, headless: prints
# each score, writes runs/demo/best.gif (the end of the best game) and runs/demo/scores.png.
demo: $(VENV)/.installed chromium
	$(VENV)/bin/python -m rlgames.demo --seeds 0-4 --out runs/demo

# Every test twice over: in the main venv on the newest Gymnasium, then in the ray venv on the
# Gymnasium RLlib pins, where the Ray tests (a real multi-node cluster on this machine, RLlib,
# Tune) run too.
test: lint pytest pytest-ray

# The Ray tests and the rest of the suite on RLlib's Gymnasium (Mario stays in the main venv:
# the ray extra does not install it).
pytest-ray: $(RAY_VENV)/.installed chromium
	$(RAY_VENV)/bin/python -m pytest -q -m "not mario"

test-ray: pytest-ray

setup: $(VENV)/.installed

# Everything, Super Mario Bros included, in the one venv. The mario extra's nes-py 8.2.1 (below
# Python 3.13) compiles a C++ extension, so g++ comes first.
$(VENV)/.installed: pyproject.toml
	command -v g++ >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++; } || \
		{ echo "nes-py builds a C++ extension: install g++ (sudo apt-get install g++)"; exit 1; }
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "$(TORCH_SPEC)"
	$(VENV)/bin/pip install --quiet -e ".[all]"
	touch $@

$(RAY_VENV)/.installed: pyproject.toml
	test -x $(RAY_VENV)/bin/python || $(PY) -m venv $(RAY_VENV)
	$(RAY_VENV)/bin/pip install --quiet "$(TORCH_SPEC)"
	$(RAY_VENV)/bin/pip install --quiet -e ".[ray,dino,atari,video,dev]"
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

# Every test, Dino, Mario and Atari on their real browser and emulators, with numpy 2.
pytest: $(VENV)/.installed chromium
	$(VENV)/bin/python -m pytest -q -m "not ray"

clean:
	rm -rf $(VENV) $(RAY_VENV) runs .pytest_cache .ruff_cache
