"""SQLAlchemy models: the one place where the shape of the data is written down.

The same models run on SQLite and PostgreSQL, so only portable types are used (JSON is
stored through SQLAlchemy's JSON type, which is TEXT on SQLite and JSON on PostgreSQL).
Times are timezone-aware UTC.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """SQLite drops the zone of a stored datetime; give every value back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Account(Base):
    """One official account (a brand may run several: main and regional)."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    app_id: Mapped[str | None] = mapped_column(String(64))
    # encrypted credentials (see the channel issues); never plaintext secrets
    credentials: Mapped[dict[str, Any]] = mapped_column(default=dict)
    business_hours: Mapped[str | None] = mapped_column(String(32))
    # open threads an agent may hold when the inbox assigns them; None: agents claim themselves
    autoassign_capacity: Mapped[int | None] = mapped_column(Integer)
    # WeChat: the account is bound to an open-platform account, so WeChat tells each follower's
    # unionid (the same person on every bound account): carebot looks it up and links them
    open_platform: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Person(Base):
    """One consumer behind one or more customer rows (identities: an openid per WeChat
    account, a Weibo uid), linked by WeChat's unionid or by an agent; what the profile keeps
    about them. A customer without a person (`person_id` null) is a person of its own: the
    row is made when one is first linked, tagged or noted, never on the webhook's hot path."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("account_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    nickname: Mapped[str | None] = mapped_column(String(128))
    unsubscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    # WeChat unionid, looked up in the background (bot/channels/wechat/unionid.py) on accounts
    # bound to an open platform; state: null (not yet) | found | none (WeChat gave none) | failed
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    unionid_state: Mapped[str | None] = mapped_column(String(8))
    unionid_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unionid_retry_at: Mapped[datetime | None] = mapped_column()  # not before (a backoff, or a lookup's lease)


class Thread(Base):
    """The conversation between one customer and one account.

    `owner` is who answers next: the bot, the shared queue (waiting for a person) or an
    agent. While it is not the bot, the bot stays silent. It changes only through
    `bot.store.ownership`, which refuses a forbidden transition.
    """

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(8), default="bot")
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    last_inbound_at: Mapped[datetime | None] = mapped_column()
    window_used: Mapped[int] = mapped_column(Integer, default=0)
    misunderstandings: Mapped[int] = mapped_column(Integer, default=0)
    # FAQ intent names offered by the last clarify menu, answered by "1"/"2"/"3"
    clarify_options: Mapped[list[Any] | None] = mapped_column()
    handoff_notice_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    # the customer's last message was said in public (a mention): a stricter reply window
    last_inbound_public: Mapped[bool] = mapped_column(Boolean, default=False)
    # the csat_ratings row whose answer the next customer message may be (no FK: rows point both ways)
    csat_request_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(lazy="joined")


class Message(Base):
    """Every inbound and outbound message. The original text is kept unchanged."""

    __tablename__ = "messages"
    # the second index finds replies left pending by a process that died, polled every few seconds
    __table_args__ = (Index("ix_messages_thread_created", "thread_id", "id"),
                      Index("ix_messages_state_created", "state", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    author: Mapped[str] = mapped_column(String(8))  # customer | bot | agent | system
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    msg_type: Mapped[str] = mapped_column(String(16), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[dict[str, Any] | None] = mapped_column()
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    # an outbound reply points at the inbound message it answers (a retry gets the same)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    ranking: Mapped[list[Any] | None] = mapped_column()
    action: Mapped[str | None] = mapped_column(String(32))
    # outbound: pending (decided, not yet answered in the webhook response nor queued) | passive
    # (answered in the response) | queued (in the outbox) | sent | failed, or note (an agent's
    # internal note, never sent); inbound: received | handled, or undecided: stored before it
    # was acknowledged, not decided yet (the NLU was down or slow)
    state: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # an undecided message: no other process takes it for deciding before this time (a lease)
    claimed_until: Mapped[datetime | None] = mapped_column()
    # an undecided message: what the push said beyond the row's columns (event, event_key,
    # public), so that any process can decide it later
    envelope: Mapped[dict[str, Any] | None] = mapped_column()


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_first_response_due", "first_response_due"),
                      Index("ix_tickets_resolution_due", "resolution_due"))
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32), default="complaint")
    priority: Mapped[str] = mapped_column(String(8), default="high")
    status: Mapped[str] = mapped_column(String(10), default="new")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text, default="")
    first_response_due: Mapped[datetime | None] = mapped_column()
    resolution_due: Mapped[datetime | None] = mapped_column()
    # SLA: the due times are null while the clock is paused (pending on the customer)
    first_response_at: Mapped[datetime | None] = mapped_column()
    first_response_breached_at: Mapped[datetime | None] = mapped_column()
    resolution_breached_at: Mapped[datetime | None] = mapped_column()
    sla_paused_at: Mapped[datetime | None] = mapped_column()
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # business seconds paused
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()


