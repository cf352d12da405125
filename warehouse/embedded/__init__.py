"""The local stack that `warehouse up` starts: PostgreSQL and a Flink session cluster with its SQL Gateway."""
