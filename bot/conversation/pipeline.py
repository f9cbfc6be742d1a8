"""One inbound message, end to end: store it, decide, act, store the replies.

The NLU call happens outside the write transaction (it may take a while and needs no
lock); everything else for one message is one unit of work, with the customer's thread
row locked, so two messages of one customer are never decided at the same time and a
crash never leaves a message half handled. A message whose dedupe key is already stored
(a platform retry, maybe served by another process) gets the stored replies again.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
import asyncio
import time
from dataclasses import replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions import REGISTRY, texts
from actions.base import ActionContext, ActionResult
from bot.conversation.messages import InboundMessage, Outcome
from bot.nlu.result import Parse
from bot.conversation.policy import Decision, ThreadState, decide, pick_option
from bot.nlu.normalize import is_meaningful, normalise
from bot.settings import Settings
from bot.store import faq, outbox, threads
from bot.store.db import Database
from bot.store.models import Message, Thread, utcnow

FAQ_NAMES_TTL = 2.0  # seconds; an FAQ an admin adds or deletes is known this much later
Understand = Callable[[list[str]], Awaitable[list[Parse]]]


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
        self._faq_names: tuple[float, frozenset[str]] | None = None

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
        async with self.db.sessions() as session:
            if message.dedupe_key and not dry_run:
                stored = await self._stored_outcome(session, message)
                if stored is not None:
                    return stored
            needs_nlu = parse is None and await self._needs_nlu(session, message, normalised)
        if needs_nlu:
            parse = (await self.understand([normalised]))[0]
        try:
            async with self.db.uow() as session:
                outcome = await self._decide_and_act(session, message, normalised, parse, passive_until)
                if dry_run:
                    raise _DryRun(outcome)
                return outcome
        except _DryRun as done:
            return done.outcome
        except IntegrityError:
            if not message.dedupe_key:
                raise
            async with self.db.sessions() as session:  # a concurrent retry stored it first
                stored = await self._stored_outcome(session, message)
            if stored is None:
                raise
            return stored

    async def queue_replies(self, reply_ids: list[int], *, passive_too: bool = False) -> int:
        """Hand replies not delivered in time to the outbox (with `passive_too`, also those
        stored as answered passively by a caller that then could not answer)."""
        async with self.db.uow() as session:
            return await outbox.queue_pending(session, reply_ids, self.clock(), passive_too=passive_too)

    async def known_faqs(self, session: AsyncSession) -> frozenset[str]:
        """FAQ names, cached for a moment: read for every message, changed by admins rarely."""
        now = time.monotonic()
        if self._faq_names is None or now - self._faq_names[0] > FAQ_NAMES_TTL:
            self._faq_names = (now, await faq.names(session))
        return self._faq_names[1]

    async def _needs_nlu(self, session: AsyncSession, message: InboundMessage, normalised: str) -> bool:
        if message.msg_type != "text" or not is_meaningful(normalised):
            return False
        account = await threads.account_by_slug(session, message.account)
        thread = await threads.find_thread(session, account.id, message.sender) if account else None
        if thread is None:
            return True
        return thread.owner == "bot" and pick_option(normalised, _state(thread)) is None

    @staticmethod
    async def _stored_outcome(session: AsyncSession, message: InboundMessage) -> Outcome | None:
        stored = await threads.by_dedupe_key(session, message.dedupe_key or "")
        if stored is None:
            return None
        replies = await threads.replies_to(session, stored.id)
        thread = await session.get(Thread, stored.thread_id)
        assert thread is not None
        return Outcome(text=stored.text, intent=stored.intent, confidence=stored.confidence,
                       action=stored.action or "pending", replies=[r.text for r in replies],
                       ticket=None, owner=thread.owner, duplicate=True,
                       reply_ids=[r.id for r in replies], reply_states=[r.state for r in replies])

    async def _decide_and_act(self, session: AsyncSession, message: InboundMessage,
                              normalised: str, parse: Parse | None, passive_until: float | None) -> Outcome:
        now = self.clock()
        account = await threads.ensure_account(session, message.platform, message.account)
        thread = await threads.ensure_thread(session, account, message.sender, now)
        inbound = Message(thread_id=thread.id, direction="in", author="customer",
                          msg_type=message.msg_type, text=storable(message.text), raw=message.raw,
                          dedupe_key=message.dedupe_key, created_at=now, state="received")
        session.add(inbound)
        thread.last_inbound_at = now
        thread.window_used = 0
        await session.flush()

        if message.msg_type == "event":
            result, action, decision = await self._event(session, thread, inbound, message, now)
        elif thread.owner != "bot":
            result = self._while_people_own(thread)
            action, decision = "append", None
        elif message.msg_type != "text":
            result, action, decision = ActionResult([texts.NOT_TEXT]), "not_text", None
        else:
            known = await self.known_faqs(session)
            decision = decide(parse, normalised, _state(thread), self.settings, known)
            if decision.action == "answer_faq" and decision.faq not in known:
                decision = replace(decision, action="clarify", options=())
            result = await self._act(session, thread, inbound, decision, normalised, now)
            action = decision.action

        inbound.action = action
        inbound.state = "handled"
        if decision is not None:
            inbound.intent, inbound.confidence = decision.intent, decision.confidence
        if parse is not None:
            inbound.ranking = parse.ranking
        in_time = passive_until is not None and asyncio.get_running_loop().time() < passive_until
        reply_state = "passive" if in_time else "pending"
        replies = [Message(thread_id=thread.id, direction="out", author="bot", text=text,
                           reply_to_id=inbound.id, action=action, created_at=now, state=reply_state)
                   for text in result.replies]
        session.add_all(replies)
        thread.updated_at = now
        await session.flush()
        return Outcome(text=inbound.text, intent=inbound.intent, confidence=inbound.confidence,
                       action=action, replies=result.replies, ticket=result.ticket,
                       owner=thread.owner, reply_ids=[r.id for r in replies],
                       reply_states=[r.state for r in replies])

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
            return ActionResult([texts.WELCOME]), "welcome", None
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


def storable(text: str) -> str:
    """The original text, except NUL (PostgreSQL text cannot hold it), which becomes U+FFFD."""
    return text.replace("\x00", "\ufffd")


def _state(thread: Thread) -> ThreadState:
    return ThreadState(owner=thread.owner, misunderstandings=thread.misunderstandings,
                       clarify_options=tuple(thread.clarify_options or ()))
