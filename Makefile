# Clif build. `make` builds the native library and the jar and leaves bin/clif runnable;
# `make test` runs every test; `make bench` runs the JMH benchmarks.
#
#   make TORCH_DIR=/path/to/share/cmake   build against another libtorch (e.g. a CUDA PyTorch:
#                                         python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
#   make bindings JEXTRACT=/path/to/jextract   regenerate bindings/ from native/include/clif.h

SHELL := /bin/bash
JDK25 ?= /usr/lib/jvm/temurin-25-jdk-amd64
JAVA_HOME := $(shell if [ -x "$(JDK25)/bin/java" ]; then echo "$(JDK25)"; else echo "$$JAVA_HOME"; fi)
export JAVA_HOME
# Maven 3.8 on JDK 25 warns about sun.misc.Unsafe on every run; the warnings are noise.
export MAVEN_OPTS ?= --sun-misc-unsafe-memory-access=allow
MVN ?= mvn -B -ntp
TORCH_DIR ?=
BUILD_DIR ?= native/build
CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=Release $(if $(TORCH_DIR),-DCMAKE_PREFIX_PATH=$(TORCH_DIR))
JEXTRACT ?=
BENCH_ARGS ?=
GOLDEN ?= $(abspath ../shared/golden)

.PHONY: all native jar test bench bindings check-java clean demo golden fuzz serve-bench serve-openai-check

all: jar

check-java:
	@v=$$("$(JAVA_HOME)/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'); \
	if [ -z "$$v" ] || [ "$$v" -lt 25 ]; then \
	  echo "Clif needs JDK 25 or newer: install one and set JAVA_HOME (found '$${v:-no java}' at '$(JAVA_HOME)')." >&2; exit 1; fi

native:
	@cmake -S native -B $(BUILD_DIR) $(CMAKE_FLAGS) > $(BUILD_DIR).cmake.log 2>&1 || { cat $(BUILD_DIR).cmake.log; exit 1; }
	@cmake --build $(BUILD_DIR) -j$$(nproc)

jar: check-java native
	$(MVN) -q -DskipTests -Dclif.native.dir=$(abspath $(BUILD_DIR)) package
	@echo "Built target/clif.jar; run bin/clif --version"

test: check-java native
	$(MVN) -Dclif.native.dir=$(abspath $(BUILD_DIR)) -Dclif.golden=$(GOLDEN) verify

bench: jar
	$(MVN) -DskipTests -Dclif.native.dir=$(abspath $(BUILD_DIR)) install
	$(MVN) -f benchmarks/pom.xml package
	"$(JAVA_HOME)/bin/java" --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar \
	  -jvmArgsPrepend "-Dclif.golden=$(CURDIR)/testdata/golden" -rf json -rff $(CURDIR)/target/bench-results.json $(BENCH_ARGS)
	@echo "JMH results: target/bench-results.json"

# Real fuzzing (Jazzer) of every reader, FUZZ_SECONDS each, one JVM per target: findings land as crash-* inputs in
# src/test/resources/dev/clif/fuzz/ReaderFuzzTestInputs/TARGET/ (then regression inputs of every `make test`);
# the generated corpus stays in .cifuzz-corpus/. An input running over 10 s is a hang (libFuzzer's -timeout), and the
# 1 GiB heap makes an unbounded allocation an OutOfMemoryError finding. Logs and execution counts: target/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors npy resultsLog promptSet tokenizerText tokenizerFiles modelFolder
fuzz: check-java native
	@mkdir -p target/fuzz
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  JAZZER_FUZZ=1 $(MVN) -q -Dclif.native.dir=$(abspath $(BUILD_DIR)) -Dclif.test.heap=1g \
	    -Djazzer.max_duration=$(FUZZ_SECONDS)s -Djazzer.instrument='dev.clif.**' \
	    -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-timeout=10 \
	    -Dtest="ReaderFuzzTest#$$t" -Dsurefire.failIfNoSpecifiedTests=false test > target/fuzz/$$t.log 2>&1; \
	  echo "fuzz: $$t exit $$? $$(grep -aoE 'Done [0-9]+ runs in [0-9]+ second' target/fuzz/$$t.log | tail -1)"; \
	done

# Regenerates the Java bindings from clif.h (needs jextract; it is built outside this repository).
bindings:
ifeq ($(JEXTRACT),)
	@echo "JEXTRACT is not set: using the committed bindings in bindings/src (see bindings/PROVENANCE)."
else
	bash bindings/generate.sh "$(JEXTRACT)"
endif

# The main job on the embedded default: purge "red" from the shapes-world model Clif ships, with CLIF and ESD,
# and judge what it draws before and after (shapes-bench/bench.json, shapes-bench/grid.png).
demo: jar
	bin/clif shapes bench --out shapes-bench

# clif serve under load on loopback: dynamic batching against --max-batch 1 (SERVE_BENCH_ARGS: clients requests steps
# max-batch max-wait-ms); a table and target/serve-bench.json.
SERVE_BENCH_ARGS ?= 200 1000 4 8 20
serve-bench: jar
	"$(JAVA_HOME)/bin/java" --enable-native-access=ALL-UNNAMED -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
	  -cp target/clif.jar dev.clif.serve.ServeBench $(SERVE_BENCH_ARGS)

# The official OpenAI Node client (npm, needs the registry once) against clif serve on the shapes model.
serve-openai-check: jar
	cd src/test/clients/openai-node && npm install --no-audit --no-fund --silent
	@bin/clif serve --model shapes --port 0 --default-steps 4 > target/serve-openai.log 2>&1 & pid=$$!; \
	for i in $$(seq 1 240); do url=$$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' target/serve-openai.log); [ -n "$$url" ] && break; sleep 0.5; done; \
	CLIF_URL=$$url node src/test/clients/openai-node/images-generate.mjs; rc=$$?; kill -TERM $$pid; wait $$pid; exit $$rc

# Clif's models against the committed reference cases, and those beside the checkout when there.
golden: jar
	@for root in testdata/golden testdata/golden/*/; do if [ -d "$$root/cases" ]; then echo "== $$root"; bin/clif check-golden $$root || exit 1; fi; done
	@if [ -d "$(GOLDEN)/cases" ]; then bin/clif check-golden $(GOLDEN); fi

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR).cmake.log target benchmarks/target shapes-bench
