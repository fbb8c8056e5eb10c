#!/usr/bin/env bash
# bench/run.sh: side-by-side benchmarks of p2pdvm against MPICH on this
# machine; writes BENCHMARKS.md at the repo root (`make bench`).
#
# What runs (all traffic stays on loopback):
#   pingpong  2 ranks, 8 B .. 4 MiB   MPICH over TCP, MPICH default (shared
#                                     memory), p2pdvm on a 2-peer DVM
#   heat      2 ranks, N=1024         same three; checksum checked
#   startup   8 ranks of MPI_Init+MPI_Finalize: mpiexec vs a 4-peer DVM
#   idle      RSS and CPU time of idle p2pdvm peers
#   store     the block store (#5): uploads at once on mocknet, DHT store vs a
#             central peer; put and get of 1 GiB between 4 peer processes;
#             compression (bench/store.sh, which lists its own knobs)
#   scale     100, 300, 1,000 dvm peers in one process over mocknet (#7):
#             bootstrap, memory per peer, DHT requests per owner lookup, a
#             64-rank allreduce (bench/scale.sh, which lists its own knobs)
#
# Environment:
#   BENCH_REPEAT=5          repetitions of startup
#   BENCH_PINGPONG_REPEAT=11 repetitions of pingpong (short runs; this VM's
#                           8 B latency falls in one of two modes per run,
#                           about 7.5 or 10 us, so five runs decide little)
#   BENCH_HEAT_ITERS=20000  heat iterations (N stays 1024 unless BENCH_HEAT_N)
#   BENCH_HEAT_REPEAT=11    repetitions of heat (this VM's heat times vary by 20-40% run to
#                           run and drift by as much within minutes; the target is a 10%
#                           ratio, so five runs decide little)
#   BENCH_CKPT_REPEAT=5     repetitions of the checkpoint rows
#   BENCH_PINGPONG_ITERS=   round trips per size (empty: the programs' defaults)
#   BENCH_TIMEOUT=900       seconds before one heat run is killed (pingpong:
#                           BENCH_PINGPONG_TIMEOUT=120, startup: 60)
#   BENCH_QUICK=1           smoke test: 1 repetition, heat 200 iterations
#   BENCH_OUT=BENCHMARKS.md where the report goes
#   BENCH_BUILD=bench/build where binaries, logs and results.tsv go
#   BENCH_SKIP_P2PDVM=1     MPICH rows only
#   BENCH_ONLY=store        the block store's rows alone, merged into the
#                           existing BENCHMARKS.md (samples in
#                           bench/build/results-store.tsv, logs in logs-store/)
#   BENCH_ONLY=scale        the same for the scale rows (bench/scale.sh:
#                           1,000 peers over mocknet; results-scale.tsv,
#                           logs-scale/)
#   BENCH_ONLY=floc         Floc's section alone (#7, bench/floc.sh), the same way
#   BENCH_ONLY=ckpt         the checkpoint rows alone (#6, bench/ckpt.sh), the same way
#
# Raw output of every run is kept in bench/build/logs/, the collected
# samples in bench/build/results.tsv (row<TAB>metric<TAB>value).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${BENCH_BUILD:-$ROOT/bench/build}
LOGS=$BUILD/logs
RES=$BUILD/results.tsv
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
# BENCH_ONLY=store leaves the other sections as the last full run wrote
# them, and that run's samples and logs where they are.
ONLY=${BENCH_ONLY:-}
case $ONLY in
"") ;;
store) LOGS=$BUILD/logs-store RES=$BUILD/results-store.tsv ;;
scale) LOGS=$BUILD/logs-scale RES=$BUILD/results-scale.tsv ;;
floc) LOGS=$BUILD/logs-floc RES=$BUILD/results-floc.tsv ;; # bench/floc.sh
ckpt) LOGS=$BUILD/logs-ckpt RES=$BUILD/results-ckpt.tsv ;; # bench/ckpt.sh
*)
	printf 'bench: BENCH_ONLY=%s: say store, scale, floc or ckpt, or leave it empty for everything\n' "$ONLY" >&2
	exit 2
	;;
