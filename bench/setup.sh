#!/usr/bin/env bash
# Creates bench/.venv with kafka-python for the seed-faithful contender.
# kafka-python 2.0.2 is the seed's client; see RESULTS.md for whether it
# talks to Kafka 4 (KAFKA_PYTHON overrides the pinned version).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
KAFKA_PYTHON=${KAFKA_PYTHON:-2.0.2}
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check "kafka-python==$KAFKA_PYTHON"
.venv/bin/python -c 'import kafka; print("kafka-python", kafka.__version__, "in bench/.venv")'
