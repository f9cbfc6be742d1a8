"""The NLU worker: runs in `.venv-nlu` (Python 3.10, rasa 3.6) and never touches the database.

    python -m bot.nlu.worker serve --model M.tar.gz [--host 127.0.0.1] [--port 0] [--parent-pid P]
    python -m bot.nlu.worker train --data DIR --config config.yml --out M.tar.gz
    python -m bot.nlu.worker evaluate --data DIR --config config.yml [--folds 5]

`serve` listens on loopback only (its aiohttp is Rasa's pinned, older one: it must never
face the internet) and prints one JSON line `{"event": "ready", "port": N}` once the model
is loaded and warmed up. With `--parent-pid` (how `carebot serve` starts it) it exits when that
process does (`bot.nlu.lifeline`). Parses run on ONE dedicated thread (Rasa's graph
is not meant to run on several at once) and texts that arrive together are parsed as one batch.
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import logging
import os
import random
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
# one parse thread per worker: more TF threads only fight over 2 cores (scale with workers)
os.environ.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
os.environ.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")

from bot.heap import freeze_startup_objects  # noqa: E402
from bot.nlu.archive import model_calibration  # noqa: E402
from bot.nlu.lifeline import die_with_parent  # noqa: E402
from bot.nlu.names import from_rasa  # noqa: E402

MAX_BATCH = 64
MAX_TEXTS_PER_REQUEST = 256


_LEADING_SLASHES = re.compile(r"^[\s/]+")


def _as_said(text: str) -> str:
    """The text without leading slashes. Rasa reads a message that starts with "/" as an intent typed by
    hand ("/greet", "/complain@0.9"), skipping the models: "/ 怎么退货" was declined, "/complain" filed
    under the intent it names. A customer's message is always to be understood."""
    return _LEADING_SLASHES.sub("", text)


def policy_calibration(calibration: dict[str, Any]) -> dict[str, float]:
    """The part of the calibration that every parse answer carries: the policy's thresholds."""
    return {k: calibration[k] for k in ("answer_threshold", "oos_similarity", "oos_ratio") if k in calibration}


def _quiet_logs() -> None:
    import sanic  # noqa: F401

    # sanic's import puts a "once" filter for DeprecationWarnings first, over PYTHONWARNINGS=ignore
    # (which the service sets, bot/nlu/pool.py): an admin running `carebot train` read a page of
    # Rasa's, SQLAlchemy's and matplotlib's deprecations
    if "ignore" in sys.warnoptions:
        warnings.simplefilter("ignore")
    import jieba
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    for name in ("rasa", "tensorflow", "absl", "asyncio"):
        logging.getLogger(name).setLevel(logging.WARNING)
    jieba.setLogLevel(logging.WARNING)


@functools.lru_cache(maxsize=1)
def _setup_tensorflow() -> None:
    """TF thread settings apply only before TF initialises: once per process."""
    from rasa.utils.tensorflow.environment import setup_tf_environment

    setup_tf_environment()


def _load_agent(model_path: str) -> Any:
    from rasa.core.agent import Agent

    _setup_tensorflow()
    return Agent.load(model_path)


class Parser:
    """Runs the model's NLU graph on batches of texts, always from the same thread."""

    def __init__(self, model_path: str) -> None:
        self.model_path = model_path
        self.version = Path(model_path).name.split(".tar.gz")[0]
        self.calibration = policy_calibration(model_calibration(model_path))
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu")
        self._agent: Any = None
        self._queue: asyncio.Queue[tuple[list[str], asyncio.Future[list[dict[str, Any]]]]] = asyncio.Queue()
        self.batches = 0
        self.texts = 0

    async def load(self) -> None:
        loop = asyncio.get_running_loop()
        self._agent = await loop.run_in_executor(self._thread, _load_agent, self.model_path)
        await loop.run_in_executor(self._thread, self._warm_up)
        freeze_startup_objects()

    def _warm_up(self) -> None:
        """Pay before reporting ready what the first parse would pay (lazy imports, caches)."""
        self._parse_batch(["你好", "怎么退货", "请问多久发货"])

    def _parse_batch(self, texts: list[str]) -> list[dict[str, Any]]:
        from rasa.core.channels.channel import UserMessage
        from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY

        processor = self._agent.processor
        target = processor.model_metadata.nlu_target
        outputs = processor.graph_runner.run(
            inputs={"__message__": [UserMessage(_as_said(text)) for text in texts], "__tracker__": None},
            targets=[target],
        )[target]
        results = []
        for message in outputs:
            data = message.as_dict(only_output_properties=True)
            intent = data.get(INTENT) or {}
            ranking = [{"name": from_rasa(r["name"]), "confidence": round(float(r["confidence"]), 4)}
                       for r in data.get(INTENT_RANKING_KEY) or []][:10]
            nearest = data.get("nearest") or {}
            tone = data.get("tone")
            results.append({
                "intent": from_rasa(intent.get("name") or "nlu_fallback"),
                "confidence": round(float(intent.get("confidence") or 0.0), 4),
                "ranking": ranking,
                "nearest": {"intent": from_rasa(nearest["intent"]) if nearest.get("intent") else None,
                            "similarity": nearest.get("similarity", 0.0),
                            "familiar": nearest.get("familiar"),
                            "faq_words": list(nearest.get("faq_words") or [])},
                **({"tone": tone} if tone else {}),
            })
        return results

    async def parse(self, texts: list[str]) -> list[dict[str, Any]]:
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        await self._queue.put((texts, future))
        return await future

    async def run_batches(self) -> None:
        """Take everything queued since the last batch and parse it in one graph run."""
        loop = asyncio.get_running_loop()
        while True:
            pending = [await self._queue.get()]
            size = len(pending[0][0])
            while not self._queue.empty() and size < MAX_BATCH:
                pending.append(self._queue.get_nowait())
                size += len(pending[-1][0])
            texts = [text for chunk, _ in pending for text in chunk]
            try:
                results = await loop.run_in_executor(self._thread, self._parse_batch, texts)
            except Exception as exc:  # one bad batch must not kill the worker
                for _, future in pending:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self.texts += len(texts)
            offset = 0
            for chunk, future in pending:
                if not future.done():
                    future.set_result(results[offset:offset + len(chunk)])
                offset += len(chunk)


