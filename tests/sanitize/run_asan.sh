#!/usr/bin/env bash
# Runs the sanitizer build's checks (see `make sanitize-build`).
#   run_asan.sh unit|broken|fuzz ASAN_BUILD_DIR SOURCE_DIR
# Exit 77 (ctest: skipped) when the sanitizer build is absent, saying how to make it.
set -uo pipefail
what=$1 dir=$2 src=$3
bin=$dir/attnflow tests=$dir/tests/attnflow_tests fuzz=$dir/fuzz_scenario
for f in "$bin" "$tests" "$fuzz"; do
  if [[ ! -x "$f" ]]; then
    echo "SKIP: $f not built; run 'make sanitize-build' (make test does)"
    exit 77
  fi
done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
case $what in
  unit)
    # Every unit test case; each a separate process so a report names the case.
    "$tests" --list-test-cases --no-version | sed -n 's/^  *//;/^\[doctest\]/d;/^=*$/d;p' >/tmp/attnflow-asan-cases.$$
    fails=0 n=0
    while IFS= read -r name; do
      [[ -z "$name" ]] && continue
      n=$((n + 1))
      # doctest filters split at commas: escape them, and check that exactly one case ran.
      if ! out=$("$tests" --test-case="${name//,/\\,}" 2>&1) ||
         ! grep -Eq 'test cases: +1 \| +1 passed' <<<"$out"; then
        echo "FAIL under sanitizers: $name"
        echo "$out" | tail -30
        fails=$((fails + 1))
      fi
    done </tmp/attnflow-asan-cases.$$
    rm -f /tmp/attnflow-asan-cases.$$
    echo "$n unit test cases under ASan+UBSan, $fails failed"
    ((n > 0 && fails == 0))
    ;;
  broken)
    tmp=$(mktemp -d)
    cp "$src"/tests/broken/* "$tmp"/
    fails=0 n=0
    for f in "$tmp"/*.toml; do
      n=$((n + 1))
      (cd "$tmp" && "$bin" run "$(basename "$f")" -o out/x.h5 >/dev/null 2>"$tmp/err")
      rc=$?
      if [[ $rc != 2 ]]; then
        echo "FAIL: $(basename "$f") exit $rc"
        cat "$tmp/err"
        fails=$((fails + 1))
      fi
    done
    rm -rf "$tmp"
    echo "$n broken scenarios under ASan+UBSan, $fails failed"
    ((fails == 0))
    ;;
  fuzz)
    corpus=$(mktemp -d)
    cp "$src"/scenarios/*.toml "$src"/tests/broken/*.toml "$corpus"/
    crashes=$dir/fuzz-crashes
    mkdir -p "$crashes" /tmp/attnflow-fuzz-out
    # Regression inputs (crashes found earlier and fixed) run first.
    if compgen -G "$src/tests/fuzz/regressions/*" >/dev/null; then
      "$fuzz" "$src"/tests/fuzz/regressions/* || exit 1
    fi
    "$fuzz" "$corpus" -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="$crashes/" -print_final_stats=1 2>&1 | tee "$dir/fuzz.log" | tail -25
    rc=${PIPESTATUS[0]}
    rm -rf "$corpus"
    echo "fuzz exit $rc; executions: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/fuzz.log" | grep -o '[0-9]*$')"
    exit "$rc"
    ;;
esac
