#!/usr/bin/env bash
# Installs the library into a fresh prefix and builds a program against it from outside the
# source tree: headers self-contained (no toml++/HDF5 includes needed), shared library usable.
# usage: check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
prefix=$(mktemp -d /tmp/attnflow-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" --component library > "$prefix/install.log"
test -f "$prefix/lib/libattnflow.so" || { echo "FAIL: no libattnflow.so installed"; exit 1; }
test -f "$prefix/include/attnflow/sim/core/state.hpp" || { echo "FAIL: headers missing"; exit 1; }
if grep -rlE '#include *<(toml\+\+|hdf5)' "$prefix/include"; then
  echo "FAIL: an installed header includes toml++ or hdf5.h"; exit 1
fi
test -f "$prefix/lib/cmake/attnflow/attnflowConfig.cmake" || { echo "FAIL: no CMake package"; exit 1; }
# A consumer built with plain g++ (only Eigen and OpenMP besides attnflow); and without the ABI
# definitions it must not compile (a silent mismatch would corrupt the heap).
if g++ -std=c++20 -fsyntax-only -I"$prefix/include/attnflow" -I/usr/include/eigen3 \
     "$src/tests/install/consumer.cpp" 2> /dev/null; then
  echo "FAIL: a consumer without the Eigen ABI definitions compiled"; exit 1
fi
# Without -march=native: the library's Eigen ABI (64-byte alignment) must still match.
g++ -std=c++20 -O1 -fopenmp -DEIGEN_DONT_PARALLELIZE -DEIGEN_MAX_ALIGN_BYTES=64 \
  -DEIGEN_MAX_STATIC_ALIGN_BYTES=64 -I"$prefix/include/attnflow" -I/usr/include/eigen3 \
  "$src/tests/install/consumer.cpp" -L"$prefix/lib" -lattnflow -Wl,-rpath,"$prefix/lib" \
  -o "$prefix/consumer"
"$prefix/consumer"
# ... and one configured with CMake's find_package(attnflow).
mkdir -p "$prefix/proj"
cat > "$prefix/proj/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(consumer CXX)
find_package(attnflow REQUIRED)
add_executable(consumer $src/tests/install/consumer.cpp)
target_link_libraries(consumer PRIVATE attnflow::attnflow)
CM
cmake -S "$prefix/proj" -B "$prefix/proj/build" -DCMAKE_PREFIX_PATH="$prefix" > "$prefix/cm.log"
cmake --build "$prefix/proj/build" > "$prefix/cmb.log"
"$prefix/proj/build/consumer"
echo "ok"
