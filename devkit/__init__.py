"""Developer kit, not installed with carebot: loopback fakes of the outside platforms (their
APIs and their pushes), shared by tests/ and bench/, and runnable for trying carebot out
(`python -m devkit.wechat_api`, `python -m devkit.weibo_push`, ...); the throwaway PostgreSQL
server (devkit.postgres) and the claim race (devkit.claims) that tests and benchmarks share.

Each fake implements what docs/protocols.md documents about its platform (errors and
timeouts included) and binds to 127.0.0.1 by default. The product (bot/, actions/) never
imports this package (an import-linter contract in pyproject.toml checks it).
"""