esac

if [[ ${BENCH_QUICK:-0} == 1 ]]; then
	R=${BENCH_REPEAT:-1} HEAT_ITERS=${BENCH_HEAT_ITERS:-200} HEAT_R=${BENCH_HEAT_REPEAT:-1} PP_R=${BENCH_PINGPONG_REPEAT:-1}
else
	R=${BENCH_REPEAT:-5} HEAT_ITERS=${BENCH_HEAT_ITERS:-20000} HEAT_R=${BENCH_HEAT_REPEAT:-11} PP_R=${BENCH_PINGPONG_REPEAT:-11}
fi
HEAT_N=${BENCH_HEAT_N:-1024}
PP_ITERS=${BENCH_PINGPONG_ITERS:-}
TIMEOUT=${BENCH_TIMEOUT:-900}             # one heat run
PP_TIMEOUT=${BENCH_PINGPONG_TIMEOUT:-120} # one pingpong run
SU_TIMEOUT=60                             # one startup run
STARTUP_NP=8
STARTUP_PEERS=4
IDLE_SETTLE=3 # seconds a fresh DVM sits before the idle window opens
IDLE_WINDOW=5 # seconds over which idle CPU time is counted
# The checksum heat must print for ITERS=20000 N=1024 (any number of ranks).
HEAT_REF_20000_1024=7577151.4120688578

# MPICH 4 in Debian is ch4:ucx: UCX picks the transports, not MPICH.
# TCP: UCX_TLS=tcp,self leaves UCX nothing but TCP sockets (and loopback to
# self); MPIR_CVAR_NOLOCAL=1 additionally tells MPICH to treat every rank as
# remote. UCX_NET_DEVICES=lo (set for every MPICH run) keeps UCX's TCP on the
# loopback interface: without it UCX also opens connections over the
# machine's other interfaces.
MPICH_COMMON_ENV=(UCX_NET_DEVICES=lo)
MPICH_TCP_ENV=(MPIR_CVAR_NOLOCAL=1 UCX_TLS=tcp,self)

log() { printf '== %s\n' "$*" >&2; }
die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}
# put ROW METRIC VALUE appends one line to the results file.
put() { printf '%s\t%s\t%s\n' "$1" "$2" "$(printf '%s' "$3" | tr '\t\n' '  ')" >>"$RES"; }
meta() { put meta "$1" "$2"; }
note() { put note text "$1"; }
# seconds ELAPSED since START (both $EPOCHREALTIME values)
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
# cpu_times: total and steal jiffies of the whole machine (/proc/stat).
cpu_times() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9 }' /proc/stat; }
# why LOGBASE: one line saying why a run failed, from its stderr.
why() {
	local rc=$1 base=$2 msg
	msg=$( (grep -v '^[[:space:]]*$' "$base.err" 2>/dev/null || true) | tail -n 1 | cut -c1-160)
	if [[ $rc == 124 || $rc == 137 ]]; then
		echo "timed out twice"
	elif [[ $rc != 0 ]]; then
		echo "exit $rc${msg:+: $msg}"
	else
		echo "no result line in the output${msg:+ ($msg)}"
	fi
}

[[ $ONLY != floc ]] || { source "$ROOT/bench/floc.sh" && floc_only; } # exits
# ---------------------------------------------------------------- MPICH
have_mpich() { command -v mpicc.mpich >/dev/null && command -v mpiexec.mpich >/dev/null && command -v mpichversion >/dev/null; }
# The checkpoint rows need MPICH too: a 1-rank run gives heat's expected
# checksum for iteration counts without a known value.
if [[ -z $ONLY || $ONLY == ckpt ]] && ! have_mpich; then
	if [[ $(id -u) != 0 ]]; then
		die "MPICH is not installed and installing it needs root: run 'sudo apt-get install -y mpich libmpich-dev' and try again"
	fi
	log "installing MPICH (apt-get install -y mpich libmpich-dev)"
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
		apt-get update -q >&2
	fi
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q mpich libmpich-dev >&2; then
		apt-get update -q >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q mpich libmpich-dev >&2 || die "apt-get install mpich libmpich-dev failed"
	fi
	have_mpich || die "MPICH still not found after installing it"
