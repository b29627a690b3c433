# Two commands do all the set-up: `make demo` and `make test` (see README.md).
BUILD       ?= build/release
ASAN_BUILD  ?= build/asan
JOBS        ?= $(shell nproc)
CONFIG      ?= examples/quickstart.yaml
FUZZ_BUILD  ?= build/fuzz
FUZZ_SECONDS ?= 60
CMAKE_FLAGS  = -G Ninja

.PHONY: all deps build build-asan models demo test test-release test-asan fuzz bench chaos format lint clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSERAPH_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The demo model repository is built from the data in examples/data by our own C++ tool.
models: build
	$(BUILD)/examples/seraph-demo-models --data examples/data --out examples/models

demo: models
	$(BUILD)/src/seraph serve --config $(CONFIG)

test: test-release test-asan

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j 1

test-asan: build-asan
	cd $(ASAN_BUILD) && ctest --output-on-failure -j 1

# Coverage-guided fuzzing with clang and libFuzzer, FUZZ_SECONDS per target (scripts/fuzz.sh). Not part
# of `make test`, whose ctest runs each target briefly through our mutation driver instead.
fuzz: deps
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" JOBS=$(JOBS) bash scripts/fuzz.sh

bench: build models
	$(BUILD)/bench/micro/seraph_micro_bench
	bash bench/run.sh
	bash bench/cost.sh
	bash bench/instructions.sh
	bash bench/cache.sh
	bash bench/batching.sh
	bash bench/cold_start.sh

# The chaos suite's full form: 20 s disturbances, about four minutes (tests/chaos; `make test` runs
# its short form). Fails when an experiment misses a goal.
chaos: build
	$(BUILD)/tests/chaos/seraph_chaos --form full --summary $(BUILD)/chaos-summary.json

format:
	find src tests examples bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

lint:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Release
	find src -name '*.cpp' | xargs clang-tidy -p $(BUILD) --quiet

clean:
	rm -rf build examples/models
