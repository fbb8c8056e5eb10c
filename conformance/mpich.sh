#!/usr/bin/env bash
# conformance/mpich.sh: MPICH's own test suite (test/mpi of MPICH 4.0.2),
# compiled unchanged with `p2pdvm mpicc` and run with `p2pdvm run`
# (issue #4). `make mpich-suite` runs it; it is not part of `make test`
# because it downloads ~21 MB and runs for an hour or more.
#
#  1. Downloads the MPICH source from Debian's archive into a cache and
#     checks it against the SHA-256 that Debian's .dsc lists.
#  2. Unpacks test/mpi only, configures it with CC=bin/mpicc (Fortran,
#     C++, threads, RMA, spawn, I/O and partitioned tests off), and builds
#     its harness (util/) and its datatype pools (dtpools/).
#  3. For each directory in DIRS, reads its testlist (`name np key=val...`)
#     and builds each program on its own, so that one that fails to
#     compile or link is named, with the MPI functions it lacks.
#  4. Runs each entry with `p2pdvm run -n np` under a timeout. A run
#     passes when it exits 0 and prints a line "No Errors" (or "No errors",
#     as MPICH's runtests accepts).
#     Entries are skipped, with the reason recorded, when they are marked
#     xfail=, need an MPI newer than 3.1 (mpiversion=), are marked
#     strict=false (they test MPICH behaviour beyond the standard), need
#     mpiexec arguments, or are judged by another rule (resultTest=).
#  5. Writes docs/CONFORMANCE.md: per directory built / failed to build /
#     passed / failed / skipped / timed out, the non-passing tests with a
#     one-line reason, and the missing functions by how many tests need
#     them.
#
# Nothing of MPICH is kept in this repository: the suite is fetched and
# built under the cache directory at run time.
#
# Env: DIRS (default "pt2pt coll comm group datatype init errhan"),
#      TIMEOUT (seconds per run, default 60; a testlist timeLimit= above it
#      wins), PEERS (peers of the embedded cluster, default 2),
#      MPICH_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/p2pdvm-mpich),
#      REPORT (default docs/CONFORMANCE.md), ONLY (a regular expression:
#      run only the tests whose name matches; the report then covers them).
# Usage: conformance/mpich.sh [--report-only]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ver=4.0.2
deb=4.0.2-3
base=http://deb.debian.org/debian/pool/main/m/mpich
cache=${MPICH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/p2pdvm-mpich}
DIRS=${DIRS:-pt2pt coll comm group datatype init errhan}
TIMEOUT=${TIMEOUT:-60}
PEERS=${PEERS:-2}
REPORT=${REPORT:-$root/docs/CONFORMANCE.md}
ONLY=${ONLY:-}
build=$cache/build-$ver
src=$build/mpich-$ver/test/mpi
results=$build/results.tsv
logs=$build/logs
p2pdvm=$root/bin/p2pdvm

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'mpich.sh: %s\n' "$*" >&2; exit 1; }

