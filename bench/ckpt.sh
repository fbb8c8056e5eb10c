# bench/ckpt.sh: the checkpoint rows of `make bench`, sourced by
# bench/run.sh (it uses run.sh's helpers: start_dvm, stop_dvm, heat, put,
# attempt, log). The seed's experiment: heat on 2 and 4 ranks over 2 peers,
# without checkpoints and with one every CKPT_INTERVAL, side by side; the
# bytes each epoch stored; and the time from kill -9 of a peer that hosts
# ranks to every rank running again.
#
# The runs do CKPT_ITERS iterations (default 3x heat's): heat's own 20000
# take ~8 s at 2 ranks and ~13 s at 4, about one 10 s interval, and a run
# that takes no checkpoint says nothing about what checkpoints cost.
#
# Rows:
#   ckpt                            interval, iters, expected_checksum,
#                                   expected_from
#   ckpt/npN/none, ckpt/npN/every   time_s, checksum (heat's own line)
#   ckpt/npN/every                  epochs, epoch_bytes, epoch_stored,
#                                   epoch_new (per epoch, from status --json)
#   ckpt/restart                    restart_s, checksum, restarted_from,
#                                   expected_checksum (heat's count)

CKPT_INTERVAL=${BENCH_CKPT_INTERVAL:-10s}
CKPT_ITERS=${BENCH_CKPT_ITERS:-$((3 * HEAT_ITERS))}
RESTART_ITERS=$HEAT_ITERS # the restart row: ~8 s at 2 ranks, epochs every 1 s
# BENCH_QUICK's 200 iterations end before any first epoch, so its rows
# would measure nothing: a smoke run checkpoints every second instead and
# runs long enough (8000 iterations, ~3 s) for two epochs.
if [[ ${BENCH_QUICK:-0} == 1 ]]; then
	CKPT_INTERVAL=${BENCH_CKPT_INTERVAL:-1s}
	CKPT_ITERS=${BENCH_CKPT_ITERS:-$((3 * HEAT_ITERS > 8000 ? 3 * HEAT_ITERS : 8000))}
	RESTART_ITERS=$((HEAT_ITERS > 8000 ? HEAT_ITERS : 8000))
fi
# Five pairs of runs: a ~25 s 2-rank pair and a ~40 s oversubscribed
# 4-rank pair each; heat's own rows, much shorter, get more.
CKPT_R=${BENCH_CKPT_REPEAT:-$((${BENCH_QUICK:-0} == 1 ? 1 : 5))}
put ckpt interval "$CKPT_INTERVAL"
meta ckpt_repeat "$CKPT_R"

# epoch_stats ROW JOB: one sample per committed epoch of JOB.
epoch_stats() {
	local row=$1 id=$2 json
	json=$("$P2PDVM" status --peer "$DVM_SOCK" --json "$id" 2>/dev/null) || return 0
	put "$row" epochs "$(printf '%s' "$json" | grep -c '"epoch":' || true)"
	local k
	for k in bytes stored new; do
		# No epoch at all (the run ended before its first) matches nothing.
		{ printf '%s' "$json" | grep -o "\"$k\": *[0-9]*" || true; } | sed 's/.*: *//' |
			while read -r v; do put "$row" "epoch_$k" "$v"; done
	done
}

ckpt_reason=$(p2p_reason heat)
if [[ -z $ckpt_reason ]]; then
	log "checkpoints: heat $CKPT_ITERS x N=$HEAT_N on a 2-peer DVM, none vs every $CKPT_INTERVAL, x$CKPT_R"
	heat_ref ckpt "$CKPT_ITERS"
	put ckpt iters "$CKPT_ITERS"
	heat_ref ckpt/restart "$RESTART_ITERS"
	put ckpt/restart iters "$RESTART_ITERS"
	if ! start_dvm 2 dvm2ckpt; then
		ckpt_reason="2-peer DVM did not start: $DVM_ERR"
		stop_dvm
	fi
fi
if [[ -n $ckpt_reason ]]; then
	put ckpt/np2/none status "not run: $ckpt_reason"
