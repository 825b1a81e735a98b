#!/usr/bin/env bash
# The stage evaluation as a container runs it on every promotion (the Dockerfile's stage_eval
# target), and as anyone can run it outside one:
#   MLFLOW_TRACKING_URI=http://mlflow:5000 MLFLOW_MODEL_ALIAS=staging scripts/stage_eval.sh
# Environment:
#   MLFLOW_TRACKING_URI   the tracking server (required: the candidate lives in its registry)
#   MLFLOW_MODEL_ALIAS    the candidate's alias (default staging), or
#   MLFLOW_MODEL_STAGE    its legacy stage (Staging, Production), which wins when set
#   MLFLOW_MODEL_NAME     the registered model (default neura-scholar-encoder)
#   EVAL_DIR              where model_comparison.jsonl goes (default /eval)
#   NEURA_SCHOLAR_PROJECT the Kedro project (default: this script's repository)
#   STAGE_EVAL_PIPELINES  what runs (default data_prep,stage_eval: the evaluation sets are
#                         rebuilt from the corpus at NEURA_SCHOLAR_CORPUS)
#   STAGE_EVAL_PARAMS     more runtime parameters, key=value[,key=value], e.g.
#                         stage_eval.evaluation.comparison.baseline=pytorch for a first promotion
#   KEDRO                 the kedro executable (default kedro on PATH)
# Exit status: kedro's (1 when the gate refuses the candidate); 2 when no row was written.
set -euo pipefail

: "${MLFLOW_TRACKING_URI:?set MLFLOW_TRACKING_URI to the MLflow tracking server holding the candidate}"
name="${MLFLOW_MODEL_NAME:-neura-scholar-encoder}"
if [ -n "${MLFLOW_MODEL_STAGE:-}" ]; then
    candidate="models:/${name}/${MLFLOW_MODEL_STAGE}"
else
    candidate="models:/${name}@${MLFLOW_MODEL_ALIAS:-staging}"
fi
eval_dir="${EVAL_DIR:-/eval}"
project="${NEURA_SCHOLAR_PROJECT:-$(cd "$(dirname "$0")/.." && pwd)}"
params="candidate=${candidate}${STAGE_EVAL_PARAMS:+,${STAGE_EVAL_PARAMS}}"

mkdir -p "$eval_dir"
rows_before=0
[ -f "$eval_dir/model_comparison.jsonl" ] && rows_before="$(wc -l < "$eval_dir/model_comparison.jsonl")"
echo "stage_eval: ${candidate} from ${MLFLOW_TRACKING_URI}; rows to ${eval_dir}/model_comparison.jsonl"

cd "$project"
status=0
NEURA_SCHOLAR_EVAL_DIR="$eval_dir" "${KEDRO:-kedro}" run \
    --pipelines "${STAGE_EVAL_PIPELINES:-data_prep,stage_eval}" --params "$params" || status=$?

rows_after=0
[ -f "$eval_dir/model_comparison.jsonl" ] && rows_after="$(wc -l < "$eval_dir/model_comparison.jsonl")"
if [ "$rows_after" -le "$rows_before" ]; then
    echo "stage_eval: no rows were added to ${eval_dir}/model_comparison.jsonl (kedro exit ${status})" >&2
    exit 2
fi
echo "stage_eval: $((rows_after - rows_before)) rows added; kedro exit ${status}"
exit "$status"
