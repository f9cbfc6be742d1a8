"""The process's Prometheus instruments, observed where the work happens (`GET /metrics` serves them).

Only cheap in-memory observations live here (a histogram observe, a counter increment), so the
webhook hot path never pays for metrics with a database query; the figures that describe the
shared database (backlogs, breaches, the active model) are read when Prometheus scrapes
(bot.web.metrics_web). A low-level module: any layer may import it, it imports none.
"""
from __future__ import annotations

import gc

from prometheus_client import Counter, Gauge, Histogram

# webhook answers are bounded by CAREBOT_PASSIVE_BUDGET (3.5 s) plus verification
WEBHOOK_SECONDS = Histogram("carebot_webhook_request_duration_seconds",
                            "Time to answer a platform's webhook request", ["platform"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3.5, 5, 10))
NLU_PARSE_SECONDS = Histogram("carebot_nlu_parse_duration_seconds",
                              "Time of one batched parse request to an NLU worker",
                              buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
MESSAGES = Counter("carebot_messages", "Inbound messages decided by this process, by action", ["action"])
# how much of the heap start-up left out of garbage collection (bot.heap); 0 means every full collection
# walks it all, stalling the event loop
FROZEN_OBJECTS = Gauge("carebot_gc_frozen_objects", "Objects left out of garbage collection since start-up")
FROZEN_OBJECTS.set_function(gc.get_freeze_count)
