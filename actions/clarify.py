"""Low confidence: offer the most likely FAQ questions; "1"/"2"/"3" picks one."""
from actions import texts
from actions.base import ActionContext, ActionResult
from bot.store import faq


async def run(ctx: ActionContext) -> ActionResult:
    ctx.thread.misunderstandings += 1
    questions = await faq.questions(ctx.session, ctx.decision.options)
    options = [name for name in ctx.decision.options if questions.get(name)]
    ctx.thread.clarify_options = options or None
    if not options:
        return ActionResult([texts.CLARIFY_NO_OPTIONS])
    menu = "\n".join(f"{i}. {questions[name]}" for i, name in enumerate(options, start=1))
    return ActionResult([texts.CLARIFY_MENU.format(options=menu, count=len(options))])
