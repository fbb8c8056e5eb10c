# bench/store.sh: the block store's rows (#5). Sourced by bench/run.sh,
# which provides put, note, log, why, elapsed, start_dvm, stop_dvm,
# PEER_PIDS, DVM_SOCK, TMPROOT, BUILD, LOGS, RES and P2PDVM.
#
#   compress  ratio and MB/s of zstd and zstd+shuffle on the heat grid
#             (3000 iterations, N=1024, computed serially) and random bytes
#   mocknet   1, 2, 4, 8 peers of a 20-peer mocknet DVM upload 64 MiB each
#             at once, into the DHT store or all to one central peer, every
#             peer's access link capped (bench/storebench)
#   loopback  store put and store get of 1 GiB of random bytes on a DVM of
#             4 `p2pdvm peer` processes; MB/s, and VmHWM of every peer; then
#             the same in one process (storebench loopback) for the CPU time
#             a put and a get cost per GB
#
# Environment (defaults; BENCH_QUICK=1 in brackets):
#   BENCH_STORE_REPEAT=3 [1]       repetitions of the loopback put and get
#   BENCH_STORE_MOCK_REPEAT=3 [1]  repetitions of every mocknet row, each with
#                                  new random data (one takes about 3
#                                  minutes: the central rows move 960 MiB
#                                  through one 100 Mbit/s downlink)
#   BENCH_STORE_MOCK_MIB=64 [8]    MiB each mocknet uploader puts
#   BENCH_STORE_MOCK_PEERS=20      mocknet DVM size
#   BENCH_STORE_CAP_MBIT=100       access link cap per peer and direction
#   BENCH_STORE_LATENCY=10ms       one-way mocknet link latency
#   BENCH_STORE_LO_MIB=1024 [128]  MiB put and got on loopback

if [[ ${BENCH_QUICK:-0} == 1 ]]; then
	SR=${BENCH_STORE_REPEAT:-1} MOCK_R=${BENCH_STORE_MOCK_REPEAT:-1} MOCK_MIB=${BENCH_STORE_MOCK_MIB:-8} LO_MIB=${BENCH_STORE_LO_MIB:-128}
else
	SR=${BENCH_STORE_REPEAT:-3} MOCK_R=${BENCH_STORE_MOCK_REPEAT:-3} MOCK_MIB=${BENCH_STORE_MOCK_MIB:-64} LO_MIB=${BENCH_STORE_LO_MIB:-1024}
fi
MOCK_PEERS=${BENCH_STORE_MOCK_PEERS:-20}
CAP_MBIT=${BENCH_STORE_CAP_MBIT:-100}
MOCK_LAT=${BENCH_STORE_LATENCY:-10ms}
LO_PEERS=4
STOREBENCH=$BUILD/storebench

store_section() {
	put store-meta loadavg "$(cut -d' ' -f1-3 /proc/loadavg)"
	log "building bench/storebench"
	if ! go build -o "$STOREBENCH" ./bench/storebench 2>"$LOGS/build-storebench.err"; then
		local why="go build ./bench/storebench failed (bench/build/logs/build-storebench.err)"
		put store-compress status "not run: $why"
		put store-mocknet status "not run: $why"
	else
		store_compress
		store_mocknet
	fi
	store_loopback
	put store-meta loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# store_disk: what the disk under the data dirs does alone, with the
# I/O the store uses (O_DIRECT, then fdatasync), just before each put and
# get: this VM's disk changes speed from hour to hour. On loopback every
# peer's blocks and the get's output share it: a put writes each block on
# k peers at once, a get writes its file as one stream while it reads.
store_disk() {
	local data=$1 f=$TMPROOT/store-disk t0 t1 i mib=$((LO_MIB / 4))
	disk_rate() { awk -v m="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", m * 1048576 / (b - a) / 1e6 }'; }
	t0=$(date +%s.%N)
	dd if="$data" of="$f.1" bs=1M oflag=direct conv=fdatasync 2>/dev/null
	t1=$(date +%s.%N)
	put store-disk write1_MBps "$(disk_rate "$LO_MIB" "$t0" "$t1")"
	t0=$(date +%s.%N)
	local pids=()
	for i in 2 3 4 5; do
		dd if="$data" of="$f.$i" bs=1M count="$mib" oflag=direct conv=fdatasync 2>/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}" # not a bare wait: the DVM's peers are this shell's children too
	t1=$(date +%s.%N)
	put store-disk write4_MBps "$(disk_rate $((4 * mib)) "$t0" "$t1")"
	t0=$(date +%s.%N)
	dd if="$f.1" of=/dev/null bs=1M iflag=direct 2>/dev/null
	t1=$(date +%s.%N)
	put store-disk read_MBps "$(disk_rate "$LO_MIB" "$t0" "$t1")"
	rm -f "$f".*
}

