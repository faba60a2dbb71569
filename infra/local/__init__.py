"""The local stack: DynamoDB Local, its stream, the schedule and the API in one process tree.

`python -m infra.local.runner` (or `make run`) starts it; the integration and end-to-end
test suites reuse the pieces. Nothing here is packaged into Lambda.
"""
