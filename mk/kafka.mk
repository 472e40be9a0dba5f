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

# Three-node cluster for the chaos tests (internal/chaos), beside the single
# broker: KGEN_CLUSTER_PORT, KGEN_CLUSTER_CONTROLLER_PORT, KGEN_CLUSTER_DATA,
# KGEN_CLUSTER_HEAP (see the script's header).
.PHONY: cluster-up cluster-down cluster-status

cluster-up: ## start the three-node test cluster on 127.0.0.1:19092-19094 (idempotent)
	@bash $(KAFKA_SH) cluster-up

cluster-down: ## stop the three-node test cluster and delete its data
	@bash $(KAFKA_SH) cluster-down

cluster-status: ## one line per cluster node; exit 0 if all three answer
	@bash $(KAFKA_SH) cluster-status
