#!/usr/bin/env bash
# test.sh: set everything up and run the whole test suite: unit tests (also under ASan+UBSan),
# the fuzz targets for a bounded time, the fault tests of the real binary, then the end-to-end
# QEMU boots of real ZFS roots. This is what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/setup-debian.sh

echo "== the tree is formatted (.clang-format)"
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DZINITRD_SANITIZE=ON -DZINITRD_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs" --target common_test runtime_test generator_test
ctest --test-dir build-asan -L unit -R "^(common|runtime|generator)_test/" --output-on-failure \
  -j"$jobs" | tee build-asan/ctest.log
bash scripts/fail-on-skips.sh build-asan build-asan/ctest.log

echo "== libFuzzer targets (clang, ASan+UBSan), 20 s each on the seed corpus in fuzz/corpus/"
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DZINITRD_FUZZ=ON -DZINITRD_WERROR=ON \
  -DZINITRD_FUZZ_SECONDS=20 >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzzers
ctest --test-dir build-fuzz -L fuzz --output-on-failure -j"$jobs"

echo "== build; unit, fault and packaging tests; QEMU boots"
cmake -S . -B build -DZINITRD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
rm -f build/vm/logs/timings.tsv
set +e
ctest --test-dir build -L 'unit|fault|packaging|vm' --output-on-failure -j2 | tee build/ctest.log
status=${PIPESTATUS[0]}
set -e
skipped=0
bash scripts/fail-on-skips.sh build build/ctest.log || { status=1; skipped=1; }
if [ -f build/vm/logs/timings.tsv ]; then
  echo "== seconds from QEMU start to the marker (or to the rescue shell), per scenario"
  sort build/vm/logs/timings.tsv | column -t
fi
# ctest's verdict last, where CI reads it; a skip fails the run although CTest counts it passed.
grep -E '^[0-9]+% tests passed' build/ctest.log || true
if [ "$skipped" = 1 ]; then echo "FAIL: tests were skipped (listed above), so they did not pass"; fi
exit "$status"
