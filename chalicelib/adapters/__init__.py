"""The outside world, one module each: the card acquirer, the payout bank, the state company registry,
Vchasno, file storage and mail. Each is a small Protocol with its real HTTP (or AWS) implementation and
its local fake side by side."""
