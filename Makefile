# The two commands of the README: `make demo` runs the main job, `make test` the whole test suite.
# Both install what they need first (tools/install-deps).
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
LEDGER = .build/debug/ledger

.PHONY: deps build demo test format nightly docs fuzz sanitize

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
	tools/report-test $(LEDGER)

# The fuzz targets (tools/fuzz, docs/fuzzing.md): a sanitized build of their own, then FUZZ_TIME seconds each.
FUZZ_TIME ?= 60
fuzz:
	tools/fuzz/run --time $(FUZZ_TIME)

# The store's suites (LMDB, event store, proofs) under AddressSanitizer and ThreadSanitizer (tools/sanitize,
# docs/sanitizers.md): a build directory each, .build-address and .build-thread. Both pass on them (the group
# committer's lock is a pthread mutex, which ThreadSanitizer sees): `make sanitize SANITIZERS="address thread"`.
SANITIZERS ?= address
sanitize: deps
	tools/sanitize $(SANITIZERS)

format:
	swift-format format --in-place --recursive Sources Tests Package.swift tools/bench/Sources tools/bench/Package.swift \
		tools/fuzz/Sources tools/fuzz/Package.swift

# The property suites with many cases each, for a nightly run (minutes, not part of `make test`):
# `make nightly PROPERTY_CASES=20000` for more.
PROPERTY_CASES ?= 3000
PROPERTY_SUITES = EventStoreTests\.(PropertyTests|CanonicalVectorTests)|ProofsTests\.MerklePropertyTests

nightly: deps
	$(SWIFT) build --build-tests
	LEDGER_PROPERTY_CASES=$(PROPERTY_CASES) $(SWIFT) test --skip-build --filter '$(PROPERTY_SUITES)'

# The DocC catalogs (Sources/*/*.docc), built offline with the toolchain's docc from the modules' symbol graphs: one
# site per module under .build/docs (python3 -m http.server -d .build/docs, then /EventStore/documentation/eventstore).
# The library products are documented at their public API; LMDB and LedgerServer, whose API is `package`, at that.
DOC_MODULES = LMDB LedgerProofs EventStore IncidentDomain Projections ProjectionRunner LedgerServer
DOC_PACKAGE_MODULES = LMDB LedgerServer
DOCC ?= docc

docs: deps
	@symbols="$$(dirname "$$($(SWIFT) build --show-bin-path)")/symbolgraph"; rm -rf .build/docs; \
	for level in package public; do \
		$(SWIFT) package dump-symbol-graph --minimum-access-level $$level >/dev/null || exit 1; \
		for m in $(DOC_MODULES); do \
			case " $(DOC_PACKAGE_MODULES) " in *" $$m "*) want=package;; *) want=public;; esac; \
			[ $$want = $$level ] || continue; \
			mkdir -p .build/docs/symbols/$$m; \
			for f in "$$symbols/$$m.symbols.json" "$$symbols/$$m@"*.symbols.json; do \
				if [ -e "$$f" ]; then cp "$$f" .build/docs/symbols/$$m/; fi; \
			done; \
		done; \
	done; \
	for m in $(DOC_MODULES); do \
		echo "docs: $$m"; \
		$(DOCC) convert Sources/$$m/$$m.docc --additional-symbol-graph-dir .build/docs/symbols/$$m \
			--fallback-display-name $$m --fallback-bundle-identifier org.incidentledger.$$m \
			--transform-for-static-hosting --hosting-base-path $$m --output-path .build/docs/$$m || exit 1; \
	done