async def _serve(model_path: str, host: str, port: int) -> None:
    from aiohttp import web

    parser = Parser(model_path)
    await parser.load()
    batcher = asyncio.ensure_future(parser.run_batches())

    async def parse(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            texts = body["texts"]
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "body must be {\"texts\": [str, ...]}"}, status=400)
        if not 0 < len(texts) <= MAX_TEXTS_PER_REQUEST:
            return web.json_response({"error": f"1 to {MAX_TEXTS_PER_REQUEST} texts per request"}, status=400)
        results = await parser.parse(texts)
        return web.json_response({"model": parser.version, "calibration": parser.calibration, "results": results})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"model": parser.version, "pid": os.getpid(), "calibration": parser.calibration,
                                  "batches": parser.batches, "texts": parser.texts,
                                  "frozen_objects": gc.get_freeze_count()})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/parse", parse)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"event": "ready", "port": bound, "pid": os.getpid(), "model": parser.version}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        batcher.cancel()
        await runner.cleanup()


def _train(data: str, config: str, out: str) -> None:
    from rasa.model_training import train_nlu

    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = train_nlu(config=config, nlu_data=data, output=str(out_path.parent),
                       fixed_model_name=out_path.name.split(".tar.gz")[0])
    if not result:
        raise SystemExit("training produced no model")
    if Path(result) != out_path:
        shutil.move(str(result), out_path)
    print(json.dumps({"event": "trained", "path": str(out_path), "seconds": round(time.monotonic() - started, 1),
                      "calibration": model_calibration(str(out_path))}, ensure_ascii=False), flush=True)


def _evaluate(data: str, config: str, folds: int, seed: int) -> None:
    """Stratified k-fold cross-validation, each fold's model answering as served (with its own
    calibration and tone), printed as JSON for the service's policy to score."""
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    loaded = load_data(data)
    examples = list(loaded.intent_examples)
    # Rasa writes examples only: the FAQs' answers, which the classifier also reads, go after them
    answers = yaml.safe_dump({"responses": loaded.responses}, allow_unicode=True) if loaded.responses else ""
    by_intent: dict[str, list[Any]] = defaultdict(list)
    for message in examples:
        by_intent[message.get("intent")].append(message)
    rng = random.Random(seed)
    fold_of: dict[int, int] = {}
    for messages in by_intent.values():
        rng.shuffle(messages)
        for index, message in enumerate(messages):
            fold_of[id(message)] = index % folds
    pairs: list[tuple[str, dict[str, Any], str]] = []  # expected, the worker's answer, text
    for fold in range(folds):
        train = [m for m in examples if fold_of[id(m)] != fold]
        test = [m for m in examples if fold_of[id(m)] == fold]
        print(json.dumps({"event": "fold", "fold": fold + 1, "of": folds,
                          "train": len(train), "test": len(test)}), file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            train_file = Path(tmp) / "train.yml"
            train_file.write_text(TrainingData(training_examples=train).nlu_as_yaml() + answers, encoding="utf-8")
            model = train_nlu(config=config, nlu_data=str(train_file), output=tmp, fixed_model_name="fold")
            parser = Parser(str(model))
            parser._agent = _load_agent(str(model))
            results = parser._parse_batch([m.get("text") for m in test])
        for message, result in zip(test, results):
            pairs.append((from_rasa(message.get("intent")), {**result, "calibration": parser.calibration},
                          message.get("text")))
    print(json.dumps({"event": "evaluated", "predictions": pairs}, ensure_ascii=False), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="carebot-nlu-worker")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--model", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--parent-pid", type=int, help="exit when this process (the service) exits")
    train = sub.add_parser("train")
    train.add_argument("--data", required=True)
    train.add_argument("--config", required=True)
    train.add_argument("--out", required=True)
    evaluate = sub.add_parser("evaluate")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--config", required=True)
    evaluate.add_argument("--folds", type=int, default=5)
    evaluate.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.command == "serve" and args.parent_pid:
        die_with_parent(args.parent_pid)  # before the slow model load: a dead service wastes none
    _quiet_logs()
    _setup_tensorflow()
    if args.command == "serve":
        if args.host not in ("127.0.0.1", "::1", "localhost"):
            raise SystemExit("the NLU worker listens on loopback only")
        asyncio.run(_serve(args.model, args.host, args.port))
    elif args.command == "train":
        _train(args.data, args.config, args.out)
    else:
        _evaluate(args.data, args.config, args.folds, args.seed)


if __name__ == "__main__":
    main()
