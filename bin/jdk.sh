# shellcheck shell=bash
# The one place that finds a JDK 25 and builds a Maven project on first use. Sourced by bin/nodecast (in a source
# checkout only: a distribution starts its own runtime), bin/run-tests, bench/run, testbed/shape and
# testbed/slowfs/run. No process is started to ask a JDK its version: its release file says it.

# jdk_major DIR: the major version of the JDK in DIR, in REPLY; fails if DIR holds no JDK.
jdk_major() {
  local line
  REPLY=
  [[ -x $1/bin/java && -r $1/release ]] || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line == JAVA_VERSION=* ]]; then
      line=${line#JAVA_VERSION=}
      line=${line//\"/}
      REPLY=${line%%[.+-]*}
      [[ $REPLY =~ ^[0-9]+$ ]]
      return
    fi
  done < "$1/release"
  return 1
}

# jdk_find: sets JDK to a JDK 25 or newer: NODECAST_JAVA_HOME, else JAVA_HOME, else the java on PATH, else the
# newest under /usr/lib/jvm. Fails, with JDK empty, when there is none.
JDK_LOOKED_AT="NODECAST_JAVA_HOME, JAVA_HOME, the java on PATH, /usr/lib/jvm/*"
jdk_find() {
  local cand java best="" bestv=0
  JDK=""
  for cand in "${NODECAST_JAVA_HOME:-}" "${JAVA_HOME:-}"; do
    if [[ -n $cand ]] && jdk_major "$cand" && ((REPLY >= 25)); then JDK=$cand; return 0; fi
  done
  # /usr/bin/java is a chain of links (Debian's alternatives) to the JDK's bin/java
  if java=$(type -P java) && java=$(readlink -f -- "$java") && cand=${java%/bin/java} &&
     jdk_major "$cand" && ((REPLY >= 25)); then
    JDK=$cand
    return 0
  fi
  for cand in /usr/lib/jvm/*; do
    [[ -L $cand ]] && continue   # Debian's aliases (java-1.17.0-openjdk-amd64 -> java-17-openjdk-amd64)
    if jdk_major "$cand" && ((REPLY >= 25 && REPLY > bestv)); then best=$cand; bestv=$REPLY; fi
  done
  [[ -n $best ]] && JDK=$best
}

# jdk_stale DIR JAR: JAR is missing or older than DIR's pom.xml or a file under DIR/src/main.
jdk_stale() {
  [[ ! -f $2 || -n $(find "$1/src/main" "$1/pom.xml" -newer "$2" -print -quit 2>/dev/null) ]]
}

# jdk_build NAME DIR JAR [MAVEN ARGUMENT...]: builds JAR with 'mvn package' in DIR (with the JDK of jdk_find) when it
# is stale. One builder at a time: when many ranks start at once, one builds and the others wait and reuse its jar.
# Messages start with NAME; fails with 9 (an external program is missing or failed).
jdk_build() {
  local name=$1 dir=$2 jar=$3
  shift 3
  jdk_stale "$dir" "$jar" || return 0
  if [[ -z ${JDK:-} ]] && ! jdk_find; then
    echo "$name: no JDK 25 or newer to build $jar (looked at $JDK_LOOKED_AT); install one or set NODECAST_JAVA_HOME" >&2
    return 9
  fi
  if ! type -P mvn >/dev/null; then
    echo "$name: $jar is missing and Maven (mvn) is not installed to build it" >&2
    return 9
  fi
  mkdir -p "$dir/target"
  (
    flock 9
    if jdk_stale "$dir" "$jar"; then
      echo "$name: building $jar (first use or sources changed)..." >&2
      if ! JAVA_HOME=$JDK MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
           mvn -q -B -Dstyle.color=never -f "$dir/pom.xml" "$@" package >&2; then
        echo "$name: the build failed; run 'JAVA_HOME=$JDK mvn -f \"$dir/pom.xml\" package' to see why" >&2
        exit 9
      fi
      touch "$jar"
    fi
  ) 9>"$dir/target/.build.lock"
}
