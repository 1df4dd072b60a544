#!/usr/bin/env bash
# Builds benchmarks.jar, runs JMH with the given arguments (e.g. a benchmark name regex and -p params),
# and writes bench/results/<name>.json plus a Markdown table with ratios against each group's baseline.
# Usage: bench/run.sh NAME [JMH args...]     e.g. bench/run.sh quantize QuantizeBenchmark
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=${1:?usage: bench/run.sh NAME [JMH args...]}; shift
jdk=$("$here/mvn25" --java-home)
(cd "$here" && ./mvn25 -q -B -DskipTests -pl bench -am package)
mkdir -p "$here/bench/results"
json="$here/bench/results/$name.json"
"$jdk/bin/java" --add-modules jdk.incubator.vector -jar "$here/bench/target/benchmarks.jar" -rf json -rff "$json" "$@"
"$jdk/bin/java" -cp "$here/bench/target/benchmarks.jar" dev.loftq.bench.ResultsTable "$json" | tee "$here/bench/results/$name.md"
