# bench/scale.sh: the scale rows of issue #7. Sourced by bench/run.sh,
# which provides put, log, why, BUILD, LOGS and RES.
#
# bench/scalebench starts N real dvm peers with the real kad-dht in one
# process over mocknet, once per N in a fresh process (so that RSS per
# peer means something): bootstrap time, memory per peer, DHT requests
# and rounds per cold owner lookup; at the largest N also a 64-rank
# allreduce job (bench/scalebench/allreduce). Rows: bench/report/scale.go.
#
# Environment (defaults; BENCH_QUICK=1 in brackets):
#   BENCH_SCALE_NS=100,300,1000 [100,300]  peer counts
#   BENCH_SCALE_LOOKUPS=200 [50]           cold lookups measured per N
#   BENCH_SCALE_SETTLE=62s [0s]            idle time before the settled
#                                          memory figure (kad-dht resets
#                                          streams idle for a minute)
#   BENCH_SCALE_JOB_RANKS=64               ranks of the allreduce job, run
#                                          at the largest N

if [[ ${BENCH_QUICK:-0} == 1 ]]; then
	SCALE_NS=${BENCH_SCALE_NS:-100,300} SCALE_LOOKUPS=${BENCH_SCALE_LOOKUPS:-50} SCALE_SETTLE=${BENCH_SCALE_SETTLE:-0s}
else
	SCALE_NS=${BENCH_SCALE_NS:-100,300,1000} SCALE_LOOKUPS=${BENCH_SCALE_LOOKUPS:-200} SCALE_SETTLE=${BENCH_SCALE_SETTLE:-62s}
fi
SCALE_JOB_RANKS=${BENCH_SCALE_JOB_RANKS:-64}
SCALEBENCH=$BUILD/scalebench

scale_section() {
	put scale-meta loadavg "$(cut -d' ' -f1-3 /proc/loadavg)"
	put scale-meta ns "$SCALE_NS"
	log "building bench/scalebench and its allreduce program"
	if ! go build -o "$SCALEBENCH" ./bench/scalebench 2>"$LOGS/build-scalebench.err"; then
		put scale status "not run: go build ./bench/scalebench failed (bench/build/logs/build-scalebench.err)"
		return 0
	fi
	local prog=$BUILD/scale-allreduce
	if ! go build -o "$prog" ./bench/scalebench/allreduce 2>"$LOGS/build-scale-allreduce.err"; then
		put scale-job status "not run: go build ./bench/scalebench/allreduce failed (bench/build/logs/build-scale-allreduce.err)"
		prog=""
	fi
	local largest n rc
	largest=$(tr ',' '\n' <<<"$SCALE_NS" | sort -n | tail -n 1)
	put scale-job ranks "$SCALE_JOB_RANKS"
	for n in ${SCALE_NS//,/ }; do
		log "scale: $n peers over mocknet (bootstrap, memory, $SCALE_LOOKUPS cold lookups$([[ $n == "$largest" ]] && echo ", a $SCALE_JOB_RANKS-rank allreduce"))"
		put "scale/$n" loadavg "$(cut -d' ' -f1 /proc/loadavg)"
		rc=0
		# 4 min bootstrap, a minute of settling, 3 min for the job, and the
		# LinkAll measurement: 12 min is a hang, not a slow run.
		timeout -k 10 720 "$SCALEBENCH" -n "$n" -lookups "$SCALE_LOOKUPS" -settle "$SCALE_SETTLE" \
			-job-at "$([[ -n $prog ]] && echo "$largest" || echo 0)" -job-ranks "$SCALE_JOB_RANKS" -prog "$prog" \
			-profile "$LOGS" >"$LOGS/scale-$n.out" 2>"$LOGS/scale-$n.err" || rc=$?
		cat "$LOGS/scale-$n.out" >>"$RES"
		put "scale/$n" loadavg_after "$(cut -d' ' -f1 /proc/loadavg)"
		if ((rc == 124 || rc == 137)); then
			put "scale/$n" status "killed after 720 s, in the phase its last line names: $(tail -n 1 "$LOGS/scale-$n.err" | cut -c1-120) (bench/build/$(basename "$LOGS")/scale-$n.*)"
		elif ((rc != 0)); then
			put "scale/$n" status "failed: $(why $rc "$LOGS/scale-$n") (bench/build/$(basename "$LOGS")/scale-$n.*)"
		fi
	done
	put scale-meta loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg)"
}
