"""Report the status of this customer's tickets, or that there is none; while the thread waits
in the queue for a person, also its place there (a lookup, so the bot may answer it while no
agent holds the thread)."""
from zoneinfo import ZoneInfo

from actions import texts
from actions.base import ActionContext, ActionResult
from bot.store import faq, inbox, tickets


async def run(ctx: ActionContext) -> ActionResult:
    found = await tickets.of_customer(ctx.session, ctx.thread.customer_id)
    waiting = await inbox.open_item(ctx.session, ctx.thread.id) if ctx.thread.owner == "queue" else None
    place = texts.QUEUE_PLACE.format(position=await inbox.position(ctx.session, waiting)) if waiting else ""
    if not found:
        return ActionResult([texts.NO_TICKETS + place + (await _about_faq(ctx) or "")])
    zone = ZoneInfo(ctx.settings.timezone)
    lines = [texts.TICKET_LINE.format(number=t.number, status=texts.STATUS_LABEL[t.status],
                                      created=t.created_at.astimezone(zone).strftime("%m-%d %H:%M"))
             for t in found]
    return ActionResult([texts.TICKET_STATUS_HEAD + "\n".join(lines) + place], ticket=found[0].number)


async def _about_faq(ctx: ActionContext) -> str | None:
    """With no ticket, the answer of the FAQ the status question may be about (`Decision.faq`): a customer who
    asks how far their claim or transfer got ("在哪能看到案子处理到哪一步") is told how to see it, not only that
    they have filed no complaint."""
    name = ctx.decision.faq
    if name is None:
        return None
    answer = await faq.answer(ctx.session, name, ctx.thread.account_id)
    question = (await faq.questions(ctx.session, (name,))).get(name)
    return texts.ABOUT_FAQ.format(question=question, answer=answer) if answer and question else None
