#!/usr/bin/env bash
# bench_smoke (ctest): every rollcall-bench workload against rollcall-baseline and against a
# fresh rollcalld, with tiny counts, then a restart probe, the Redis peer of the two ingest
# workloads (bench/redis_peer) and the suite summary with its Redis column. Each report must
# be well-formed JSON with errors == 0 (check_report.cmake). No timing is checked: speed
# targets live in bench/run's report only. Without Redis installed it fails, naming the fix.
#   smoke_test.sh <rollcall-bench> <rollcall-baseline> <rollcalld> <check_report.cmake> <redis_peer>
set -euo pipefail
bench=$1
baseline=$2
rollcalld=$3
check=$4
redis_peer=$5
for tool in redis-server redis-cli redis-benchmark; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench_smoke: $tool is not installed, and the suite's Redis peer needs it:" \
      "run scripts/bootstrap bench"
    exit 1
  fi
done
work="$(mktemp -d "${TMPDIR:-/tmp}/rollcall-bench-smoke.XXXXXX")"
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start() {  # start NAME COMMAND...: on port 0, and wait until it serves (or fail fast)
  local name=$1
  shift
  rm -f "$work/$name.port"
  "$@" --listen=127.0.0.1:0 --port_file="$work/$name.port" >>"$work/$name.log" 2>&1 &
  pid[$name]=$!
  for _ in $(seq 600); do
    [[ -s "$work/$name.port" ]] && return 0
    if ! kill -0 "${pid[$name]}" 2>/dev/null; then
      echo "$name exited at start:"
      cat "$work/$name.log"
      exit 1
    fi
    sleep 0.1
  done
  echo "$name did not serve within 60 s:"
  cat "$work/$name.log"
  exit 1
}
stop() {  # stop NAME: SIGTERM, and the exit status must be 0
  local name=$1
  kill -TERM "${pid[$name]}"
  wait "${pid[$name]}"
  unset "pid[$name]"
}

run() {  # run SERVER CASE ARGS...: one report, checked
  local server=$1 case=$2
  shift 2
  mkdir -p "$work/results/$case"
  local report="$work/results/$case/$server-1.json"
  if ! "$bench" --port_file="$work/$server.port" --server_pid="${pid[$server]}" \
      --label="$server" --duration=1s --warmup=200ms --json_out="$report" "$@"; then
    echo "rollcall-bench $server $case failed:"
    cat "$report" || true
    cat "$work/$server.log"
    exit 1
  fi
  cmake -DREPORT="$report" -P "$check"
  echo "ok: $server $case"
}

start baseline "$baseline"
# --metrics_port=0: a free port, so parallel tests and servers do not collide on the default.
rollcall_flags=(--data_dir="$work/data" --log_level=warn --metrics_port=0
                --max_account_rooms=1000000000 --max_account_participants=1000000000)
start rollcall "$rollcalld" "${rollcall_flags[@]}"
for server in baseline rollcall; do
  run "$server" stream_ingest --workload=join_storm --ingest=stream --streams=2 --batch=50
  run "$server" unary_ingest --workload=join_storm --ingest=unary --in_flight=8
  run "$server" churn --workload=churn --ingest=stream --batch=20 --churn_rooms=10 \
    --churn_room_size=5
  run "$server" churn_unary --workload=churn --ingest=unary --rate=300 --churn_rooms=5 \
    --churn_room_size=4
  run "$server" watch --workload=watch --watchers=5 --rate=50 --watch_scope=account
  run "$server" watch_room --workload=watch --watchers=5 --rate=50 --watch_scope=room
  run "$server" read_mix --workload=read_mix --ingest=stream --rate=500 --batch=25 --readers=2
  run "$server" participants --workload=join_storm --ingest=stream --ops=2000 --batch=100 \
    --probe_out="$work/$server.probe"
done

# A restart of each: SIGTERM, start again (rollcalld on the same data), serving again.
for server in baseline rollcall; do
  since=$(date +%s%N)
  stop "$server"
  started=$(date +%s%N)
  if [[ $server == rollcall ]]; then
    start rollcall "$rollcalld" "${rollcall_flags[@]}"
  else
    start baseline "$baseline"
  fi
  run "$server" restart --workload=ready --probe_in="$work/$server.probe" \
    --since_unix_ns="$since" --started_unix_ns="$started"
done

# The Redis peer beside the two ingest workloads, as bench/run runs it (data on the same disk).
for peer in "stream_ingest 16" "unary_ingest 1"; do
  read -r case pipeline <<<"$peer"
  report="$work/results/$case/redis-1.json"
  if ! "$redis_peer" --dir="$work" --json_out="$report" --clients=8 --pipeline="$pipeline" \
      --warmup=0.2 --duration=0.5; then
    echo "bench/redis_peer $case failed"
    exit 1
  fi
  cmake -DREPORT="$report" -P "$check"
  echo "ok: redis $case"
done

# The suite summary over these reports.
echo "mode=quick" >"$work/results/meta.txt"
"$bench" --report_dir="$work/results" --report_json="$work/summary.json" \
  --report_md="$work/summary.md" >/dev/null
cmake -DREPORT="$work/summary.json" -DSUMMARY=ON -DREDIS=ON -P "$check"
grep -q "durable streaming ingest" "$work/summary.md"
grep -q "| Redis median | ratio to Redis |" "$work/summary.md"
echo "ok: summary"
stop baseline
stop rollcall