store_compress() {
	log "store: compression of the heat grid and of random bytes"
	local rc=0
	timeout 300 "$STOREBENCH" compress -iters 3000 -n 1024 -repeat 5 >"$LOGS/store-compress.out" 2>"$LOGS/store-compress.err" || rc=$?
	cat "$LOGS/store-compress.out" >>"$RES"
	((rc == 0)) || put store-compress status "failed: $(why $rc "$LOGS/store-compress") (bench/build/logs/store-compress.*)"
}

store_mocknet() {
	log "store: $MOCK_PEERS mocknet peers, 1/2/4/8 uploaders of $MOCK_MIB MiB, DHT vs central, x$MOCK_R"
	local rc=0
	timeout 1200 "$STOREBENCH" upload -peers "$MOCK_PEERS" -uploaders 1,2,4,8 -size-mib "$MOCK_MIB" \
		-cap-mbit "$CAP_MBIT" -latency "$MOCK_LAT" -repeat "$MOCK_R" \
		>"$LOGS/store-mocknet.out" 2>"$LOGS/store-mocknet.err" || rc=$?
	cat "$LOGS/store-mocknet.out" >>"$RES"
	((rc == 0)) || put store-mocknet status "failed: $(why $rc "$LOGS/store-mocknet") (bench/build/logs/store-mocknet.*)"
}

# store_loopback: a fresh DVM per repetition, so that no block of the file
# is there before the put and the peers' VmHWM is the high-water mark of
# one put and one get.
store_loopback() {
	if [[ -n ${P2P_REASON:-} ]]; then
		put store-loopback status "not run: $P2P_REASON"
		return 0
	fi
	local data=$BUILD/store-data.bin copy=$BUILD/store-copy.bin rep cid rc pid i bytes
	bytes=$((LO_MIB << 20))
	log "store: $LO_MIB MiB of random bytes into $data"
	head -c "$bytes" /dev/urandom >"$data"
	put store-loopback size_mib "$LO_MIB"
	put store-loopback peers "$LO_PEERS"
	put store-loopback repeat "$SR"
	put store-loopback disk "$(df --output=fstype,source "$TMPROOT" | tail -n 1 | awk '{ print $1 " (" $2 ")" }')"
	for ((rep = 1; rep <= SR; rep++)); do
		log "store: put and get of $LO_MIB MiB on $LO_PEERS loopback peers ($rep/$SR)"
		if ! start_dvm "$LO_PEERS" "store$rep"; then
			put store-loopback status "failed: $LO_PEERS-peer DVM did not start: $DVM_ERR"
			stop_dvm
			break
		fi
		store_disk "$data"
		rc=0
		attempt store-loopback/put "$LOGS/store-put.$rep" 600 "$P2PDVM" store put --peer "$DVM_SOCK" "$data" || rc=$?
		cid=$(grep -m1 -o '^[0-9a-f]\{64\}$' "$LOGS/store-put.$rep.out" || true)
		if ((rc != 0)) || [[ -z $cid ]]; then
			put store-loopback status "failed: put: $(why $rc "$LOGS/store-put.$rep") (bench/build/logs/store-put.$rep.*)"
			stop_dvm
			break
		fi
		put store-loopback put_MBps "$(awk -v b="$bytes" -v s="$(elapsed "$T0" "$T1")" 'BEGIN { printf "%.1f", b / s / 1e6 }')"
		# The get goes to another peer than the put did.
		rc=0
		attempt store-loopback/get "$LOGS/store-get.$rep" 600 "$P2PDVM" store get --peer "$TMPROOT/store$rep-peer2/ctl.sock" "$cid" -o "$copy" || rc=$?
		if ((rc != 0)); then
			put store-loopback status "failed: get: $(why $rc "$LOGS/store-get.$rep") (bench/build/logs/store-get.$rep.*)"
			stop_dvm
			break
		fi
		put store-loopback get_MBps "$(awk -v b="$bytes" -v s="$(elapsed "$T0" "$T1")" 'BEGIN { printf "%.1f", b / s / 1e6 }')"
		if ! cmp -s "$data" "$copy"; then
			put store-loopback status "failed: store get returned different bytes"
			stop_dvm
			break
		fi
		rm -f "$copy"
		for i in "${!PEER_PIDS[@]}"; do
			pid=${PEER_PIDS[i]}
			[[ -r /proc/$pid/status ]] || continue
			put store-loopback rss_peak_mib "$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")"
		done
		stop_dvm
		rm -rf "$TMPROOT"/store"$rep"-peer*
	done
	if [[ -x $STOREBENCH ]]; then
		log "store: the same put and get in one process, for its CPU time"
		rc=0
		timeout 600 "$STOREBENCH" loopback -peers "$LO_PEERS" -file "$data" -dir "$TMPROOT/store-inproc" \
			>"$LOGS/store-inproc.out" 2>"$LOGS/store-inproc.err" || rc=$?
		cat "$LOGS/store-inproc.out" >>"$RES"
		((rc == 0)) || put store-loopback-inprocess status "failed: $(why $rc "$LOGS/store-inproc") (bench/build/logs/store-inproc.*)"
		rm -rf "$TMPROOT/store-inproc"
	fi
	rm -f "$data" "$copy"
}
