#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds and runs, through
# find_package (shared and static) and through pkg-config, a consumer of
# both public headers linked against libfgbi-session, a codec-only consumer
# linked against libfgbi alone, and one of the static-linking-only section.
# Also checks the libraries' names: SONAMEs, and no session symbol in
# libfgbi.
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
LD_LIBRARY_PATH="$libdir" "$work/consumer/codec_consumer"
"$work/consumer/static_consumer"
"$work/consumer/static_only"
test -f "$work/prefix/include/fgbi.h"
test -f "$work/prefix/include/fgbi_session.h"
codec_dynamic=$(objdump -p "$libdir/libfgbi.so")
session_dynamic=$(objdump -p "$libdir/libfgbi-session.so")
grep -q 'SONAME *libfgbi\.so\.0$' <<< "$codec_dynamic"
grep -q 'SONAME *libfgbi-session\.so\.0$' <<< "$session_dynamic"
grep -q 'NEEDED *libfgbi\.so\.0$' <<< "$session_dynamic"
codec_symbols=$(nm -D --defined-only "$libdir/libfgbi.so")
if grep -Eq ' (fgbi_link|fgbi_backup|fgbi_session)_' <<< "$codec_symbols"; then
  echo "libfgbi.so exports session functions" >&2
  exit 1
fi
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc "$source_dir/consumer.c" "$source_dir/codec_only.c" $(pkg-config --cflags --libs fgbi-session) \
  -o "$work/pc_consumer"
LD_LIBRARY_PATH="$libdir" "$work/pc_consumer"
cc "$source_dir/codec_main.c" "$source_dir/codec_only.c" $(pkg-config --cflags --libs fgbi) \
  -o "$work/pc_codec_consumer"
LD_LIBRARY_PATH="$libdir" "$work/pc_codec_consumer"
echo "install, find_package and pkg-config consumers of libfgbi and libfgbi-session: ok"
