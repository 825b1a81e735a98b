# neura-scholar: the Kedro project in a CPU image. (A later issue adds the serving and
# stage_eval targets.) Build: docker build -t neura-scholar .
# Run the job on a corpus mounted at /corpus:
#   docker run -v /path/to/arxiv:/corpus -e NEURA_SCHOLAR_CORPUS=/corpus neura-scholar
FROM python:3.11-slim

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

CMD ["kedro", "run"]
