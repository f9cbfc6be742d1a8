"""Loopback fakes of outside platforms, for tests and for trying carebot out.

Each fake implements what docs/protocols.md documents about its platform (errors
and timeouts included) and binds to 127.0.0.1 by default. Nothing here is ever used on a
production path: carebot only talks to these when a test or a developer points it at them.
"""
