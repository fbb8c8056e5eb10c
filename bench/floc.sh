# bench/floc.sh: Floc's rows (#7). Sourced by bench/run.sh, which provides
# put, log, why, BUILD, LOGS, RES and OUT.
#
#   flocbench  64 mocknet peers in 4 sites (1 ms within, 20-60 ms between),
#              a 16-rank job through ring, broadcast, barrier and sparse
#              phases, with Floc and without (bench/flocbench); samples in
#              bench/build/floc-samples.tsv and floc-traffic.tsv, the plot
#              in bench/floc.svg (committed, linked from BENCHMARKS.md; a
#              PNG copy in bench/build/floc.png)
#   next       floc's BenchmarkNext, the cost of Floc's per-message call
#
# BENCH_ONLY=floc runs this section alone (floc_only) and merges it into
# the existing BENCHMARKS.md. About 3 to 4 minutes.
#
# Environment (defaults):
#   BENCH_FLOC_PHASE=6s    length of each phase
#   BENCH_FLOC_WARMUP=3s   start of each phase left out of the targets

FLOC_PHASE=${BENCH_FLOC_PHASE:-6s}
FLOC_WARMUP=${BENCH_FLOC_WARMUP:-3s}

floc_section() {
	local rc=0 t0=$EPOCHREALTIME
	put floc-meta loadavg "$(cut -d' ' -f1-3 /proc/loadavg)"
	log "building bench/flocbench"
	if ! go build -o "$BUILD/flocbench" ./bench/flocbench 2>"$LOGS/build-flocbench.err" ||
		! go build -o "$BUILD/flocbench-phases" ./bench/flocbench/phases 2>>"$LOGS/build-flocbench.err"; then
		put floc status "not run: go build ./bench/flocbench failed (${LOGS#"$ROOT"/}/build-flocbench.err)"
		return 0
	fi
	log "floc: 64 mocknet peers in 4 sites, 16 ranks, phases of $FLOC_PHASE, Floc on and off"
	# The report links bench/floc.svg beside itself: a report written
	# elsewhere (BENCH_OUT) gets its own plot, not the committed one's.
	local svg
	svg=$(dirname "$OUT")/bench/floc.svg
	mkdir -p "$(dirname "$svg")"
	timeout 420 "$BUILD/flocbench" -prog "$BUILD/flocbench-phases" -phase "$FLOC_PHASE" -warmup "$FLOC_WARMUP" \
		-samples "$BUILD/floc-samples.tsv" -traffic "$BUILD/floc-traffic.tsv" -svg "$svg" -png "$BUILD/floc.png" \
		>"$LOGS/floc.out" 2>"$LOGS/floc.err" || rc=$?
	cat "$LOGS/floc.out" >>"$RES"
	((rc == 0)) || put floc status "failed: $(why $rc "$LOGS/floc") (${LOGS#"$ROOT"/}/floc.*)"
	log "floc: go test -bench BenchmarkNext ./floc"
	rc=0
	go test -run '^$' -bench '^BenchmarkNext$' -benchtime 200000x ./floc >"$LOGS/floc-next.out" 2>&1 || rc=$?
	if ((rc == 0)); then
		# BenchmarkNext/routed-2   200000   45.1 ns/op   0 B/op ...
		awk '$1 ~ /^BenchmarkNext\// { n = $1; sub(/^BenchmarkNext\//, "", n); sub(/-[0-9]+$/, "", n); print "floc-next/" n "\tns_op\t" $3 }' \
			"$LOGS/floc-next.out" >>"$RES"
	else
		put floc-next status "failed: go test -bench (${LOGS#"$ROOT"/}/floc-next.out)"
	fi
	put floc-meta loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg)"
	put floc-meta wall_s "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')"
}

# floc_only is BENCH_ONLY=floc: run.sh calls it before anything else is
# built; it leaves the other sections of $OUT as they are.
floc_only() {
	rm -rf "$LOGS"
	mkdir -p "$BUILD" "$LOGS"
	: >"$RES"
	put meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	put meta cores "$(nproc)"
	put meta go "$(go version | sed 's/^go version //')"
	put meta quick "${BENCH_QUICK:-0}"
	log "building the report generator"
	go build -o "$BUILD/report" ./bench/report || die "go build ./bench/report failed"
	floc_section
	[[ -f $OUT ]] || printf '# Benchmarks\n' >"$OUT"
	log "merging Floc's section into $OUT"
	"$BUILD/report" -merge-floc "$OUT" "$RES" >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	log "done: $OUT (raw samples: $RES, logs: $LOGS/)"
	exit 0
}
