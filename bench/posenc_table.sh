#!/usr/bin/env bash
# Test accuracy per positional encoding, mean ± std over RUNS seeds: the three built-in sentence
# tasks (apps/configs/seq_{probe,order,lengthgen}.yaml, a Transformer over complete graphs) with
# every sequence encoding, and Cora with a GCN and a sparse Transformer with every graph encoding.
# Runs are independent `locus train ... --json` calls, JOBS at a time with one thread each.
# fft_kernel runs on the probe only (too slow on short sentences; see below).
#
#   bash bench/posenc_table.sh            # prints the tables
#   bash bench/posenc_table.sh --save     # ... and writes them to bench/results/posenc_accuracy.md
#   TABLES=cora bash bench/posenc_table.sh --save   # re-runs the Cora table alone and replaces it
#                                                   # there (the file says which table ran when)
#
# Environment:
#   RUNS=N          seeds per case (default 5)
#   JOBS=N          cases run at once (default: the number of cores)
#   TABLES="seq cora"  the tables to run (default both)
#   LOCUS_SHARED=DIR  the shared data folder (default ../shared); without Cora there, the Cora rows are skipped
#   LOCUS_BIN=PATH  the locus program (default build/locus, built by setup.sh; with LOCUS_BIN set,
#                   setup.sh is not run)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start posenc "$@"
RUNS=${RUNS:-5}
JOBS=${JOBS:-$(nproc)}
positive RUNS
positive JOBS
TABLES=${TABLES:-seq cora}
for t in $TABLES; do [[ "$t" == seq || "$t" == cora ]] || die "TABLES lists seq and/or cora, got '$t'"; done
wants() { [[ " $TABLES " == *" $1 "* ]]; }

bench_locus
bash scripts/ensure-packages.sh python3 >&2 || die "python3 is needed to format the tables"

shared=${LOCUS_SHARED:-../shared}
cora="$shared/datasets/cora/dataset.yaml"

bench_tmp

# One line per case: NAME|CONFIG|OVERRIDES (NAME = table/row/column, used to assemble the tables).
cases="$tmp/cases"
: >"$cases"
seq_rows=(none sinusoidal learned fourier cape rope t5_bias fft_kernel rope+l2 t5_bias+l2)
for task in probe order lengthgen; do
  wants seq || break
  for row in "${seq_rows[@]}"; do
    # FFT attention pays off on long sequences only: on these short sentences it costs ~0.5 s per
    # epoch per 4k tokens (many tiny FFTs), so it runs on the probe alone.
    [[ "$row" == fft_kernel && "$task" != probe ]] && continue
    kind=${row%+l2}
    norm=softmax
    [[ "$row" == *+l2 ]] && norm=l2
    echo "seq/$row/$task|apps/configs/seq_$task.yaml|posenc_seq.kind=$kind gnn.att_norm=$norm" >>"$cases"
  done
done
if ! wants cora; then
  :
elif [[ -f "$cora" ]]; then
  cora=$(cd "$(dirname "$cora")" && pwd)/dataset.yaml
  declare -A graph_pe=(
    [none]=""
    [LapPE]="posenc_LapPE.enable=true"
    [RWSE]="posenc_RWSE.enable=true"
    [Anchor]="posenc_Anchor.enable=true"
    [Anchor-2hop]="posenc_Anchor.enable=true posenc_Anchor.cutoff=2"
    [SPD]="posenc_SPD.enable=true"
  )
  for row in none LapPE RWSE Anchor Anchor-2hop SPD; do
    [[ "$row" != SPD ]] && echo "cora/$row/gcn|apps/configs/cora_gcn.yaml|dataset.path=$cora ${graph_pe[$row]}" >>"$cases"
    echo "cora/$row/transformer|apps/configs/cora_transformer.yaml|dataset.path=$cora ${graph_pe[$row]}" >>"$cases"
  done
else
  say "no Cora at $cora: skipping the Cora rows (set LOCUS_SHARED)"
fi

