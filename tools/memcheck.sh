#!/usr/bin/env bash
# Run tools/memcheck_workload.py under valgrind memcheck and fail on any
# error or definite leak in pykernel's C core (docs/trust.md).
#
#   tools/memcheck.sh [python]      # default: python3 on PATH, with pykernel installed
#
# PYTHONMALLOC=malloc makes every Python allocation visible to valgrind.
# tools/valgrind-python.supp hides what cffi keeps for the life of the
# interpreter.  CPython itself reports a few reads of uninitialised digits
# of new ints (their origins are in _PyLong_New, with --track-origins);
# such records are counted as CPython's and do not fail the run.  A record
# fails it when any frame of it -- the error, the allocation or the origin
# of an uninitialised value -- is a function of the core (pk_*).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${1:-python3}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
command -v valgrind >/dev/null || { echo "memcheck: valgrind is not installed"; exit 2; }
start=$(date +%s)
PYTHONMALLOC=malloc valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --track-origins=yes --num-callers=40 \
    --suppressions="$ROOT/tools/valgrind-python.supp" --log-file="$LOG" \
    "$PY" "$ROOT/tools/memcheck_workload.py"
# split the log into records (separated by an empty "==pid== " line) and
# sort each into pykernel's or CPython's
awk '
    { sub(/^==[0-9]+== ?/, "") }
    /^$/ { flush(); next }
    { rec = rec $0 "\n" }
    /^ERROR SUMMARY|definitely lost:/ { summary = summary $0 "\n" }
    function flush() {
        if (rec ~ /(Invalid|uninitialised|Uninitialised|Mismatched|overlap|definitely lost in loss record)/) {
            if (rec ~ /(at|by) 0x[0-9A-F]+: pk_[a-z0-9_]+ /) { ours++; print "pykernel:\n" rec }
            else other++
        }
        rec = ""
    }
    END {
        flush()
        printf "%s", summary
        printf "records in pykernel'\''s code: %d; in CPython or cffi: %d\n", ours, other
        exit ours > 0
    }' "$LOG" && status=0 || status=$?
echo "memcheck: $(( $(date +%s) - start )) s, $([ $status = 0 ] && echo ok || echo FAIL)"
exit $status
