"""Benchmarks: `python -m bench.api_ops` (DynamoDB requests, latency and capacity per API operation)
and `python -m bench.import_time` (cold import of app.py against its dependencies alone)."""
