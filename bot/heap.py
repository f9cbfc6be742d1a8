"""Garbage-collection pauses kept out of the message path.

A long-running process holds, from its start to its end, most of the objects it will ever have: the
service its modules, routes, templates and ORM mappings; the NLU worker TensorFlow, Rasa and the model.
CPython's full collection walks every one of them each time, while the interpreter stops: measured
under the webhook benchmark's load (bench/webhook.py), the service ran one every ~4 s of 73-130 ms, in
which its event loop answered nothing, and a worker's takes 218 ms (480,000 objects). Every reply in
flight waits out such a stall. With start-up's objects frozen, the service's full collections under the
same load took 2-6 ms."""
from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then leave everything alive now out of later collections (`gc.freeze`): call it
    when start-up is over (the model loaded), not per request. Objects made afterwards are collected
    as before."""
    gc.collect()
    gc.freeze()
