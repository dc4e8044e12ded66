"""Developer and test infrastructure, not shipped in the wheel: real servers on 127.0.0.1 (S3,
PostgreSQL, Redis) and `make stack`, the distributed stack on one machine (docs/testing.md)."""