class TicketCounter(Base):
    """Per-day sequence behind readable ticket numbers (T20261121-0007)."""

    __tablename__ = "ticket_counters"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class InboxItem(Base):
    """The shared inbox: what waits for a person. Open while `closed_at` is null."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_open", "closed_at", "claimed_by", "priority_rank", "enqueued_at"),
                      Index("ix_inbox_thread", "thread_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(16))  # complaint | requested_human | bot_failed
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    priority_rank: Mapped[int] = mapped_column(Integer, default=1)
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(8), default="agent")  # agent | admin
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(8), default="offline")
    last_assigned_at: Mapped[datetime | None] = mapped_column()  # round robin of auto-assignment
    # failed logins in a row and, past the limit, when the next attempt is allowed
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentAccount(Base):
    """Which accounts an agent works for (admins see every account without rows here)."""

    __tablename__ = "agent_accounts"
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)


class AgentSession(Base):
    """A logged-in browser. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "agent_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class ApiToken(Base):
    """A bearer token for the REST API. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()


class FaqIntent(Base):
    """An FAQ intent as admins edit it; answered from the database, not from the model."""

    __tablename__ = "faq_intents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)  # faq/shipping_time
    question: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    examples: Mapped[list["FaqExample"]] = relationship(
        cascade="all, delete-orphan", order_by="FaqExample.id", lazy="selectin")
    answer: Mapped["FaqAnswer | None"] = relationship(
        cascade="all, delete-orphan", uselist=False, lazy="selectin")
    overrides: Mapped[list["FaqOverride"]] = relationship(
        cascade="all, delete-orphan", order_by="FaqOverride.account_id", lazy="selectin")


class FaqExample(Base):
    __tablename__ = "faq_examples"
    __table_args__ = (UniqueConstraint("intent_id", "text"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("faq_intents.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)


class FaqAnswer(Base):
    __tablename__ = "faq_answers"
    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("faq_intents.id", ondelete="CASCADE"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FaqOverride(Base):
    """One account's own version of an FAQ: its answer instead of the default (a regional
    account's store hours), or the FAQ switched off there (`enabled` false: the bot treats
    the question as one it does not know for that account's customers)."""

    __tablename__ = "faq_overrides"
    __table_args__ = (UniqueConstraint("intent_id", "account_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("faq_intents.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    answer: Mapped[str | None] = mapped_column(Text)  # None: the default answer
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NluModel(Base):
    """The model registry: one row per trained model; exactly one is active.

    A model the training gate held back (worse than the active one) is a `candidate`, with the
    gate's reasons, until an admin activates it; a model rolled back from is neither."""

    __tablename__ = "nlu_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    data_hash: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    candidate: Mapped[bool] = mapped_column(Boolean, default=False)
    gate_reasons: Mapped[list[Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column()


class OutboxItem(Base):
    """A message waiting to be delivered through a platform API."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(8), default="queued")  # queued | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class TrainingJob(Base):
    """One training (started on the models page or by `carebot train`): its progress lines as
    they come, and the verdict (activated | held_back | unchanged | failed; running until then)."""

    __tablename__ = "training_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="running")
    log: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[int | None] = mapped_column(ForeignKey("nlu_models.id", ondelete="SET NULL"))
    reasons: Mapped[list[Any] | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class TrainingLock(Base):
    """The one row (id 1) that makes trainings take turns across processes: held by a job while
    its process keeps `heartbeat_at` fresh; a lock whose heartbeat went stale (the process died)
    may be taken over."""

    __tablename__ = "training_lock"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(Integer)
    holder: Mapped[str | None] = mapped_column(String(128))  # host:pid, for the message a second caller gets
    heartbeat_at: Mapped[datetime | None] = mapped_column()


class NluTestExample(Base):
    """The deployment's own labelled test set: every new model is scored on it (bot.conversation.retraining)."""

    __tablename__ = "nlu_test_examples"
    id: Mapped[int] = mapped_column(primary_key=True)
    intent: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(String(255), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    # a record's entries: its history, a customer's export and erase, the retention purge (0012)
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlatformToken(Base):
    """Access tokens shared by every process (one refresher at a time)."""

    __tablename__ = "platform_tokens"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column()
    refreshing_until: Mapped[datetime | None] = mapped_column()


class SlaPolicy(Base):
    """Targets per priority as an admin set them (`carebot sla set`); missing rows use the defaults."""

    __tablename__ = "sla_policies"
    priority: Mapped[str] = mapped_column(String(8), primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AccountHoliday(Base):
    """A local date on which the account's agents do not work (the SLA clock stands still)."""

    __tablename__ = "account_holidays"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD


class CannedReply(Base):
    """A prepared answer agents insert by typing "/" and its shortcut."""

    __tablename__ = "canned_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(128), default="")
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CsatRating(Base):
    """One satisfaction request after a resolve; `rating` stays null when the customer never rated."""

    __tablename__ = "csat_ratings"
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    rating: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    rated_at: Mapped[datetime | None] = mapped_column()


class Miss(Base):
    """A customer message the bot did not understand: answered with a clarify menu, declined,
    handed over because the bot failed, or flagged by an agent on one of the bot's replies.

    Written when it happens (not derived from `messages` on every read) so that the open count
    on every admin page is one indexed COUNT however large the message table grows. `key` is the
    text as the model reads it (normalised), which is what a label adds to the training data.
    """

    __tablename__ = "misses"
    __table_args__ = (Index("ix_misses_status_created", "status", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # clarify | decline | bot_failed | flagged
    text: Mapped[str] = mapped_column(Text)  # the customer's text as received
    key: Mapped[str] = mapped_column(Text)  # normalised: what the model read, and what a label teaches it
    action: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    # an agent's flag: the bot reply they said was wrong, and who they are
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    flagged_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | labelled | dismissed
    label: Mapped[str | None] = mapped_column(String(128))  # the intent it was added to
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntentExample(Base):
    """An example of a conversation intent (complain, out_of_scope, ...) an admin added, on top of
    nlu_data/conversation.yml; FAQ examples live in faq_examples. Both feed the next training."""

    __tablename__ = "intent_examples"
    __table_args__ = (UniqueConstraint("intent", "text"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    intent: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- crisis radar (bot/desk/radar.py) ---

class RadarTerm(Base):
    """A topic term of one complaint (jieba nouns or product terms, bot/nlu/topics.py), written
    once by the radar's scan so that neither the sliding window nor the trailing rate reads and
    segments the texts again. A complaint without any term keeps one row with term "" (it is
    then not read again, and never counted)."""

    __tablename__ = "radar_terms"
    __table_args__ = (UniqueConstraint("message_id", "term"), Index("ix_radar_terms_term_at", "term", "at"),
                      Index("ix_radar_terms_at", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)  # every table of a customer's rows has one (store/privacy.py)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column()  # when the complaint arrived


class Alert(Base):
    """A wave of complaints about one topic. `open_key` ("<scope>:<topic>") is set while the
    alert is open and unique, so however many servers scan at once, one topic has at most one
    open alert per scope; closing clears it (a later wave opens a new alert)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status", "status", "last_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(32))
    scope_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    account_ids: Mapped[list[Any]] = mapped_column(default=list)  # the members' accounts, sorted
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column()
    last_at: Mapped[datetime] = mapped_column()
    baseline: Mapped[float] = mapped_column(Float, default=0.0)  # the usual count for one window
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column()
    notified_by: Mapped[str | None] = mapped_column(String(64))
    notice_text: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by: Mapped[str | None] = mapped_column(String(64))
    close_reason: Mapped[str | None] = mapped_column(Text)


class AlertMember(Base):
    """One complaint of an alert (a complaint belongs to at most one alert), with its thread and
    the ticket it opened; `notified_at`: the alert's statement was queued to its customer."""

    __tablename__ = "alert_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column()
    notified_at: Mapped[datetime | None] = mapped_column()
