#!/usr/bin/env bash
# Install the project into .venv and run the whole default job (`kedro run`) on the default corpus.
# The corpus is the directory in NEURA_SCHOLAR_CORPUS (default: ../shared/data/arxiv). When it
# holds no papers.jsonl.gz, a sample is harvested from arXiv's OAI-PMH interface first.
# Extra arguments go to `kedro run`, e.g. scripts/run.sh --pipeline data_prep
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/bootstrap.sh

export NEURA_SCHOLAR_CORPUS="${NEURA_SCHOLAR_CORPUS:-../shared/data/arxiv}"
if [ ! -f "$NEURA_SCHOLAR_CORPUS/papers.jsonl.gz" ]; then
    echo "run: no corpus at $NEURA_SCHOLAR_CORPUS; harvesting a sample from arXiv OAI-PMH"
    export NEURA_SCHOLAR_CORPUS="data/01_raw/arxiv_oai"
    if [ ! -f "$NEURA_SCHOLAR_CORPUS/papers.jsonl.gz" ]; then
        .venv/bin/neura-scholar harvest --out "$NEURA_SCHOLAR_CORPUS/papers.jsonl.gz"
    fi
fi
echo "run: corpus $NEURA_SCHOLAR_CORPUS"
exec .venv/bin/kedro run "$@"