fi
# The .mpich names: mpicc may be Open MPI's (alternatives) or p2pdvm's own.
MPICC=mpicc.mpich
MPIEXEC=mpiexec.mpich

command -v go >/dev/null || { [[ -x /usr/local/go/bin/go ]] && PATH=$PATH:/usr/local/go/bin; }
command -v go >/dev/null || die "go not found in PATH"

rm -rf "$LOGS"
mkdir -p "$BUILD" "$LOGS"
: >"$RES"

if [[ -z $ONLY || $ONLY == ckpt ]]; then
	log "building the C programs with $MPICC"
	progs=(pingpong heat initfin)
	[[ $ONLY != ckpt ]] || progs=(heat)
	for p in "${progs[@]}"; do
		# -ffp-contract=off: no FMA, so heat's checksum is the same bits as Go's.
		"$MPICC" -O2 -ffp-contract=off -o "$BUILD/$p" "examples/c/$p.c" -lm || die "compiling examples/c/$p.c failed"
	done
fi

# ---------------------------------------------------------------- p2pdvm
declare -A GO_BIN=() NOT_RUN=()
P2PDVM=$BUILD/p2pdvm
P2P_REASON=""
if [[ ${BENCH_SKIP_P2PDVM:-0} == 1 ]]; then
	P2P_REASON="skipped (BENCH_SKIP_P2PDVM=1)"
elif log "building p2pdvm" && ! { go build -o "$P2PDVM" ./cmd/p2pdvm && go build -o "$BUILD/p2pdvm-sandbox" ./cmd/p2pdvm-sandbox; } 2>"$LOGS/build-p2pdvm.err"; then
	P2P_REASON="go build ./cmd/p2pdvm failed (bench/build/logs/build-p2pdvm.err)"
fi
# The C rows: the same C programs, built with p2pdvm's mpicc against its
# own mpi.h and static library.
declare -A C_BIN=()
C_REASON=$P2P_REASON
[[ -z $ONLY ]] || C_REASON=${C_REASON:-"not needed (BENCH_ONLY=$ONLY)"}
if [[ -z $C_REASON ]]; then
	log "building p2pdvm's MPI library and the C programs with p2pdvm mpicc"
	export P2PDVM_MPI_HOME=$BUILD/mpi
	mkdir -p "$P2PDVM_MPI_HOME/include"
	cp mpishim/cabi/mpi.h "$P2PDVM_MPI_HOME/include/"
	if ! go build -buildmode=c-archive -o "$P2PDVM_MPI_HOME/lib/libp2pdvm_mpi.a" ./mpishim/cabi 2>"$LOGS/build-libmpi.err"; then
		C_REASON="building the C MPI library failed (bench/build/logs/build-libmpi.err)"
	fi
fi
for p in pingpong heat; do
	if [[ -z $C_REASON ]] && "$P2PDVM" mpicc -O2 -ffp-contract=off -o "$BUILD/$p-p2pdvm-c" "examples/c/$p.c" -lm 2>"$LOGS/build-$p-c.err"; then
		C_BIN[$p]=$BUILD/$p-p2pdvm-c
	else
		put "$p/p2pdvm-c" status "not run: ${C_REASON:-p2pdvm mpicc examples/c/$p.c failed (bench/build/logs/build-$p-c.err)}"
	fi
done
for ex in pingpong heat initfin; do
	if [[ -n $P2P_REASON ]]; then
		NOT_RUN[$ex]=$P2P_REASON
	elif [[ -n $ONLY && ! ($ONLY == ckpt && $ex == heat) ]]; then
		NOT_RUN[$ex]="not needed (BENCH_ONLY=$ONLY)"
	elif [[ ! -d examples/$ex ]]; then
		NOT_RUN[$ex]="examples/$ex does not exist"
	elif ! go build -o "$BUILD/$ex-go" "./examples/$ex" 2>"$LOGS/build-$ex-go.err"; then
		NOT_RUN[$ex]="go build ./examples/$ex failed (bench/build/logs/build-$ex-go.err)"
	else
		GO_BIN[$ex]=$BUILD/$ex-go
	fi
