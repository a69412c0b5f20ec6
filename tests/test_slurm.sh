#!/bin/sh
# tests/test_slurm.sh — pipeline stages on a real Slurm cluster: starts a single-node cluster
# from the Debian packages (munged with its own key and socket, slurmctld, slurmd, generated
# slurm.conf, everything under $BUILD/slurm), runs a small twin of the seed scenario (tiny
# VLM, LoRA retrain, evaluations as 2-task job arrays) locally and on Slurm and asserts
# identical metrics and items; then --check, a failing job (id + log tail in the error), resume
# without resubmission (also adopting a job still queued), and cancellation on SIGTERM and on
# kill -9 of the runner (through its keeper). Every daemon it started is stopped by pid on exit.
# If the cluster cannot start here, the test says so and FAILS.
set -u
BUILD=${BUILD:-build}
top=$(pwd)
mv="$top/$BUILD/bin/mergeval"
S="$top/$BUILD/slurm"
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
T0=$(date +%s)
phase() { echo "test_slurm: [$(( $(date +%s) - T0 )) s] $*"; }
bad() { fail=$((fail + 1)); echo "test_slurm: FAIL: $*" >&2; }
die() { echo "test_slurm: FAIL: $*" >&2; echo "test_slurm: $pass passed, $((fail + 1)) failed"; exit 1; }

for tool in munged slurmctld slurmd sbatch squeue scancel sinfo scontrol; do
  command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: install the Debian packages slurm-wlm and munge (make deps-check)"
done
[ -x "$mv" ] || die "$mv not built"

# ------------------------------------------------------------------ the cluster
PIDS=""
stop_cluster() {
  for f in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/munge/munged.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    i=0; while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -f "$f"
  done
  for pid in $PIDS; do kill "$pid" 2>/dev/null; done
}
trap stop_cluster EXIT
trap 'exit 1' INT TERM
stop_cluster   # leftovers of an interrupted earlier run of this test
rm -rf "$S"
mkdir -p "$S/state" "$S/spool" "$S/log" "$S/munge" "$S/work"
chmod 700 "$S/munge"

# Ports: two free ones, so a second cluster (another checkout's make check) does not collide.
port_free() { ! (ss -Hltn 2>/dev/null | awk '{print $4}' | grep -q ":$1\$"); }
base=$((20000 + $$ % 20000))
while ! port_free $base || ! port_free $((base + 1)); do base=$((base + 2)); done

dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$S/munge/munge.key"
munged --socket="$S/munge/munge.socket" --key-file="$S/munge/munge.key" \
       --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" \
       --seed-file="$S/munge/munged.seed" --force >"$S/log/munged.out" 2>&1 \
  || die "munged did not start: $(cat "$S/log/munged.out")"
