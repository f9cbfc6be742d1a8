"""One inbound message, end to end: store it, decide, act, store the replies.

The NLU call happens outside the write transaction (it may take a while and needs no
lock); everything else for one message is one unit of work, with the customer's thread
row locked, so two messages of one customer are never decided at the same time and a
crash never leaves a message half handled. A message whose dedupe key is already stored
(a platform retry, maybe served by another process) gets the stored replies again.

A message that cannot be decided in time (the NLU is down or slow) is kept: stored
`undecided` before the webhook acknowledges it (`keep`). Its decision, in this process or
in any other (`recovery.py`), takes the stored row over instead of inserting one (`adopt`).

Under load, messages that reach a step together go through it together (batching.py):
one read for the retry check and thread state of all, then one transaction for all. The
common case (a customer of a bot-owned thread asking an FAQ) is written with a few bulk
statements, the rest one by one; both build their rows with records.py. A customer's
messages never share a group, so each is decided knowing the one before.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
import asyncio
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions import REGISTRY, texts
from actions.base import ActionContext, ActionResult
from actions.scope import can_help_with
from actions import csat
from bot.conversation import records
from bot.conversation.batching import Batcher
from bot.conversation.messages import InboundMessage, Outcome
from bot.nlu.result import Parse
from bot.conversation.policy import Decision, ThreadState, asks_ticket_status, decide, held_complaint, pick_option
from bot.nlu.normalize import is_meaningful, normalise
from bot.settings import Settings
from bot.store import accounts, faq, grouped, misses, outbox, threads, undecided
from bot.telemetry import MESSAGES
from bot.store.db import Database
from bot.store.models import Message, Thread, utcnow

FAQ_NAMES_TTL = 2.0  # seconds; an FAQ an admin adds, deletes or switches off for an account is known this much later
GATHER_S = 0.002  # how long a group waits for more messages of the same burst
KEEP_ATTEMPTS = 3  # a kept group that meets a deadlock is written again; a database that is down fails
Understand = Callable[[list[str]], Awaitable[list[Parse]]]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Seen:
    """What the read before NLU found: the stored outcome of a retry, or the thread."""

    stored: Outcome | None
    thread: grouped.ThreadRow | None


@dataclass(frozen=True)
class _Ready:
    """A message understood and waiting for its transaction."""

    message: InboundMessage
    normalised: str
    parse: Parse | None
    passive_until: float | None


class _Taken(Exception):
    """Raised when another decision took over the undecided message first."""


class _DryRun(Exception):
    """Raised to roll back a unit of work whose effects must not be kept."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


