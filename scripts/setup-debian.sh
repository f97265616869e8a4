#!/usr/bin/env bash
# Installs everything fgbi needs to build and test on Debian 12 (run as root).
# Every dependency is a Debian package; nothing is downloaded by the build.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates \
  libhwy-dev zlib1g-dev liblz4-dev libxxhash-dev libzstd-dev \
  libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev \
  libxen-dev libssl-dev \
  clang libclang-rt-14-dev iproute2 procps