else
	for ((rep = 1; rep <= CKPT_R; rep++)); do
		for np in 2 4; do
			heat "ckpt/np$np/none" "$rep" "$P2PDVM" submit --peer "$DVM_SOCK" -n "$np" "${GO_BIN[heat]}" "$CKPT_ITERS" "$HEAT_N"
			before=$(job_ids)
			heat "ckpt/np$np/every" "$rep" "$P2PDVM" submit --peer "$DVM_SOCK" -n "$np" --ckpt-interval "$CKPT_INTERVAL" \
				"${GO_BIN[heat]}" "$CKPT_ITERS" "$HEAT_N"
			id=$(comm -13 <(printf '%s\n' "$before") <(job_ids) | head -n 1)
			[[ -z $id ]] || epoch_stats "ckpt/np$np/every" "$id"
		done
	done
	stop_dvm
fi

# Restart time: 3 peers, heat on 2 ranks with checkpoints every second;
# after the first epoch, kill -9 a peer that hosts a rank (not the
# submitter's) and time until `status` shows every rank of the next run
# running. The job must then still print the expected checksum.
restart_reason=$ckpt_reason
if [[ -z $restart_reason ]]; then
	log "checkpoints: restart after kill -9 of a hosting peer (3 peers)"
	if ! start_dvm 3 dvm3ckpt; then
		restart_reason="3-peer DVM did not start: $DVM_ERR"
		stop_dvm
	fi
fi
if [[ -n $restart_reason ]]; then
	put ckpt/restart status "not run: $restart_reason"
else
	base=$LOGS/ckpt.restart
	before=$(job_ids)
	"$P2PDVM" submit --peer "$DVM_SOCK" -n 2 --ckpt-interval 1s "${GO_BIN[heat]}" "$RESTART_ITERS" "$HEAT_N" \
		>"$base.out" 2>"$base.err" &
	sub=$!
	id="" victim="" json=""
	for ((i = 0; i < 600; i++)); do
		[[ -n $id ]] || id=$(comm -13 <(printf '%s\n' "$before") <(job_ids) | head -n 1)
		if [[ -n $id ]]; then
			json=$("$P2PDVM" status --peer "$DVM_SOCK" --json "$id" 2>/dev/null || true)
			[[ $json == *'"epoch":'* ]] && break
		fi
		sleep 0.1
	done
	self=$("$P2PDVM" info --peer "$DVM_SOCK" --json 2>/dev/null | grep -o '"id": *"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
	for h in $(printf '%s' "$json" | grep -o '"host": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | sort -u); do
		[[ $h == "$self" ]] && continue
		for ((k = 2; k <= ${#PEER_PIDS[@]}; k++)); do
			grep -q "$h" "$LOGS/dvm3ckpt-peer$k.out" 2>/dev/null && victim=${PEER_PIDS[$((k - 1))]}
		done
	done
	if [[ $json != *'"epoch":'* || -z $victim ]]; then
		put ckpt/restart status "failed: no checkpoint or no rank outside the submitter's peer (bench/build/logs/ckpt.restart.*)"
		kill "$sub" 2>/dev/null || true
	else
		t0=$(date +%s.%N)
		kill -KILL "$victim"
		t1=""
		for ((i = 0; i < 600; i++)); do
			json=$("$P2PDVM" status --peer "$DVM_SOCK" --json "$id" 2>/dev/null || true)
			if [[ $json == *'"run": 1'* && $json != *'"state": "pending"'* && $json != *'"state": "lost"'* ]]; then
				t1=$(date +%s.%N)
				break
			fi
			sleep 0.05
		done
		wait "$sub" || true
		if [[ -z $t1 ]]; then
			put ckpt/restart status "failed: the job did not restart within 30 s (bench/build/logs/ckpt.restart.*)"
		else
			put ckpt/restart restart_s "$(elapsed "$t0" "$t1")"
			put ckpt/restart restarted_from "$(grep -o 'restarting from [^(]*' "$base.err" | head -n 1)"
			line=$(grep -o 'heat N=.*' "$base.out" | tail -n 1 || true)
			put ckpt/restart checksum "$(printf '%s' "$line" | sed -n 's/.*checksum=\([^ ]*\).*/\1/p')"
		fi
	fi
	stop_dvm
fi