class Conversation:
    def __init__(self, db: Database, understand: Understand, settings: Settings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.understand = understand
        self.settings = settings
        self.clock = clock
        self._faq_names: tuple[float, faq.Catalogue] | None = None
        self._reads: Batcher[InboundMessage, _Seen] = Batcher(self._look_up_group, gather=GATHER_S)
        self._writes: Batcher[_Ready, Outcome] = Batcher(
            self._write_group, serial=True, key=lambda ready: (ready.message.account, ready.message.sender),
            gather=GATHER_S)
        self._keeps: Batcher[tuple[InboundMessage, float], None] = Batcher(self._keep_group, serial=True,
                                                                           gather=GATHER_S)

    def prepare(self, text: str) -> str:
        return normalise(text, self.settings.nlu_max_chars)

    async def handle(self, message: InboundMessage, parse: Parse | None = None, *,
                     dry_run: bool = False, passive_until: float | None = None) -> Outcome:
        """Handle one message. With `dry_run`, decide and act but store nothing.

        `passive_until` (a loop time) says the caller will deliver the replies in its own
        response if they are ready by then: they are stored as delivered that way (one
        transaction less on the hot path). Replies ready later are stored pending, and a
        caller that ran out of time hands everything to the outbox (`queue_replies`).
        """
        normalised = self.prepare(message.text)
        if dry_run:
            return await self._handle_alone(message, normalised, parse, dry_run=True, passive_until=passive_until)
        seen = await self._reads.submit(message)
        if seen.stored is not None:
            return seen.stored
        if parse is None and self._needs_nlu(message, normalised, seen.thread):
            parse = (await self.understand([normalised]))[0]
        outcome = await self._writes.submit(_Ready(message, normalised, parse, passive_until))
        if not outcome.duplicate:
            MESSAGES.labels(outcome.action).inc()
        return outcome

    async def _handle_alone(self, message: InboundMessage, normalised: str, parse: Parse | None, *,
                            dry_run: bool, passive_until: float | None) -> Outcome:
        """One message in its own unit of work (a dry run, or a group that could not commit).

        A second look when the key turned out taken meanwhile: by a retry decided first (its
        outcome), or by the message kept undecided (then this decision adopts it)."""
        keyed = bool(message.dedupe_key) and not dry_run
        for last in (False, True):
            async with self.db.sessions() as session:
                stored = await threads.by_dedupe_key(session, message.dedupe_key or "") if keyed else None
                if stored is not None and stored.state != undecided.STATE:
                    return await self._outcome_of(session, stored)
                if parse is None:
                    found = await grouped.threads_of(session, [(message.account, message.sender)])
                    if self._needs_nlu(message, normalised, found.get((message.account, message.sender))):
                        parse = (await self.understand([normalised]))[0]
            try:
                async with self.db.uow() as session:
                    outcome = await self._decide_and_act(session, message, normalised, parse, passive_until,
                                                         adopt=stored is not None)
                    if dry_run:
                        raise _DryRun(outcome)
                    return outcome
            except _DryRun as done:
                return done.outcome
            except (IntegrityError, _Taken):
                if not keyed or last:
                    raise
        raise AssertionError("unreachable")

    @property
    def decision_lease(self) -> float:
        """Seconds one process may hold an undecided message while it decides it: room for a
        parse to time out and be tried again, after which any other process may take it."""
        return self.settings.nlu_timeout * 2 + 5

    async def keep(self, message: InboundMessage, lease: float) -> None:
        """Store the message undecided (unless its key is stored already), so that it survives
        whatever happens before it is decided; no process other than the one deciding it now
        takes it up for `lease` seconds. Raises only when the database cannot store it."""
        if message.dedupe_key:
            await self._keeps.submit((message, lease))

    async def _keep_group(self, group: list[tuple[InboundMessage, float]]) -> list[None | Exception]:
        kept = sorted((undecided.Kept(m.platform, (m.account, m.sender), {
            "msg_type": m.msg_type, "text": records.storable(m.text), "raw": m.raw, "dedupe_key": m.dedupe_key,
            "envelope": {"event": m.event, "event_key": m.event_key, "public": m.public}})
            for m, _ in group), key=lambda k: k.row["dedupe_key"])  # one order: fewer deadlocks
        for attempt in range(KEEP_ATTEMPTS):
            now = self.clock()
            try:
                async with self.db.uow() as session:
                    await undecided.keep(session, kept, now, now + timedelta(seconds=max(l for _, l in group)))
                return [None] * len(group)
            except DBAPIError as exc:  # a deadlock with a decision of the same messages
                if attempt == KEEP_ATTEMPTS - 1:
                    raise
                log.info("keeping %d messages failed (%r); again", len(group), exc)
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def queue_replies(self, reply_ids: list[int], *, passive_too: bool = False) -> int:
        """Hand replies not delivered in time to the outbox (with `passive_too`, also those
        stored as answered passively by a caller that then could not answer)."""
        async with self.db.uow() as session:
            return await outbox.queue_pending(session, reply_ids, self.clock(), passive_too=passive_too)

    async def known_faqs(self, session: AsyncSession) -> faq.Catalogue:
        """FAQ names and those switched off per account, cached for a moment: read for every
        message, changed by admins rarely."""
        now = time.monotonic()
        if self._faq_names is None or now - self._faq_names[0] > FAQ_NAMES_TTL:
            self._faq_names = (now, await faq.catalogue(session))
        return self._faq_names[1]

    @staticmethod
    def _needs_nlu(message: InboundMessage, normalised: str, thread: grouped.ThreadRow | None) -> bool:
        if message.msg_type != "text" or not is_meaningful(normalised):
            return False
        if thread is None or thread.owner == "queue":  # queued: the bot still answers "投诉进度?"
            return True
        return (thread.owner == "bot" and pick_option(normalised, _state(thread)) is None
                and not csat.answers_request(thread, message.text))

    @staticmethod
    async def _outcome_of(session: AsyncSession, stored: Message) -> Outcome:
        """What a retry of the stored, decided message gets: the stored replies."""
        thread = await session.get(Thread, stored.thread_id)
        assert thread is not None
        return records.retried(stored, await threads.replies_to(session, stored.id), thread.owner)

    def _decision(self, parse: Parse | None, normalised: str, state: ThreadState, known: frozenset[str],
                  public: bool) -> Decision:
        decision = decide(parse, normalised, state, self.settings, known, public)
        if decision.action == "answer_faq" and decision.faq not in known:
            return replace(decision, action="clarify", options=())
        return decision

    async def _look_up_group(self, messages: list[InboundMessage]) -> list[_Seen]:
        """The retry check and the thread state for every message of the group (a message
        kept undecided is still to be decided)."""
        async with self.db.sessions() as session:
            stored = await grouped.stored_keys(session, [m.dedupe_key for m in messages if m.dedupe_key])
            decided = {key for key, state in stored.items() if state != undecided.STATE}
            found = await grouped.threads_of(session, [(m.account, m.sender) for m in messages
                                                       if m.dedupe_key not in decided])
            seen = []
            for m in messages:
                if m.dedupe_key in decided:
                    row = await threads.by_dedupe_key(session, m.dedupe_key or "")
                    assert row is not None
                    seen.append(_Seen(await self._outcome_of(session, row), None))
                else:
                    seen.append(_Seen(None, found.get((m.account, m.sender))))
            return seen

    async def _write_group(self, group: list[_Ready]) -> list[Outcome | Exception]:
        """One transaction for the group. If it cannot commit (a retry that another process
        stored meanwhile, a deadlock), each message again in its own unit of work."""
        try:
            async with self.db.uow() as session:
                return await self._decide_group(session, group)
        except Exception as exc:
            log.info("a group of %d messages rolled back (%r): one at a time", len(group), exc)
        results: list[Outcome | Exception] = []
        for ready in group:
            try:
                results.append(await self._handle_alone(ready.message, ready.normalised, ready.parse,
                                                        dry_run=False, passive_until=ready.passive_until))
            except Exception as exc:
                results.append(exc)
        return results

    async def _decide_group(self, session: AsyncSession, group: list[_Ready]) -> list[Outcome]:
        now = self.clock()
        stored = await grouped.stored_keys(session, [r.message.dedupe_key for r in group if r.message.dedupe_key])
        senders = [(r.message.account, r.message.sender) for r in group]
        rows = await grouped.threads_of(session, senders, lock=True)
        if first_time := [sender for sender in senders if sender not in rows]:
            await grouped.create_threads(session, first_time, now)
            rows = await grouped.threads_of(session, senders, lock=True)
        known = await self.known_faqs(session)
        outcomes: dict[int, Outcome] = {}
        plain: list[tuple[int, _Ready, grouped.ThreadRow, Decision]] = []
        for index, ready in enumerate(group):
            message = ready.message
            kept = stored.get(message.dedupe_key or "") == undecided.STATE
            if message.dedupe_key in stored and not kept:  # a retry that came while the first was understood
                stored_row = await threads.by_dedupe_key(session, message.dedupe_key or "")
                assert stored_row is not None
                outcomes[index] = await self._outcome_of(session, stored_row)
                continue
            row = rows.get((message.account, message.sender))
            decision = None if kept or row is None else self._plain_faq(ready, row, known.known(row.account_id))
            if decision is None or row is None:
                outcomes[index] = await self._decide_and_act(session, message, ready.normalised, ready.parse,
                                                             ready.passive_until, adopt=kept)
            else:
                plain.append((index, ready, row, decision))
        if plain:
            answered = await self._answer_faqs(session, plain, now)
            outcomes.update(zip((index for index, *_ in plain), answered))
        return [outcomes[index] for index in range(len(group))]

    def _plain_faq(self, ready: _Ready, thread: grouped.ThreadRow, known: frozenset[str]) -> Decision | None:
        """The decision if the message takes the bulk path: text from a customer of a
        bot-owned thread (no rating asked), answered with an FAQ. Everything else goes through
        `_decide_and_act`; what it does for such a message, `_answer_faqs` does for many."""
        message = ready.message
        if message.msg_type != "text" or thread.owner != "bot" or thread.csat_request_id is not None:
            return None
        decision = self._decision(ready.parse, ready.normalised, _state(thread), known, message.public)
        return decision if decision.action == "answer_faq" else None

    async def _answer_faqs(self, session: AsyncSession, plain: list[tuple[int, _Ready, grouped.ThreadRow, Decision]],
                           now: datetime) -> list[Outcome]:
        """Store the messages and their FAQ answers with a few bulk statements: the rows and
        outcomes `_decide_and_act` would build one by one (records.py), written together."""
        answers = await faq.answers(session, {(decision.faq or "", thread.account_id)
                                              for _, _, thread, decision in plain})
        rows = [{**records.inbound(ready.message, thread.id, now), **records.decided("answer_faq", decision, ready.parse)}
                for _, ready, thread, decision in plain]
        inbound_ids = await grouped.insert_messages(session, rows)
        said = [[answers.get((decision.faq or "", thread.account_id)) or texts.FAQ_MISSING]
                for _, _, thread, decision in plain]
        states = [records.reply_state(ready.passive_until) for _, ready, _, _ in plain]
        reply_ids = await grouped.insert_messages(session, [
            reply for (_, _, thread, _), replies, inbound_id, state in zip(plain, said, inbound_ids, states)
            for reply in records.replies(thread.id, inbound_id, replies, "answer_faq", now, state)])
        await grouped.answered(session, [(thread, ready.message.public) for _, ready, thread, _ in plain], now)
        return [records.outcome(row["text"], row, replies, [reply_id], state, owner="bot")
                for row, replies, reply_id, state in zip(rows, said, reply_ids, states)]

    async def _decide_and_act(self, session: AsyncSession, message: InboundMessage, normalised: str,
                              parse: Parse | None, passive_until: float | None, *, adopt: bool = False) -> Outcome:
        """Decide, act and store; with `adopt`, the message is stored undecided already and
        this decision takes that row over (or raises _Taken if another decision did)."""
        now = self.clock()
        account = await accounts.ensure(session, message.platform, message.account)
        thread = await threads.ensure_thread(session, account, message.sender, now)
        if adopt:
            inbound = await undecided.adopt(session, message.dedupe_key or "")
            if inbound is None:
                raise _Taken()
        else:
            inbound = Message(**records.inbound(message, thread.id, now))
            session.add(inbound)
        thread.last_inbound_at = now
        thread.window_used = 0
        thread.last_inbound_public = message.public
        await session.flush()

        if message.msg_type == "event":
            result, action, decision = await self._event(session, thread, inbound, message, now)
        elif message.msg_type == "unknown":  # a type this bot does not know: kept, not answered
            result, action, decision = ActionResult([]), "ignored", None
        elif (rated := await csat.take_rating(session, thread, inbound, now)) is not None:
            result, action, decision = rated, "csat", None
        elif thread.owner == "queue" and message.msg_type == "text" and asks_ticket_status(parse, normalised,
                                                                                          self.settings):
            decision = Decision("ticket_status", "ticket_status", parse.confidence if parse else None)
            result = await self._act(session, thread, inbound, decision, normalised, now)
            action = decision.action
        elif thread.owner != "bot":
            result = self._while_people_own(thread)
            action = "append"
            decision = held_complaint(parse, normalised, self.settings) if message.msg_type == "text" else None
        elif message.msg_type != "text":
            result, action, decision = ActionResult([texts.NOT_TEXT]), "not_text", None
        else:
            # an FAQ switched off for this account is one the bot does not know here: clarify or hand over
            known = (await self.known_faqs(session)).known(thread.account_id)
            decision = self._decision(parse, normalised, _state(thread), known, message.public)
            result = await self._act(session, thread, inbound, decision, normalised, now)
            action = decision.action

        row = records.decided(action, decision, parse)
        for column, value in row.items():
            setattr(inbound, column, value)
        if (kind := records.missed(action, decision)) is not None and normalised:
            await misses.record(session, inbound, thread, kind=kind, key=normalised)
        state = records.reply_state(passive_until)
        replies = [Message(**reply) for reply in records.replies(thread.id, inbound.id, result.replies, action, now,
                                                                 state)]
        session.add_all(replies)
        thread.updated_at = now
        await session.flush()
        return records.outcome(inbound.text, row, result.replies, [r.id for r in replies], state, owner=thread.owner,
                               ticket=result.ticket)

    async def _act(self, session: AsyncSession, thread: Thread, inbound: Message,
                   decision: Decision, normalised: str, now: datetime) -> ActionResult:
        if decision.action != "clarify":
            thread.misunderstandings = 0
            thread.clarify_options = None
        context = ActionContext(session=session, settings=self.settings, now=now, thread=thread,
                                message=inbound, decision=decision, text=normalised)
        return await REGISTRY[decision.action](context)

    async def _event(self, session: AsyncSession, thread: Thread, inbound: Message,
                     message: InboundMessage, now: datetime) -> tuple[ActionResult, str, Decision | None]:
        """Follows, unfollows and menu clicks: the platform tells us, the customer said nothing."""
        customer = thread.customer
        if message.event == "unsubscribe":
            customer.unsubscribed = True  # nothing may be sent to them any more
            return ActionResult([]), "unsubscribed", None
        if message.event == "subscribe":
            customer.unsubscribed = False
            scope = await can_help_with(session, thread.account_id, texts.SCOPE)
            return ActionResult([texts.WELCOME.format(scope=scope)]), "welcome", None
        if message.event == "click" and message.event_key == self.settings.human_click_key:
            if thread.owner != "bot":
                return self._while_people_own(thread), "append", None
            decision = Decision("handoff", "request_human", 1.0, reason="requested_human")
            return await self._act(session, thread, inbound, decision, "", now), "handoff", decision
        return ActionResult([]), "event", None

    @staticmethod
    def _while_people_own(thread: Thread) -> ActionResult:
        """The bot stays silent for a person's thread: one waiting notice per handoff."""
        if thread.owner == "queue" and not thread.handoff_notice_sent:
            thread.handoff_notice_sent = True
            return ActionResult([texts.WAITING_NOTICE])
        return ActionResult([])


def _state(thread: Thread | grouped.ThreadRow) -> ThreadState:
    return ThreadState(owner=thread.owner, misunderstandings=thread.misunderstandings,
                       clarify_options=tuple(thread.clarify_options or ()))
