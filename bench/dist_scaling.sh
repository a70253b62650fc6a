#!/usr/bin/env bash
# Partitioned full-batch training on MPI: measured scaling on this machine and a projection to
# 8-64 machines. A uniform random graph (`locus generate random`, default 1M nodes, 10M
# undirected edges = 20M directed, 16 features, 10 classes) is cut with METIS into P = 1, 2, 4
# parts and a 2-layer GCN (hidden 64) is trained on P MPI ranks; it is also cut into M = 8, 16,
# 32, 64 parts (`locus partition --dry-run`: statistics only) to feed a cost model with the real
# per-part edges, halo rows, sent rows and peers. Everything runs on this one machine
# (shared-memory MPI), so the measured rows show the overhead of the partitioned code path and
# the traffic it generates; the projection says what the same traffic would cost on M machines
# on a network.
#
#   bash bench/dist_scaling.sh                                   # full run (~10 min on 2 cores)
#   bash bench/dist_scaling.sh --nodes 100000 --edges 1000000 --epochs 6 --no-save   # quick try
#
# Options:
#   --work DIR            graphs, partitions, configs, logs, JSONs (default ${TMPDIR:-/tmp}/locus-dist-bench);
#                         a graph already there is reused, a partition too if the same program wrote it
#   --nodes N --edges M   graph size (default 1000000, 10000000 undirected edges)
#   --epochs E            optim.max_epoch per training (default 12; the first E/5 are warm-up)
#   --threads T           threads of the single process and of P=1 (default nproc); P ranks get
#                         max(1, T/P) threads each, mpirun --oversubscribe when P > nproc
#   --bandwidth-gbit B    network bandwidth per machine for the projection (default 10)
#   --latency-us L        per-message latency for the projection (default 5)
#   --force               regenerate the graph and repartition even when present
#   --no-save             do not write bench/results/dist_scaling.md
#   --report-only         only re-make the tables from the last trainings in the work folder
#                         (e.g. with another --bandwidth-gbit or --latency-us)
# Environment: LOCUS_BUILD_DIR (default build, relative to the repo root) holds the locus program.
# The program is copied into the work folder first, so a relink of the build folder during the
# run cannot mix two versions. Needs mpirun (OpenMPI) and python3.
set -euo pipefail
export LC_ALL=C  # a decimal point in $EPOCHREALTIME and printf, whatever the user's locale

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

say() { printf '[dist] %s\n' "$*" >&2; }
die() { printf '[dist] FAILED: %s\n' "$*" >&2; exit 1; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }

work=${TMPDIR:-/tmp}/locus-dist-bench
nodes=1000000
edges=10000000
epochs=12
threads=$(nproc)
bandwidth_gbit=10
latency_us=5
force=0
save=1
report_only=0
measured_parts=(1 2 4)
projected_parts=(8 16 32 64)

