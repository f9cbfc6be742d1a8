"""Answer an FAQ from the database: editing an answer needs no retraining. The thread's
account may have its own answer (a regional account's store hours)."""
from actions import texts
from actions.base import ActionContext, ActionResult
from bot.store import faq


async def run(ctx: ActionContext) -> ActionResult:
    assert ctx.decision.faq is not None
    answer = await faq.answer(ctx.session, ctx.decision.faq, ctx.thread.account_id)
    return ActionResult([answer or texts.FAQ_MISSING])
