# attnflow: the two entry points of the README.
#   make demo   set up, build, run scenarios/quickstart.toml (and render it)
#   make test   set up, build, run the whole test suite
#   (both also install the Python package: `import attnflow`, docs/python.md)
#   make bench  set up, build, run the kernel benchmarks and the NumPy/PyTorch peers (~10 min)
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup configure build install-python demo test bench sanitize-build clean

all: build

setup:
	bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

# The Python package into the site-packages of Debian's /usr/bin/python3 (copies the package, its
# extension and libattnflow.so from the build; no network), so that `import attnflow` works from
# any directory (docs/python.md). Without root: through sudo, as scripts/setup.sh does.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
install-python: build
	$(SUDO) cmake --install $(BUILD) --component python

demo: build install-python
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

test: build install-python sanitize-build
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j$(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) out
