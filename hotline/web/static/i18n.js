/* Hotline UI strings and language switching (zh-CN first, English second).
 *
 * Markup:
 *   data-i18n="key"              element text comes from the dictionary
 *   data-i18n-params='{"n":2}'    values for {n} placeholders in that text
 *   data-i18n-placeholder="key"   (also -aria-label, -title) translate an attribute
 *   data-name-zh / data-name-en   a configured name (district, category...) in both languages
 *
 * Language: ?lang= if present, else localStorage "hotline.lang", else <html lang>.
 * The #lang-switch button on every page switches instantly and remembers the choice.
 * Pages use window.I18n (t, set, setText, setName, pick, onChange, formatTime, ...).
 */
"use strict";

(() => {
  const STORAGE_KEY = "hotline.lang";
  const SUPPORTED = ["zh-CN", "en"];

  const DICT = {
    "zh-CN": {
      "lang.switch": "English",
      "app.name": "心理援助热线",

      "error.generic": "出了点问题，请稍后再试。",
      "error.network": "网络连接出现问题，请检查网络后再试。",
      "error.csrf": "页面已过期，请刷新页面后再试。",
      "error.login_required": "登录已过期，请重新登录。",
      "error.too_long": "这条消息太长了，请分成几条发送。",
      "error.too_fast": "您发送得有点快，请稍等几秒再发。您输入的内容还在。",
      "error.bad_request": "消息没有发送成功，请再试一次。",
      "error.ended": "这次对话已经结束。",
      "error.too_many_starts": "短时间内开始的对话太多了，请稍等一分钟再试。",
      "error.store_unavailable": "系统暂时没有响应，请稍等几秒再试。",
      "error.unknown_district": "所选区县无效，请重新选择。",
      "error.queue_empty": "目前没有人在等待。",
      "error.not_available": "您当前是“休息中”，请先把状态切换为“可接听”。",
      "error.not_active": "这个对话已不在进行中，消息没有发出。",
      "error.empty": "请先输入内容。",
      "error.not_yours": "这个对话不由您负责，无法查看。",
      "error.not_found": "找不到这个对话。",
      "error.not_in_wrap_up": "请先结束对话，再填写结案记录。",
      "error.illegal_transition": "这个对话的状态已经改变，页面已刷新，请再看一下。",
      "error.forbidden": "您没有权限进行这个操作。",
      "error.internal": "服务器出了点问题，请稍后再试。",
      "error.invalid_category": "请选择主要问题类别。",
      "error.invalid_outcome": "请选择处理结果。",
      "error.invalid_referral": "请选择转介去向。",
      "error.invalid_key_groups": "重点人群的选项无效，请刷新页面后重试。",
      "error.summary_too_long": "简要记录太长了，请精简后再提交。",
      "error.call_not_connected": "电话没能接到您这里，这通来电已回到等待队列的最前面。请检查您的电话或浏览器接听后再试。",
      "error.voice_call": "这是一通电话，没有文字回复框：请直接和对方通话，需要记录的内容写在内部备注里。",
      "error.opted_out": "对方已发送 STOP 退订短信，不能再给这个号码发短信。",
      "error.voice_unavailable": "浏览器接听没有开通，来电将转到您的电话。",
      "error.follow_up_decision_required": "本次风险为高或紧急：请选择对方是否同意随访；不随访时请选择原因。",
      "error.follow_up_reason_required": "请选择不随访的原因。",
      "error.follow_up_phone_required": "没有可以联系对方的号码：请填写对方愿意留下的号码；如果没有，请选“不随访”，原因选“无可用联系方式”。",
      "error.invalid_phone": "号码格式不对：请带国家代码填写，如 +8613800000000。",
      "error.caring_needs_consent": "关怀短信需要对方同意随访。",
      "error.no_surge": "目前没有正在进行的突发事件应急响应，无法标记。",
      "error.tagged_other_incident": "这个对话已经标记为另一起事件。",

      "risk.imminent": "紧急",
      "risk.high": "高",
      "console.urgent.heading": "紧急：",
      "console.urgent.text": "#{id}（{channel}）此刻正处于危险中，请立即接听。",
      "console.urgent.take": "立即接听",
      "console.urgent.taken": "其他咨询员已经接听了这位求助者。",
      "console.alarm.heading": "等待超时警报：",
      "console.alarm.text": "#{id}（{risk}风险）已等待 {waited} 秒，超过目标 {target} 秒。",
      "console.alarm.ack": "已知晓",
      "console.warning.heading": "早期预警：",
      "console.warning.open": "在统计页查看",
      "console.fu.link": "随访",
      "console.incident.tag": "事件",
      "console.incident.tag_title": "受本次事件影响（事件 #{id}）",
      "console.affected.button": "受本次事件影响",
      "console.affected.hint": "对方说自己或家人受到了本次事件的影响时，点这里标记。",
      "console.fu.overdue": "逾期 {n}",
      "console.fu.today": "今天到期 {n}",
      "console.fu.new_tab": "（在新标签页打开）",
      "console.fu.reconnecting": "⟳ 提醒正在重连",
      "console.fu.stale": "⚠ 未能更新",
      "console.fu.alarm.heading": "随访提醒：",
      "console.fu.alarm.overdue_owner": "{p}（{risk}）的随访已逾期 {late}，请尽快回访。",
      "console.fu.alarm.review_owner": "{p}（{risk}）的随访计划已完成，请决定结案或继续（已逾期 {late}）。",
      "console.fu.alarm.overdue_team": "{p}（{owner}负责）的随访已逾期 {late}，请通知该队伍。",
      "console.fu.alarm.overdue_supervisor": "{p}（{risk}）的随访已逾期 {late}，负责人：{owner}。请督导跟进。",
      "console.fu.alarm.flagged": "{p} 连续 {n} 次未联系上（负责人：{owner}），请督导查看。",
      "console.fu.alarm.referral_flagged": "{p} 危险性评估为 {grade} 级，需要转介（负责人：{owner}）。",
      "console.fu.alarm.more": "还有 {n} 条提醒，请打开随访页查看。",
      "console.fu.late.min": "{n} 分钟",
      "console.fu.late.hour": "{n} 小时",
      "console.fu.late.day": "{n} 天",
      "console.fu.owner.me": "您",
      "console.fu.owner.gone": "已停用的账号 #{id}",
      "console.imminent.heading": "紧急危险：",
      "console.imminent.text": "#{id}：咨询员正在处理一位处于紧急危险中的求助者",
      "console.imminent.ack": "已知晓",
      "console.risk_rise.heading": "风险升高：",
      "console.risk_rise.text": "#{id} 风险升高：现在为{level}",
      "assess.heading": "风险评估",
      "assess.intro": "C-SSRS 筛查：请询问对方过去一个月的情况。",
      "assess.yes": "是",
      "assess.no": "否",
      "assess.q.wish_dead": "1. 过去一个月内，您是否希望自己死了，或希望自己睡着后不再醒来？",
      "assess.q.suicidal_thoughts": "2. 过去一个月内，您是否真的有过想要自杀的念头？",
      "assess.q.method": "3. 过去一个月内，您是否想过可能会怎样做？",
      "assess.q.intent": "4. 过去一个月内，您有这些想法时，是否有过要付诸行动的意图？",
      "assess.q.plan": "5. 过去一个月内，您是否已经开始或已经想好了自杀的具体细节？您打算实施这个计划吗？",
      "assess.q.behaviour": "6. 您是否曾经做过、开始做或准备做任何结束自己生命的事情？如果有，是什么时候？",
      "assess.behaviour.none": "从未有过",
      "assess.behaviour.over_3_months": "有，超过 3 个月前",
      "assess.behaviour.within_3_months": "有，在过去 3 个月内",
      "assess.behaviour.in_progress": "正在进行（此刻）",
      "assess.pf.heading": "保护因素（可多选）",
      "assess.pf.family_support": "家人或朋友的支持",
      "assess.pf.reasons_for_living": "有活下去的理由",
      "assess.pf.in_treatment": "正在接受治疗",
      "assess.pf.children_or_dependants": "有孩子或需要照顾的人",
      "assess.pf.faith_or_culture": "信仰或文化上的约束",
      "assess.pf.future_plans": "对未来有计划",
      "assess.pf.no_access_to_means": "接触不到自杀手段",
      "assess.safety_plan": "安全计划",
      "assess.reason": "理由（降低风险等级时必填）",
      "assess.submit": "提交评估",
      "assess.result": "评估结果：",
      "assess.result_at": "（{time} 评估）",
      "assess.level.none": "无风险",
      "assess.unanswered": "请回答所有问题（第 {n} 题还没有回答）。",
      "error.reason_required": "评估结果低于目前的风险等级，请在“理由”中写明为什么降低。",
      "protocol.show": "紧急干预清单",
      "protocol.hide": "收起紧急干预清单",
      "protocol.heading": "紧急干预清单",
      "protocol.intro": "请一直陪伴对方，按顺序完成以下步骤；每一步都会记录时间。",
      "protocol.step.location_asked": "询问并确认对方所在的位置",
      "protocol.step.supervisor_alerted": "通知督导（系统自动完成）",
      "protocol.step.emergency_services": "联系紧急服务（或写明为什么不联系）",
      "protocol.step.dispatch_requested": "请求派员到场",
      "protocol.step.help_arrived": "确认救援已经到达",
      "protocol.done_at": "✓ 已完成 {time}",
      "protocol.done_service": "✓ 已完成 {time}（{service}）",
      "protocol.auto": "✓ 系统已自动通知",
      "protocol.auto_pending": "风险为紧急时系统会自动通知",
      "protocol.pending": "○ 未完成",
      "protocol.record": "记录已完成",
      "protocol.service": "联系的紧急服务",
      "protocol.service.110": "报警（110）",
      "protocol.service.120": "急救（120）",
      "protocol.service.119": "消防（119）",
      "protocol.service.none": "未联系（请在备注中写明原因）",
      "protocol.note": "备注（可选；未联系紧急服务时必填）",
      "protocol.choose_service": "请先选择联系了哪个紧急服务（或“未联系”）。",
      "protocol.reason_required": "没有联系紧急服务时，请在备注中写明原因。",
      "risk.moderate": "中",
      "risk.low": "低",
      "risk.none": "未评估",

      "channel.webchat": "网页聊天",
      "channel.voice": "电话",
      "channel.sms": "短信",

      "state.queued": "排队中",
      "state.offered": "接入中",
      "state.active": "进行中",
      "state.wrap_up": "待结案",
      "state.closed": "已结案",
      "state.abandoned": "已离开",
      "state.transferred": "已转接",

      "presence.available": "可接听",
      "presence.on_break": "休息中",
      "presence.offline": "离线",

      "role.counsellor": "咨询员",
      "role.supervisor": "督导",

      /* chat page */
      "chat.title": "在线倾诉 · 心理援助热线",
      "chat.heading": "在线倾诉",
      "chat.welcome": "您好，这里是24小时心理援助热线。无论您正在经历什么，都可以在这里和专业的咨询员聊一聊。",
      "chat.confidential": "对话内容严格保密。您不需要留下姓名或电话。",
      "chat.returning": "这个浏览器会保存一个随机编号（不含您的任何信息），您以后再来时，咨询员能知道您来过，不必从头讲起。",
      "chat.emergency.lead": "如果您或他人正面临生命危险，请立即拨打",
      "chat.emergency.police": "（报警）",
      "chat.emergency.or": "或",
      "chat.emergency.ambulance": "（急救）",
      "chat.noscript": "在线倾诉需要启用浏览器的 JavaScript。如遇紧急危险，请立即拨打 110 或 120。",
      "chat.district.label": "您所在的区县（可以不选）",
      "chat.district.none": "不选择",
      "chat.district.hint": "只用于帮助咨询员了解当地可用的帮助资源。",
      "chat.screener.intro": "开始之前，您愿意回答几个简短的问题吗？（可以跳过）",
      "chat.screener.why": "这些问题帮助我们先接待最需要帮助的人。每个问题都可以不答。",
      "chat.screener.q_wished_dead": "最近一个月，您是否希望自己已经死了，或者希望睡着了就不再醒来？",
      "chat.screener.q_thoughts": "最近一个月，您是否有过结束自己生命的想法？",
      "chat.screener.q_acted": "您是否曾经做过、开始做或准备做一些结束自己生命的事？",
      "chat.screener.q_safe": "您现在是安全的吗？",
      "chat.screener.yes": "是",
      "chat.screener.no": "否",
      "chat.screener.acted_never": "从来没有",
      "chat.screener.acted_over": "三个月以前",
      "chat.screener.acted_recent": "最近三个月内",
      "chat.screener.acted_now": "现在正在",
      "chat.surge.yes": "是，受到了影响",
      "chat.surge.no": "没有",
      "chat.surge.hint": "只用于帮助咨询员了解您的情况、安排合适的帮助。可以不选。",
      "chat.start": "开始对话",
      "chat.starting": "正在开始…",
      "chat.status.connecting": "正在连接…",
      "chat.status.resuming": "正在恢复您的对话…",
      "chat.status.queued": "正在为您接通咨询员，您前面还有 {ahead} 位，预计约 {minutes} 分钟。",
      "chat.status.queued_no_estimate": "正在为您接通咨询员，您前面还有 {ahead} 位，请稍候。",
      "chat.status.queued_next": "正在为您接通咨询员，您是下一位，预计约 {minutes} 分钟。",
      "chat.status.queued_next_soon": "正在为您接通咨询员，您是下一位，请稍候。",
      "chat.status.queued_plain": "正在为您接通咨询员，请稍候。",
      "chat.status.hint": "请保持此页面打开。您可以先写下想说的话，咨询员接入后会在这里回复您。",
      "chat.status.offered": "咨询员即将加入对话…",
      "chat.status.active": "咨询员已加入对话。",
      "chat.status.ended": "对话已结束。",
      "chat.connection.lost": "连接中断了，正在重新连接…您输入的内容不会丢失。",
      "chat.messages.label": "对话内容",
      "chat.you": "我",
      "chat.counsellor": "咨询员",
      "chat.input.label": "输入消息",
      "chat.input.help": "按 Enter 发送，Shift+Enter 换行",
      "chat.counter": "{n} / {max}",
      "chat.counter.over": "{n} / {max}（超出 {over} 字）",
      "chat.too_long_local": "这条消息有 {n} 字，超过了 {max} 字的上限，请删减或分成几条发送。",
      "chat.not_connected": "连接暂时中断，消息还没有发出。正在重新连接，您输入的内容已保留。",
      "chat.send": "发送",
      "chat.end": "结束对话",
      "chat.end.question": "确定要结束这次对话吗？结束后咨询员将无法再回复您。",
      "chat.end.confirm": "确定结束",
      "chat.end.cancel": "继续对话",
      "chat.ended.by_caller": "您已结束本次对话。谢谢您的信任。",
      "chat.ended.by_counsellor": "咨询员已结束本次对话。",
      "chat.ended.other": "这次对话已经结束。",
      "chat.ended.again": "如果您还需要帮助，随时可以再联系我们。如遇紧急危险，请立即拨打 110 或 120。",
      "chat.new": "开始新的对话",
      "chat.expired": "之前的对话已经结束。如需帮助，您可以开始新的对话。",
      "chat.waiting.title": "请不要离开，正在为您接通…",
      "chat.waiting.text": "系统暂时没有响应，页面会自动重试，您不需要做任何操作。您填写的内容都已保留。",
      "chat.waiting.trying": "正在尝试…",
      "chat.waiting.next": "{seconds} 秒后自动再试。",
      "chat.waiting.danger": "如果您现在有生命危险，请不要等待，立即拨打 110 或 120。",
      "chat.waiting.cancel": "取消，返回",
      "chat.waiting.cancelled": "已取消。您填写的内容都还在，随时可以再点“开始对话”。",

      /* login page */
      "login.title": "工作人员登录 · 心理援助热线",
      "login.heading": "工作人员登录",
      "login.username": "用户名",
      "login.password": "密码",
      "login.submit": "登录",
      "login.caller_hint": "如果您需要心理援助，请进入",
      "login.caller_link": "在线倾诉",

      /* forbidden page */
      "forbidden.title": "无法访问 · 心理援助热线",
      "forbidden.heading": "无法访问此页面",
      "forbidden.back": "返回登录页",

      /* console */
      "console.title": "咨询员工作台 · 心理援助热线",
      "console.heading": "咨询员工作台",
      "console.skip": "跳到对话区",
      "console.signed_in_as": "当前用户：",
      "console.presence.label": "我的状态：",
      "console.presence.hint": "点击按钮切换",
      "console.logout": "退出登录",
      "console.notice.dismiss": "知道了",
      "console.connection.lost": "与服务器的连接已断开，正在重新连接…（第 {n} 次尝试）页面上的信息可能不是最新的。",
      "console.connection.retry": "立即重试",
      "console.loading": "正在加载…",
      "console.load_failed": "加载失败：{message}",

      "console.queue.heading": "等待接听",
      "console.queue.caption": "等待接听的求助者，按排队顺序",
      "console.queue.position": "序号",
      "console.queue.channel": "渠道",
      "console.queue.risk": "风险",
      "console.queue.waited": "已等待",
      "console.queue.district": "区县",
      "console.queue.empty": "目前没有人在等待。",
      "console.take_next": "接听下一位",
      "console.take_next.call_notice": "有一通电话没能接到您这里（已回到等待队列的最前面），先为您接入了下一个文字对话。",

      "console.voice.phone": "来电将转到您的电话",
      "console.voice.loading": "正在启用浏览器接听…",
      "console.voice.registering": "浏览器接听正在连接…",
      "console.voice.ready": "浏览器接听已就绪：来电会在这个页面响铃",
      "console.voice.offline": "浏览器接听未连接：来电可能无法接到这个页面",
      "console.voice.not_ready": "浏览器接听不可用：来电无法在这个页面接听",
      "console.voice.retrying": "暂时无法启用浏览器接听，稍后自动重试…",
      "console.voice.error": "浏览器接听出错：{message}",
      "console.voice.error_code": "浏览器接听出错（代码 {code}）：{message}",
      "console.voice.mic_denied": "无法使用麦克风：请在浏览器中允许本页面使用麦克风，然后再接听。",
      "console.voice.sdk_missing": "浏览器接听组件没有加载成功，来电无法在这个页面接听。请刷新页面；如果仍然不行，请联系管理员。",
      "console.voice.token_failed": "浏览器接听的授权没有续期成功，正在重试…如果一直失败，来电将无法接到这个页面。",
      "console.voice.turned_off": "浏览器接听已被关闭，来电将转到您的电话。",

      "console.incoming.text": "这个浏览器有来电",
      "console.incoming.hint": "这不是您刚点“接听下一位”接起的电话。",
      "console.incoming.answer": "接听",
      "console.incoming.decline": "拒绝",

      "console.call.heading": "电话",
      "console.call.ringing": "响铃中…",
      "console.call.ringing_phone": "请接听您的电话。如果没有接听，来电会回到等待队列。",
      "console.call.ringing_browser": "正在这个浏览器中接通…",
      "console.call.callback": "正在接通来访者…",
      "console.call.active": "通话中",
      "console.call.timer": "通话时长",
      "console.call.in_browser": "通话在这个浏览器中进行。",
      "console.call.on_phone": "通话在您接听的电话上进行。",
      "console.call.muted": "已静音：对方听不到您的声音。",
      "console.call.ended": "通话已结束",
      "console.call.observing": "旁听模式：这里只显示通话状态，听不到通话内容。",
      "console.call.mute": "静音",
      "console.call.unmute": "取消静音",
      "console.call.no_text": "这是一通电话，没有文字记录，也没有文字回复框。需要记录的内容请写在内部备注里。",
      "console.call.requeued_notice": "电话 #{id} 没有接通，已回到等待队列。",
      "console.call.none": "目前没有进行中的电话。",

      "console.district.none": "未填写",

      "console.my.heading": "我的对话",
      "console.my.empty": "您目前没有进行中的对话。",
      "console.my.unread": "新消息 {n}",
      "console.my.person_ended": "对方已结束",

      "console.contact.title": "对话 #{id}",
      "console.contact.none": "请从“我的对话”中选择一个对话，或点击“接听下一位”。",
      "console.contact.counsellor": "咨询员：{name}",
      "console.contact.since": "开始于 {time}",
      "console.contact.observing": "旁听模式（只读）：这个对话由 {name} 负责。",
      "console.contact.person_ended": "来访者已结束对话。请填写下方的结案记录。",
      "console.contact.i_ended": "对话已结束。请填写下方的结案记录。",
      "console.contact.closed": "这个对话已经关闭。",
      "console.contact.person_ended_notice": "对话 #{id}：来访者已结束对话，请完成结案记录。",
      "console.contact.gone_notice": "对话 #{id} 已关闭。",
      "console.contact.no_messages": "还没有消息。",
      "console.contact.duration": "时长",
      "console.from.caller": "来访者",
      "console.from.counsellor": "咨询员",
      "console.messages.label": "对话内容",
      "console.view": "查看",

      "console.end": "结束对话",
      "console.end.question": "确定要结束这个对话吗？来访者会收到对话结束的通知，之后需要填写结案记录。",
      "console.end.confirm": "确定结束",
      "console.end.cancel": "取消",
      "console.end.call": "挂断并结束",
      "console.end.question_call": "确定要挂断电话并结束这个对话吗？通话会立即挂断，之后需要填写结案记录。",
      "console.end.confirm_call": "挂断并结束",
      "console.end.keys_call": "再按 Alt+H 或 Enter 确认，Esc 取消。",

      "console.reply.label": "回复来访者",
      "console.reply.help": "Enter 或 Ctrl+Enter 发送，Shift+Enter 换行",
      "console.reply.send": "发送",
      "console.reply.label_sms": "短信回复",
      "console.reply.sms_hint": "回复会以短信发到对方手机。短信篇幅有限，请尽量简短。",
      "console.reply.counter": "{n} / {max}",
      "console.reply.counter_over": "{n} / {max}（超出 {over} 字）",
      "console.reply.sms_too_long": "短信最多 {max} 字，这条有 {n} 字。请删减或分成几条发送。",
      "console.reply.opted_out": "对方已发送 STOP 退订短信，不能再给这个号码发短信。",
      "console.reply.server_said": "服务器说明：{message}",

      "console.delivery.pending": "短信发送中",
      "console.delivery.accepted": "短信排队发送",
      "console.delivery.queued": "短信排队发送",
      "console.delivery.sending": "短信发送中",
      "console.delivery.sent": "短信已发送",
      "console.delivery.delivered": "短信已送达",
      "console.delivery.read": "短信已读",
      "console.delivery.failed": "发送失败：这条短信没有送到对方",
      "console.delivery.undelivered": "未送达：这条短信没有送到对方",
      "console.delivery.other": "短信状态：{status}",

      "console.notes.heading": "内部备注",
      "console.notes.private": "仅工作人员可见，不会发送给来访者",
      "console.notes.empty": "还没有备注。",
      "console.notes.label": "添加内部备注",
      "console.notes.help": "Ctrl+Enter 保存，Enter 换行",
      "console.notes.add": "保存备注",
      "console.notes.tag": "内部备注",
      "console.notes.me": "我",
      "console.notes.staff": "工作人员 #{id}",

      "console.wrap.heading": "结案记录",
      "console.wrap.intro": "请在结束前填写以下信息，提交后这个对话会从“我的对话”中移除。",
      "console.wrap.category": "主要问题类别",
      "console.wrap.outcome": "处理结果",
      "console.wrap.referral": "转介去向",
      "console.wrap.choose": "请选择…",
      "console.wrap.key_groups": "重点人群（如适用，可多选）",
      "console.wrap.follow_up": "需要随访",
      "console.wrap.summary": "简要记录",
      "console.wrap.summary_help": "请不要写入姓名、电话、住址等可识别身份的信息。",
      "console.wrap.submit": "提交结案记录",
      "console.wrap.missing": "请选择：{fields}",
      "console.wrap.saved": "对话 #{id} 的结案记录已保存。",
      "console.wrap.separator": "、",
      "console.wrap.fu.legend": "是否同意随访",
      "console.wrap.fu.required": "必填：本次风险为{risk}",
      "console.wrap.fu.optional": "（可选）",
      "console.wrap.fu.hint": "请问对方：之后是否愿意由我们回访（电话或短信）。",
      "console.wrap.fu.yes": "同意随访",
      "console.wrap.fu.no": "不随访",
      "console.wrap.fu.reason": "不随访的原因",
      "console.wrap.fu.caring": "对方也同意接收关怀短信",
      "console.wrap.fu.caring_hint": "简短的问候短信，不会提到热线、危机或随访。",
      "console.wrap.fu.owner": "由谁随访",
      "console.wrap.fu.owner_me": "我",
      "console.wrap.fu.owner_team": "{name}心理援助队",
      "console.wrap.fu.phone": "回访电话（必填）",
      "console.wrap.fu.phone_hint": "这个对话没有对方的号码。请填写对方愿意留下的手机号，带国家代码，如 +8613800000000。号码会加密保存，只用于随访。",
      "console.caller.label": "这位求助者此前的联系",
      "console.caller.first": "首次联系",
      "console.caller.repeat": "第 {n} 次联系",
      "console.caller.last": "上次风险：{risk}（{date}）",
      "console.caller.case": "随访个案",
      "console.caller.case_due": "（下次 {date}）",
      "console.caller.case_owner": "负责：{owner}",
      "console.caller.history": "查看历史",
      "console.caller.history_hint": "打开历史会被记录",
      "console.caller.date": "{month}月{day}日",
      "console.history.heading": "此前的联系记录",
      "console.history.close": "收起（Esc）",
      "console.history.recorded": "已记录：您于 {time} 打开了这位求助者的历史。仅用于服务眼前的求助者。",
      "console.history.more": "只显示最近 {shown} 次，共 {total} 次。",
      "console.history.none": "没有此前的联系。",
      "console.history.risk": "风险：{risk}",
      "console.history.category": "类别：{name}",
      "console.history.outcome": "结果：{name}",
      "console.history.referral": "转介：{name}",
      "console.history.fu_yes": "随访：同意",
      "console.history.fu_no": "随访：不随访（{reason}）",
      "console.history.fu_no_plain": "随访：未随访",
      "console.history.summary": "小结：",
      "console.history.no_summary": "（没有小结）",
      "console.history.no_wrap_up": "没有结案记录（{state}）",

      "console.floor.heading": "值班概况（督导）",
      "console.floor.counsellors": "咨询员",
      "console.floor.name": "姓名",
      "console.floor.presence": "状态",
      "console.floor.active_contacts": "进行中的对话",
      "console.floor.active": "所有进行中的对话",
      "console.floor.contact": "对话",
      "console.floor.counsellor": "咨询员",
      "console.floor.risk": "风险",
      "console.floor.channel": "渠道",
      "console.floor.state": "状态",
      "console.floor.duration": "时长（自来访起）",
      "console.floor.actions": "操作",
      "console.floor.no_counsellors": "目前没有咨询员在线。",
      "console.floor.no_active": "目前没有进行中的对话。",
      "console.floor.skip": "跳到值班概况",

      /* ---- dispatch board (/dispatch) and the console's dispatch request ---- */
      "role.coordinator": "调度员",
      "role.admin": "管理员",
      "board.title": "调度台 · 心理援助热线",
      "board.heading": "危机调度台",
      "board.skip.dispatches": "跳到调度列表",
      "board.skip.oncall": "跳到值班表",
      "board.nav": "调度台导航",
      "board.nav.new": "新建调度",
      "board.nav.dispatches": "调度列表",
      "board.nav.oncall": "值班表",
      "board.clock": "现在",
      "board.connection.lost": "与服务器的连接已断开，正在重新连接…页面上的信息可能不是最新的。",
      "board.notify.enable": "开启桌面通知",
      "board.notify.on": "桌面通知已开启",
      "board.notify.blocked": "桌面通知被浏览器阻止，页面内提示照常显示",
      "board.notify.unsupported": "此浏览器不支持桌面通知，页面内提示照常显示",
      "board.notify.dismiss": "知道了",
      "board.notify.page": "新调度 #{code}：正在呼叫{team}（{risk}）",
      "board.notify.wait_alarm": "等待超时 #{code}：高风险求助者等待过久，正在呼叫值班督导",
      "board.notify.escalated": "调度 #{code} 无人接受，已升级到第 {step} 步：正在呼叫下一位",
      "board.notify.accepted": "✓ {who} 已接受调度 #{code}{behalf}",
      "board.notify.declined": "✗ {who} 拒绝了调度 #{code}",
      "board.notify.alarm": "⚠ 警报：调度 #{code}（{team}）仍无人接受，已升级",
      "board.notify.exhausted": "⚠ 调度 #{code}（{team}）所有人员都已呼叫，无人接受。请立即电话联系！",
      "board.notify.on_behalf": "（调度员代为确认）",
      "board.new.heading": "新建调度",
      "board.new.district": "区县",
      "board.new.district_choose": "请选择区县…",
      "board.new.team": "派遣队伍",
      "board.new.team_auto": "按区县自动选择",
      "board.new.team_hint": "一般不用选：会呼叫该区县队伍的值班人员，无人接受时逐级升级。",
      "board.new.risk": "风险等级",
      "board.new.summary": "简要情况（最多 500 字）",
      "board.new.summary_hint": "Enter 发出，Shift+Enter 换行。请不要写姓名、电话、住址。",
      "board.new.submit": "发出调度，立即呼叫",
      "board.new.need_place": "请选择区县（或派遣队伍）。",
      "board.risk.imminent": "紧急危险",
      "board.risk.high": "高风险",
      "board.risk.moderate": "中风险",
      "board.risk.low": "低风险",
      "board.risk.none": "未评估",
      "board.dispatches.heading": "进行中的调度",
      "board.dispatches.hint": "最需要处理的在最前；已结束的调度保留 24 小时。",
      "board.dispatches.empty": "目前没有调度。",
      "board.oncall.heading": "谁在值班",
      "board.oncall.caption": "每支队伍当前和下一班的值班人员",
      "board.oncall.team": "队伍",
      "board.oncall.primary": "主班",
      "board.oncall.secondary": "副班",
      "board.oncall.next": "下一班",
      "board.oncall.action": "操作",
      "board.oncall.nobody": "⚠ 无人值班",
      "board.oncall.gap": "⚠ 排班空档：{start} 起",
      "board.oncall.next_at": "{time} 起：{primary}（主）、{secondary}（副）",
      "board.oncall.no_change": "60 天内不换班",
      "board.oncall.dispatch": "派遣{team}",
      "board.district.none": "未填写",
      "board.nobody": "无人",
      "board.with_role": "{name}（{role}）",
      "board.console_link": "咨询员工作台",
      "console.board_link": "调度台",
      "board.escalating_now": "正在升级…",
      "board.member_role.lead": "组长",
      "board.member_role.member": "队员",
      "board.member_role.psychiatrist": "精神科医生",
      "board.member_role.social_worker": "社工",
      "board.member_role.supervisor": "督导",
      "board.actor.system": "系统",
      "board.actor.responder": "响应人员本人",
      "board.actor.provider": "短信/电话服务商",
      "board.state.requested": "已请求",
      "board.state.paging": "呼叫中",
      "board.state.accepted": "已接受",
      "board.state.en_route": "已出发",
      "board.state.on_scene": "已到场",
      "board.state.resolved": "已结案",
      "board.state.cancelled": "已取消",
      "board.kind.wait_alarm": "等待超时警报",
      "board.flag.alarm": "⚠ 已升级警报",
      "board.flag.exhausted": "⚠ 无人接受：请立即电话联系",
      "board.card.title": "调度 #{code}",
      "board.card.team": "队伍",
      "board.card.district": "区县",
      "board.card.requested": "发起",
      "board.card.requested_by": "{who}，{time}",
      "board.card.elapsed": "已用时",
      "board.card.next_step": "距下一级升级",
      "board.card.step": "（第 {n} / {total} 步）",
      "board.card.exhausted_hint": "所有步骤都已呼叫，不会再自动升级",
      "board.card.not_started": "（尚未开始呼叫）",
      "board.card.accepted": "接受",
      "board.card.accepted_by": "{who} · {team}，{time}（{via}）{eta}{behalf}",
      "board.card.eta": "，预计 {n} 分钟到达",
      "board.card.on_behalf": "，由{who}代为确认",
      "board.card.outcome": "结果",
      "board.card.cancelled": "已取消：{reason}",
      "board.card.contact": "来自对话",
      "board.card.contact_id": "#{id}",
      "board.card.contact_disclosed": "#{id}（求助者电话已发给接受者）",
      "board.card.no_summary": "（没有填写简要情况）",
      "board.via.sms": "短信回复",
      "board.via.voice": "电话按键",
      "board.via.link": "短信链接",
      "board.via.board": "调度台",
      "board.pages.heading": "呼叫记录",
      "board.pages.time": "时间",
      "board.pages.member": "人员",
      "board.pages.channel": "方式",
      "board.pages.step": "步骤",
      "board.pages.status": "状态",
      "board.pages.response": "回应",
      "board.pages.none": "还没有呼叫任何人。",
      "board.channel.sms": "短信",
      "board.channel.voice": "电话",
      "board.page_state.pending": "等待发送",
      "board.page_state.sending": "发送中",
      "board.page_state.sent": "已发出",
      "board.page_state.failed": "未发出",
      "board.page_state.cancelled": "未发送（调度已有人接受或已结束）",
      "board.page_failed.sms": "短信未发出：{reason}",
      "board.page_failed.voice": "电话未拨出：{reason}",
      "board.page_error.telephony_off": "电话功能未开启",
      "board.page_error.no_number": "没有此人的电话号码",
      "board.page_error.provider": "短信/电话服务商出错",
      "board.page_error.other": "原因不明",
      "board.delivery.queued": "排队中",
      "board.delivery.sending": "发送中",
      "board.delivery.sent": "已发出",
      "board.delivery.delivered": "已送达",
      "board.delivery.undelivered": "未送达",
      "board.delivery.failed": "失败",
      "board.delivery.initiated": "正在拨号",
      "board.delivery.ringing": "响铃中",
      "board.delivery.in-progress": "通话中",
      "board.delivery.completed": "通话已结束",
      "board.delivery.busy": "占线",
      "board.delivery.no-answer": "无人接听",
      "board.delivery.canceled": "已取消",
      "board.response.accepted": "已接受",
      "board.response.declined": "已拒绝",
      "board.response.eta": "报到达时间",
      "board.response.machine": "答录机接听（已挂断）",
      "board.response.no_input": "接听但未按键",
      "board.response_line.declined": "{who} 拒绝（{via}，{time}）{reason}",
      "board.response_line.other": "{who}（{via}，{time}）{reason}",
      "board.response_line.reason": "：{reason}",
      "board.ack.heading": "对方已电话答应？",
      "board.ack.member": "接受的人",
      "board.ack.eta": "预计到达（分钟，可不填）",
      "board.ack.submit": "代为确认接受",
      "board.page.heading": "再呼叫一人",
      "board.page.member": "呼叫谁",
      "board.page.submit": "立即呼叫此人",
      "board.members.paged": "已呼叫的人",
      "board.members.choose": "请选择…",
      "board.members.need": "请先选择一个人。",
      "board.progress.en_route": "已出发",
      "board.progress.on_scene": "已到场",
      "board.disclose.submit": "把求助者电话发给接受者（会记录）",
      "board.resolve.outcome": "结果",
      "board.resolve.choose": "请选择结果…",
      "board.resolve.submit": "结案",
      "board.resolve.need": "请先选择结果。",
      "board.cancel.open": "取消调度…",
      "board.cancel.reason": "取消原因（必填）",
      "board.cancel.confirm": "确定取消调度",
      "board.cancel.back": "不取消",
      "board.timeline.heading": "时间线（{n} 条记录）",
      "board.event.requested": "发起调度",
      "board.event.paging": "第 {step} 步：呼叫 {names}",
      "board.event.page_sent": "{channel}已发出：{member}",
      "board.event.page_failed": "{channel}未发出：{member}（{error}）",
      "board.event.page_delivery": "{channel}状态：{status}",
      "board.event.page_machine": "答录机接听，已挂断：{member}",
      "board.event.accepted": "{member} 接受{eta}{behalf}",
      "board.event.on_behalf": "（代为确认）",
      "board.event.declined": "{member} 拒绝",
      "board.event.eta": "{member} 报到达时间{eta}",
      "board.event.en_route": "已出发",
      "board.event.on_scene": "已到场",
      "board.event.resolved": "结案：{outcome}",
      "board.event.cancelled": "取消：{reason}",
      "board.event.alarm": "⚠ 警报：第 {step} 步仍无人接受",
      "board.event.exhausted": "⚠ 所有步骤都已呼叫，无人接受",
      "board.event.step_skipped": "第 {step} 步无人可呼叫，已跳过",
      "board.event.paged_manually": "手动呼叫 {member}",
      "board.event.number_disclosed": "已把求助者电话发给 {member}",
      "board.error.dispatch_state": "这个调度的状态已经改变，不能这样操作。请看卡片上的最新状态。",
      "board.error.not_yours": "只能为您正在负责的对话请求调度。",
      "board.error.wrong_role": "您的角色不能进行这个操作。",
      "board.error.csrf": "页面已过期，请刷新页面后再试。",
      "board.error.no_number": "这个调度没有求助者的电话号码。",
      "board.error.telephony_off": "电话功能未开启，无法发送短信。",
      "board.error.network": "网络连接出现问题，请检查网络后再试。",
      "board.error.too_long": "简要情况最多 500 字，请精简。",
      "board.error.field.district_id": "所选区县无效，请重新选择。",
      "board.error.field.team_id": "所选队伍无效，请重新选择。",
      "board.error.field.risk": "请选择风险等级。",
      "board.error.field.summary": "简要情况无效，请修改后再试。",
      "board.error.field.reason": "请写明取消原因。",
      "board.error.field.member_id": "这个人不是该队伍的成员，请重新选择。",
      "board.error.field.eta_minutes": "预计到达时间应为 1 到 600 分钟。",
      "board.error.field.outcome": "请选择结果。",
      "board.error.field.contact_id": "对话编号无效。",
      "console.dispatch.open": "请求调度",
      "console.dispatch.heading": "请求派员到场",
      "console.dispatch.intro": "调度台会呼叫该区县的值班人员；您继续陪伴对方。",
      "console.dispatch.district": "区县",
      "console.dispatch.district_unknown": "不清楚（由市级队伍处理）",
      "console.dispatch.risk": "风险等级",
      "console.dispatch.summary": "简要情况（最多 500 字）",
      "console.dispatch.summary_hint": "写清需要什么帮助、在什么地方附近；不要写姓名和电话。Ctrl+Enter 发出。",
      "console.dispatch.submit": "发出调度请求",
      "console.dispatch.cancel": "取消",
      "console.dispatch.sent": "已请求调度 #{code}：{state}（{place}）。调度员会在调度台跟进。",
      "console.dispatch.city_team": "市级心理危机干预队伍",
      "console.dispatch.pages": "已呼叫：{names}",
      "console.dispatch.none": "未能发出请求。"
    },

    en: {
      "lang.switch": "中文",
      "app.name": "Psychological Assistance Hotline",

      "error.generic": "Something went wrong. Please try again in a moment.",
      "error.network": "There was a network problem. Please check the connection and try again.",
      "error.csrf": "This page has expired. Please reload it and try again.",
      "error.login_required": "Your sign-in has expired. Please sign in again.",
      "error.too_long": "That message is too long. Please split it into a few messages.",
      "error.too_fast": "You're sending messages a little fast. Please wait a few seconds — what you typed is still here.",
      "error.bad_request": "The message wasn't sent. Please try again.",
      "error.ended": "This conversation has ended.",
      "error.too_many_starts": "Too many conversations were started in a short time. Please wait a minute and try again.",
      "error.store_unavailable": "Our system is not answering just now. Please try again in a few seconds.",
      "error.unknown_district": "That district isn't valid. Please choose again.",
      "error.queue_empty": "Nobody is waiting right now.",
      "error.not_available": "You are on break. Switch your status to available first.",
      "error.not_active": "This conversation is no longer active; the message was not sent.",
      "error.empty": "Please type something first.",
      "error.not_yours": "This conversation isn't assigned to you.",
      "error.not_found": "That conversation could not be found.",
      "error.not_in_wrap_up": "End the conversation before writing the wrap-up.",
      "error.illegal_transition": "This conversation has changed state; the page has been refreshed — please check it.",
      "error.forbidden": "You are not allowed to do that.",
      "error.internal": "Something went wrong on the server. Please try again in a moment.",
      "error.invalid_category": "Please choose the main concern.",
      "error.invalid_outcome": "Please choose an outcome.",
      "error.invalid_referral": "Please choose a referral.",
      "error.invalid_key_groups": "A key-group choice is not valid. Please reload the page and try again.",
      "error.summary_too_long": "The summary is too long. Please shorten it.",
      "error.call_not_connected": "The call could not be put through to you; it is first in the queue again. Check your phone or browser answering and try again.",
      "error.voice_call": "This is a phone call, so there is no text reply: speak with the person and write anything you need in private notes.",
      "error.opted_out": "The person texted STOP: no more texts can be sent to this number.",
      "error.voice_unavailable": "Browser answering is not set up; calls ring your phone.",
      "error.follow_up_decision_required": "At high or imminent risk, say whether the person agrees to follow-up; if not, choose why.",
      "error.follow_up_reason_required": "Choose why there will be no follow-up.",
      "error.follow_up_phone_required": "There is no number to reach them: write the number they agree to give. If there is none, choose “No follow-up” with the reason “No way to reach them”.",
      "error.invalid_phone": "Write the number with its country code, e.g. +8613800000000.",
      "error.caring_needs_consent": "Caring texts need the person’s consent to follow-up.",
      "error.no_surge": "No incident response is running now, so there is nothing to tag.",
      "error.tagged_other_incident": "This contact is already tagged with another incident.",

      "risk.imminent": "Imminent",
      "risk.high": "High",
      "console.urgent.heading": "Urgent:",
      "console.urgent.text": "#{id} ({channel}) is in danger right now: please answer at once.",
      "console.urgent.take": "Answer now",
      "console.urgent.taken": "Another counsellor has already answered this person.",
      "console.alarm.heading": "Wait alarm:",
      "console.alarm.text": "#{id} ({risk} risk) has waited {waited} s, past the {target} s target.",
      "console.alarm.ack": "Acknowledge",
      "console.warning.heading": "Early warning:",
      "console.warning.open": "See the statistics",
      "console.fu.link": "Follow-ups",
      "console.incident.tag": "Incident",
      "console.incident.tag_title": "Affected by the incident (incident #{id})",
      "console.affected.button": "Affected by the incident",
      "console.affected.hint": "Mark this when the person says they or their family were affected by the incident.",
      "console.fu.overdue": "{n} overdue",
      "console.fu.today": "{n} due today",
      "console.fu.new_tab": " (opens in a new tab)",
      "console.fu.reconnecting": "⟳ alarms reconnecting",
      "console.fu.stale": "⚠ not updated",
      "console.fu.alarm.heading": "Follow-up alarm:",
      "console.fu.alarm.overdue_owner": "The follow-up of {p} ({risk}) is {late} overdue: please call soon.",
      "console.fu.alarm.review_owner": "{p} ({risk}) has finished its schedule: decide to close or continue ({late} overdue).",
      "console.fu.alarm.overdue_team": "The follow-up of {p} ({owner}) is {late} overdue: please tell the team.",
      "console.fu.alarm.overdue_supervisor": "The follow-up of {p} ({risk}) is {late} overdue, owner: {owner}. Supervisor, please step in.",
      "console.fu.alarm.flagged": "{p} could not be reached {n} times in a row (owner: {owner}). Supervisor, please look.",
      "console.fu.alarm.referral_flagged": "{p} has danger grade {grade}: a referral is needed (owner: {owner}).",
      "console.fu.alarm.more": "{n} more alarms: open the follow-up page to see them.",
      "console.fu.late.min": "{n} min",
      "console.fu.late.hour": "{n} h",
      "console.fu.late.day": "{n} days",
      "console.fu.owner.me": "you",
      "console.fu.owner.gone": "inactive account #{id}",
      "console.imminent.heading": "Imminent danger:",
      "console.imminent.text": "#{id}: a counsellor is with someone in imminent danger",
      "console.imminent.ack": "Acknowledge",
      "console.risk_rise.heading": "Risk raised:",
      "console.risk_rise.text": "#{id} risk raised: now {level}",
      "assess.heading": "Risk assessment",
      "assess.intro": "C-SSRS screener: ask about the past month.",
      "assess.yes": "Yes",
      "assess.no": "No",
      "assess.q.wish_dead": "1. In the past month, have you wished you were dead or wished you could go to sleep and not wake up?",
      "assess.q.suicidal_thoughts": "2. In the past month, have you actually had any thoughts of killing yourself?",
      "assess.q.method": "3. In the past month, have you been thinking about how you might do this?",
      "assess.q.intent": "4. In the past month, have you had these thoughts and had some intention of acting on them?",
      "assess.q.plan": "5. In the past month, have you started to work out or worked out the details of how to kill yourself? Do you intend to carry out this plan?",
      "assess.q.behaviour": "6. Have you ever done anything, started to do anything, or prepared to do anything to end your life? If so, when?",
      "assess.behaviour.none": "Never",
      "assess.behaviour.over_3_months": "Yes, over 3 months ago",
      "assess.behaviour.within_3_months": "Yes, within the past 3 months",
      "assess.behaviour.in_progress": "In progress (right now)",
      "assess.pf.heading": "Protective factors (choose any)",
      "assess.pf.family_support": "Support from family or friends",
      "assess.pf.reasons_for_living": "Reasons for living",
      "assess.pf.in_treatment": "In treatment",
      "assess.pf.children_or_dependants": "Children or dependants",
      "assess.pf.faith_or_culture": "Faith or cultural beliefs",
      "assess.pf.future_plans": "Plans for the future",
      "assess.pf.no_access_to_means": "No access to means",
      "assess.safety_plan": "Safety plan",
      "assess.reason": "Reason (required when lowering the level)",
      "assess.submit": "Submit assessment",
      "assess.result": "Assessment result:",
      "assess.result_at": "(assessed {time})",
      "assess.level.none": "None",
      "assess.unanswered": "Please answer every question (question {n} has no answer yet).",
      "error.reason_required": "The result is lower than the current risk level: write in “Reason” why it is lower.",
      "protocol.show": "Imminent-risk checklist",
      "protocol.hide": "Hide imminent-risk checklist",
      "protocol.heading": "Imminent-risk checklist",
      "protocol.intro": "Stay with the person and work through these steps in order; each is recorded with its time.",
      "protocol.step.location_asked": "Ask and confirm where the person is",
      "protocol.step.supervisor_alerted": "Supervisor alerted (done by the system)",
      "protocol.step.emergency_services": "Contact emergency services (or write why not)",
      "protocol.step.dispatch_requested": "Dispatch requested",
      "protocol.step.help_arrived": "Help confirmed arrived",
      "protocol.done_at": "✓ Done {time}",
      "protocol.done_service": "✓ Done {time} ({service})",
      "protocol.auto": "✓ Alerted automatically",
      "protocol.auto_pending": "Alerted automatically when the risk is imminent",
      "protocol.pending": "○ Not done",
      "protocol.record": "Record as done",
      "protocol.service": "Emergency service contacted",
      "protocol.service.110": "Police (110)",
      "protocol.service.120": "Ambulance (120)",
      "protocol.service.119": "Fire (119)",
      "protocol.service.none": "Not contacted (write why in the note)",
      "protocol.note": "Note (optional; required if no service was contacted)",
      "protocol.choose_service": "Choose which emergency service was contacted (or “not contacted”) first.",
      "protocol.reason_required": "Emergency services were not contacted: write why in the note.",
      "risk.moderate": "Moderate",
      "risk.low": "Low",
      "risk.none": "Not assessed",

      "channel.webchat": "Web chat",
      "channel.voice": "Phone",
      "channel.sms": "SMS",

      "state.queued": "Waiting",
      "state.offered": "Connecting",
      "state.active": "Active",
      "state.wrap_up": "Wrap-up",
      "state.closed": "Closed",
      "state.abandoned": "Left",
      "state.transferred": "Transferred",

      "presence.available": "Available",
      "presence.on_break": "On break",
      "presence.offline": "Offline",

      "role.counsellor": "Counsellor",
      "role.supervisor": "Supervisor",

      "chat.title": "Online chat · Psychological Assistance Hotline",
      "chat.heading": "Talk to us",
      "chat.welcome": "Hello, this is the 24-hour psychological assistance hotline. Whatever you are going through, you can talk it over here with a trained counsellor.",
      "chat.confidential": "What you share is kept confidential. You don't need to give your name or phone number.",
      "chat.returning": "This browser keeps a random number (nothing about you) so that if you come back, the counsellor knows you have talked with us before and you need not start from the beginning.",
      "chat.emergency.lead": "If you or someone else is in immediate danger, call",
      "chat.emergency.police": "(police)",
      "chat.emergency.or": "or",
      "chat.emergency.ambulance": "(ambulance)",
      "chat.noscript": "The online chat needs JavaScript turned on in your browser. In an emergency, call 110 or 120 now.",
      "chat.district.label": "Your district (optional)",
      "chat.district.none": "Prefer not to say",
      "chat.district.hint": "Only used to help the counsellor know what local help is available.",
      "chat.screener.intro": "Before you start, would you answer a few short questions? (You can skip them)",
      "chat.screener.why": "They help us reach the people who need help most first. Any question can be left unanswered.",
      "chat.screener.q_wished_dead": "In the past month, have you wished you were dead, or wished you could go to sleep and not wake up?",
      "chat.screener.q_thoughts": "In the past month, have you had any thoughts of killing yourself?",
      "chat.screener.q_acted": "Have you ever done anything, started to do anything, or prepared to do anything to end your life?",
      "chat.screener.q_safe": "Are you safe right now?",
      "chat.screener.yes": "Yes",
      "chat.screener.no": "No",
      "chat.screener.acted_never": "Never",
      "chat.screener.acted_over": "More than 3 months ago",
      "chat.screener.acted_recent": "Within the last 3 months",
      "chat.screener.acted_now": "Right now",
      "chat.surge.yes": "Yes, I was affected",
      "chat.surge.no": "No",
      "chat.surge.hint": "Only used to help the counsellor understand your situation and arrange the right help. You may leave it unanswered.",
      "chat.start": "Start chat",
      "chat.starting": "Starting…",
      "chat.status.connecting": "Connecting…",
      "chat.status.resuming": "Resuming your conversation…",
      "chat.status.queued": "Connecting you to a counsellor. People ahead of you: {ahead}. Estimated wait: about {minutes} min.",
      "chat.status.queued_no_estimate": "Connecting you to a counsellor. People ahead of you: {ahead}. Please wait a moment.",
      "chat.status.queued_next": "Connecting you to a counsellor. You are next — about {minutes} min.",
      "chat.status.queued_next_soon": "Connecting you to a counsellor. You are next — please wait a moment.",
      "chat.status.queued_plain": "Connecting you to a counsellor. Please wait a moment.",
      "chat.status.hint": "Please keep this page open. You can start writing what you want to say; the counsellor will reply here.",
      "chat.status.offered": "A counsellor is about to join…",
      "chat.status.active": "A counsellor has joined.",
      "chat.status.ended": "The conversation has ended.",
      "chat.connection.lost": "The connection dropped. Reconnecting… what you typed won't be lost.",
      "chat.messages.label": "Conversation",
      "chat.you": "You",
      "chat.counsellor": "Counsellor",
      "chat.input.label": "Your message",
      "chat.input.help": "Enter to send, Shift+Enter for a new line",
      "chat.counter": "{n} / {max}",
      "chat.counter.over": "{n} / {max} ({over} over the limit)",
      "chat.too_long_local": "This message has {n} characters, more than the limit of {max}. Please shorten it or split it into several messages.",
      "chat.not_connected": "The connection is down for a moment, so the message hasn't been sent. Reconnecting — what you typed is kept.",
      "chat.send": "Send",
      "chat.end": "End chat",
      "chat.end.question": "Are you sure you want to end this conversation? The counsellor won't be able to reply after that.",
      "chat.end.confirm": "Yes, end it",
      "chat.end.cancel": "Keep talking",
      "chat.ended.by_caller": "You ended the conversation. Thank you for reaching out.",
      "chat.ended.by_counsellor": "The counsellor has ended the conversation.",
      "chat.ended.other": "This conversation has ended.",
      "chat.ended.again": "If you need help again, you can contact us at any time. In an emergency, call 110 or 120 now.",
      "chat.new": "Start a new conversation",
      "chat.expired": "Your earlier conversation has ended. If you need help, you can start a new one.",
      "chat.waiting.title": "Please stay — we are connecting you…",
      "chat.waiting.text": "Our system is not answering just now. This page keeps trying by itself; you don't need to do anything. Everything you entered is kept.",
      "chat.waiting.trying": "Trying…",
      "chat.waiting.next": "Trying again in {seconds} s.",
      "chat.waiting.danger": "If you are in danger right now, don't wait: call 110 or 120.",
      "chat.waiting.cancel": "Cancel and go back",
      "chat.waiting.cancelled": "Cancelled. Everything you entered is still here; you can press “Start chat” again at any time.",

      "login.title": "Staff sign-in · Psychological Assistance Hotline",
      "login.heading": "Staff sign-in",
      "login.username": "Username",
      "login.password": "Password",
      "login.submit": "Sign in",
      "login.caller_hint": "If you need psychological support, go to",
      "login.caller_link": "the online chat",

      "forbidden.title": "Access denied · Psychological Assistance Hotline",
      "forbidden.heading": "You can't open this page",
      "forbidden.back": "Back to sign-in",

      "console.title": "Counsellor console · Psychological Assistance Hotline",
      "console.heading": "Counsellor console",
      "console.skip": "Skip to conversation",
      "console.signed_in_as": "Signed in: ",
      "console.presence.label": "My status: ",
      "console.presence.hint": "press to switch",
      "console.logout": "Sign out",
      "console.notice.dismiss": "OK",
      "console.connection.lost": "Connection to the server lost. Reconnecting… (attempt {n}) What you see may be out of date.",
      "console.connection.retry": "Retry now",
      "console.loading": "Loading…",
      "console.load_failed": "Could not load: {message}",

      "console.queue.heading": "Waiting",
      "console.queue.caption": "People waiting to be answered, in queue order",
      "console.queue.position": "#",
      "console.queue.channel": "Channel",
      "console.queue.risk": "Risk",
      "console.queue.waited": "Waited",
      "console.queue.district": "District",
      "console.queue.empty": "Nobody is waiting right now.",
      "console.take_next": "Take next",
      "console.take_next.call_notice": "A waiting call could not be put through to you (it is first in the queue again), so you were given the next text conversation.",

      "console.voice.phone": "Calls ring your phone",
      "console.voice.loading": "Setting up browser answering…",
      "console.voice.registering": "Browser answering is connecting…",
      "console.voice.ready": "Browser answering is ready: calls ring on this page",
      "console.voice.offline": "Browser answering is not connected: calls may not reach this page",
      "console.voice.not_ready": "Browser answering is not available: calls cannot be answered on this page",
      "console.voice.retrying": "Browser answering could not be set up; retrying shortly…",
      "console.voice.error": "Browser answering problem: {message}",
      "console.voice.error_code": "Browser answering problem (code {code}): {message}",
      "console.voice.mic_denied": "The microphone cannot be used: allow this page to use the microphone in the browser, then answer again.",
      "console.voice.sdk_missing": "The browser answering component did not load, so calls cannot be answered on this page. Reload the page; if that does not help, contact the administrator.",
      "console.voice.token_failed": "Browser answering could not renew its authorisation; retrying… If this keeps failing, calls will not reach this page.",
      "console.voice.turned_off": "Browser answering has been turned off; calls ring your phone.",

      "console.incoming.text": "A call is ringing in this browser",
      "console.incoming.hint": "It is not a call you just took with “Take next”.",
      "console.incoming.answer": "Answer",
      "console.incoming.decline": "Decline",

      "console.call.heading": "Phone",
      "console.call.ringing": "Ringing…",
      "console.call.ringing_phone": "Answer your phone. If you don't, the call goes back to the queue.",
      "console.call.ringing_browser": "Connecting in this browser…",
      "console.call.callback": "Connecting the person…",
      "console.call.active": "On the call",
      "console.call.timer": "Call time",
      "console.call.in_browser": "The call is in this browser.",
      "console.call.on_phone": "The call is on the phone you answered.",
      "console.call.muted": "Muted: the person cannot hear you.",
      "console.call.ended": "Call ended",
      "console.call.observing": "Observing: this shows the call's state only; you cannot hear the call.",
      "console.call.mute": "Mute",
      "console.call.unmute": "Unmute",
      "console.call.no_text": "This is a phone call: there is no transcript and no text reply. Write anything you need in private notes.",
      "console.call.requeued_notice": "Call #{id} was not answered; it is back in the queue.",
      "console.call.none": "There is no call in progress.",

      "console.district.none": "Not given",

      "console.my.heading": "My conversations",
      "console.my.empty": "You have no active conversations.",
      "console.my.unread": "{n} new",
      "console.my.person_ended": "Person left",

      "console.contact.title": "Conversation #{id}",
      "console.contact.none": "Choose a conversation under “My conversations”, or press “Take next”.",
      "console.contact.counsellor": "Counsellor: {name}",
      "console.contact.since": "Since {time}",
      "console.contact.observing": "Observing (read-only): this conversation is handled by {name}.",
      "console.contact.person_ended": "The person has ended the conversation. Please fill in the wrap-up below.",
      "console.contact.i_ended": "The conversation has ended. Please fill in the wrap-up below.",
      "console.contact.closed": "This conversation is closed.",
      "console.contact.person_ended_notice": "Conversation #{id}: the person has ended the chat. Please complete the wrap-up.",
      "console.contact.gone_notice": "Conversation #{id} has been closed.",
      "console.contact.no_messages": "No messages yet.",
      "console.contact.duration": "Duration",
      "console.from.caller": "Person",
      "console.from.counsellor": "Counsellor",
      "console.messages.label": "Conversation",
      "console.view": "View",

      "console.end": "End conversation",
      "console.end.question": "End this conversation? The person will be told it has ended, and you will then fill in the wrap-up.",
      "console.end.confirm": "Yes, end it",
      "console.end.cancel": "Cancel",
      "console.end.call": "Hang up and end",
      "console.end.question_call": "Hang up and end this conversation? The call is cut off at once, and you will then fill in the wrap-up.",
      "console.end.confirm_call": "Hang up and end",
      "console.end.keys_call": "Press Alt+H again or Enter to confirm, Esc to cancel.",

      "console.reply.label": "Reply to the person",
      "console.reply.help": "Enter or Ctrl+Enter to send, Shift+Enter for a new line",
      "console.reply.send": "Send",
      "console.reply.label_sms": "Text reply",
      "console.reply.sms_hint": "Replies go out as text messages to the person's phone. Texts are limited: keep replies short.",
      "console.reply.counter": "{n} / {max}",
      "console.reply.counter_over": "{n} / {max} ({over} over)",
      "console.reply.sms_too_long": "A text can have at most {max} characters; this one has {n}. Please shorten it or split it into several texts.",
      "console.reply.opted_out": "The person texted STOP: no more texts can be sent to this number.",
      "console.reply.server_said": "Server: {message}",

      "console.delivery.pending": "Text sending",
      "console.delivery.accepted": "Text queued",
      "console.delivery.queued": "Text queued",
      "console.delivery.sending": "Text sending",
      "console.delivery.sent": "Text sent",
      "console.delivery.delivered": "Text delivered",
      "console.delivery.read": "Text read",
      "console.delivery.failed": "Failed: this text did not reach the person",
      "console.delivery.undelivered": "Not delivered: this text did not reach the person",
      "console.delivery.other": "Text status: {status}",

      "console.notes.heading": "Private notes",
      "console.notes.private": "Staff only — never sent to the person",
      "console.notes.empty": "No notes yet.",
      "console.notes.label": "Add a private note",
      "console.notes.help": "Ctrl+Enter to save, Enter for a new line",
      "console.notes.add": "Save note",
      "console.notes.tag": "Private",
      "console.notes.me": "Me",
      "console.notes.staff": "Staff #{id}",

      "console.wrap.heading": "Wrap-up",
      "console.wrap.intro": "Fill this in to finish. After you submit, the conversation leaves “My conversations”.",
      "console.wrap.category": "Main concern",
      "console.wrap.outcome": "Outcome",
      "console.wrap.referral": "Referral",
      "console.wrap.choose": "Choose…",
      "console.wrap.key_groups": "Key groups (if any apply)",
      "console.wrap.follow_up": "Follow-up wanted",
      "console.wrap.summary": "Short summary",
      "console.wrap.summary_help": "Do not include names, phone numbers, addresses or anything else that identifies the person.",
      "console.wrap.submit": "Submit wrap-up",
      "console.wrap.missing": "Please choose: {fields}",
      "console.wrap.saved": "Wrap-up for conversation #{id} saved.",
      "console.wrap.separator": ", ",
      "console.wrap.fu.legend": "Does the person agree to follow-up?",
      "console.wrap.fu.required": "Required: the risk is {risk}",
      "console.wrap.fu.optional": "(optional)",
      "console.wrap.fu.hint": "Ask them: may we get back in touch later (a call or a text)?",
      "console.wrap.fu.yes": "Yes, agrees to follow-up",
      "console.wrap.fu.no": "No follow-up",
      "console.wrap.fu.reason": "Why no follow-up",
      "console.wrap.fu.caring": "They also agree to caring texts",
      "console.wrap.fu.caring_hint": "Short friendly texts that never mention the hotline, a crisis or follow-up.",
      "console.wrap.fu.owner": "Who follows up",
      "console.wrap.fu.owner_me": "Me",
      "console.wrap.fu.owner_team": "{name} assistance team",
      "console.wrap.fu.phone": "Number to reach them (required)",
      "console.wrap.fu.phone_hint": "This conversation has no number of theirs. Write the mobile number they agree to give, with its country code, e.g. +8613800000000. It is stored encrypted and used only for follow-up.",
      "console.caller.label": "This person's earlier contacts",
      "console.caller.first": "First contact",
      "console.caller.repeat": "Contact no. {n}",
      "console.caller.last": "Last risk: {risk} ({date})",
      "console.caller.case": "Follow-up case",
      "console.caller.case_due": "(next {date})",
      "console.caller.case_owner": "owner: {owner}",
      "console.caller.history": "View history",
      "console.caller.history_hint": "Opening the history is recorded",
      "console.caller.date": "{day} {monthName}",
      "console.history.heading": "Earlier contacts",
      "console.history.close": "Close (Esc)",
      "console.history.recorded": "Recorded: you opened this person's history at {time}. Use it only to serve the person in front of you.",
      "console.history.more": "Showing the latest {shown} of {total}.",
      "console.history.none": "No earlier contacts.",
      "console.history.risk": "Risk: {risk}",
      "console.history.category": "Concern: {name}",
      "console.history.outcome": "Outcome: {name}",
      "console.history.referral": "Referral: {name}",
      "console.history.fu_yes": "Follow-up: agreed",
      "console.history.fu_no": "Follow-up: none ({reason})",
      "console.history.fu_no_plain": "Follow-up: none",
      "console.history.summary": "Summary: ",
      "console.history.no_summary": "(no summary)",
      "console.history.no_wrap_up": "No wrap-up ({state})",

      "console.floor.heading": "Floor overview (supervisor)",
      "console.floor.counsellors": "Counsellors",
      "console.floor.name": "Name",
      "console.floor.presence": "Status",
      "console.floor.active_contacts": "Active conversations",
      "console.floor.active": "All active conversations",
      "console.floor.contact": "Conversation",
      "console.floor.counsellor": "Counsellor",
      "console.floor.risk": "Risk",
      "console.floor.channel": "Channel",
      "console.floor.state": "State",
      "console.floor.duration": "Duration (since arrival)",
      "console.floor.actions": "Actions",
      "console.floor.no_counsellors": "No counsellors are signed in.",
      "console.floor.no_active": "No active conversations.",
      "console.floor.skip": "Skip to floor overview",

      /* ---- dispatch board (/dispatch) and the console's dispatch request ---- */
      "role.coordinator": "Coordinator",
      "role.admin": "Administrator",
      "board.title": "Dispatch board · Psychological Assistance Hotline",
      "board.heading": "Crisis dispatch board",
      "board.skip.dispatches": "Skip to dispatches",
      "board.skip.oncall": "Skip to on-call table",
      "board.nav": "Board navigation",
      "board.nav.new": "New dispatch",
      "board.nav.dispatches": "Dispatches",
      "board.nav.oncall": "On call",
      "board.clock": "Now",
      "board.connection.lost": "Connection to the server lost; reconnecting… What you see may be out of date.",
      "board.notify.enable": "Turn on desktop notifications",
      "board.notify.on": "Desktop notifications on",
      "board.notify.blocked": "Desktop notifications are blocked by the browser; banners still show here",
      "board.notify.unsupported": "This browser has no desktop notifications; banners still show here",
      "board.notify.dismiss": "Got it",
      "board.notify.page": "New dispatch #{code}: paging {team} ({risk})",
      "board.notify.wait_alarm": "Wait alarm #{code}: a high-risk person has waited too long; paging the duty supervisor",
      "board.notify.escalated": "Dispatch #{code} unanswered, escalated to step {step}: paging the next person",
      "board.notify.accepted": "✓ {who} accepted dispatch #{code}{behalf}",
      "board.notify.declined": "✗ {who} declined dispatch #{code}",
      "board.notify.alarm": "⚠ Alarm: dispatch #{code} ({team}) is still unanswered and has escalated",
      "board.notify.exhausted": "⚠ Dispatch #{code} ({team}): everyone was paged, nobody accepted. Phone them now!",
      "board.notify.on_behalf": " (recorded by a coordinator)",
      "board.new.heading": "New dispatch",
      "board.new.district": "District",
      "board.new.district_choose": "Choose a district…",
      "board.new.team": "Team to send",
      "board.new.team_auto": "The district's team",
      "board.new.team_hint": "Usually leave this: the district team's on-call member is paged, then the escalation runs.",
      "board.new.risk": "Risk level",
      "board.new.summary": "Short summary (up to 500 characters)",
      "board.new.summary_hint": "Enter sends, Shift+Enter adds a line. No names, numbers or addresses.",
      "board.new.submit": "Send dispatch and page now",
      "board.new.need_place": "Choose a district (or a team).",
      "board.risk.imminent": "Imminent",
      "board.risk.high": "High",
      "board.risk.moderate": "Moderate",
      "board.risk.low": "Low",
      "board.risk.none": "Not assessed",
      "board.dispatches.heading": "Open dispatches",
      "board.dispatches.hint": "Most urgent first; finished dispatches stay for 24 hours.",
      "board.dispatches.empty": "No dispatches right now.",
      "board.oncall.heading": "Who is on call",
      "board.oncall.caption": "Each team's on-call members now and next",
      "board.oncall.team": "Team",
      "board.oncall.primary": "Primary",
      "board.oncall.secondary": "Secondary",
      "board.oncall.next": "Next shift",
      "board.oncall.action": "Action",
      "board.oncall.nobody": "⚠ Nobody on call",
      "board.oncall.gap": "⚠ Rota gap from {start}",
      "board.oncall.next_at": "From {time}: {primary} (primary), {secondary} (secondary)",
      "board.oncall.no_change": "No change within 60 days",
      "board.oncall.dispatch": "Dispatch {team}",
      "board.district.none": "Not given",
      "board.nobody": "nobody",
      "board.with_role": "{name} ({role})",
      "board.console_link": "Counsellor console",
      "console.board_link": "Dispatch board",
      "board.escalating_now": "escalating…",
      "board.member_role.lead": "lead",
      "board.member_role.member": "member",
      "board.member_role.psychiatrist": "psychiatrist",
      "board.member_role.social_worker": "social worker",
      "board.member_role.supervisor": "supervisor",
      "board.actor.system": "system",
      "board.actor.responder": "the responder",
      "board.actor.provider": "SMS/voice provider",
      "board.state.requested": "Requested",
      "board.state.paging": "Paging",
      "board.state.accepted": "Accepted",
      "board.state.en_route": "En route",
      "board.state.on_scene": "On scene",
      "board.state.resolved": "Resolved",
      "board.state.cancelled": "Cancelled",
      "board.kind.wait_alarm": "Wait alarm",
      "board.flag.alarm": "⚠ Alarm raised",
      "board.flag.exhausted": "⚠ Nobody accepted: phone them now",
      "board.card.title": "Dispatch #{code}",
      "board.card.team": "Team",
      "board.card.district": "District",
      "board.card.requested": "Requested",
      "board.card.requested_by": "{who}, {time}",
      "board.card.elapsed": "Elapsed",
      "board.card.next_step": "Next escalation in",
      "board.card.step": "(step {n} of {total})",
      "board.card.exhausted_hint": "every step has been paged; no further automatic escalation",
      "board.card.not_started": "(not paging yet)",
      "board.card.accepted": "Accepted",
      "board.card.accepted_by": "{who} · {team}, {time} ({via}){eta}{behalf}",
      "board.card.eta": ", arriving in about {n} min",
      "board.card.on_behalf": ", recorded by {who}",
      "board.card.outcome": "Outcome",
      "board.card.cancelled": "Cancelled: {reason}",
      "board.card.contact": "From conversation",
      "board.card.contact_id": "#{id}",
      "board.card.contact_disclosed": "#{id} (caller's number sent to the responder)",
      "board.card.no_summary": "(no summary given)",
      "board.via.sms": "SMS reply",
      "board.via.voice": "keypress",
      "board.via.link": "link",
      "board.via.board": "board",
      "board.pages.heading": "Page log",
      "board.pages.time": "Time",
      "board.pages.member": "Person",
      "board.pages.channel": "By",
      "board.pages.step": "Step",
      "board.pages.status": "Status",
      "board.pages.response": "Answer",
      "board.pages.none": "Nobody has been paged yet.",
      "board.channel.sms": "SMS",
      "board.channel.voice": "Call",
      "board.page_state.pending": "waiting to send",
      "board.page_state.sending": "sending",
      "board.page_state.sent": "sent",
      "board.page_state.failed": "not sent",
      "board.page_state.cancelled": "not sent (accepted or finished first)",
      "board.page_failed.sms": "Text not sent: {reason}",
      "board.page_failed.voice": "Call not placed: {reason}",
      "board.page_error.telephony_off": "telephony is off",
      "board.page_error.no_number": "no phone number for this person",
      "board.page_error.provider": "the SMS/voice provider failed",
      "board.page_error.other": "unknown reason",
      "board.delivery.queued": "queued",
      "board.delivery.sending": "sending",
      "board.delivery.sent": "sent",
      "board.delivery.delivered": "delivered",
      "board.delivery.undelivered": "undelivered",
      "board.delivery.failed": "failed",
      "board.delivery.initiated": "dialling",
      "board.delivery.ringing": "ringing",
      "board.delivery.in-progress": "in call",
      "board.delivery.completed": "call ended",
      "board.delivery.busy": "busy",
      "board.delivery.no-answer": "no answer",
      "board.delivery.canceled": "cancelled",
      "board.response.accepted": "accepted",
      "board.response.declined": "declined",
      "board.response.eta": "gave an ETA",
      "board.response.machine": "answering machine (hung up)",
      "board.response.no_input": "picked up, pressed nothing",
      "board.response_line.declined": "{who} declined ({via}, {time}){reason}",
      "board.response_line.other": "{who} ({via}, {time}){reason}",
      "board.response_line.reason": ": {reason}",
      "board.ack.heading": "Said yes by phone?",
      "board.ack.member": "Who accepted",
      "board.ack.eta": "Arriving in (minutes, optional)",
      "board.ack.submit": "Acknowledge on their behalf",
      "board.page.heading": "Page someone else",
      "board.page.member": "Whom",
      "board.page.submit": "Page this person now",
      "board.members.paged": "Already paged",
      "board.members.choose": "Choose…",
      "board.members.need": "Choose a person first.",
      "board.progress.en_route": "En route",
      "board.progress.on_scene": "On scene",
      "board.disclose.submit": "Text the caller's number to the responder (audited)",
      "board.resolve.outcome": "Outcome",
      "board.resolve.choose": "Choose an outcome…",
      "board.resolve.submit": "Resolve",
      "board.resolve.need": "Choose an outcome first.",
      "board.cancel.open": "Cancel dispatch…",
      "board.cancel.reason": "Reason (required)",
      "board.cancel.confirm": "Cancel the dispatch",
      "board.cancel.back": "Keep it",
      "board.timeline.heading": "Timeline ({n} entries)",
      "board.event.requested": "Dispatch requested",
      "board.event.paging": "Step {step}: paging {names}",
      "board.event.page_sent": "{channel} sent: {member}",
      "board.event.page_failed": "{channel} not sent: {member} ({error})",
      "board.event.page_delivery": "{channel} status: {status}",
      "board.event.page_machine": "Answering machine, hung up: {member}",
      "board.event.accepted": "{member} accepted{eta}{behalf}",
      "board.event.on_behalf": " (on their behalf)",
      "board.event.declined": "{member} declined",
      "board.event.eta": "{member} gave an ETA{eta}",
      "board.event.en_route": "En route",
      "board.event.on_scene": "On scene",
      "board.event.resolved": "Resolved: {outcome}",
      "board.event.cancelled": "Cancelled: {reason}",
      "board.event.alarm": "⚠ Alarm: still unanswered at step {step}",
      "board.event.exhausted": "⚠ Every step paged, nobody accepted",
      "board.event.step_skipped": "Step {step} skipped: nobody to page",
      "board.event.paged_manually": "Paged {member} by hand",
      "board.event.number_disclosed": "Caller's number sent to {member}",
      "board.error.dispatch_state": "This dispatch has changed and cannot do that now. Check the card's current state.",
      "board.error.not_yours": "You can only request a dispatch for a conversation you hold.",
      "board.error.wrong_role": "Your role cannot do this.",
      "board.error.csrf": "The page expired; reload it and try again.",
      "board.error.no_number": "This dispatch has no caller's number.",
      "board.error.telephony_off": "Telephony is off: no text can be sent.",
      "board.error.network": "Network problem; check the connection and try again.",
      "board.error.too_long": "The summary is limited to 500 characters.",
      "board.error.field.district_id": "That district is not valid; choose again.",
      "board.error.field.team_id": "That team is not valid; choose again.",
      "board.error.field.risk": "Choose a risk level.",
      "board.error.field.summary": "The summary is not valid; change it and try again.",
      "board.error.field.reason": "Say why the dispatch is cancelled.",
      "board.error.field.member_id": "That person is not in the team; choose again.",
      "board.error.field.eta_minutes": "Arrival time must be 1 to 600 minutes.",
      "board.error.field.outcome": "Choose an outcome.",
      "board.error.field.contact_id": "The conversation number is not valid.",
      "console.dispatch.open": "Request dispatch",
      "console.dispatch.heading": "Request someone on scene",
      "console.dispatch.intro": "The dispatch desk pages the district's on-call team; stay with the person.",
      "console.dispatch.district": "District",
      "console.dispatch.district_unknown": "Not sure (city team)",
      "console.dispatch.risk": "Risk level",
      "console.dispatch.summary": "Short summary (up to 500 characters)",
      "console.dispatch.summary_hint": "Say what help is needed and near where; no names or numbers. Ctrl+Enter sends.",
      "console.dispatch.submit": "Send dispatch request",
      "console.dispatch.cancel": "Cancel",
      "console.dispatch.sent": "Dispatch #{code} requested: {state} ({place}). The dispatch desk follows it up.",
      "console.dispatch.city_team": "city crisis-intervention team",
      "console.dispatch.pages": "Paged: {names}",
      "console.dispatch.none": "The request was not sent."
    }
  };

  function normalize(value) {
    if (!value) return null;
    const s = String(value).trim().toLowerCase();
    if (s.startsWith("zh")) return "zh-CN";
    if (s.startsWith("en")) return "en";
    return null;
  }

  function readStored() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (_e) {
      return null;
    }
  }

  function writeStored(value) {
    try {
      window.localStorage.setItem(STORAGE_KEY, value);
    } catch (_e) {
      /* storage unavailable (private mode): the choice lasts for this page only */
    }
  }

  function detect() {
    let fromQuery = null;
    try {
      fromQuery = new URLSearchParams(window.location.search).get("lang");
    } catch (_e) {
      fromQuery = null;
    }
    return normalize(fromQuery) || normalize(readStored()) ||
      normalize(document.documentElement.getAttribute("lang")) || SUPPORTED[0];
  }

  let lang = detect();
  /* an explicit ?lang= is a choice too: later pages (login → console) keep it */
  try {
    const q = normalize(new URLSearchParams(window.location.search).get("lang"));
    if (q) writeStored(q);
  } catch (_e) {
    /* ignore */
  }
  /* The city's own hotline name (config [hotline]) replaces the generic one everywhere. */
  (function useConfiguredName() {
    const meta = document.querySelector('meta[name="hotline-name"]');
    if (!meta) return;
    const names = { "zh-CN": meta.dataset.zh, en: meta.dataset.en };
    for (const lang of SUPPORTED) {
      const generic = DICT[lang]["app.name"];
      const name = names[lang];
      if (!name || !generic) continue;
      for (const key of Object.keys(DICT[lang])) {
        if (typeof DICT[lang][key] === "string") {
          DICT[lang][key] = DICT[lang][key].split(generic).join(name);
        }
      }
    }
  })();

  const listeners = [];

  function has(key) {
    return Object.prototype.hasOwnProperty.call(DICT["zh-CN"], key);
  }

  function t(key, params) {
    const table = DICT[lang] || DICT["zh-CN"];
    let s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : DICT["zh-CN"][key];
    if (s === undefined) return key;
    if (params) {
      s = s.replace(/\{(\w+)\}/g, (whole, name) =>
        params[name] === undefined || params[name] === null ? whole : String(params[name]));
    }
    return s;
  }

  function pick(obj) {
    if (!obj) return "";
    const zh = obj.name_zh || "";
    const en = obj.name_en || "";
    const fallback = obj.id === undefined || obj.id === null ? "" : String(obj.id);
    return lang === "en" ? (en || zh || fallback) : (zh || en || fallback);
  }

  const ATTRS = [
    ["i18nPlaceholder", "placeholder"],
    ["i18nAriaLabel", "aria-label"],
    ["i18nTitle", "title"]
  ];

  function translateElement(el) {
    const ds = el.dataset;
    if (ds.i18n) {
      let params = null;
      if (ds.i18nParams) {
        try {
          params = JSON.parse(ds.i18nParams);
        } catch (_e) {
          params = null;
        }
      }
      el.textContent = t(ds.i18n, params);
    } else if (ds.nameZh !== undefined || ds.nameEn !== undefined) {
      el.textContent = pick({ name_zh: ds.nameZh, name_en: ds.nameEn, id: ds.nameId });
    }
    for (const [dataKey, attr] of ATTRS) {
      if (ds[dataKey]) el.setAttribute(attr, t(ds[dataKey]));
    }
  }

  const SELECTOR = "[data-i18n], [data-name-zh], [data-name-en], [data-i18n-placeholder], " +
    "[data-i18n-aria-label], [data-i18n-title]";

  function apply(root) {
    const base = root || document;
    if (base.nodeType === 1 && base.matches(SELECTOR)) translateElement(base);
    for (const el of base.querySelectorAll(SELECTOR)) translateElement(el);
  }

  /* Give an element translated text that follows later language switches. */
  function set(el, key, params) {
    if (!el) return;
    el.dataset.i18n = key;
    if (params) el.dataset.i18nParams = JSON.stringify(params);
    else delete el.dataset.i18nParams;
    delete el.dataset.nameZh;
    delete el.dataset.nameEn;
    el.textContent = t(key, params);
  }

  /* Give an element fixed text (e.g. a message from the server) that is not retranslated. */
  function setText(el, text) {
    if (!el) return;
    delete el.dataset.i18n;
    delete el.dataset.i18nParams;
    delete el.dataset.nameZh;
    delete el.dataset.nameEn;
    el.textContent = text === undefined || text === null ? "" : String(text);
  }

  /* Give an element a configured {id, name_zh, name_en} name in the current language. */
  function setName(el, obj) {
    if (!el) return;
    delete el.dataset.i18n;
    delete el.dataset.i18nParams;
    el.dataset.nameZh = (obj && obj.name_zh) || "";
    el.dataset.nameEn = (obj && obj.name_en) || "";
    if (obj && obj.id !== undefined && obj.id !== null) el.dataset.nameId = String(obj.id);
    el.textContent = pick(obj);
  }

  function updateSwitch() {
    const btn = document.getElementById("lang-switch");
    if (!btn) return;
    const target = lang === "en" ? "zh-CN" : "en";
    btn.textContent = t("lang.switch");
    btn.setAttribute("lang", target);
    btn.dataset.target = target;
  }

  function updateUrl() {
    try {
      const url = new URL(window.location.href);
      if (url.searchParams.has("lang")) {
        url.searchParams.set("lang", lang);
        window.history.replaceState(window.history.state, "", url.toString());
      }
    } catch (_e) {
      /* ignore: the stored choice still applies */
    }
  }

  /* Forms marked data-lang-query post to their action with ?lang=<current>, so a page the
   * server renders in reply (e.g. a failed login) comes back in the chosen language. */
  function updateForms() {
    for (const form of document.querySelectorAll("form[data-lang-query]")) {
      if (!form.dataset.langQuery) form.dataset.langQuery = form.getAttribute("action") || "";
      const base = form.dataset.langQuery;
      form.setAttribute("action", base + (base.includes("?") ? "&" : "?") + "lang=" +
        encodeURIComponent(lang));
    }
  }

  function setLang(next, remember) {
    const value = normalize(next);
    if (!value) return;
    lang = value;
    if (remember !== false) writeStored(lang);
    document.documentElement.setAttribute("lang", lang);
    apply(document);
    updateSwitch();
    updateUrl();
    updateForms();
    for (const fn of listeners.slice()) {
      try {
        fn(lang);
      } catch (err) {
        if (window.console) window.console.error(err);
      }
    }
  }

  function onChange(fn) {
    if (typeof fn === "function") listeners.push(fn);
  }

  /* ISO 8601 → epoch ms; tolerates microseconds (Python isoformat) and a missing zone (UTC). */
  function parseTime(iso) {
    if (!iso) return NaN;
    let s = String(iso).trim().replace(" ", "T");
    s = s.replace(/(\.\d{3})\d+/, "$1");
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(s)) s += "Z";
    return Date.parse(s);
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  /* "14:05" today, "11-22 23:58" on another day (the browser's local time). */
  function formatTime(iso) {
    const ms = parseTime(iso);
    if (Number.isNaN(ms)) return "";
    const d = new Date(ms);
    const now = new Date();
    const hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
    const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() &&
      d.getDate() === now.getDate();
    return sameDay ? hm : pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + hm;
  }

  /* Milliseconds → "m:ss" or "h:mm:ss". */
  function formatDuration(ms) {
    if (!Number.isFinite(ms)) return "–";
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    return h > 0 ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function init() {
    document.documentElement.setAttribute("lang", lang);
    apply(document);
    updateSwitch();
    updateForms();
    const btn = document.getElementById("lang-switch");
    if (btn) {
      btn.addEventListener("click", () => {
        setLang(lang === "en" ? "zh-CN" : "en", true);
      });
    }
  }

  window.I18n = Object.freeze({
    get lang() {
      return lang;
    },
    supported: SUPPORTED.slice(),
    t,
    has,
    pick,
    apply,
    set,
    setText,
    setName,
    setLang,
    onChange,
    parseTime,
    formatTime,
    formatDuration
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
