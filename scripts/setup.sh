#!/usr/bin/env bash
# Installs every Debian 12 package attnflow needs. Idempotent: when everything is
# already installed it only checks and returns.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config
  libboost-dev libeigen3-dev libhdf5-dev doctest-dev libtomlplusplus-dev libcli11-dev
  libvtk9-dev libwebp-dev libx11-dev xvfb xauth
  python3 python3-numpy python3-h5py
  clang libclang-rt-14-dev libomp-dev
  libbenchmark-dev libopenblas-dev python3-torch
  libfftw3-dev
  # attnflow-mpi (docs/mpi.md): Open MPI and the parallel HDF5 (switches the hdf5.pc alternative
  # to the MPI build; CMakeLists.txt names the serial one for the rest)
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev
  # the Python package (python/, docs/python.md), its tests and the example notebook
  pybind11-dev python3-pybind11 python3-dev python3-pytest python3-matplotlib
  jupyter-nbconvert python3-nbconvert python3-nbformat python3-ipykernel python3-jupyter-client
)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
else
  echo "setup: all packages present"
fi