done
log "building the report generator"
go build -o "$BUILD/report" ./bench/report || die "go build ./bench/report failed"

# ---------------------------------------------------------------- header
mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta os "$(uname -srm)"
meta cpu "$( (grep -m1 '^model name' /proc/cpuinfo || echo ': unknown') | sed 's/^[^:]*: *//')"
meta cores "$(nproc)"
meta memory "$(awk -v k="$mem_kib" 'BEGIN { printf "%.1f GiB", k / 1048576 }')"
meta go "$(go version | sed 's/^go version //')"
! have_mpich || meta mpich "$(mpichversion | sed -n 's/^MPICH Version:[[:space:]]*//p') ($(mpichversion | sed -n 's/^MPICH Device:[[:space:]]*//p'))"
meta repeat "$R"
meta pingpong_repeat "$PP_R"
meta heat_repeat "$HEAT_R"
meta heat_iters "$HEAT_ITERS"
meta heat_n "$HEAT_N"
meta pingpong_iters "${PP_ITERS:-default}"
meta quick "${BENCH_QUICK:-0}"
meta mpich_tcp_env "${MPICH_COMMON_ENV[*]} ${MPICH_TCP_ENV[*]}"
meta mpich_shm_env "${MPICH_COMMON_ENV[*]}"
meta startup_np "$STARTUP_NP"
meta startup_peers "$STARTUP_PEERS"
meta idle_window_s "$IDLE_WINDOW"

# ---------------------------------------------------------------- DVM
TMPROOT=$(mktemp -d "${TMPDIR:-/tmp}/p2pdvm-bench.XXXXXX")
PEER_PIDS=()
DVM_SOCK=""
DVM_ERR=""

