# The two commands that matter: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# MicroPython type stubs, one folder per board family (they define the same modules differently).
RP2_STUBS := micropython-rp2-rpi-pico-stubs==1.29.0.post1
ESP32_STUBS := micropython-esp32-stubs==1.29.0.post1
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

# The emulated RP2040's harness (tools/rp2040): rp2040js from its lockfile, installed into the project.
NODE_STAMP := tools/rp2040/node_modules/.installed
SILICON_MINUTES ?= 10

.PHONY: test demo emulate fuzz typecheck fault-matrix fault-pairs scenarios campaign silicon clean

$(STAMP): requirements.txt pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(PIP) --no-deps -e .
	$(PIP) --upgrade --target $(VENV)/stubs/rp2 $(RP2_STUBS)
	$(PIP) --upgrade --target $(VENV)/stubs/esp32 $(ESP32_STUBS)
	touch $@

$(NODE_STAMP): tools/rp2040/package.json tools/rp2040/package-lock.json
	if command -v npm >/dev/null; then cd tools/rp2040 && npm ci --no-audit --no-fund --silent && touch node_modules/.installed; \
	else echo "npm not found: the emulated RP2040 is skipped (docs/silicon.md)"; fi

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -n 2 --dist worksteal

demo: $(STAMP)
	$(BIN)/hipec demo

fuzz: $(STAMP)
	HIPEC_FIRMWARE=$$($(BIN)/python -m hipec.firmware_build) $(BIN)/micropython -X heapsize=250K bench/fuzz_link.py 100000

fault-matrix: $(STAMP)
	$(BIN)/python bench/fault_matrix.py --markdown docs/fault-matrix.md

# Every pair of a latent and an active fault, and of two active ones (bench/fault_pairs.py); make test
# runs a sample of it.
fault-pairs: $(STAMP)
	$(BIN)/python bench/fault_pairs.py --markdown docs/fault-matrix-pairs.md

# The randomized scenario campaign (bench/scenarios.py); make test runs a seeded sample of it.
scenarios: $(STAMP)
	$(BIN)/hipec bench scenarios --count 1000 --seed 1

# The randomized plant campaign (bench/campaign.py): 200 plants over the documented ranges, whole sessions
# on the emulated MCU, simple-pid and the on/off thermostat beside them; make test runs a seeded sample.
campaign: $(STAMP)
	$(BIN)/hipec bench campaign --plants 200 --seed 1 --peers --histogram docs/img/campaign.png --save bench/out/campaign.json

# A whole session through the real bridge on the emulated RP2040, figures in cycles (bench/silicon.py;
# SILICON_MINUTES=90 for the heap over a long treatment).
silicon: $(STAMP) $(NODE_STAMP)
	$(BIN)/python bench/silicon.py --minutes $(SILICON_MINUTES) --profile-s 20 --json

typecheck: $(STAMP)
	$(BIN)/python tools/typecheck.py

emulate: $(STAMP)
	$(BIN)/hipec emulate --speed 1

clean:
	rm -rf $(VENV) demo-output .pytest_cache
