"""Report the status of this customer's tickets, or that there is none; while the thread waits
in the queue for a person, also its place there (a lookup, so the bot may answer it while no
agent holds the thread)."""
from zoneinfo import ZoneInfo

from actions import texts
from actions.base import ActionContext, ActionResult
from bot.store import inbox, tickets


async def run(ctx: ActionContext) -> ActionResult:
    found = await tickets.of_customer(ctx.session, ctx.thread.customer_id)
    waiting = await inbox.open_item(ctx.session, ctx.thread.id) if ctx.thread.owner == "queue" else None
    place = texts.QUEUE_PLACE.format(position=await inbox.position(ctx.session, waiting)) if waiting else ""
    if not found:
        return ActionResult([texts.NO_TICKETS + place])
    zone = ZoneInfo(ctx.settings.timezone)
    lines = [texts.TICKET_LINE.format(number=t.number, status=texts.STATUS_LABEL[t.status],
                                      created=t.created_at.astimezone(zone).strftime("%m-%d %H:%M"))
             for t in found]
    return ActionResult([texts.TICKET_STATUS_HEAD + "\n".join(lines) + place], ticket=found[0].number)