total=$(wc -l <"$cases")
say "$total cases x $RUNS seeds, $JOBS at a time, one thread each ($LOCUS_BIN)"
run_case() {
  local line=$1 name config overrides out
  IFS='|' read -r name config overrides <<<"$line"
  out="$tmp/$(echo "$name" | tr '/+' '__').json"
  # shellcheck disable=SC2086
  if "$LOCUS_BIN" train "$config" $overrides num_runs="$RUNS" num_threads=1 --json "$out" >"$out.log" 2>&1; then
    printf '[posenc] done %s\n' "$name" >&2
  else
    printf '[posenc] FAILED %s (last lines of its output below)\n' "$name" >&2
    tail -5 "$out.log" >&2
  fi
}
export -f run_case
export LOCUS_BIN RUNS tmp
t0=$SECONDS
tr '\n' '\0' <"$cases" | xargs -0 -P "$JOBS" -I{} bash -c 'run_case "$@"' _ {}
say "all cases in $((SECONDS - t0)) s"

table=$(python3 - "$tmp" "$cases" "$RUNS" <<'PY'
import json, os, sys
tmp, cases, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
cells, order = {}, {}
for line in open(cases):
    name = line.split("|")[0]
    group, row, col = name.split("/")
    path = os.path.join(tmp, name.replace("/", "_").replace("+", "_") + ".json")
    try:
        d = json.load(open(path))
        cells[name] = "%.1f ± %.1f" % (100 * d["test_acc_mean"], 100 * d["test_acc_std"])
    except (OSError, ValueError, KeyError):
        cells[name] = "failed"
    rows, cols = order.setdefault(group, ([], []))
    if row not in rows: rows.append(row)
    if col not in cols: cols.append(col)
titles = {"seq": "Sentence tasks (Transformer, complete graphs)", "cora": "Cora (Planetoid split)"}
heads = {"probe": "(a) probe", "order": "(b) relative order", "lengthgen": "(c) length 32 → 64",
         "gcn": "GCN", "transformer": "sparse Transformer"}
out = []
for group, (rows, cols) in order.items():
    out.append("**%s**, test accuracy %% (mean ± std over %d seeds)\n" % (titles[group], runs))
    out.append("| encoding | " + " | ".join(heads.get(c, c) for c in cols) + " |")
    out.append("|---" * (len(cols) + 1) + "|")
    for r in rows:
        out.append("| %s | " % r + " | ".join(cells.get("%s/%s/%s" % (group, r, c), "—") for c in cols) + " |")
    out.append("")
print("\n".join(out))
PY
)
printf '%s\n' "$table"
if [[ $save -eq 1 ]]; then
  mkdir -p bench/results
  results=bench/results/posenc_accuracy.md
  subset=""
  [[ "$TABLES" != "seq cora" ]] && subset="TABLES=\"$TABLES\" "
  ran="\`${subset}bash bench/posenc_table.sh --save\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'),
$RUNS seeds per case (seeds 0..$((RUNS - 1))), $(nproc) cores, $JOBS runs at a time"
  if [[ "$TABLES" == "seq cora" || ! -f $results ]]; then
    printf '# Positional encodings: test accuracy per task\n\n%s.\n\n%s\n' "$ran" "$table" >"$results.tmp"
  else
    # A subset: its tables (a bold title line, the table, a blank line) replace theirs in the file,
    # and a line says which ran when; the others keep their runs.
    python3 - "$results" "$ran" "$table" >"$results.tmp" <<'PY' || die "could not update $results"
import re, sys
path, ran, new = sys.argv[1:4]
def blocks(text):  # {"**title**": the block}
    return {m.group(1): m.group(0) for m in re.finditer(r"(\*\*[^*]+\*\*)[^\n]*\n\n(?:[^\n]+\n)*", text)}
text = open(path).read()
for title, block in blocks(new + "\n").items():
    old = blocks(text).get(title)
    if old is None:
        sys.exit(f"no table {title} in {path}: run every table (TABLES unset)")
    text = text.replace(old, block)
head, _, rest = text.partition("\n\n**")
redone = " and ".join(t.strip("*") for t in blocks(new + "\n"))
print(head.rstrip() + "\n\n" + ran.replace("\n", " ") + f" (re-run of {redone}).\n\n**" + rest, end="")
PY
  fi
  mv "$results.tmp" "$results"
  say "wrote $results"
fi
