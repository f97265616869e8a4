#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds and runs a consumer
# of both public headers through find_package(fgbi) (shared and static) and
# through pkg-config, and one of the static-linking-only section.
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" > /dev/null
cmake -S "$source_dir" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/consumer" > /dev/null
libdir=$(dirname "$(find "$work/prefix" -name 'libfgbi.so' | head -n 1)")
LD_LIBRARY_PATH="$libdir" "$work/consumer/shared_consumer"
"$work/consumer/static_consumer"
"$work/consumer/static_only"
test -f "$work/prefix/include/fgbi.h"
test -f "$work/prefix/include/fgbi_session.h"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc "$source_dir/consumer.c" "$source_dir/codec_only.c" $(pkg-config --cflags --libs fgbi) \
  -o "$work/pc_consumer"
LD_LIBRARY_PATH="$libdir" "$work/pc_consumer"
echo "install, find_package and pkg-config consumers: ok"
