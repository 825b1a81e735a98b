# Sourced by the run and test scripts: no telemetry, no model hub, nothing fetched at run time.
export KEDRO_DISABLE_TELEMETRY=true
export DO_NOT_TRACK=1
export MLFLOW_DISABLE_TELEMETRY=true
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false
