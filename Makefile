# The two commands of the README: `make demo` runs the main job, `make test` the whole test suite.
# Both install what they need first (tools/install-deps).
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
LEDGER = .build/debug/ledger

.PHONY: deps build demo test format

deps:
	@tools/install-deps

build: deps
	$(SWIFT) build --product ledger

demo: build
	$(LEDGER) demo

test: deps
	$(SWIFT) build --build-tests
	tools/public-api --check
	tools/check-demo $(LEDGER)
	tools/api-contract-test $(LEDGER)
	$(SWIFT) test --skip-build
	tools/browser-test $(LEDGER)

format:
	swift-format format --in-place --recursive Sources Tests Package.swift tools/bench/Sources tools/bench/Package.swift
