#!/bin/sh
# run-fuzz.sh FUZZER SECONDS SEED_DIR WORK_DIR [DICTIONARY]
# Runs a libFuzzer target for SECONDS seconds on a copy of the seed corpus (meson test:
# exit 77 = skipped, with the reason). A crash, leak or sanitizer report fails the test;
# the reproducer is left in WORK_DIR.
fuzzer=$1
seconds=$2
seeds=$3
work=$4
dict=${5:+-dict=$5}
if [ "$seconds" -le 0 ] 2>/dev/null; then
    echo "fuzz-seconds is 0: fuzzing skipped"
    exit 77
fi
if [ -z "$fuzzer" ] || [ ! -x "$fuzzer" ]; then
    echo "no fuzzer was built (needs clang with libFuzzer: apt install clang): skipped"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work/corpus" || exit 1
cp "$seeds"/* "$work/corpus/" || exit 1
# Sanitizer reports go to stderr; libFuzzer exits non-zero on any of them.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
export ASAN_OPTIONS
# libFuzzer's own failure exit code is 77 by default, which meson reads as "skipped":
# every finding (crash, leak, timeout, out of memory) must exit 1 instead.
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -print_final_stats=1 -artifact_prefix="$work/" $dict "$work/corpus"