host=$(hostname -s)
mem=$(free -m | awk '/^Mem:/ { print int($2 / 2) }')
cat > "$S/slurm.conf" <<EOF
ClusterName=mergeval-test
SlurmctldHost=$host
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/munge.socket
SlurmUser=$(id -un)
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=$host CPUs=2 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$S/slurm.conf"
slurmctld -i -f "$S/slurm.conf" >"$S/log/slurmctld.out" 2>&1 || die "slurmctld did not start: $(tail -5 "$S/log/slurmctld.out" "$S/log/slurmctld.log" 2>/dev/null)"
slurmd -f "$S/slurm.conf" >"$S/log/slurmd.out" 2>&1 || die "slurmd did not start: $(tail -5 "$S/log/slurmd.log" 2>/dev/null)"
t0=$(date +%s)
i=0
until [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; do
  i=$((i + 1))
  [ $i -gt 600 ] && die "the Slurm cluster did not come up within 60 s (sinfo: $(sinfo 2>&1 | tail -2)); logs in $S/log"
  sleep 0.1
done
echo "test_slurm: single-node cluster up in $(( $(date +%s) - t0 )) s (ports $base, $((base + 1)))"

# ------------------------------------------------------------------ the twin pipeline
D="$S/data"
"$mv" -q gen shapes --out "$D/shapes" --seed 1 --train 40 --test 24 >/dev/null || die "gen shapes"
"$mv" -q gen text --kind clinical --out "$D/text" --seed 2 --docs 60 >/dev/null || die "gen text"
# batch_size 1: each item's numbers then do not depend on which items share its batch, so
# sharded and unsharded runs agree to the bit as well (compared at the end).
cat > "$S/twin.json" <<EOF
{
  "name": "slurm-twin",
  "base": {"loader": "safetensors", "path": "$top/tests/data/models/tinyvlm"},
  "datasets": {
    "pairs-train": {"loader": "imagetext", "path": "$D/shapes/train.jsonl"},
    "pairs-test":  {"loader": "imagetext", "path": "$D/shapes/test.jsonl"},
    "text-test":   {"loader": "text", "path": "$D/text/test.jsonl"}
  },
  "iterations": 1,
  "seed": 3,
  "launcher": {"kind": "slurm", "partition": "debug", "time": "10:00", "cpus_per_task": 2},
  "train": {"trainer": "sft", "mix": {"pairs-train": 1.0},
            "params": {"use_lora": true, "lora_r": 4, "max_steps": 4, "batch_size": 4, "lr": 1e-3}},
  "evaluate": [
    {"name": "alignment", "plugin": "alignment", "dataset": "pairs-test", "params": {"distractors": 3}, "shards": 2},
    {"name": "caption", "plugin": "caption-nll", "dataset": "pairs-test", "params": {"batch_size": 1}, "shards": 2},
    {"name": "text", "plugin": "perplexity", "dataset": "text-test", "params": {"batch_size": 1}, "shards": 2}
  ]
}
EOF
cd "$S/work" || die "cd"

# Every metrics.json value and every items.jsonl byte of two runs, independently of mergeval.
same_results() {
  python3 - "$1" "$2" "${3:-0}" <<'EOF'
import json, os, sys
a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
n = bad = 0
for root, dirs, files in os.walk(a):
    rel = os.path.relpath(root, a)
    if 'metrics.json' not in files or rel.split(os.sep)[0] == 'jobs':
        continue
    ma = json.load(open(os.path.join(a, rel, 'metrics.json')))['metrics']
    mb = json.load(open(os.path.join(b, rel, 'metrics.json')))['metrics']
    n += 1
    if sorted(ma) != sorted(mb):
        print('metric names differ in', rel); bad += 1; continue
    for k in ma:
        x, y = ma[k]['value'], mb[k]['value']
        if (tol == 0 and x != y) or abs(x - y) > tol * abs(x) or ma[k]['n_items'] != mb[k]['n_items']:
            print('%s %s: %r vs %r (%d vs %d items)' % (rel, k, x, y, ma[k]['n_items'], mb[k]['n_items'])); bad += 1
    ids = lambda d: sorted(json.loads(l)['id'] for l in open(os.path.join(d, rel, 'items.jsonl')))
    if ids(a) != ids(b):
        print('item ids differ in', rel); bad += 1
    if tol == 0 and open(os.path.join(a, rel, 'items.jsonl')).read() != open(os.path.join(b, rel, 'items.jsonl')).read():
        print('items.jsonl differs in', rel); bad += 1
print('%d evaluations compared, %d differences' % (n, bad))
sys.exit(1 if bad or n != 6 else 0)
EOF
}
jobs_of() {  # the Slurm job ids run.json recorded for a stage
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stages"][sys.argv[2]]; print(" ".join(j["id"] for j in s.get("launch",{}).get("jobs",[])))' "$1/run.json" "$2"
}

phase "--check"
# --check: Slurm reachable, partition exists; and what it says when not.
"$mv" run "$S/twin.json" --check >check.out 2>&1 && grep -q "reachable" check.out && ok \
  || bad "--check with a reachable cluster: $(cat check.out)"
"$mv" run "$S/twin.json" --check --set launcher.partition=nope >check.out 2>&1
[ $? -eq 2 ] && grep -q 'partition "nope" does not exist; this cluster has: debug' check.out && ok \
  || bad "--check with a missing partition: $(cat check.out)"
PATH=/nonexistent "$mv" run "$S/twin.json" --check >check.out 2>&1
[ $? -ne 0 ] && grep -q "Slurm is not reachable from here: sbatch is not in PATH" check.out && ok \
  || bad "--check without sbatch: $(cat check.out)"
# A controller that does not answer (nothing listens on its port; sinfo gives up in ~10 s).
sed "s/^SlurmctldPort=.*/SlurmctldPort=$((base + 2))/" "$S/slurm.conf" > "$S/down.conf"
SLURM_CONF="$S/down.conf" "$mv" run "$S/twin.json" --out never >check.out 2>&1
[ $? -ne 0 ] && grep -q "Slurm is not reachable from here: \`sinfo\` failed" check.out && [ ! -e never ] && ok \
  || bad "run with an unreachable controller must stop before anything runs: $(cat check.out)"
"$mv" run "$S/twin.json" --check --set 'launcher.cpus_per_task="two"' --set 'evaluate[0].launcher={"kind":"slurm","bogus":1}' >check.out 2>&1
[ $? -eq 2 ] && grep -q '\$.launcher.cpus_per_task: expected an integer >= 1' check.out \
  && grep -q '\$.evaluate\[0\].launcher.bogus: unknown key' check.out && ok \
  || bad "launcher validation: $(cat check.out)"

phase "twin pipeline, local and on Slurm"
# The same pipeline locally and on Slurm: identical metrics and items. (Jobs run with
# --threads cpus_per_task; numbers depend on the thread count, so the local run uses 2 too.)
"$mv" -q --threads 2 run "$S/twin.json" --out local --set 'launcher={"kind":"local"}' >local.out 2>&1 \
  || bad "local run failed: $(tail -5 local.out)"
"$mv" run "$S/twin.json" --out slurm >slurm.out 2>&1 || bad "Slurm run failed: $(tail -20 slurm.out)"
same_results local slurm >cmp.out && ok || bad "Slurm run differs from the local run: $(cat cmp.out)"
cat cmp.out
n_sub=$(grep -c "Slurm job [0-9]* .*submitted" slurm.out)
[ "$n_sub" -eq 8 ] && ok || bad "expected 8 Slurm jobs (2 x 3 evaluations, train, apply), saw $n_sub"
grep -q "Slurm job [0-9]* (array) submitted" slurm.out && ok || bad "sharded evaluations were not job arrays"
a=$(jobs_of slurm iter-0/eval/alignment)
[ -n "$a" ] && [ -f "slurm/jobs/iter-0/eval/alignment/slurm-${a}_0.log" ] && [ -f "slurm/jobs/iter-0/eval/alignment/slurm-${a}_1.log" ] \
  && grep -q "#SBATCH --array=0-1" slurm/jobs/iter-0/eval/alignment/job.sbatch \
  && grep -q '"status":[[:space:]]*"ok"' slurm/jobs/iter-0/eval/alignment/result-1.json && ok \
  || bad "job $a: array task logs, script or completion records missing"
t=$(jobs_of slurm iter-1/train)
[ -n "$t" ] && [ -f slurm/iter-1/train/train_result.json ] && ok || bad "training did not run as a Slurm job"
# Sharded == unsharded (same evaluations without shards, locally): the same items and
# metrics, to the bit: the models' matrix products (plugins/models/gemm.c) give every row the
# same result whichever other rows share its batch, so a shard encoding and scoring its own
# subset changes nothing. Only on a CPU without AVX2, where OpenBLAS does the products,
# float sums may differ in the last bits (compared to 1e-5 relative there).
tol=0
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo || tol=1e-5
"$mv" -q --threads 2 run "$S/twin.json" --out unsharded --set 'launcher={"kind":"local"}' --set 'evaluate[0].shards=1' \
  --set 'evaluate[1].shards=1' --set 'evaluate[2].shards=1' >unsharded.out 2>&1 || bad "unsharded run failed"
same_results unsharded slurm $tol >cmp.out && ok || bad "sharded differs from unsharded: $(cat cmp.out)"

phase "resume"
# Resume never resubmits a finished stage.
before=$(jobs_of slurm iter-0/eval/text)
"$mv" run "$S/twin.json" --out slurm >resume.out 2>&1 || bad "rerun of a finished Slurm run failed"
grep -q "submitted" resume.out && bad "a rerun of a finished run submitted jobs: $(grep submitted resume.out)" || ok
[ "$(jobs_of slurm iter-0/eval/text)" = "$before" ] && ok || bad "job ids changed on resume"

phase "a failing job"
# A failing job: its id and the end of its log in the error, run.json and the reports. Only
# the merge runs on Slurm (a stage's own launcher); the baseline evaluation runs here.
cat > "$S/fail.json" <<EOF
{"name": "fails", "base": "$top/tests/data/models/tinyvlm", "iterations": 1,
 "datasets": {"t": {"loader": "text", "path": "$D/text/test.jsonl"}},
 "merge": {"strategy": "lora", "adapters": [{"path": "$D/text"}], "launcher": {"kind": "slurm", "time": 5}},
 "evaluate": [{"name": "text", "plugin": "perplexity", "dataset": "t"}]}
EOF
"$mv" run "$S/fail.json" --out failed >fail.out 2>&1
rc=$?
fid=$(jobs_of failed iter-1/merge)
[ $rc -ne 0 ] && [ -n "$fid" ] && [ -z "$(jobs_of failed iter-0/eval/text)" ] \
  && grep -q "Slurm job $fid failed: .*no adapter loader recognises it" fail.out \
  && grep -q "slurm-$fid.log, last lines:" fail.out && grep -q "JobState=FAILED" fail.out && ok \
  || bad "failed job report (rc $rc, job $fid): $(cat fail.out)"
grep -q "Slurm job $fid failed" failed/run.json && grep -q "Stage \`iter-1/merge\` failed" failed/report.md \
  && grep -q "Slurm job $fid failed" failed/report.md && grep -q "Slurm job $fid failed" failed/report.html && ok \
  || bad "run.json or the reports lack the failed job's error"

# Queued jobs: a blocker holds both CPUs so the pipeline's jobs wait in the queue.
cat > "$S/one.json" <<EOF
{"name": "one", "base": "$top/tests/data/models/tinyvlm", "iterations": 0,
 "datasets": {"t": {"loader": "text", "path": "$D/text/test.jsonl"}},
 "launcher": {"kind": "slurm"},
 "evaluate": [{"name": "text", "plugin": "perplexity", "dataset": "t"}]}
EOF
blocker=$(sbatch --parsable -c 2 -o /dev/null --wrap "sleep 600")
wait_job_recorded() {  # RUN: until run.json names a job for the stage (bounded)
  i=0; while [ -z "$(jobs_of "$1" iter-0/eval/text 2>/dev/null)" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  jobs_of "$1" iter-0/eval/text
}
job_gone() { i=0; while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  [ -z "$(squeue -h -j "$1" 2>/dev/null)" ]; }
job_state() { scontrol -o show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }

phase "SIGTERM"
# SIGTERM: the runner cancels its job.
"$mv" run "$S/one.json" --out term >term.out 2>&1 &
rpid=$!; PIDS="$PIDS $rpid"
j=$(wait_job_recorded term)
kill -TERM $rpid; wait $rpid; rc=$?
[ $rc -eq 3 ] && grep -q "interrupted by signal 15 .*cancelled Slurm job $j" term.out && job_gone "$j" \
  && [ "$(job_state "$j")" = CANCELLED ] && ok || bad "SIGTERM: rc $rc, job $j state $(job_state "$j"): $(tail -3 term.out)"

phase "kill -9"
# kill -9: the keeper cancels the job.
"$mv" run "$S/one.json" --out killed >killed.out 2>&1 &
rpid=$!; PIDS="$PIDS $rpid"
j=$(wait_job_recorded killed)
sleep 0.3   # the keeper starts right after the job id is recorded
kill -9 $rpid; wait $rpid 2>/dev/null
job_gone "$j" && [ "$(job_state "$j")" = CANCELLED ] && ok || bad "kill -9: job $j not cancelled ($(job_state "$j"))"

phase "adopting a queued job"
# Runner and keeper both gone (a lost login node): the resumed run waits for the queued job
# instead of submitting another, and uses its results.
# lose_runner RUN: start one.json into RUN, and once its job is queued kill -9 the keeper
# and then the runner; sets j to the job id.
lose_runner() {
  "$mv" run "$S/one.json" --out "$1" >"$1.out" 2>&1 &
  rpid=$!; PIDS="$PIDS $rpid"
  j=$(wait_job_recorded "$1")
  sleep 0.3   # the keeper starts right after the job id is recorded
  kpid=$(sed -n 's/^mergeval keeper \([0-9]*\):.*/\1/p' "$1/jobs/iter-0/eval/text/keeper.log" | tail -1)
  [ -n "$kpid" ] && kill -9 "$kpid" || bad "no keeper pid in $1/jobs/iter-0/eval/text/keeper.log"
  kill -9 $rpid; wait $rpid 2>/dev/null
}
lose_runner adopt
sleep 0.5
[ -n "$(squeue -h -j "$j")" ] && ok || bad "job $j should still be queued after runner and keeper died"
# The resumed run starts while the job is still held in the queue, then the queue moves on.
"$mv" run "$S/one.json" --out adopt >adopt2.out 2>&1 &
rpid=$!; PIDS="$PIDS $rpid"
i=0; until grep -q "waiting for Slurm job" adopt2.out || [ $i -gt 600 ]; do sleep 0.1; i=$((i + 1)); done
scancel "$blocker"
wait $rpid || bad "resume after a lost runner failed: $(tail -5 adopt2.out)"
grep -q "waiting for Slurm job $j, submitted by an earlier run" adopt2.out && ! grep -q "submitted (" adopt2.out \
  && [ "$(jobs_of adopt iter-0/eval/text)" = "$j" ] && [ -f adopt/iter-0/eval/text/metrics.json ] && ok \
  || bad "resume did not adopt job $j: jobs $(jobs_of adopt iter-0/eval/text); $(cat adopt2.out)"

phase "--restart"
# --restart cancels what the old run still has queued.
blocker=$(sbatch --parsable -c 2 -o /dev/null --wrap "sleep 600")
lose_runner restart
# The blocker stays until the restart has dealt with the old job (else it might just finish).
"$mv" run "$S/one.json" --out restart --restart --set seed=5 >restart2.out 2>&1 &
rpid=$!; PIDS="$PIDS $rpid"
job_gone "$j"
scancel "$blocker"
wait $rpid; rc=$?
[ $rc -eq 0 ] && [ "$(job_state "$j")" = CANCELLED ] && ok || bad "--restart did not cancel job $j (rc $rc, $(job_state "$j"))"

# Nothing of ours left in the queue.
[ -z "$(squeue -h)" ] && ok || bad "jobs left in the queue: $(squeue)"
cd "$top"
echo "test_slurm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
