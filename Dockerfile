# neura-scholar: the Kedro project in a CPU image, two targets.
#   docker build -t neura-scholar .                              the job (default target)
#   docker run -v /path/to/arxiv:/corpus -v $PWD/data:/app/data neura-scholar
#   docker build --target serve -t neura-scholar-serve .         the service
#   docker run -p 8000:8000 -v $PWD/data:/app/data neura-scholar-serve   (serves data/ of a run)
#   docker build --target stage_eval -t neura-scholar-stage-eval .  the stage evaluation
#   docker run -e MLFLOW_TRACKING_URI=http://mlflow:5000 -e MLFLOW_MODEL_ALIAS=staging \
#       -v /path/to/arxiv:/corpus -v $PWD/eval:/eval neura-scholar-stage-eval
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    KEDRO_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    NEURA_SCHOLAR_CORPUS=/corpus

WORKDIR /app
# torch first, pinned, as a CPU wheel: anything that depends on it must find it installed.
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .
COPY conf ./conf
RUN mkdir -p conf/local data/01_raw data/03_primary data/04_feature data/05_model_input data/08_reporting

FROM base AS serve
ENV NEURA_SCHOLAR_SERVE_HOST=0.0.0.0 NEURA_SCHOLAR_SERVE_PORT=8000 NEURA_SCHOLAR_SERVE_PROJECT_DIR=/app
EXPOSE 8000
CMD ["neura-scholar", "serve"]

# Pulls the candidate named by MLFLOW_MODEL_ALIAS (or MLFLOW_MODEL_STAGE) from MLFLOW_TRACKING_URI,
# evaluates it against production and writes /eval/model_comparison.jsonl (scripts/stage_eval.sh).
FROM base AS stage_eval
COPY scripts/stage_eval.sh ./scripts/stage_eval.sh
ENV EVAL_DIR=/eval MLFLOW_MODEL_ALIAS=staging
VOLUME ["/eval"]
ENTRYPOINT ["scripts/stage_eval.sh"]

FROM base AS job
CMD ["kedro", "run"]
