#!/usr/bin/env bash
# run_mpich.sh: build every C test in this folder with MPICH's mpicc
# (-O2 -Wall -Werror) and run each with the rank counts on its first line,
# under `timeout 60 mpiexec -n N`.
#
# A run passes when it exits 0 and rank 0 printed "ok <name> ranks=<N> ..."
# (or "skip <name> ranks=<N> ..."). A test whose second line is
# `/* expect-exit: K */` (K a number or "nonzero") passes on that exit status
# instead, and, with a `/* expect-stderr: TEXT */` line, when TEXT appears in
# its output. A run that times out (exit 124) is retried once (UCX on this VM
# sometimes hangs at startup), and so is one that exited as expected but lost
# the expected message (Hydra can drop the last stderr of a rank it kills).
# Every run must finish well within the timeout: the tests take < 5 s each.
#
# Usage: ./run_mpich.sh [test ...]       (default: every *.c here)
# Env:   MPICC, MPIEXEC (commands; may hold words, e.g. "p2pdvm mpicc"),
#        CFLAGS, CTEST_BUILD (build folder, default
#        $TMPDIR/p2pdvm-ctest-mpich; logs of every run stay there)
set -u
here=$(cd "$(dirname "$0")" && pwd)
MPICC=${MPICC:-mpicc}
MPIEXEC=${MPIEXEC:-mpiexec}
CFLAGS=${CFLAGS:--O2 -Wall -Werror}
build=${CTEST_BUILD:-${TMPDIR:-/tmp}/p2pdvm-ctest-mpich}
mkdir -p "$build"

# MPICH 4.0.2's ch4 device collectives crash in MPI_Reduce with MPI_IN_PLACE
# at a non-zero root (> 2 KiB; pmodels/mpich#6540, fixed in 4.1.2): use
# MPICH's generic collectives instead. Harmless for any other library.
export MPIR_CVAR_DEVICE_COLLECTIVES=${MPIR_CVAR_DEVICE_COLLECTIVES:-none}
# MPICH 4.0.2 computes MPI_MAX/MPI_MIN of unsigned types as signed in its
# yaksa reduction path (pmodels/mpich#6083, fixed in 4.0.3): turn that off.
export MPIR_CVAR_ENABLE_YAKSA_REDUCTION=${MPIR_CVAR_ENABLE_YAKSA_REDUCTION:-0}

if [ $# -gt 0 ]; then
    tests=("$@")
else
    tests=()
    for f in "$here"/*.c; do tests+=("$(basename "$f" .c)"); done
fi

# directive NAME FILE: the text of a `/* NAME: TEXT */` line among the first 3
directive() {
    head -n 3 "$2" | sed -n "s@^/\* $1: \(.*[^ ]\) *\*/\$@\1@p" | head -n 1
}

# judge: from rc, $out, $err, want_rc, want_err set ok (1 = pass), detail,
# and lost (1 = the exit status was right but the expected message missing:
# MPICH's launcher can drop the last stderr of a rank it kills; retried once)
judge() {
    ok=0
    lost=0
    if [ -z "$want_rc" ]; then
        if [ $rc -eq 0 ] && grep -Eq "^(ok|skip) $t ranks=$n( |\$)" "$out"; then
            ok=1
            detail=$(grep -E "^(ok|skip) $t ranks=$n" "$out" | head -n 1)
        else
            detail="exit $rc: $(grep -E "^(ok|FAIL|skip) " "$out" | head -n 1)"
        fi
        return
    fi
    if [ "$want_rc" = nonzero ]; then
        [ $rc -ne 0 ] && [ $rc -ne 124 ] && ok=1
    else
        [ $rc -eq "$want_rc" ] && ok=1
    fi
    detail="exit $rc (want $want_rc)"
    if [ -n "$want_err" ]; then
        if grep -qF -- "$want_err" "$out" "$err"; then
            detail="$detail, output names $want_err"
        else
            [ $ok -eq 1 ] && lost=1
            ok=0
            detail="$detail, output lacks $want_err"
        fi
    fi
}

pass=0
fail=0
rows=()
row() { rows+=("$(printf '%-10s %5s  %-5s %6s  %s' "$@")"); }

for t in "${tests[@]}"; do
    t=${t%.c}
    src=$here/$t.c
    if [ ! -f "$src" ]; then
        row "$t" - FAIL - "no such test"; fail=$((fail + 1)); continue
    fi
    ranks=$(directive ranks "$src")
    want_rc=$(directive expect-exit "$src")
    want_err=$(directive expect-stderr "$src")
    if [ -z "$ranks" ]; then
        row "$t" - FAIL - "no /* ranks: ... */ first line"; fail=$((fail + 1)); continue
    fi
    # shellcheck disable=SC2086
    if ! $MPICC $CFLAGS -I"$here" -o "$build/$t" "$src" >"$build/$t.cc" 2>&1; then
        row "$t" - FAIL - "compile failed"
        sed 's/^/    /' "$build/$t.cc" | head -n 30
        fail=$((fail + 1)); continue
    fi
    if [ -s "$build/$t.cc" ]; then
        row "$t" - FAIL - "compiler output (warnings?)"
        sed 's/^/    /' "$build/$t.cc" | head -n 30
        fail=$((fail + 1)); continue
    fi
    for n in $ranks; do
        out=$build/$t.$n.out
        err=$build/$t.$n.err
        note=""
        for try in 1 2; do
            start=$(date +%s.%N)
            # shellcheck disable=SC2086
            timeout 60 $MPIEXEC -n "$n" "$build/$t" >"$out" 2>"$err" </dev/null
            rc=$?
            secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
            judge
            [ $ok -eq 1 ] && break
            if [ $rc -eq 124 ]; then
                note="(retried after a timeout) "
            elif [ $lost -eq 1 ]; then
                note="(retried: the message was lost) "
            else
                break
            fi
        done
        if [ $ok -eq 1 ]; then
            row "$t" "$n" pass "$(printf '%.2fs' "$secs")" "$note$detail"
            pass=$((pass + 1))
        else
            row "$t" "$n" FAIL "$(printf '%.2fs' "$secs")" "$note$detail"
            fail=$((fail + 1))
            { echo "--- $t -n $n: stdout"; head -n 20 "$out"
              echo "--- $t -n $n: stderr"; head -n 40 "$err"; } | sed 's/^/    /'
        fi
    done
done

echo
printf '%-10s %5s  %-5s %6s  %s\n' test ranks result time detail
for r in "${rows[@]}"; do echo "$r"; done
echo
echo "ctest: $pass passed, $fail failed"
[ $fail -eq 0 ]