parse_args() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --work) work=${2:?--work needs a folder}; shift 2 ;;
      --nodes) nodes=${2:?}; shift 2 ;;
      --edges) edges=${2:?}; shift 2 ;;
      --epochs) epochs=${2:?}; shift 2 ;;
      --threads) threads=${2:?}; shift 2 ;;
      --bandwidth-gbit) bandwidth_gbit=${2:?}; shift 2 ;;
      --latency-us) latency_us=${2:?}; shift 2 ;;
      --force) force=1; shift ;;
      --no-save) save=0; shift ;;
      --report-only) report_only=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown argument '$1' (bash bench/dist_scaling.sh --help)" ;;
    esac
  done
  local v
  for v in nodes edges epochs threads; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "--$v must be a positive integer, got '${!v}'"
  done
  for v in bandwidth_gbit latency_us; do
    [[ "${!v}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--${v//_/-} must be a number, got '${!v}'"
  done
}

# short_count N: 1000000 -> 1m, 100000 -> 100k (names the graph folder after its size).
short_count() {
  local n=$1
  if (( n % 1000000 == 0 )); then echo "$((n / 1000000))m"
  elif (( n % 1000 == 0 )); then echo "$((n / 1000))k"
  else echo "$n"; fi
}

# The graph folder's name: g1m for 1M nodes and 10M edges (the default), g100k for 100k and 1M;
# the edge count is spelled out when it is not 10 per node, so two sizes never share a folder.
graph_name() {
  local name
  name="g$(short_count "$nodes")"
  (( edges == 10 * nodes )) || name+="-$(short_count "$edges")e"
  echo "$name"
}

# quote CMD...: CMD shell-quoted on one line.
quote() { printf '%q ' "$@" | sed 's/ $//'; echo; }

# log_cmd CMD...: runs CMD, recording it in $runs/commands.txt for the report.
log_cmd() {
  quote "$@" >>"$runs/commands.txt"
  "$@"
}

# log_reused TARGET: a reused graph or partition; its command (TARGET.cmd) goes into the report.
log_reused() {
  local note="# reused: $1, written earlier by"
  if [[ -s "$1.cmd" ]]; then printf '%s\n%s\n' "$note" "$(cat "$1.cmd")" >>"$runs/commands.txt"
  else echo "# reused: $1 (written earlier)" >>"$runs/commands.txt"; fi
}

# setup: the work folder, the program copy, $graph (the graph folder) and $runs (this graph's
# trainings: JSONs, logs, commands.txt, run.txt). --report-only keeps everything as it is.
setup() {
  command -v python3 >/dev/null || die "python3 is missing"
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
  graph="$work/$(graph_name)"
  runs="$graph.runs"
  locus="$work/locus"
  if (( report_only )); then
    [[ -s "$runs/p${measured_parts[-1]}.json" ]] || die "no trainings in $runs to report (run without --report-only)"
    return
  fi
  command -v mpirun >/dev/null || die "mpirun is missing (OpenMPI: apt-get install openmpi-bin libopenmpi-dev)"
  local build=${LOCUS_BUILD_DIR:-build}
  [[ "$build" == /* ]] || build="$root/$build"
  [[ -x "$build/locus" ]] || die "no locus program at $build/locus (build it, or set LOCUS_BUILD_DIR)"
  mkdir -p "$runs"
  : >"$runs/commands.txt"
  cp "$build/locus" "$locus"
  program=$(sha256sum "$locus" | cut -c1-12)
  say "program: copy of $build/locus ($program) at $locus"
  # OpenMPI refuses to start as root without these.
  if [[ $(id -u) == 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
}

# generate_graph: the random graph, unless a folder of that size is there (then the partitions
# are redone only if the graph was just written: they carry the graph's checksum).
generate_graph() {
  fresh=0
  if [[ $force == 0 && -f "$graph/dataset.yaml" ]]; then
    say "graph: reusing $graph"
    log_reused "$graph"
    return
  fi
  say "graph: generating $graph ($nodes nodes, $edges undirected edges)"
  local cmd=("$locus" generate random --nodes "$nodes" --edges "$edges" --classes 10 --features 16
             --out "$graph" --force)
  log_cmd "${cmd[@]}" >"$graph.generate.txt"
  quote "${cmd[@]}" >"$graph.cmd"
  fresh=1
}

# partition P [--dry-run]: cuts the graph into P parts (folder graph.partP; with --dry-run, for
# the projection, the statistics only); the stdout table goes to graph.partP.txt. A cut is
# reused only if this same program made it (the folder's format may change).
partition() {
  local p=$1 dry=${2:-} dir="$graph.part$1"
  if [[ $force == 0 && $fresh == 0 && -s "$dir.txt" && "$(cat "$dir.program" 2>/dev/null)" == "$program" &&
        ( -n "$dry" || -f "$dir/partition.yaml" ) ]]; then
    say "partition P=$p: reusing $dir.txt"
    log_reused "$dir"
    return
  fi
  say "partition P=$p${dry:+ (statistics only)}"
  local t0=$SECONDS cmd=("$locus" partition "$graph/dataset.yaml" --parts "$p")
  if [[ -n "$dry" ]]; then cmd+=(--dry-run); else cmd+=(--out "$dir" --force); fi
  log_cmd "${cmd[@]}" >"$dir.txt"
  quote "${cmd[@]}" >"$dir.cmd"
  echo "$program" >"$dir.program"
  say "partition P=$p: $((SECONDS - t0)) s; $(sed -n 2p "$dir.txt")"
}

# write_config: a 2-layer GCN, hidden 64, one run; the rest as apps/configs/cora_gcn.yaml.
write_config() {
  cat >"$config" <<EOF
# Written by bench/dist_scaling.sh: a 2-layer GCN with 64 hidden units on $(graph_name).
dataset:
  path: $graph/dataset.yaml
gnn:
  layer_type: gcn
  layers_mp: 2
  dim_inner: 64
  act: relu
  dropout: 0.5
optim:
  optimizer: adam
  base_lr: 0.01
  weight_decay: 5.0e-4
  max_epoch: $epochs
seed: 0
num_runs: 1
EOF
}

# busy_ticks: CPU ticks all processes on this machine spent so far (user, nice, system, irq,
# softirq, steal); own_ticks: those of this script's finished children (ranks included).
busy_ticks() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
own_ticks() { awk '{ print $16 + $17 }' "/proc/$$/stat"; }

# train NAME P: P=0 is the plain single process (no MPI); otherwise mpirun -np P on graph.partP.
# Writes $runs/NAME.json, NAME.log and NAME.other: the cores other processes kept busy
# on average during the run (the load average would count this script's own previous run).
train() {
  local name=$1 p=$2 out="$runs/$1"
  local cmd t0=$SECONDS
  if (( p == 0 )); then
    cmd=("$locus" train "$config" "num_threads=$threads")
  else
    local per_rank=$(( threads / p > 0 ? threads / p : 1 ))
    cmd=(mpirun --bind-to none)
    (( p > $(nproc) )) && cmd+=(--oversubscribe)
    cmd+=(-np "$p" "$locus" train "$config" "dataset.partitions=$graph.part$p" "num_threads=$per_rank")
  fi
  cmd+=(--json "$out.json")
  say "train $name: ${cmd[*]}"
  rm -f "$out.json"
  local busy0 own0 wall0=$EPOCHREALTIME
  busy0=$(busy_ticks)
  own0=$(own_ticks)
  log_cmd "${cmd[@]}" >"$out.log" 2>&1 || { cat "$out.log" >&2; die "train $name exited non-zero (log above)"; }
  awk -v b="$(( $(busy_ticks) - busy0 ))" -v o="$(( $(own_ticks) - own0 ))" -v t0="$wall0" -v t1="$EPOCHREALTIME" \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { v = (b - o) / hz / (t1 - t0); printf "%.2f\n", v < 0 ? 0 : v }' >"$out.other"
  [[ -s "$out.json" ]] || { cat "$out.log" >&2; die "train $name wrote no JSON"; }
  say "train $name: $((SECONDS - t0)) s"
}

# report: the measured table, the model and the projection table (markdown on stdout).
report() {
  python3 - "$runs" "$graph" "$bandwidth_gbit" "$latency_us" "${measured_parts[*]}" "${projected_parts[*]}" <<'PY'
import json, math, os, re, sys

runs, graph, gbit, lat_us, measured, projected = sys.argv[1:7]
measured = [int(p) for p in measured.split()]
projected = [int(p) for p in projected.split()]
bw = float(gbit) * 1e9 / 8          # bytes per second
lat = float(lat_us) * 1e-6          # seconds per message
MiB = 2**20


def table(p):
    """The `locus partition` stdout table: totals and per part nodes, edges, halo, sent rows, peers."""
    text = open(f"{graph}.part{p}.txt").read()
    m = re.search(r"(\d+) parts of (\d+) nodes, (\d+) edges: cut edges (\d+)", text)
    parts = [tuple(map(int, l.split())) for l in text.splitlines() if re.fullmatch(r"\s*\d+(\s+\d+){5}\s*", l)]
    assert m and len(parts) == p, f"cannot read {graph}.part{p}.txt"
    keys = ("part", "nodes", "edges", "halo", "sent", "peers")
    return {"edges": int(m[3]), "cut": int(m[4]), "parts": [dict(zip(keys, r)) for r in parts]}


def run(name):
    j = json.load(open(f"{runs}/{name}.json"))
    j["other"] = open(f"{runs}/{name}.other").read().strip()
    return j


single = run("single")
runs = {p: run(f"p{p}") for p in measured}
cuts = {p: table(p) for p in measured + projected}

# Columns each halo exchange moves per row. GCN transforms first ((Â X) W = Â (X W)) unless the
# layer widens a dense input: then it aggregates the input (F columns) and, the input needing no
# gradient, that layer has no backward exchange. Otherwise the layer exchanges its output width
# forward and the same width of gradients back.
F, H, C = single["num_features"], single["config"]["gnn.dim_inner"], single["num_classes"]
L = single["config"]["gnn.layers_mp"]
dims = [F] + [H] * (L - 1) + [C]
fwd, bwd = [], []
for l in range(L):
    a, b = dims[l], dims[l + 1]
    w = b if b <= a else a
    fwd.append(w)
    if b <= a or l > 0:
        bwd.append(w)
exchanges = len(fwd) + len(bwd)
params = single["num_params"]
grad_bytes = 4 * params


def halo_bytes(part):
    """Bytes part sends and receives per epoch: its sent rows forward and gradients of its halo back."""
    sent = 4 * (part["sent"] * sum(fwd) + part["halo"] * sum(bwd))
    recv = 4 * (part["halo"] * sum(fwd) + part["sent"] * sum(bwd))
    return sent, recv


def reduction(m, deterministic):
    """(seconds, bytes sent per rank) of the gradient reduction over m ranks."""
    if m == 1:
        return 0.0, 0
    steps = math.ceil(math.log2(m))
    if deterministic:  # MPI_Allgather: every rank receives all m-1 other vectors
        b = (m - 1) * grad_bytes
        return b / bw + steps * lat, b
    b = 2 * (m - 1) / m * grad_bytes  # ring allreduce: reduce-scatter + allgather
    return b / bw + 2 * steps * lat, b


def modelled_bytes(m, deterministic):
    """All ranks' bytes per epoch, counted as Locus counts them (halo rows sent + reduction share)."""
    return sum(halo_bytes(p)[0] for p in cuts[m]["parts"]) + m * reduction(m, deterministic)[1]


out = []
w = out.append
w("## Measured on this machine\n")
w("| P | ranks × threads | epoch ms | compute ms (epoch − comm wait) | comm wait ms | MiB sent per epoch (all ranks) "
  "| modelled MiB | measured / modelled | cut edges | halo rows | peak RSS MiB (largest rank) | other work (cores) |")
w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
w(f"| 1, no MPI | 1 × {single['num_threads']} | {single['epoch_ms_median']:.1f} | {single['epoch_ms_median']:.1f} | – | – "
  f"| – | – | – | – | {single['peak_rss_mib']:.0f} | {single['other']} |")
for p in measured:
    j = runs[p]
    d = j["distributed"]
    mb = modelled_bytes(p, d["deterministic"])
    ratio = f"{d['bytes_per_epoch'] / mb:.3f}" if mb else "–"
    w(f"| {p} | {p} × {j['num_threads']} | {j['epoch_ms_median']:.1f} | {j['epoch_ms_median'] - d['comm_wait_ms']:.1f} "
      f"| {d['comm_wait_ms']:.1f} | {d['bytes_per_epoch'] / MiB:.2f} | {mb / MiB:.2f} | {ratio} | {d['cut_edges']} "
      f"| {d['halo_rows']} | {j['peak_rss_mib']:.0f} | {j['other']} |")
w("")
w(f"Graph: {single['num_nodes']} nodes, {single['num_edges']} directed edges, {F} features, {C} classes; "
  f"{single['model']}, {params} parameters; gradient reduction "
  f"{'deterministic (MPI_Allgather, rank-order sum)' if runs[measured[-1]]['distributed']['deterministic'] else 'MPI_Allreduce'}. "
  "epoch ms: the slowest rank's training step (forward, loss, backward with halo exchanges, gradient "
  "reduction, Adam), median after warm-up. comm wait: the slowest rank's time blocked in MPI waits. "
  "All ranks share this machine's cores and talk through shared memory, so these rows measure the "
  "partitioned code path and its traffic, not a cluster; with more ranks than cores a rank's wait "
  "also holds time it spent descheduled while another rank computed. other work: cores kept busy by other "
  f"processes during the run, on average (of {os.cpu_count()}); above 0.1 the timings are inflated.\n")

t1 = runs[1]["epoch_ms_median"] - runs[1]["distributed"]["comm_wait_ms"]
E = cuts[1]["edges"]
per_edge = t1 / E
w("## Projection to M machines\n")
w(f"Network: {float(gbit):g} Gbit/s = {bw:.3g} B/s per machine, full duplex, {float(lat_us):g} µs per message. "
  f"Each machine is this one ({runs[1]['num_threads']} threads).\n")
w(f"- compute(M) = {per_edge * 1e6:.4f} ns per edge (measured P=1 compute {t1:.1f} ms / {E} edges) × the largest "
  "part's edges. Only an edge term: the dense per-node work (X·W, ReLU, dropout, loss, Adam) is folded into it, so "
  "node imbalance is ignored and edge imbalance shows.")
w(f"- halo(M) = max over parts of [max(sent, received bytes) / bandwidth + latency × peers × {exchanges}], where a "
  f"part sends sent_rows × ({' + '.join(map(str, fwd))}) × 4 B forward and halo_rows × "
  f"({' + '.join(map(str, bwd)) or '0'}) × 4 B of gradients back and receives the mirror image: "
  f"{len(fwd)} forward exchanges (widths {fwd}) and {len(bwd)} backward (widths {bwd}) per epoch.")
w(f"- reduction(M), params = {params}: allreduce 2·(M−1)/M·params·4 B / bandwidth + 2·⌈log2 M⌉·latency; "
  "deterministic allgather (M−1)·params·4 B / bandwidth + ⌈log2 M⌉·latency.")
w("- epoch(M): compute + halo + reduction with no overlap (upper bound), max(compute, halo) + reduction with "
  "perfect overlap of the exchange and the SpMM (lower bound; the reduction follows the backward pass).\n")
w("| M | largest part edges | edge imbalance | halo rows (all) | largest part halo | MiB sent per epoch (all, allgather) "
  "| compute ms | halo ms | allgather ms | allreduce ms | epoch ms, no overlap (allgather / allreduce) "
  "| epoch ms, perfect overlap (allreduce) | speed-up vs measured P=1 (range) |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for m in [p for p in measured if p > 1] + projected:
    parts = cuts[m]["parts"]
    emax = max(p["edges"] for p in parts)
    compute = per_edge * emax
    halo = max(max(halo_bytes(p)) / bw + lat * p["peers"] * exchanges for p in parts) * 1e3
    ag, ar = (reduction(m, d)[0] * 1e3 for d in (True, False))
    upper_ag, upper_ar = compute + halo + ag, compute + halo + ar
    lower = max(compute, halo) + ar
    w(f"| {m}{' (measured above)' if m in measured else ''} | {emax} | {emax / (E / m):.3f} "
      f"| {sum(p['halo'] for p in parts)} | {max(p['halo'] for p in parts)} | {modelled_bytes(m, True) / MiB:.1f} "
      f"| {compute:.1f} | {halo:.1f} | {ag:.3f} | {ar:.3f} | {upper_ag:.1f} / {upper_ar:.1f} | {lower:.1f} "
      f"| {t1 / upper_ag:.1f}× – {t1 / lower:.1f}× |")
print("\n".join(out))
PY
}

# save TABLES: bench/results/dist_scaling.md with the date, machine and the commands run.
# record_run: when and where the trainings ran ($runs/run.txt, the results file's first line)
# and the config they read ($runs/config.yaml).
record_run() {
  local commit cpu
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  [[ -z "$(git status --porcelain 2>/dev/null | head -n 1)" ]] || commit+="+local changes"
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  echo "$(date -u '+%Y-%m-%d %H:%M UTC') · commit $commit · program $program · ${cpu:-unknown CPU} · nproc $(nproc)" \
    "· $(mpirun --version | head -n 1) · \`bash bench/dist_scaling.sh${args:+ $args}\`" >"$runs/run.txt"
  cp "$config" "$runs/config.yaml"  # the config as these trainings read it
}

save_results() {
  local tables=$1 file=bench/results/dist_scaling.md
  mkdir -p bench/results
  {
    echo "# Partitioned GCN training: measured scaling and a projection to 8-64 machines"
    echo
    echo "Trainings: $(cat "$runs/run.txt")."
    (( report_only == 0 )) || echo "Tables re-made by \`bash bench/dist_scaling.sh${args:+ $args}\`."
    echo "How it works: docs/distributed.md."
    echo
    echo "$tables"
    echo
    echo "## METIS cuts (\`locus partition\` output)"
    echo
    local p
    for p in "${measured_parts[@]}" "${projected_parts[@]}"; do
      echo '```'
      cat "$graph.part$p.txt"
      echo '```'
    done
    echo
    echo "## Commands"
    echo
    echo "\`$locus\` is a copy of the build folder's \`locus\`; \`$config\`:"
    echo
    echo '```yaml'
    cat "$runs/config.yaml"
    echo '```'
    echo
    echo '```'
    cat "$runs/commands.txt"
    echo '```'
  } >"$file"
  say "wrote $file"
}

main() {
  args="$*"
  parse_args "$@"
  setup
  local t0=$SECONDS p
  config="$work/gcn64.yaml"
  if (( report_only == 0 )); then
    say "work folder $work; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    local load1
    read -r load1 _ </proc/loadavg
    if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
      say "warning: load average $load1 on $(nproc) cores: other work skews the timings (the table records it per run)"
    fi
    generate_graph
    for p in "${measured_parts[@]}"; do partition "$p"; done
    for p in "${projected_parts[@]}"; do partition "$p" --dry-run; done
    write_config
    train single 0
    for p in "${measured_parts[@]}"; do train "p$p" "$p"; done
    record_run
  fi
  local tables
  tables=$(report)
  echo "$tables"
  (( save == 0 )) || save_results "$tables"
  say "done in $((SECONDS - t0)) s"
}

main "$@"