stop_dvm() {
	local pid i
	((${#PEER_PIDS[@]})) || return 0
	for pid in "${PEER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for ((i = 0; i < 50; i++)); do
		local alive=0
		for pid in "${PEER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		((alive)) || break
		sleep 0.1
	done
	for pid in "${PEER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	for pid in "${PEER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	PEER_PIDS=()
	DVM_SOCK=""
}
cleanup() {
	stop_dvm
	rm -rf "$TMPROOT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_dvm K NAME: K peers on 127.0.0.1, the others bootstrapping from the
# first. Sets DVM_SOCK (the first peer's control socket) or DVM_ERR.
start_dvm() {
	local k=$1 name=$2 i dir boot="" id addr pid t n
	DVM_ERR=""
	for ((i = 1; i <= k; i++)); do
		dir=$TMPROOT/$name-peer$i
		mkdir -p "$dir"
		local args=(peer --listen /ip4/127.0.0.1/tcp/0 --data "$dir")
		[[ -n $boot ]] && args+=(--bootstrap "$boot")
		"$P2PDVM" "${args[@]}" >"$LOGS/$name-peer$i.out" 2>"$LOGS/$name-peer$i.err" &
		pid=$!
		PEER_PIDS+=("$pid")
		# Every peer announces itself before it is usable; wait for that.
		for ((t = 0; t < 300; t++)); do
			grep -q '^listening on ' "$LOGS/$name-peer$i.out" 2>/dev/null && [[ -S $dir/ctl.sock ]] && break
			if ! kill -0 "$pid" 2>/dev/null; then
				DVM_ERR="peer $i exited: $(why 1 "$LOGS/$name-peer$i")"
				return 1
			fi
			sleep 0.1
		done
		if ((t == 300)); then
			DVM_ERR="peer $i did not announce its addresses and control socket within 30 s"
			return 1
		fi
		if ((i == 1)); then
			DVM_SOCK=$dir/ctl.sock
			boot=$(grep -m1 -o '/[^ ]*/p2p/[^ ]*' "$LOGS/$name-peer1.out" || true)
			if [[ -z $boot ]]; then # addresses printed without /p2p/: add the id
				id=$(sed -n 's/^peer id: *//p' "$LOGS/$name-peer1.out" | head -n 1)
				addr=$(grep -m1 -o '/ip4/127\.0\.0\.1/tcp/[0-9]*' "$LOGS/$name-peer1.out" || true)
				[[ -n $id && -n $addr ]] || {
					DVM_ERR="cannot find peer 1's multiaddr in its output"
					return 1
				}
				boot=$addr/p2p/$id
			fi
		fi
	done
	# Wait until every peer sees the k-1 others (p2pdvm info: "peers: N").
	for ((t = 0; t < 300; t++)); do
		local ok=1
		for ((i = 1; i <= k; i++)); do
			n=$("$P2PDVM" info --peer "$TMPROOT/$name-peer$i/ctl.sock" 2>/dev/null | sed -n 's/^peers: *//p' || true)
			[[ -n $n && $n -ge $((k - 1)) ]] || ok=0
		done
		((ok)) && return 0
		sleep 0.1
	done
	note "the $k-peer DVM did not report all peers connected within 30 s (p2pdvm info); the runs went ahead anyway"
	return 0
}

# measure_idle: RSS and CPU time of every running peer after IDLE_SETTLE s
# of quiet, CPU (utime+stime) counted over IDLE_WINDOW s.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
measure_idle() {
	local i pid hz
	local -a t0=()
	hz=$(getconf CLK_TCK)
	sleep "$IDLE_SETTLE"
	for i in "${!PEER_PIDS[@]}"; do t0[i]=$(cpu_ticks "${PEER_PIDS[i]}"); done
	sleep "$IDLE_WINDOW"
	for i in "${!PEER_PIDS[@]}"; do
		pid=${PEER_PIDS[i]}
		if [[ ! -r /proc/$pid/stat ]]; then
			note "idle: peer $((i + 1)) exited before its idle window ended"
			continue
		fi
		put idle/p2pdvm cpu_ms $((($(cpu_ticks "$pid") - t0[i]) * 1000 / hz))
		put idle/p2pdvm rss_mib "$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")"
	done
}

# ---------------------------------------------------------------- runs
declare -A FAILED=()
# attempt ROW LOGBASE LIMIT CMD...: runs CMD, killed after LIMIT seconds,
# output to LOGBASE.{out,err}; returns its exit code, 99 if ROW already
# failed (a row that failed once is not tried again). A run that hangs is
# tried once more (UCX over TCP has been seen to hang now and then) and the
# hang is noted in the report.
attempt() {
	local row=$1 base=$2 limit=$3 try rc
	shift 3
	[[ -z ${FAILED[$row]:-} ]] || return 99
	for try in 1 2; do
		rc=0
		T0=$EPOCHREALTIME
		timeout -k 10 "$limit" "$@" >"$base.out" 2>"$base.err" </dev/null || rc=$?
		T1=$EPOCHREALTIME
		((rc == 124 || rc == 137)) || break
		if ((try == 1)); then
			note "$row: one run hung and was killed after ${limit}s, then run again ($(basename "$base").hung.*)"
			mv "$base.out" "$base.hung.out"
			mv "$base.err" "$base.hung.err"
		fi
	done
	return $rc
}
fail_row() {
	FAILED[$1]=1
	put "$1" status "failed: $2 (bench/build/logs/$(basename "$3").*)"
	log "$1 failed: $2"
}

# pingpong ROW CMD...
pingpong() {
	local row=$1 rep=$2 base rc=0 lines
	shift 2
	base=$LOGS/${row//\//.}.$rep
	attempt "$row" "$base" "$PP_TIMEOUT" "$@" || rc=$?
	((rc == 99)) && return 0
	lines=$(sed -n 's/^.*pingpong size=\([0-9]*\) latency_us=\([0-9.eE+-]*\) bandwidth_MBps=\([0-9.eE+inf-]*\).*$/\1 \2 \3/p' "$base.out")
	if ((rc != 0)) || (($(printf '%s\n' "$lines" | grep -c .) < 5)); then
		fail_row "$row" "$(why $rc "$base")" "$base"
		return 0
	fi
	local size lat bw
	while read -r size lat bw; do
		put "$row/$size" latency_us "$lat"
		put "$row/$size" bandwidth_MBps "$bw"
	done <<<"$lines"
}

# heat ROW CMD...
heat() {
	local row=$1 rep=$2 base rc=0 line
	shift 2
	base=$LOGS/${row//\//.}.$rep
	attempt "$row" "$base" "$TIMEOUT" "$@" || rc=$?
	((rc == 99)) && return 0
	line=$(grep -o 'heat N=.*' "$base.out" | tail -n 1 || true)
	if ((rc != 0)) || [[ $line != *time_s=* ]]; then
		fail_row "$row" "$(why $rc "$base")" "$base"
		return 0
	fi
	# The repetition pairs this run with the other columns' runs of the
	# same repetition (the report's paired ratios).
	put "$row" rep "$rep"
	local kv
	for kv in $line; do
		case $kv in
		time_s=* | checksum=* | residual=*) put "$row" "${kv%%=*}" "${kv#*=}" ;;
		esac
	done
}

# startup ROW CMD...: wall time of the whole command (its last try).
startup() {
	local row=$1 rep=$2 base rc=0
	shift 2
	base=$LOGS/${row//\//.}.$rep
	attempt "$row" "$base" "$SU_TIMEOUT" "$@" || rc=$?
	((rc == 99)) && return 0
	if ((rc != 0)); then
		fail_row "$row" "$(why $rc "$base")" "$base"
		return 0
	fi
	put "$row" wall_s "$(elapsed "$T0" "$T1")"
}

# Where the DVM put a job's ranks: JOB_IDS before a run, then placement ROW
# after it records "job ID: ranks on K distinct peers" (first run only).
job_ids() { "$P2PDVM" jobs --peer "$DVM_SOCK" --json 2>/dev/null | grep -o '"id": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | sort || true; }
placement() {
	local row=$1 before=$2 id hosts
	[[ -z $(awk -F'\t' -v r="$row" '$1 == r && $2 == "placement"' "$RES") ]] || return 0
	id=$(comm -13 <(printf '%s\n' "$before") <(job_ids) | head -n 1)
	[[ -n $id ]] || return 0
	hosts=$("$P2PDVM" status --peer "$DVM_SOCK" --json "$id" 2>/dev/null | grep -o '"host": *"[^"]*"' | sort -u | grep -c . || true)
	put "$row" placement "job $id: ranks on $hosts distinct peers"
}

# shellcheck source=bench/store.sh
source "$ROOT/bench/store.sh"
# shellcheck source=bench/scale.sh
source "$ROOT/bench/scale.sh"
if [[ $ONLY == scale ]]; then
	scale_section
	log "merging the scale section into $OUT"
	"$BUILD/report" -merge-scale "$OUT" "$RES" >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	log "done: $OUT (raw samples: $RES, logs: $LOGS/)"
	exit 0
fi
if [[ $ONLY == store ]]; then
	store_section
	log "merging the block store's section into $OUT"
	"$BUILD/report" -merge "$OUT" "$RES" >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	log "done: $OUT (raw samples: $RES, logs: $LOGS/)"
	exit 0
fi

MPICH_TCP=(env "${MPICH_COMMON_ENV[@]}" "${MPICH_TCP_ENV[@]}" "$MPIEXEC")
MPICH_SHM=(env "${MPICH_COMMON_ENV[@]}" "$MPIEXEC")

p2p_reason() { # why the p2pdvm row for example $1 cannot run ("" if it can)
	if [[ -n $P2P_REASON ]]; then
		echo "$P2P_REASON"
	else echo "${NOT_RUN[$1]:-}"; fi
}

# heat_ref ROW ITERS: heat's expected checksum for ITERS (N=HEAT_N) into
# ROW: the known value, else a 1-rank MPICH run (the program's result does
# not depend on the number of ranks).
heat_ref() {
	local row=$1 iters=$2 ref
	if [[ $iters == 20000 && $HEAT_N == 1024 ]]; then
		put "$row" expected_checksum "$HEAT_REF_20000_1024"
		put "$row" expected_from "reference value for ITERS=20000 N=1024"
		return
	fi
	log "heat: 1-rank MPICH run for the expected checksum of ITERS=$iters N=$HEAT_N"
	ref=$(timeout "$TIMEOUT" "$MPIEXEC" -n 1 "$BUILD/heat" "$iters" "$HEAT_N" </dev/null 2>"$LOGS/heat-ref-$iters.err" |
		sed -n 's/.* checksum=\([^ ]*\).*/\1/p' || true)
	put "$row" expected_checksum "${ref:-unknown}"
	put "$row" expected_from "1-rank MPICH run of examples/c/heat.c (ITERS=$iters N=$HEAT_N)"
}
if [[ $ONLY == ckpt ]]; then
	source "$ROOT/bench/ckpt.sh"
	log "merging the checkpoint section into $OUT"
	"$BUILD/report" -merge-ckpt "$OUT" "$RES" >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	log "done: $OUT (raw samples: $RES, logs: $LOGS/)"
	exit 0
fi
heat_ref heat "$HEAT_ITERS"

# The 2-peer DVM serves the pingpong and heat rows.
pp_reason=$(p2p_reason pingpong)
heat_reason=$(p2p_reason heat)
if [[ -z $pp_reason || -z $heat_reason ]]; then
	log "starting a 2-peer DVM"
	if ! start_dvm 2 dvm2; then
		pp_reason="2-peer DVM did not start: $DVM_ERR"
		heat_reason=$pp_reason
		stop_dvm
	fi
fi
[[ -z $pp_reason ]] || put pingpong/p2pdvm status "not run: $pp_reason"
[[ -z $heat_reason ]] || put heat/p2pdvm status "not run: $heat_reason"

# Repetitions are interleaved (TCP, shm, p2pdvm, TCP, ...) so that drifting
# background load on the machine hits every column alike, and each
# repetition starts one column later, so that no column always runs right
# after the same other one.
# one_run KIND COLUMN REP: one run of pingpong or heat in one column.
one_run() {
	local kind=$1 col=$2 rep=$3 args
	if [[ $kind == pingpong ]]; then args=($PP_ITERS); else args=("$HEAT_ITERS" "$HEAT_N"); fi
	case $col in
	mpich-tcp) "$kind" "$kind/mpich-tcp" "$rep" "${MPICH_TCP[@]}" -n 2 "$BUILD/$kind" "${args[@]}" ;;
	mpich-shm) "$kind" "$kind/mpich-shm" "$rep" "${MPICH_SHM[@]}" -n 2 "$BUILD/$kind" "${args[@]}" ;;
	go)
		local before
		before=$(job_ids)
		"$kind" "$kind/p2pdvm" "$rep" "$P2PDVM" submit --peer "$DVM_SOCK" -n 2 "${GO_BIN[$kind]}" "${args[@]}"
		placement "$kind/p2pdvm" "$before"
		;;
	c) "$kind" "$kind/p2pdvm-c" "$rep" "$P2PDVM" submit --peer "$DVM_SOCK" -n 2 "${C_BIN[$kind]}" "${args[@]}" ;;
	esac
}
# rotated KIND REPS REASON: REPS repetitions of every column of KIND.
rotated() {
	local kind=$1 reps=$2 reason=$3 cols=(mpich-tcp mpich-shm) rep i
	if [[ -z $reason ]]; then
		cols+=(go)
		[[ -z ${C_BIN[$kind]:-} ]] || cols+=(c)
	fi
	for ((rep = 1; rep <= reps; rep++)); do
		for ((i = 0; i < ${#cols[@]}; i++)); do
			one_run "$kind" "${cols[(rep - 1 + i) % ${#cols[@]}]}" "$rep"
		done
	done
}
# Steal time over the side-by-side rows: on a virtual machine the hours
# differ, and this says how much of the cores the hypervisor took back.
read -r CPU_T0 CPU_S0 <<<"$(cpu_times)"
log "pingpong x$PP_R"
rotated pingpong "$PP_R" "$pp_reason"

log "heat $HEAT_ITERS iterations N=$HEAT_N x$HEAT_R"
rotated heat "$HEAT_R" "$heat_reason"
# The heartbeats the two peers sent while ranks kept both cores busy
# (pingpong, heat): how close a live host's round trip came to the 1 s
# within which it must answer.
if [[ -z $heat_reason ]]; then
	for i in 1 2; do
		"$P2PDVM" info --json --peer "$TMPROOT/dvm2-peer$i/ctl.sock" >"$LOGS/heartbeats.$i.json" 2>/dev/null || continue
		for k in sent missed p50_ms p99_ms max_ms; do
			put heartbeats/peer$i "$k" "$(sed -n "s/^ *\"$k\": *\([0-9.e+-]*\).*/\1/p" "$LOGS/heartbeats.$i.json" | head -n 1)"
		done
	done
fi
stop_dvm

# Startup and idle use a DVM of STARTUP_PEERS peers.
log "startup: $STARTUP_NP ranks of initfin x$R (after one untimed run each)"
su_reason=$(p2p_reason initfin)
idle_reason=$P2P_REASON
if [[ -z $P2P_REASON ]]; then
	log "starting a $STARTUP_PEERS-peer DVM"
	if ! start_dvm "$STARTUP_PEERS" dvm4; then
		su_reason="$STARTUP_PEERS-peer DVM did not start: $DVM_ERR"
		idle_reason=$su_reason
		stop_dvm
	fi
fi
[[ -z $su_reason ]] || put startup/p2pdvm status "not run: $su_reason"
[[ -z $idle_reason ]] || put idle/p2pdvm status "not run: $idle_reason"
# One untimed run each first: page cache warm, p2pdvm's binary cache filled.
attempt warmup "$LOGS/startup.mpich-shm.0" "$SU_TIMEOUT" "${MPICH_SHM[@]}" -n "$STARTUP_NP" "$BUILD/initfin" || true
[[ -n $su_reason ]] || attempt warmup "$LOGS/startup.p2pdvm.0" "$SU_TIMEOUT" "$P2PDVM" submit --peer "$DVM_SOCK" -n "$STARTUP_NP" "${GO_BIN[initfin]}" || true
for ((rep = 1; rep <= R; rep++)); do
	startup startup/mpich-shm "$rep" "${MPICH_SHM[@]}" -n "$STARTUP_NP" "$BUILD/initfin"
	[[ -n $su_reason ]] || startup startup/p2pdvm "$rep" "$P2PDVM" submit --peer "$DVM_SOCK" -n "$STARTUP_NP" "${GO_BIN[initfin]}"
done

if [[ -z $idle_reason ]]; then
	log "idle peers: ${IDLE_SETTLE}s settle + ${IDLE_WINDOW}s window"
	measure_idle
fi
stop_dvm

read -r CPU_T1 CPU_S1 <<<"$(cpu_times)"
meta steal "$(awk -v t=$((CPU_T1 - CPU_T0)) -v s=$((CPU_S1 - CPU_S0)) 'BEGIN { if (t > 0) printf "%.1f%%", 100 * s / t }')"
# Checkpoint and restart (#6): its own file, sourced for run.sh's helpers.
source "$ROOT/bench/ckpt.sh"
store_section
scale_section
source "$ROOT/bench/floc.sh" && floc_section # Floc (#7)

log "writing $OUT"
"$BUILD/report" "$RES" >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "done: $OUT (raw samples: bench/build/results.tsv, logs: bench/build/logs/)"
