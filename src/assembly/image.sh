#!/bin/bash
# Makes the binary part of the distribution in TARGET/image, run by 'mvn package' after the jar is shaded:
#   runtime/             a Java runtime of the modules nodecast needs (jlink), so compute nodes need no JDK
#   lib/nodecast.jar     the jar, its time kept (the AOT cache checks it)
#   lib/libzstd-jni.so   zstd's native library, loaded in place instead of copied to a temporary folder per start
#   lib/nodecast.aot     an AOT cache made by a training delivery with that runtime, in the same layout
# usage: image.sh JDK TARGET; the runtime is made again only when the JDK or the module list changed.
set -euo pipefail
jdk=$1 target=$2
image=$target/image
# java.logging and jdk.unsupported: jline (the progress bar's terminal) logs through j.u.l and reaches for signals;
# jdeps also names java.desktop, for code of Commons Compress (pack200) and Commons Lang that nodecast never runs
modules=java.base,java.logging,jdk.unsupported
stamp="$(cat "$jdk/release" 2>/dev/null) modules=$modules"

mkdir -p "$image/lib"
if [[ ! -x $image/runtime/bin/java || $(cat "$image/runtime.stamp" 2>/dev/null) != "$stamp" ]]; then
  rm -rf "$image/runtime" "$image/runtime.stamp" "$image/lib/nodecast.aot"
  echo "image.sh: jlink $modules from $jdk" >&2
  "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --generate-cds-archive --output "$image/runtime" >&2
  printf '%s' "$stamp" > "$image/runtime.stamp"
fi

cp -p "$target/nodecast.jar" "$image/lib/nodecast.jar"
cp -p "$target/native/libzstd-jni.so" "$image/lib/libzstd-jni.so"

aot=$image/lib/nodecast.aot
if [[ ! -f $aot || $image/lib/nodecast.jar -nt $aot || $image/runtime/bin/java -nt $aot ]]; then
  echo "image.sh: training the AOT cache" >&2
  train=$(mktemp -d)
  trap 'rm -rf "$train"' EXIT
  # the options bin/nodecast starts the runtime with: a cache is only used by a JVM configured like its maker
  opts=(--enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:-UsePerfData "-DZstdNativePath=$image/lib/libzstd-jni.so")
  mkdir -p "$train/app/bin"
  echo 'print(1)' > "$train/app/bin/main.py"
  "$image/runtime/bin/java" "${opts[@]}" -jar "$image/lib/nodecast.jar" bundle dir "$train/app" bin --pyc keep -q \
    -o "$train/t.tar.zst" >&2
  rm -f "$aot" "$aot.partial"
  "$image/runtime/bin/java" "${opts[@]}" -XX:AOTCacheOutput="$aot.partial" -Xlog:aot=warning -Xlog:cds=warning \
    -jar "$image/lib/nodecast.jar" bcast --transport local -p "$train/dest" "$train/t.tar.zst" >/dev/null 2>"$train/log" ||
    { cat "$train/log" >&2; exit 1; }
  mv "$aot.partial" "$aot"
fi

# For NODECAST_STAGE (docs/install.md): the runtime and lib/ in one archive, which a node unpacks once into its own
# storage, and the id of this build that names the unpacked copy
stage=$image/lib/stage.tar.gz
if [[ ! -f $stage || $aot -nt $stage || $image/lib/nodecast.jar -nt $stage ]]; then
  rm -f "$stage" "$image/lib/stage.id"
  tar -czf "$stage.partial" -C "$image" runtime lib/nodecast.jar lib/nodecast.aot lib/libzstd-jni.so
  mv "$stage.partial" "$stage"
  sha256sum "$stage" | cut -c1-16 > "$image/lib/stage.id"
fi