fetch() {
    mkdir -p "$cache"
    local dsc=$cache/mpich_$deb.dsc tarball=$cache/mpich_$ver.orig.tar.xz want got
    if [ ! -s "$dsc" ]; then
        curl -fsSL -o "$dsc.part" "$base/mpich_$deb.dsc"
        mv "$dsc.part" "$dsc"
    fi
    # The .dsc's Checksums-Sha256 section lists " <sha256> <size> <file>".
    want=$(awk '/^Checksums-Sha256:/{s=1; next} /^[^ ]/{s=0} s && $3=="mpich_'"$ver"'.orig.tar.xz"{print $1}' "$dsc")
    [ -n "$want" ] || die "no SHA-256 for mpich_$ver.orig.tar.xz in $dsc"
    if [ ! -s "$tarball" ] || [ "$(sha256sum "$tarball" | cut -d' ' -f1)" != "$want" ]; then
        log "downloading mpich_$ver.orig.tar.xz"
        curl -fsSL -o "$tarball.part" "$base/mpich_$ver.orig.tar.xz"
        mv "$tarball.part" "$tarball"
    fi
    got=$(sha256sum "$tarball" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "mpich_$ver.orig.tar.xz has SHA-256 $got, the .dsc says $want"
    echo "$tarball"
}

# configure only when the tree is new, or what its checks read changed:
# the options, and of mpi.h only the version and the MPICH and
# MPI_INTEGER16 names (test/mpi's configure asks the MPI version, whether
# it is MPICH, and for MPI_INTEGER16). New functions in mpi.h need no new
# configure; it takes minutes. --with-mpi and MPICC
# name our compiler: test/mpi's configure otherwise takes the first mpicc
# on PATH (an installed MPICH, say), whatever CC says; the Makefile is
# checked afterwards, since a suite silently built against another MPI
# would report that MPI's results as ours.
confargs=(--with-mpi="$root" MPICC="$root/bin/mpicc" CC="$root/bin/mpicc" --disable-fortran --disable-cxx
    --disable-romio --disable-spawn --disable-rma --disable-part --enable-threads=single
    --disable-ft-tests --disable-checkpointing)
prepare() {
    local tarball=$1 stamp=$build/configured
    local want
    want=$( (grep -E 'MPI_VERSION|MPI_SUBVERSION|MPICH|MPI_INTEGER16' "$root/include/mpi.h"; echo "${confargs[*]}") |
        sha256sum | cut -d' ' -f1)
    if [ -s "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$src/Makefile" ]; then
        return
    fi
    rm -rf "$build/mpich-$ver"
    mkdir -p "$build"
    log "unpacking test/mpi"
    tar -xJf "$tarball" -C "$build" "mpich-$ver/test/mpi"
    log "configuring test/mpi with CC=$root/bin/mpicc (a few minutes)"
    (cd "$src" && PATH="$root/bin:$PATH" ./configure "${confargs[@]}" >"$build/configure.log" 2>&1) ||
        die "configure failed; see $build/configure.log"
    grep -qx "CC = $root/bin/mpicc" "$src/Makefile" ||
        die "configure chose another compiler: $(grep -m1 '^CC =' "$src/Makefile")"
    log "building the harness (util, dtpools)"
    make -C "$src/util" >"$build/util.log" 2>&1 || die "util did not build; see $build/util.log"
    make -C "$src/dtpools" >"$build/dtpools.log" 2>&1 || die "dtpools did not build; see $build/dtpools.log"
    echo "$want" >"$stamp"
}

# missing LOG: the MPI names a failed build could not find, one a line
missing() {
    grep -oE "undefined reference to \`(MPIX?_[A-Za-z0-9_]+)'|implicit declaration of function .(MPIX?_[A-Za-z0-9_]+).|.(MPIX?_[A-Za-z0-9_]+). undeclared" "$1" |
        grep -oE 'MPIX?_[A-Za-z0-9_]+' | sort -u || true
}

# reason OUTFILE: one line saying why a run did not pass
reason() {
    local line
    line=$(grep -m1 -E 'Found [0-9]+ errors|MPI error|[Ee]rror|[Aa]bort|FAIL|Assertion|signal|panic' "$1" || true)
    [ -n "$line" ] || line=$(grep -v '^\s*$' "$1" | tail -n 1 || true)
    printf '%s' "${line:-no output}" | tr '\t' ' ' | cut -c1-140
}

record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

runall() {
    : >"$results"
    # The report names the library the runs used, not whatever HEAD is
    # when it is written.
    printf '%s%s\n' "$(git -C "$root" rev-parse --short HEAD)" \
        "$(git -C "$root" diff --quiet HEAD -- mpishim || echo ' (with uncommitted changes)')" >"$build/commit"
    mkdir -p "$logs"
    local dir
    for dir in $DIRS; do
        [ -f "$src/$dir/testlist" ] || { log "$dir: no testlist"; continue; }
        log "$dir"
        make -C "$src/$dir" clean >/dev/null 2>&1 || true
        mkdir -p "$logs/$dir"
        declare -A built=()
        local line name np rest
        while read -r name np rest; do
            case $name in '' | '#'*) continue ;; esac
            [[ $np =~ ^[0-9]+$ ]] || continue # a subdirectory or a malformed line
            [ -z "$ONLY" ] || [[ $name =~ $ONLY ]] || continue
            local args=() envs=() tl=$TIMEOUT skip="" kv
            for kv in $rest; do
                case $kv in
                arg=*) args+=("${kv#arg=}") ;;
                env=*) envs+=(-x "${kv#env=}") ;;
                timeLimit=*) [ "${kv#timeLimit=}" -le "$tl" ] || tl=${kv#timeLimit=} ;;
                mem=*) ;;
                xfail=*) skip="xfail=${kv#xfail=}: MPICH expects it to fail" ;;
                mpiversion=*)
                    if [ "$(printf '%s\n3.1\n' "${kv#mpiversion=}" | sort -V | tail -n1)" != 3.1 ]; then
                        skip="needs MPI ${kv#mpiversion=}; p2pdvm implements 3.1"
                    fi ;;
                strict=false) skip="strict=false: tests MPICH behaviour beyond the standard" ;;
                strict=*) ;;
                mpiexecarg=*) skip="needs mpiexec arguments (${kv#mpiexecarg=})" ;;
                resultTest=*) skip="resultTest=${kv#resultTest=}: judged by another rule than 'No Errors'" ;;
                *=*) skip="testlist key ${kv%%=*}= not understood" ;;
                esac
            done
            local id="$name -n $np${args[*]:+ ${args[*]}}"
            if [ -n "$skip" ]; then
                record "$dir" "$id" skip "$skip" "" ""
                continue
            fi
            if [ -z "${built[$name]:-}" ]; then
                if make -C "$src/$dir" "$name" >"$logs/$dir/$name.build" 2>&1 && [ -x "$src/$dir/$name" ]; then
                    built[$name]=ok
                else
                    built[$name]=fail
                fi
                record "$dir" "$name" "build-${built[$name]}" "" "$(missing "$logs/$dir/$name.build" | tr '\n' ' ')" ""
            fi
            if [ "${built[$name]}" != ok ]; then
                record "$dir" "$id" notbuilt "did not build" "" ""
                continue
            fi
            local out=$logs/$dir/$name.n$np.${#args[@]}.out rc=0 t0 t1
            t0=$(date +%s)
            (cd "$src/$dir" && timeout -k 15 -s INT "$tl" "$p2pdvm" run -n "$np" --peers "$PEERS" \
                ${envs[@]+"${envs[@]}"} "./$name" ${args[@]+"${args[@]}"}) >"$out" 2>&1 || rc=$?
            t1=$(date +%s)
            if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
                record "$dir" "$id" timeout "no end within ${tl} s" "" "$((t1 - t0))"
            elif [ $rc -eq 0 ] && grep -qE '^\s*No [Ee]rrors\s*$' "$out"; then # runtests' own rule
                record "$dir" "$id" pass "" "" "$((t1 - t0))"
            else
                record "$dir" "$id" fail "exit $rc: $(reason "$out")" "" "$((t1 - t0))"
            fi
            printf '%-9s %-40s %s\n' "$dir" "$id" "$(tail -n1 "$results" | cut -f3)" >&2
        done <"$src/$dir/testlist"
        unset built
    done
}

