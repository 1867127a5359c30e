#!/usr/bin/env bash
# tests/fuzz/fork_checks.sh coverage|child_abort FUZZ_SYSCALL SEED
# Checks fuzz_syscall's forking (tests/fuzz/README.md) on one seed input:
#   coverage      the children's coverage reaches libFuzzer: the seed (after the empty
#                 input libFuzzer runs first) covers at least 1000 PCs; 1549 on
#                 2026-11-23, and 316 with the children's counters not added (the
#                 fuzzer's own side: building the ELF, the fresh-machine check's
#                 coverage being left out)
#   child_abort   a child that dies makes the fuzzer fail and keep the input (libFuzzer
#                 runs an empty input first: that is the one kept)
set -uo pipefail
mode=$1 binary=$2 seed=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir "$out/corpus" && cp "$seed" "$out/corpus/"
case $mode in
coverage)
    "$binary" -runs=0 -artifact_prefix="$out/" "$out/corpus" >"$out/log" 2>&1 ||
        { cat "$out/log"; exit 1; }
    cov=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$out/log")
    echo "one input: ${cov:-?} PCs covered (expected at least 1000)"
    [ -n "$cov" ] && [ "$cov" -ge 1000 ]
    ;;
child_abort)
    PIEMU_FUZZ_TEST_CHILD_ABORT=1 "$binary" -runs=0 -artifact_prefix="$out/" "$out/corpus" \
        >"$out/log" 2>&1
    status=$?
    grep -a "forked run" "$out/log"
    echo "status $status, artifacts: $(ls "$out" | grep -c '^crash-')"
    [ "$status" -ne 0 ] && grep -q "the forked run was killed by signal 6" "$out/log" &&
        [ "$(ls "$out" | grep -c '^crash-')" = 1 ]
    ;;
*)
    echo "fork_checks.sh: unknown check '$mode'" >&2
    exit 2
    ;;
esac
