"""The outside world, one module each: the card acquirer (`acquirer`), the payout bank (`payout_bank`), the state
company registry (`state_registry`), Vchasno (`vchasno`), file storage (`files`), mail (`mail`) and domain
verification (`domains`).

Each module is the same shape: a small `Protocol` a use case codes against, its real implementation (HTTP, or
S3 and SES on AWS) and its local fake side by side, and one `get_…()` at its end, the only place that picks
between them from configuration. Only use cases call adapters: a process that needs the outside world says
what to ask, as data, and the use case sends it (`chalicelib.processes.Charge`). An outside service that does
not answer is `chalicelib.platform.errors.UpstreamUnavailable` (503), and nothing was changed.
"""
