"""Everything the bot says to consumers, in Simplified Chinese, in one place to adapt."""

WELCOME = "感谢关注！我是品牌智能客服😊 {scope}直接发消息问我就可以；需要人工请点菜单“人工客服”或回复“转人工”。"
GREET = "您好！我是智能客服小助手😊 {scope}直接问我就可以；需要人工请回复“转人工”。"
THANKS = "不客气！还有其他问题随时问我哦～"
GOODBYE = "感谢您的咨询，祝您生活愉快，再见！👋"
BOT_CHALLENGE = "我是品牌的智能客服助手，不是真人哦。需要人工客服请回复“转人工”，人工客服{hours} 在线。"
DECLINE = "抱歉，这个问题我暂时帮不上忙🙏 {scope}需要人工请回复“转人工”。"
# what the bot can help with, named by questions of the live FAQ catalogue (actions/scope.py); left
# out when there are none
SCOPE = "像{questions}这样的问题，"
DECLINE_SCOPE = "我可以帮您解答{questions}等问题；"
NOT_TEXT = "抱歉，我目前只能看懂文字消息，请用文字描述您的问题，我马上为您处理。"
CLARIFY_MENU = "抱歉，我不太确定您的意思。您是想问：\n{options}\n请回复数字 1-{count}，或换个说法描述一下。"
CLARIFY_NO_OPTIONS = "抱歉，我没太明白您的意思，可以换个说法描述一下吗？需要人工请回复“转人工”。"
FAQ_MISSING = "抱歉，这个问题的答案正在更新中，已为您记录，人工客服会尽快回复您。"
TICKET_OPENED = ("非常抱歉给您带来不好的体验！已为您登记投诉工单 {number}（{priority}），"
                 "{when}会有专人联系您处理，请保持消息畅通。查询进度可回复“投诉进度”。")
PRIORITY_LABEL = {"urgent": "紧急", "high": "优先处理", "normal": "普通"}
WHEN_OPEN = "{minutes} 分钟内"
WHEN_CLOSED = "现在是非工作时间，{opening}客服上班后"
HANDOFF_OPEN = "好的，正在为您转接人工客服，您前面还有 {ahead} 位，当前排在第 {position} 位，请稍候～"
HANDOFF_CLOSED = ("现在是非工作时间（人工客服{hours} 在线），人工客服{opening}上班后会第一时间回复您。"
                  "您的留言已保存，可以先把问题描述发给我们。")
HANDOFF_BOT_FAILED = "抱歉，我没能理解您的问题，已为您转接人工客服，"
WAITING_NOTICE = "已为您转接人工客服，请稍候"
NO_TICKETS = "您目前没有投诉或工单记录哦。如需反馈问题，直接描述给我就可以，我会为您登记。"
ABOUT_FAQ = "\n\n如果您想问的是“{question}”：\n{answer}"
TICKET_LINE = "工单 {number}：{status}（登记于 {created}）"
TICKET_STATUS_HEAD = "为您查到以下工单：\n"
QUEUE_PLACE = "\n您的会话正在排队等待人工客服，目前排在第 {position} 位，客服接入后会第一时间处理。"
PRAISE_THANKS = "收到您的好评啦，太开心了！🥰 感谢您的认可和支持，我们会继续努力，期待再次为您服务～"
STATUS_LABEL = {"new": "已登记，等待客服处理", "open": "客服处理中", "pending": "等待您的回复",
                "resolved": "已解决", "closed": "已关闭"}
CSAT_ASK = "本次服务已结束，感谢您的耐心！请为本次服务打分：直接回复 1-5 的数字（5 分为非常满意）。"
CSAT_THANKS = "感谢您的评价！我们会继续努力，有其他问题随时发消息给我哦～"
CSAT_THANKS_LOW = "感谢您的反馈，很抱歉这次没能让您满意，我们会认真改进。如需继续处理，请回复“转人工”。"
# the statement an admin reviews and sends to every customer of a crisis alert (/admin/alerts)
ALERT_STATEMENT = ("您好，关于近期多位顾客反馈的“{topic}”问题，我们已经高度重视，正在紧急排查处理。"
                   "您的反馈已登记，处理结果会第一时间通知您，给您带来不便深表歉意。")
