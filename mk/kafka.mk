# Single-node Apache Kafka broker for tests and benchmarks (scripts/kafka.sh).
# Included from the main Makefile. Settings come from the environment:
# KAFKA_PORT, KAFKA_CONTROLLER_PORT, KGEN_KAFKA_DATA, KGEN_KAFKA_CACHE,
# KAFKA_HEAP, KAFKA_GC_OPTS (see the script's header).

# Resolved at include time, so the targets work from any directory.
KAFKA_SH := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../scripts/kafka.sh)

.PHONY: kafka-up kafka-down kafka-status kafka-fetch

kafka-up: ## start the test broker (idempotent)
	@bash $(KAFKA_SH) up

kafka-down: ## stop the test broker and delete its data
	@bash $(KAFKA_SH) down

kafka-status: ## exit 0 if the test broker answers
	@bash $(KAFKA_SH) status

kafka-fetch: ## download the broker jars into the cache
	@bash $(KAFKA_SH) fetch
