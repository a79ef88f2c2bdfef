"""What the tests and the benchmarks stand on: the processes they start on loopback (MLflow, the
API, the offline model, PostgreSQL, Redis, fake web services), the system packages those need,
and sample documents. Neither tests/ nor bench/ imports the other; both import this."""
