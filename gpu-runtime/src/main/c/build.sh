#!/bin/sh
# Builds Stoker's JNI shim (no CUDA headers or libraries needed): build.sh OUT_DIR JAVA_HOME
# Called by Maven in the compile phase; skips the work when the library is newer than its sources.
set -eu
out_dir="$1"
java_home="$2"
src_dir="$(cd "$(dirname "$0")" && pwd)"
out="$out_dir/libstoker-cuda.so"
cc="${CC:-gcc}"

if [ -f "$out" ] && [ -z "$(find "$src_dir" -newer "$out" -name '*.[ch]' 2>/dev/null)" ]; then
  exit 0
fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "stoker: the CUDA shim is built for linux-x86_64 only; skipping on $(uname -s)-$(uname -m)" >&2; exit 0 ;;
esac
if [ ! -f "$java_home/include/jni.h" ]; then
  # java.home may be a JRE inside a JDK (Java 8 layout) or the JDK itself
  if [ -f "$java_home/../include/jni.h" ]; then java_home="$java_home/.."; else
    echo "stoker: jni.h not found under $java_home/include; build with a JDK" >&2; exit 1
  fi
fi
mkdir -p "$out_dir"
"$cc" -std=c11 -O2 -fPIC -shared -Wall -Wextra -Werror -fvisibility=default \
  -I"$java_home/include" -I"$java_home/include/linux" \
  -o "$out.tmp" "$src_dir/stoker_cuda.c" -ldl
mv "$out.tmp" "$out"
echo "stoker: built $out"