report() {
    [ -s "$results" ] || die "no results in $results"
    local host cpus
    host=$(uname -srm)
    cpus=$(nproc)
    {
        echo "# Conformance: MPICH's test suite"
        echo
        echo "MPICH $ver's \`test/mpi\` (Debian's \`mpich_$ver.orig.tar.xz\`, SHA-256 checked against"
        echo "\`mpich_$deb.dsc\`), compiled unchanged with \`p2pdvm mpicc\` and run with"
        echo "\`p2pdvm run -n N --peers $PEERS\`, each run under a ${TIMEOUT} s timeout (longer where the"
        echo "testlist says \`timeLimit=\`). Regenerate with \`make mpich-suite\` (conformance/mpich.sh)."
        echo
        echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- Machine: $host, $cpus cores, shared with other work while it ran"
        echo "- p2pdvm: $(cat "$build/commit" 2>/dev/null || echo unknown)"
        [ -z "$ONLY" ] || echo "- Only tests matching \`$ONLY\`"
        echo
        # Notes written by hand (known causes, fixes made after the run)
        # go in conformance/mpich-notes.md, kept across regenerations.
        if [ -s "$root/conformance/mpich-notes.md" ]; then
            cat "$root/conformance/mpich-notes.md"
            echo
        fi
        echo "A run passes when it exits 0 and prints \"No Errors\" (or \"No errors\"). Counts are of programs for"
        echo "*built* and *failed to build*, and of testlist entries (a program with several"
        echo "rank counts or arguments has several) for the rest."
        echo
        echo "| directory | built | failed to build | passed | failed | timed out | skipped |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        awk -F'\t' '
            { d[$1]=1; n[$1,$3]++; n["total",$3]++ }
            END {
                split("'"$DIRS"'", order, " ")
                for (i = 1; i in order; i++) if (order[i] in d) row(order[i])
                row("total")
            }
            function row(k) {
                printf "| %s | %d | %d | %d | %d | %d | %d |\n", k, n[k,"build-ok"], n[k,"build-fail"], n[k,"pass"], n[k,"fail"], n[k,"timeout"], n[k,"skip"]
            }' "$results"
        echo
        echo "Entries whose program did not build are not counted again under failed."
        echo
        echo "## Functions the suite calls that p2pdvm lacks"
        echo
        echo "From the compile and link errors of the programs that did not build; the count"
        echo "is of programs that need the function. Each is absent on purpose or not done yet:"
        echo "a program that calls one fails to link, never at run time."
        echo
        echo "| function or constant | programs |"
        echo "|---|---:|"
        awk -F'\t' '$3=="build-fail" { n=split($5, f, " "); for (i=1;i<=n;i++) c[f[i]]++ }
            END { for (k in c) printf "%d\t%s\n", c[k], k }' "$results" | sort -k1,1nr -k2 |
            awk -F'\t' '{ printf "| `%s` | %d |\n", $2, $1 }'
        echo
        echo "Programs that failed to build for another reason (no MPI name in the errors):"
        echo
        awk -F'\t' '$3=="build-fail" && $5=="" { printf "%s/%s ", $1, $2 }' "$results"
        echo
        echo
        echo "## Runs that did not pass"
        echo
        echo "| directory | test | result | reason |"
        echo "|---|---|---|---|"
        awk -F'\t' '$3=="fail" || $3=="timeout" { r=$4; gsub(/\|/, "\\|", r); gsub(/`/, "'"'"'", r); printf "| %s | `%s` | %s | %s |\n", $1, $2, $3, r }' "$results"
        echo
        echo "## Skipped entries"
        echo
        echo "| directory | test | reason |"
        echo "|---|---|---|"
        awk -F'\t' '$3=="skip" { printf "| %s | `%s` | %s |\n", $1, $2, $4 }' "$results"
    } >"$REPORT"
    log "wrote $REPORT"
}

[ -x "$p2pdvm" ] && [ -f "$root/lib/libp2pdvm_mpi.a" ] && [ -f "$root/include/mpi.h" ] ||
    die "build first: make build (bin/p2pdvm, lib/, include/)"
if [ "${1:-}" != --report-only ]; then
    tarball=$(fetch)
    prepare "$tarball"
    runall
fi
report
