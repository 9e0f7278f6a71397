# Osprey: `make run` and `make test` work on a fresh Debian 12 machine as root.
#
#   make deps    system packages (+ a Rust toolchain via rustup if cargo is missing)
#   make build   cargo build --release
#   make run     deps + build + analyze samples/lab-basic.pcap into out/lab-basic, list its
#                flows, then open the GUI on it (without a display: lists its alerts instead)
#   make test    deps + fmt check + clippy (-D warnings) + cargo test
#                then every fuzz target for FUZZ_SECS (30) seconds (fuzz/run.sh)
#   make bench   bench/run.sh (SIZE_MIB=1024 by default; e.g. make bench SIZE_MIB=64)
#   make harden  hardening at local sizes: 10,000 mutated captures, 1 vs N flow
#                workers on a 256 MiB workload, the full-size floods (release binary), the decoder fuzz targets to
#                HARDEN_FUZZ_RUNS (10 M) executions each, every fuzz target for
#                HARDEN_FUZZ_SECS (600) seconds
#   make lab     re-record samples/lab-basic.pcap{,ng} in network namespaces (root)
#   make lab-attacks  re-record samples/attacks/*.pcap + ground-truth.tsv (root; ONLY="a b" for a subset)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := run

export PATH := $(HOME)/.cargo/bin:$(PATH)
export DEBIAN_FRONTEND := noninteractive

CARGO  ?= cargo
OSPREY := target/release/osprey
SAMPLE ?= samples/lab-basic.pcap
CASE   ?= out/lab-basic
# Seconds per fuzz target: in `make test` (CI) and in `make harden`.
FUZZ_SECS ?= 30
HARDEN_FUZZ_SECS ?= 600
# Executions per decoder fuzz target in `make harden` (readers, decoder,
# defragmentation, reassembly, L7 parsers, capture-helper framing).
HARDEN_FUZZ_RUNS ?= 10000000
DECODER_FUZZ_TARGETS := capture_file decode defrag tcp_reasm app_parsers capture_framing

# Live tests: hping3, curl, ping, iproute2; the privilege-split test:
# setcap (libcap2-bin; setpriv is util-linux, always there). Policy tests: xmllint
# (libxml2-utils). GUI: X11/GL client libraries for eframe (glow), Mesa's
# software GL, and Xvfb + ImageMagick for the headless screenshot test
# (tests/gui_xvfb.rs).
APT_PKGS := build-essential libpcap-dev pkg-config tshark tcpdump libndpi-bin time python3 \
	hping3 curl iputils-ping iproute2 libcap2-bin libxml2-utils \
	xvfb xauth x11-apps imagemagick libxkbcommon-x11-0 libgl1 libegl1 libgl1-mesa-dri

.PHONY: deps build run test bench harden lab lab-attacks clean

deps:
	@missing=""; \
	for p in $(APT_PKGS); do \
	    dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if ! command -v cargo >/dev/null 2>&1; then \
	    for p in curl ca-certificates; do \
	        dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	    done; \
	fi; \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing$$missing"; \
	    echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections; \
	    apt-get update -qq; \
	    apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	    echo "deps: system packages already installed"; \
	fi
	@if ! command -v cargo >/dev/null 2>&1; then \
	    echo "deps: cargo not found, installing the stable toolchain with rustup"; \
	    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | \
	        sh -s -- -y --profile minimal --component rustfmt,clippy; \
	fi
	@if command -v rustup >/dev/null 2>&1 && \
	    ! { $(CARGO) fmt --version && $(CARGO) clippy --version; } >/dev/null 2>&1; then \
	    rustup component add rustfmt clippy; \
	fi

build:
	$(CARGO) build --release

run: deps build
	$(OSPREY) analyze $(SAMPLE) -o $(CASE)
	$(OSPREY) flows $(CASE)
	$(OSPREY) gui $(CASE)

# Free disk is printed first and after the tests: a build fills several GiB,
# and a full disk otherwise shows up as some test's write error.
test: deps
	df -h . $${TMPDIR:-/tmp} || true
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
	df -h . $${TMPDIR:-/tmp} || true
	bash fuzz/run.sh $(FUZZ_SECS)

bench: deps
	bash bench/run.sh

# Hardening runs at their local sizes (CI runs the same tests at CI sizes
# inside `make test`): 10,000 mutated captures; floods of 5 M spoofed SYNs,
# 1 M never-completing fragments and 20,000 holey streams, each then a real
# attack, through the release binary at default memory budgets.
harden: deps
	OSPREY_MUTANTS=10000 $(CARGO) test --test mutants -- --nocapture
	OSPREY_WORKERS_MIB=256 $(CARGO) test --release --test workers -- --nocapture
	$(CARGO) build --release --bin osprey
	OSPREY_FLOOD_FULL=1 OSPREY_BIN="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release/osprey" \
	    $(CARGO) test --test flood -- --nocapture
	FUZZ_RUNS=$(HARDEN_FUZZ_RUNS) bash fuzz/run.sh 7200 $(DECODER_FUZZ_TARGETS)
	bash fuzz/run.sh $(HARDEN_FUZZ_SECS)

lab:
	bash samples/lab/record.sh

lab-attacks:
	bash samples/lab/attacks.sh

clean:
	rm -rf out
