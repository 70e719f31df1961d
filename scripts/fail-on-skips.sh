#!/usr/bin/env bash
# fail-on-skips.sh BUILD LOG: fails when CTest reported any test as Skipped in LOG (its console
# output), naming each with the SKIPPED: lines it printed (CTest keeps them in
# BUILD/Testing/Temporary/LastTest.log). scripts/test.sh calls it after each CTest run: once
# setup-debian.sh has run (as root) every prerequisite of every test is present, so a test that
# skipped anyway did not check what it should.
set -euo pipefail
build=$1 log=$2
names=$(sed -n 's/^ *[0-9]*\/[0-9]* *Test *#[0-9]*: \(.*\) \.*\*\*\*Skipped.*/\1/p' "$log")
[ -z "$names" ] && exit 0
echo "== FAIL: these tests SKIPPED although scripts/setup-debian.sh provides what they need:"
while IFS= read -r name; do
  echo "  $name"
  awk -v name="$name" '/^[0-9]+\/[0-9]+ Test: / { sub(/^[0-9]+\/[0-9]+ Test: /, ""); cur = $0; next }
                       cur == name && /^ *SKIPPED/ && !seen[$0]++ { print "      " $0 }' \
    "$build/Testing/Temporary/LastTest.log"
done <<<"$names"
exit 1
