# attnflow: the two entry points of the README.
#   make demo   set up, build, run scenarios/quickstart.toml (and render it)
#   make test   set up, build, run the whole test suite
#   make bench  set up, build, run the kernel benchmarks and the NumPy/PyTorch peers (~10 min)
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup configure build demo test bench sanitize-build clean

all: build

setup:
	bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD)

# Writes bench/results/bench.{json,md}; run it on an otherwise idle machine.
bench: build
	bash scripts/bench.sh $(BUILD)

# A second build with clang, AddressSanitizer + UBSan and libFuzzer instrumentation: the test
# suite runs its unit tests, the broken-scenario corpus and a bounded fuzzing session on it.
ASAN_BUILD ?= $(BUILD)-asan
sanitize-build: setup
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Sanitize \
	  -DATTNFLOW_SANITIZE=ON -DATTNFLOW_FUZZ=ON -DATTNFLOW_WITH_VTK=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target attnflow attnflow_tests fuzz_scenario

test: build sanitize-build
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j$(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) out
