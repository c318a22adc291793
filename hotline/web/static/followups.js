/* Follow-up of people at high risk: the lists (/followups) and a case (/followups/{id}).
 * Contract: docs/followups-api.md.
 *
 * Built for a tired volunteer at 3 a.m.: overdue cases first and red, then due today, then
 * later; every action is a real button or form field with its keyboard shortcut printed on
 * it (single letters, only while no text field has the focus); dates are in the hotline's
 * own time zone (not the browser's), risk and grade in words. The forms are static HTML, so
 * a live update re-renders what the case shows without touching what someone is typing.
 *
 * The strings live here (zh-CN first, English second) and follow the shared language
 * switch of i18n.js: elements carry data-fu="key" (i18n.js would overwrite data-i18n keys
 * it does not know), and I18n.onChange re-applies them.
 */
"use strict";

(() => {
  const I = window.I18n;
  const $ = (id) => document.getElementById(id);
  const { meta, make, hideMessage } = window.StaffPage;

  const RISKS = ["imminent", "high", "moderate", "low", "none"];
  const GRADES = [0, 1, 2, 3, 4, 5];
  const OVERSIGHT = new Set(["supervisor", "coordinator", "admin"]);
  const LIST_REFRESH_MS = 60000;
  const MAX_ALARMS = 8;
  const HOUR = 3600000;
  const DAY = 24 * HOUR;

  const STR = {
    "zh-CN": {
      "title.list": "随访",
      "title.case": "随访个案 {p}",
      "list.skip": "跳到逾期随访",
      "list.heading": "随访",
      "list.nav": "随访导航",
      "list.nav.new": "新建随访",
      "list.nav.overdue": "逾期",
      "list.nav.today": "今天到期",
      "list.nav.upcoming": "之后",
      "list.nav.undecided": "待决定",
      "clock": "热线时间",
      "notify.enable": "开启桌面通知",
      "notify.on": "桌面通知已开启",
      "notify.blocked": "桌面通知被浏览器阻止，页面内提示照常显示",
      "notify.unsupported": "此浏览器不支持桌面通知，页面内提示照常显示",
      "link.console": "咨询员工作台",
      "link.board": "调度台",
      "connection.lost": "与服务器的连接已断开，正在重新连接…列表可能不是最新的。",
      "connection.retry": "立即重试",
      "alarm.dismiss": "知道了",
      "alarm.title": "随访提醒",
      "alarm.overdue_owner": "⚠ {p} 的随访已逾期（应于 {due}），请尽快联系。",
      "alarm.overdue_team": "⚠ {p}（{owner}）的随访已逾期（应于 {due}），请通知该队伍。",
      "alarm.overdue_supervisor": "⚠ {p} 的随访逾期已久（应于 {due}，负责人：{owner}），请督导跟进。",
      "alarm.flagged": "⚠ {p} 连续 {n} 次未联系上（负责人：{owner}），请督导查看。",
      "alarm.referral_flagged": "⚠ {p} 危险性评估为 {grade} 级，需要转介（负责人：{owner}）。",
      "scope.label": "查看范围",
      "scope.mine": "我的随访",
      "scope.all": "全部随访",
      "scope.flagged": "需督导关注",
      "scope.team": "队伍：{team}",
      "scope.hint": "切换范围",
      "new.heading": "新建随访个案",
      "new.intro": "用于不是从结案记录开立的随访（例如转介来的人）。电话和姓名会加密保存，只在拨打前查看，并且每次查看都会被记录。",
      "new.submit": "开立随访个案",
      "new.cancel": "取消",
      "field.risk": "风险等级",
      "field.district": "区县",
      "field.district_none": "不确定",
      "field.owner": "由谁随访",
      "field.grade": "危险性评估（严重精神障碍，可不填）",
      "field.phone": "联系电话",
      "field.phone_hint": "以 + 和国家代码开头，例如 +8613800000000。",
      "field.name": "称呼（可不填）",
      "field.contact": "关联的对话编号（可不填）",
      "field.caring": "本人同意接收关怀短信（需要电话）",
      "owner.me": "我自己",
      "owner.user": "{name}（{role}）",
      "owner.gone": "已停用的账号 #{id}",
      "undecided.heading": "待决定：高风险但没有随访决定的对话",
      "undecided.hint": "这些对话在高风险或紧急状态下结束（例如对方离开、通话中断），还没有人决定是否随访。请开立随访，或记录不随访的原因。",
      "undecided.empty": "没有待决定的对话。",
      "undecided.item": "对话 #{id}：{channel}，{risk}，{state}，{district}，{time} 开始",
      "undecided.number": "有来电号码",
      "undecided.no_number": "没有来电号码",
      "undecided.owner": "由谁随访",
      "undecided.phone": "电话（可不填，默认用来电号码）",
      "undecided.caring": "关怀短信",
      "undecided.open": "开立随访",
      "undecided.reason": "不随访的原因",
      "undecided.choose": "请选择…",
      "undecided.no_case": "记录：不随访",
      "undecided.need_reason": "请先选择不随访的原因。",
      "bucket.overdue": "已逾期",
      "bucket.overdue_empty": "没有逾期的随访。",
      "bucket.today": "今天到期",
      "bucket.today_empty": "今天没有其他到期的随访。",
      "bucket.upcoming": "之后",
      "bucket.upcoming_empty": "没有之后的随访。",
      "row.owner": "负责人：{owner}",
      "row.district": "{district}",
      "due.contact": "下次随访",
      "due.review": "复核（计划已完成，请结案或继续）",
      "due.at": "{kind}：{time}",
      "due.overdue": "已逾期 {d}",
      "due.in": "还有 {d}",
      "due.closed": "已结案，不再随访",
      "dur.min": "{n} 分钟",
      "dur.hour": "{n} 小时",
      "dur.day": "{n} 天",
      "flag.failed": "连续 {n} 次未联系上",
      "flag.flagged": "已报督导",
      "flag.referral": "需要转介",
      "flag.supervisor": "逾期已通知督导",
      "risk.imminent": "紧急危险",
      "risk.high": "高风险",
      "risk.moderate": "中风险",
      "risk.low": "低风险",
      "risk.none": "无风险",
      "risk.choose": "— 请选择 —",
      "grade.choose": "未评估 / 不适用",
      "grade.none": "未评估",
      "grade.0": "0 级：无危险行为",
      "grade.1": "1 级：口头威胁、喊叫，没有打砸",
      "grade.2": "2 级：在家中打砸财物，能被劝止",
      "grade.3": "3 级：不分场合打砸财物，劝说不能停止",
      "grade.4": "4 级：持续打砸财物或伤人（含自伤、自杀），劝说不能停止",
      "grade.5": "5 级：持械伤人，或纵火、爆炸等",
      "grade.referral": "（需转介）",
      "grade.short": "危险性评估 {n} 级",
      "grade.every": "每 {d} 随访一次",
      "outcome.reached": "联系上了本人",
      "outcome.no_answer": "无人接听",
      "outcome.declined": "对方拒绝交谈",
      "outcome.wrong_number": "号码错误或不是本人",
      "source.wrap_up": "对话结案时开立",
      "source.manual": "手动开立",
      "source.incident": "突发事件登记",
      "case.state.open": "进行中",
      "case.state.closed": "已结案",
      "day.today": "今天",
      "day.tomorrow": "明天",
      "day.yesterday": "昨天",
      "weekdays": "周日,周一,周二,周三,周四,周五,周六",
      "case.skip": "跳到记录随访",
      "case.heading": "随访个案",
      "case.nav": "个案操作",
      "case.nav.list": "← 随访列表",
      "case.nav.attempt": "记录随访",
      "case.nav.dispatch": "请求调度",
      "case.nav.details": "联系方式",
      "case.nav.reassign": "转交",
      "case.nav.close": "结案",
      "fact.grade": "危险性评估",
      "fact.owner": "负责人",
      "fact.district": "区县",
      "fact.source": "来源",
      "fact.opened": "开立时间",
      "fact.failed": "连续未联系上",
      "fact.caring": "关怀短信",
      "failed.n": "{n} 次",
      "caring.off": "未开启",
      "caring.on": "已开启，已发 {n} 条",
      "offer.text": "刚才的随访发现风险升高。如果对方此刻有危险，请立即请求调度，由区县心理援助队派人到场。",
      "offer.button": "请求调度",
      "attempt.heading": "记录随访",
      "attempt.outcome": "这次随访的结果",
      "attempt.risk": "现在的风险等级（联系上时必填）",
      "attempt.grade": "危险性评估（严重精神障碍，可不填）",
      "attempt.note": "记录（可不填）",
      "attempt.note_hint": "Ctrl+Enter 保存。记录会加密保存，只有能查看这个个案的人能看到。",
      "attempt.submit": "保存随访记录",
      "attempt.saved": "已保存。{kind}：{time}。",
      "attempt.saved_rose": "已保存。风险升高了：如果对方此刻有危险，请立即请求调度。",
      "attempt.choose_outcome": "请先选择这次随访的结果。",
      "details.heading": "联系方式",
      "details.notice": "电话和姓名只在拨打前查看。每次查看都会被记录（谁、什么时候）。",
      "details.show": "显示电话和姓名（此操作将被记录）",
      "details.phone": "电话：",
      "details.name": "称呼：",
      "details.none": "（没有记录）",
      "details.audited": "您在 {time} 查看了联系方式，这次查看已被记录。",
      "details.hide": "隐藏",
      "dispatch.heading": "请求调度",
      "dispatch.intro": "调度台会呼叫这个区县心理援助队的值班人员到场。请尽量和对方保持联系。",
      "dispatch.risk": "风险等级",
      "dispatch.summary": "简要情况（最多 500 字）",
      "dispatch.summary_hint": "写明需要什么帮助、大概在哪里；不要写姓名和电话。",
      "dispatch.submit": "发出调度请求",
      "dispatch.sent": "已请求调度 #{code}：{state}（{team}）。调度台会跟进。",
      "dispatch.earlier": "{time} {actor} 请求了调度（{risk}）",
      "schedule.heading": "随访计划",
      "schedule.point": "第 {n} 次：{time}",
      "schedule.done": "✓ 已完成",
      "schedule.open": "○ 未完成",
      "schedule.grade": "危险性评估 {grade} 级：{every}",
      "schedule.empty": "风险计划已完成。",
      "timeline.heading": "随访记录",
      "timeline.empty": "还没有随访记录。",
      "timeline.item": "{outcome}",
      "timeline.by": "{time} · {actor}",
      "timeline.risk": "风险：{risk}",
      "timeline.grade": "危险性评估：{grade} 级",
      "reassign.heading": "转交",
      "reassign.owner": "交给",
      "reassign.submit": "转交这个个案",
      "reassign.done": "已转交给 {owner}。",
      "close.heading": "结案",
      "close.reason": "结案原因（必选）",
      "close.choose": "请选择结案原因…",
      "close.note": "说明（可不填）",
      "close.submit": "结案",
      "closed.text": "已于 {time} 结案：{reason}",
      "links.heading": "关联的对话和来电",
      "links.empty": "没有关联的对话。",
      "links.item": "#{id} {channel}，{risk}，{state}，{time} 开始（{link}）",
      "links.contact": "对话编号",
      "links.submit": "关联",
      "link.origin": "开立时的对话",
      "link.reply": "回复了关怀短信",
      "link.repeat": "再次联系热线",
      "link.manual": "手动关联",
      "caring.heading": "关怀短信",
      "caring.none": "本人没有同意接收关怀短信。",
      "caring.nothing_yet": "还没有发出关怀短信。",
      "caring.item": "第 {n} 条：{status}（{time}）",
      "caring.status.pending": "等待发送",
      "caring.status.not_sent": "未发出（电话功能未开启）",
      "caring.status.queued": "已交给短信平台",
      "caring.status.accepted": "已交给短信平台",
      "caring.status.sending": "发送中",
      "caring.status.sent": "已发出",
      "caring.status.delivered": "已送达",
      "caring.status.read": "已读",
      "caring.status.undelivered": "未送达",
      "caring.status.failed": "发送失败",
      "history.heading": "操作记录",
      "history.followup.opened": "开立个案（{risk}）",
      "history.followup.attempted": "记录随访：{outcome}（{risk}）",
      "history.followup.reassigned": "转交：{from} → {to}",
      "history.followup.flagged": "连续 {n} 次未联系上，已报督导",
      "history.followup.referral_flagged": "危险性评估 {grade} 级：需要转介",
      "history.followup.overdue": "逾期提醒（{stage}）",
      "history.stage.owner": "负责人",
      "history.stage.supervisor": "督导",
      "history.followup.dispatch_requested": "请求调度（{risk}）",
      "history.followup.closed": "结案：{reason}",
      "history.followup.contact_linked": "关联对话 #{id}（{link}）",
      "history.followup.caring_queued": "关怀短信第 {n} 条排队发送",
      "history.followup.caring_sent": "关怀短信：{status}",
      "history.followup.caring_skipped": "关怀短信未发送：对方已退订",
      "history.audit.case_details_read": "查看了联系方式（已记录）",
      "history.other": "{kind}",
      "actor.system": "系统",
      "err.generic": "出了点问题，请稍后再试。",
      "err.network": "网络连接出现问题，请检查网络后再试。",
      "err.csrf": "页面已过期，请刷新页面后再试。",
      "err.wrong_role": "您的角色不能进行这个操作。",
      "err.not_yours": "这个随访个案不由您负责。",
      "err.not_found": "找不到这个随访个案。",
      "err.forbidden": "您没有权限进行这个操作。",
      "err.case_closed": "这个个案已经结案。",
      "err.risk_required": "联系上本人时，请选择对方现在的风险等级。",
      "err.close_reason_required": "结案必须选择原因：请在“结案原因”里选择一项。",
      "err.invalid_phone": "电话号码格式不对：请以 + 和国家代码开头，例如 +8613800000000。",
      "err.unknown_district": "所选区县无效，请重新选择。",
      "err.unknown_team": "所选队伍无效，请重新选择。",
      "err.unknown_user": "所选的人员已停用或不存在，请重新选择。",
      "err.invalid_owner": "请选择由谁随访。",
      "err.caring_needs_phone": "发送关怀短信需要电话号码。",
      "err.invalid_outcome": "请先选择这次随访的结果。",
      "err.invalid_risk": "请选择风险等级。",
      "err.invalid_grade": "危险性评估是 0 到 5 级。",
      "err.too_long": "内容太长了，请精简。",
      "err.decided": "这个对话已经有随访决定了。",
      "err.invalid_reason": "请选择不随访的原因。",
      "err.dispatch_unavailable": "调度暂时不可用，请直接联系调度员。",
      "err.invalid_scope": "这个范围无效。",
      "err.field.contact_id": "对话编号无效。",
      "err.field.summary": "简要情况无效，请修改后再试。"
    },
    en: {
      "title.list": "Follow-ups",
      "title.case": "Follow-up case {p}",
      "list.skip": "Skip to overdue follow-ups",
      "list.heading": "Follow-ups",
      "list.nav": "Follow-up navigation",
      "list.nav.new": "New case",
      "list.nav.overdue": "Overdue",
      "list.nav.today": "Due today",
      "list.nav.upcoming": "Later",
      "list.nav.undecided": "Undecided",
      "clock": "Hotline time",
      "notify.enable": "Turn on desktop notifications",
      "notify.on": "Desktop notifications on",
      "notify.blocked": "Desktop notifications are blocked by the browser; banners still show here",
      "notify.unsupported": "This browser has no desktop notifications; banners still show here",
      "link.console": "Counsellor console",
      "link.board": "Dispatch board",
      "connection.lost": "Connection to the server lost; reconnecting… The lists may be out of date.",
      "connection.retry": "Retry now",
      "alarm.dismiss": "Got it",
      "alarm.title": "Follow-up alarm",
      "alarm.overdue_owner": "⚠ The follow-up of {p} is overdue (due {due}). Please call soon.",
      "alarm.overdue_team": "⚠ The follow-up of {p} ({owner}) is overdue (due {due}). Please tell the team.",
      "alarm.overdue_supervisor": "⚠ The follow-up of {p} is long overdue (due {due}, owner: {owner}). Supervisor, please step in.",
      "alarm.flagged": "⚠ {p} could not be reached {n} times in a row (owner: {owner}). Supervisor, please look.",
      "alarm.referral_flagged": "⚠ {p} has danger grade {grade}: a referral is needed (owner: {owner}).",
      "scope.label": "Showing",
      "scope.mine": "My follow-ups",
      "scope.all": "All follow-ups",
      "scope.flagged": "Needing a supervisor",
      "scope.team": "Team: {team}",
      "scope.hint": "change what is shown",
      "new.heading": "New follow-up case",
      "new.intro": "For follow-ups not opened from a wrap-up (a referral, say). The number and name are encrypted, shown only before a call, and every look at them is recorded.",
      "new.submit": "Open the case",
      "new.cancel": "Cancel",
      "field.risk": "Risk level",
      "field.district": "District",
      "field.district_none": "Not sure",
      "field.owner": "Who follows up",
      "field.grade": "Danger grade (severe mental disorder, optional)",
      "field.phone": "Phone number",
      "field.phone_hint": "Start with + and the country code, e.g. +8613800000000.",
      "field.name": "Name they use (optional)",
      "field.contact": "Linked conversation number (optional)",
      "field.caring": "They agreed to caring texts (needs a number)",
      "owner.me": "Me",
      "owner.user": "{name} ({role})",
      "owner.gone": "Disabled account #{id}",
      "undecided.heading": "Undecided: high-risk conversations with no follow-up decision",
      "undecided.hint": "These ended at high or imminent risk (the person left, the call dropped) and nobody has decided on a follow-up. Open a case, or record why not.",
      "undecided.empty": "No undecided conversations.",
      "undecided.item": "Conversation #{id}: {channel}, {risk}, {state}, {district}, started {time}",
      "undecided.number": "caller's number on file",
      "undecided.no_number": "no number",
      "undecided.owner": "Who follows up",
      "undecided.phone": "Phone (optional; the caller's number by default)",
      "undecided.caring": "Caring texts",
      "undecided.open": "Open a case",
      "undecided.reason": "Why no follow-up",
      "undecided.choose": "Choose…",
      "undecided.no_case": "Record: no follow-up",
      "undecided.need_reason": "Choose why there is no follow-up first.",
      "bucket.overdue": "Overdue",
      "bucket.overdue_empty": "No overdue follow-ups.",
      "bucket.today": "Due today",
      "bucket.today_empty": "Nothing else due today.",
      "bucket.upcoming": "Later",
      "bucket.upcoming_empty": "Nothing due later.",
      "row.owner": "Owner: {owner}",
      "row.district": "{district}",
      "due.contact": "Next follow-up",
      "due.review": "Review (schedule done: close or continue)",
      "due.at": "{kind}: {time}",
      "due.overdue": "overdue by {d}",
      "due.in": "in {d}",
      "due.closed": "Closed; no more follow-ups",
      "dur.min": "{n} min",
      "dur.hour": "{n} h",
      "dur.day": "{n} days",
      "flag.failed": "not reached {n} times in a row",
      "flag.flagged": "supervisor told",
      "flag.referral": "referral needed",
      "flag.supervisor": "overdue: supervisors alarmed",
      "risk.imminent": "Imminent danger",
      "risk.high": "High risk",
      "risk.moderate": "Moderate risk",
      "risk.low": "Low risk",
      "risk.none": "No risk",
      "risk.choose": "— choose —",
      "grade.choose": "Not assessed / not applicable",
      "grade.none": "Not assessed",
      "grade.0": "Grade 0: no dangerous behaviour",
      "grade.1": "Grade 1: verbal threats, shouting, no smashing",
      "grade.2": "Grade 2: smashing property at home, can be talked down",
      "grade.3": "Grade 3: smashing property anywhere, cannot be talked down",
      "grade.4": "Grade 4: persistent smashing of property or harm to people (incl. self-harm, suicide), cannot be talked down",
      "grade.5": "Grade 5: violence against people with a weapon, arson or explosion",
      "grade.referral": " (referral)",
      "grade.short": "Danger grade {n}",
      "grade.every": "a follow-up every {d}",
      "outcome.reached": "Reached the person",
      "outcome.no_answer": "No answer",
      "outcome.declined": "Declined to talk",
      "outcome.wrong_number": "Wrong number / not them",
      "source.wrap_up": "Opened at a conversation's wrap-up",
      "source.manual": "Opened by hand",
      "source.incident": "Incident registry",
      "case.state.open": "Open",
      "case.state.closed": "Closed",
      "day.today": "Today",
      "day.tomorrow": "Tomorrow",
      "day.yesterday": "Yesterday",
      "weekdays": "Sun,Mon,Tue,Wed,Thu,Fri,Sat",
      "case.skip": "Skip to recording an attempt",
      "case.heading": "Follow-up case",
      "case.nav": "Case actions",
      "case.nav.list": "← Follow-ups",
      "case.nav.attempt": "Record attempt",
      "case.nav.dispatch": "Request dispatch",
      "case.nav.details": "Contact details",
      "case.nav.reassign": "Reassign",
      "case.nav.close": "Close",
      "fact.grade": "Danger grade",
      "fact.owner": "Owner",
      "fact.district": "District",
      "fact.source": "Source",
      "fact.opened": "Opened",
      "fact.failed": "Not reached in a row",
      "fact.caring": "Caring texts",
      "failed.n": "{n} times",
      "caring.off": "Off",
      "caring.on": "On, {n} sent",
      "offer.text": "The last follow-up found a higher risk. If the person is in danger now, request a dispatch: the district team sends someone.",
      "offer.button": "Request dispatch",
      "attempt.heading": "Record an attempt",
      "attempt.outcome": "How the attempt went",
      "attempt.risk": "Risk now (required when reached)",
      "attempt.grade": "Danger grade (severe mental disorder, optional)",
      "attempt.note": "Note (optional)",
      "attempt.note_hint": "Ctrl+Enter saves. Notes are encrypted; only those who may see this case read them.",
      "attempt.submit": "Save the attempt",
      "attempt.saved": "Saved. {kind}: {time}.",
      "attempt.saved_rose": "Saved. The risk rose: if the person is in danger now, request a dispatch.",
      "attempt.choose_outcome": "Choose how the attempt went first.",
      "details.heading": "Contact details",
      "details.notice": "The number and name are for the call only. Every look is recorded (who and when).",
      "details.show": "Show number and name (this is recorded)",
      "details.phone": "Phone: ",
      "details.name": "Name: ",
      "details.none": "(none on file)",
      "details.audited": "You looked at the contact details at {time}; this was recorded.",
      "details.hide": "Hide",
      "dispatch.heading": "Request dispatch",
      "dispatch.intro": "The dispatch desk pages the district team on call to go there. Stay in touch with the person if you can.",
      "dispatch.risk": "Risk level",
      "dispatch.summary": "Short summary (up to 500 characters)",
      "dispatch.summary_hint": "Say what help is needed and roughly where; no names or numbers.",
      "dispatch.submit": "Send dispatch request",
      "dispatch.sent": "Dispatch #{code} requested: {state} ({team}). The dispatch desk follows it up.",
      "dispatch.earlier": "{time} {actor} requested a dispatch ({risk})",
      "schedule.heading": "Schedule",
      "schedule.point": "Follow-up {n}: {time}",
      "schedule.done": "✓ done",
      "schedule.open": "○ open",
      "schedule.grade": "Danger grade {grade}: {every}",
      "schedule.empty": "The risk schedule is complete.",
      "timeline.heading": "Attempts",
      "timeline.empty": "No attempts yet.",
      "timeline.item": "{outcome}",
      "timeline.by": "{time} · {actor}",
      "timeline.risk": "Risk: {risk}",
      "timeline.grade": "Danger grade: {grade}",
      "reassign.heading": "Reassign",
      "reassign.owner": "Hand to",
      "reassign.submit": "Reassign this case",
      "reassign.done": "Handed to {owner}.",
      "close.heading": "Close",
      "close.reason": "Reason (required)",
      "close.choose": "Choose a reason…",
      "close.note": "Note (optional)",
      "close.submit": "Close the case",
      "closed.text": "Closed {time}: {reason}",
      "links.heading": "Linked conversations and calls",
      "links.empty": "No linked conversations.",
      "links.item": "#{id} {channel}, {risk}, {state}, started {time} ({link})",
      "links.contact": "Conversation number",
      "links.submit": "Link",
      "link.origin": "where the case began",
      "link.reply": "replied to a caring text",
      "link.repeat": "contacted the line again",
      "link.manual": "linked by hand",
      "caring.heading": "Caring texts",
      "caring.none": "The person did not agree to caring texts.",
      "caring.nothing_yet": "No caring text sent yet.",
      "caring.item": "Text {n}: {status} ({time})",
      "caring.status.pending": "waiting to send",
      "caring.status.not_sent": "not sent (telephony off)",
      "caring.status.queued": "handed to the provider",
      "caring.status.accepted": "handed to the provider",
      "caring.status.sending": "sending",
      "caring.status.sent": "sent",
      "caring.status.delivered": "delivered",
      "caring.status.read": "read",
      "caring.status.undelivered": "undelivered",
      "caring.status.failed": "failed",
      "history.heading": "History",
      "history.followup.opened": "Case opened ({risk})",
      "history.followup.attempted": "Attempt: {outcome} ({risk})",
      "history.followup.reassigned": "Reassigned: {from} → {to}",
      "history.followup.flagged": "Not reached {n} times in a row: supervisor told",
      "history.followup.referral_flagged": "Danger grade {grade}: referral needed",
      "history.followup.overdue": "Overdue alarm ({stage})",
      "history.stage.owner": "owner",
      "history.stage.supervisor": "supervisors",
      "history.followup.dispatch_requested": "Dispatch requested ({risk})",
      "history.followup.closed": "Closed: {reason}",
      "history.followup.contact_linked": "Conversation #{id} linked ({link})",
      "history.followup.caring_queued": "Caring text {n} queued",
      "history.followup.caring_sent": "Caring text: {status}",
      "history.followup.caring_skipped": "Caring text skipped: the number opted out",
      "history.audit.case_details_read": "Contact details viewed (recorded)",
      "history.other": "{kind}",
      "actor.system": "System",
      "err.generic": "Something went wrong; please try again.",
      "err.network": "Network problem; check the connection and try again.",
      "err.csrf": "The page expired; reload it and try again.",
      "err.wrong_role": "Your role cannot do this.",
      "err.not_yours": "This follow-up case belongs to someone else.",
      "err.not_found": "There is no such follow-up case.",
      "err.forbidden": "You are not allowed to do this.",
      "err.case_closed": "This case is closed.",
      "err.risk_required": "When you reached the person, choose their risk now.",
      "err.close_reason_required": "A case closes only with a reason: choose one under “Reason”.",
      "err.invalid_phone": "That number is not valid: start with + and the country code, e.g. +8613800000000.",
      "err.unknown_district": "That district is not valid; choose again.",
      "err.unknown_team": "That team is not valid; choose again.",
      "err.unknown_user": "That person is disabled or unknown; choose again.",
      "err.invalid_owner": "Choose who follows up.",
      "err.caring_needs_phone": "Caring texts need a phone number.",
      "err.invalid_outcome": "Choose how the attempt went first.",
      "err.invalid_risk": "Choose a risk level.",
      "err.invalid_grade": "The danger grade is 0 to 5.",
      "err.too_long": "That is too long; please shorten it.",
      "err.decided": "This conversation already has a follow-up decision.",
      "err.invalid_reason": "Choose why there is no follow-up.",
      "err.dispatch_unavailable": "Dispatch is unavailable; call the coordinator directly.",
      "err.invalid_scope": "That view is not valid.",
      "err.field.contact_id": "That conversation number is not valid.",
      "err.field.summary": "The summary is not valid; change it and try again."
    }
  };

  /* -------------------------------------------------------------- strings */

  const { tr, has, say, apply: applyStrings } = window.StaffPage.pageStrings(STR, "fu");

  /* An API error: our words for its code (or field), else the server's message. */
  function showError(target, data) {
    const code = data && data.error;
    const field = data && data.field;
    if (code && has("err." + code)) say(target, "err." + code);
    else if (field && has("err.field." + field)) say(target, "err.field." + field);
    else if (data && data.message) {
      delete target.dataset.fu;
      target.textContent = data.message;
    } else say(target, "err.generic");
    target.hidden = false;
  }

  function clearError(target) {
    hideMessage(target);
    delete target.dataset.fu;
  }

  /* ------------------------------------------------------ time, hotline zone */

  const S = {
    offset: 0,
    leaving: false,
    options: null,
    alarms: [],
    busy: new Set()
  };
  const { now, setServerTime } = window.StaffPage.clock(S);
  const { api } = window.StaffPage.session(S);
  const ROLE = meta("user-role");
  const USER_ID = Number(meta("user-id"));
  const OVERSEER = OVERSIGHT.has(ROLE);
  let ZONE = meta("time-zone") || "Asia/Shanghai";
  let zoneFormat;
  try {
    zoneFormat = new Intl.DateTimeFormat("en-US", {
      timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
    });
  } catch (_e) {
    ZONE = "UTC";
    zoneFormat = new Intl.DateTimeFormat("en-US", {
      timeZone: "UTC", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
    });
  }

  /* The wall-clock fields of an instant in the hotline's zone. */
  function zoned(ms) {
    const p = {};
    for (const part of zoneFormat.formatToParts(new Date(ms))) p[part.type] = part.value;
    p.dayNumber = Math.round(Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day)) / DAY);
    return p;
  }

  /* "今天 14:05", "明天 09:00", "11-27 周五 09:00" — in the hotline's time zone. */
  function when(iso) {
    const ms = I.parseTime(iso);
    if (Number.isNaN(ms)) return "–";
    const p = zoned(ms);
    const today = zoned(now());
    const hm = p.hour + ":" + p.minute;
    const diff = p.dayNumber - today.dayNumber;
    if (diff === 0) return tr("day.today") + " " + hm;
    if (diff === 1) return tr("day.tomorrow") + " " + hm;
    if (diff === -1) return tr("day.yesterday") + " " + hm;
    const weekday = tr("weekdays").split(",")[new Date(p.dayNumber * DAY).getUTCDay()];
    const date = (p.year !== today.year ? p.year + "-" : "") + p.month + "-" + p.day;
    return date + " " + weekday + " " + hm;
  }

  function span(ms) {
    const abs = Math.abs(ms);
    if (abs < HOUR) return tr("dur.min", { n: Math.max(1, Math.round(abs / 60000)) });
    if (abs < 2 * DAY) return tr("dur.hour", { n: Math.round(abs / HOUR) });
    return tr("dur.day", { n: Math.round(abs / DAY) });
  }

  function tickClock() {
    const p = zoned(now());
    $("fu-clock").textContent = p.hour + ":" + p.minute + ":" + p.second;
  }

  /* --------------------------------------------------------------- words */

  function riskBadge(risk, node) {
    const badge = node || make("span");
    const r = RISKS.includes(risk) ? risk : "none";
    badge.className = "risk risk-" + r;
    say(badge, "risk." + r);
    return badge;
  }

  function gradeText(grade) {
    if (grade === null || grade === undefined) return tr("grade.none");
    const info = S.options && (S.options.grades || []).find((g) => g.grade === grade);
    return tr("grade." + grade) + (info && info.referral ? tr("grade.referral") : "");
  }

  function ownerText(owner) {
    if (!owner) return "–";
    if (owner.kind === "team") return I.pick({ name_zh: owner.name_zh, name_en: owner.name_en, id: owner.id });
    if (owner.kind === "user") {
      if (owner.id === USER_ID) return tr("owner.me") + (owner.label ? "（" + owner.label + "）" : "");
      if (!owner.label) return tr("owner.gone", { id: owner.id });
      return owner.role ? tr("owner.user", { name: owner.label, role: I.t("role." + owner.role) }) : owner.label;
    }
    return has("actor." + owner.kind) ? tr("actor." + owner.kind) : owner.kind || "–";
  }

  function districtText(district) {
    return district ? I.pick(district) : tr("field.district_none");
  }

  function dueLine(c) {
    if (c.state === "closed" || !c.next_due_at) return { text: tr("due.closed"), rel: "", overdue: false };
    const left = I.parseTime(c.next_due_at) - now();
    const kind = tr(c.due_kind === "review" ? "due.review" : "due.contact");
    return {
      text: tr("due.at", { kind, time: when(c.next_due_at) }),
      rel: c.overdue || left < 0 ? tr("due.overdue", { d: span(left) }) : tr("due.in", { d: span(left) }),
      overdue: Boolean(c.overdue) || left < 0
    };
  }

  function flagsOf(c) {
    const flags = [];
    if (c.flagged) flags.push(tr("flag.flagged"));
    if (c.failed_streak > 0) flags.push(tr("flag.failed", { n: c.failed_streak }));
    if (c.referral_flagged_at) flags.push(tr("flag.referral"));
    if (c.overdue_stage >= 2) flags.push(tr("flag.supervisor"));
    return flags;
  }

  /* ------------------------------------------------------------ selects */

  function option(value, text, selected) {
    const opt = make("option", null, text);
    opt.value = value;
    if (selected) opt.selected = true;
    return opt;
  }

  function fillSelect(select, options) {
    const keep = select.value;
    select.replaceChildren(...options);
    if (keep && Array.from(select.options).some((o) => o.value === keep)) select.value = keep;
  }

  function riskOptions(select, blank) {
    const opts = RISKS.map((r) => option(r, tr("risk." + r)));
    if (blank) opts.unshift(option("", tr("risk.choose")));
    fillSelect(select, opts);
  }

  function gradeOptions(select) {
    fillSelect(select, [option("", tr("grade.choose")), ...GRADES.map((g) => option(String(g), gradeText(g)))]);
  }

  function ownerOptions(select, withMe) {
    const o = S.options || {};
    const opts = [];
    if (withMe) opts.push(option("me", tr("owner.me")));
    for (const team of o.teams || []) opts.push(option("team:" + team.id, I.pick(team)));
    for (const person of o.staff || []) {
      if (person.id === USER_ID && withMe) continue;
      opts.push(option("user:" + person.id, tr("owner.user", { name: person.label, role: I.t("role." + person.role) })));
    }
    fillSelect(select, opts);
  }

  /* -------------------------------------------------------------- alarms */

  function alarmText(f) {
    const owner = ownerText(f.owner);
    const due = f.due_at ? when(f.due_at) : "–";
    if (f.kind === "flagged") return tr("alarm.flagged", { p: f.pseudonym, n: f.failed_streak, owner });
    if (f.kind === "referral_flagged") return tr("alarm.referral_flagged", { p: f.pseudonym, grade: f.grade, owner });
    if (f.stage === "supervisor") return tr("alarm.overdue_supervisor", { p: f.pseudonym, due, owner });
    if (f.owner && f.owner.kind === "team") return tr("alarm.overdue_team", { p: f.pseudonym, due, owner });
    return tr("alarm.overdue_owner", { p: f.pseudonym, due });
  }

  function renderAlarms() {
    const banner = $("alarm-banner");
    if (!S.alarms.length) {
      banner.hidden = true;
      return;
    }
    const items = S.alarms.map((f) => {
      const li = make("li", "fu-alarm alarm-" + f.kind);
      const link = make("a", null, alarmText(f));
      link.href = "/followups/" + f.case_id;
      li.appendChild(link);
      return li;
    });
    $("alarm-list").replaceChildren(...items);
    banner.hidden = false;
  }

  function addAlarm(f) {
    const key = f.case_id + ":" + f.kind + ":" + f.stage;
    S.alarms = S.alarms.filter((a) => a.case_id + ":" + a.kind + ":" + a.stage !== key);
    S.alarms.unshift(f);
    S.alarms.length = Math.min(S.alarms.length, MAX_ALARMS);
    renderAlarms();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const n = new Notification(tr("alarm.title"), {
        body: alarmText(f), tag: "followup-" + key, requireInteraction: true
      });
      n.onclick = () => {
        window.focus();
        location.assign("/followups/" + f.case_id);
      };
    } catch (_e) {
      /* some browsers allow notifications only from a service worker: the banner shows */
    }
  }

  function dismissAlarms() {
    S.alarms = [];
    renderAlarms();
  }

  function renderNotifyControls() {
    const btn = $("notify-enable");
    const state = $("notify-state");
    if (!("Notification" in window)) {
      btn.hidden = true;
      say(state, "notify.unsupported");
      state.hidden = false;
      return;
    }
    btn.hidden = Notification.permission !== "default";
    state.hidden = Notification.permission === "default";
    say(state, Notification.permission === "granted" ? "notify.on" : "notify.blocked");
  }

  async function enableNotifications() {
    try {
      await Notification.requestPermission();
    } catch (_e) {
      /* older browsers take a callback; the state is read again either way */
    }
    renderNotifyControls();
  }

  /* ----------------------------------------------------------- websocket */

  /* The follow-up socket: the server's clock and alarms for both pages, then `onFrame` for
   * what the page shows; `onOpen` re-reads it (whatever changed while we were away). */
  function connect(onFrame, onOpen) {
    const followupSocket = window.StaffPage.liveSocket(S, {
      path: "/api/followups/ws",
      onUp() {
        $("connection-banner").hidden = true;
        onOpen();
      },
      onDown() {
        $("connection-banner").hidden = false;
      },
      onFrame(f) {
        if (f.type === "hello" && f.now) setServerTime(f.now);
        else if (f.type === "alarm") addAlarm(f);
        onFrame(f);
      }
    });
    $("reconnect-now").addEventListener("click", followupSocket.reconnectNow);
    followupSocket.connect();
  }

  /* Single-letter shortcuts, only while no text field, list box or editor has the focus. */
  function shortcuts(map) {
    document.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
      const t = ev.target;
      const typing = t && (t.isContentEditable || t.tagName === "TEXTAREA" || t.tagName === "SELECT" ||
        (t.tagName === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(t.type)));
      if (typing) return;
      const k = (ev.key || "").toLowerCase();
      const fn = map[k];
      if (!fn) return;
      ev.preventDefault();
      fn();
    });
  }

  async function loadOptions() {
    const r = await api("GET", "/api/followups/options");
    if (r.ok) S.options = r.data;
    return r.ok;
  }

  /* What a page shows: `reload()` reads `path()` and hands the answer to `show`, or puts why
   * it failed in the page's error line (`errorId`) and keeps the last picture; `reloadSoon()`
   * makes the several frames of one change a single read, `settleMs` after the last. */
  function pageReader(path, errorId, settleMs, show) {
    let timer = null;

    async function reload() {
      const r = await api("GET", path());
      const error = $(errorId);
      if (!r.ok) {
        showError(error, r.data);
        return;
      }
      clearError(error);
      setServerTime(r.data.now);
      tickClock();
      show(r.data);
    }

    function reloadSoon() {
      clearTimeout(timer);
      timer = setTimeout(reload, settleMs);
    }

    return { reload, reloadSoon };
  }

  function commonWiring() {
    $("alarm-dismiss").addEventListener("click", dismissAlarms);
    $("notify-enable").addEventListener("click", enableNotifications);
    renderNotifyControls();
    applyStrings();
    setInterval(tickClock, 1000);
    tickClock();
  }

  /* ================================================================ the list */

  function initList() {
    const L = { data: null };
    const scopeSelect = $("scope");
    const { reload, reloadSoon } = pageReader(() => {
      const scope = OVERSEER ? (scopeSelect.dataset.ready ? scopeSelect.value : wantedScope()) : "mine";
      return "/api/followups?scope=" + encodeURIComponent(scope);
    }, "list-error", 150, (data) => {
      L.data = data;
      render();
    });

    function wantedScope() {
      const q = new URLSearchParams(location.search).get("scope");
      if (q) return q;
      return OVERSEER ? "all" : "mine";
    }

    function renderScopes() {
      if (!OVERSEER) return;
      /* the template's static options are placeholders: the URL (or the role) decides first */
      const keep = scopeSelect.dataset.ready ? scopeSelect.value : wantedScope();
      scopeSelect.dataset.ready = "1";
      const opts = [
        option("mine", tr("scope.mine")),
        option("all", tr("scope.all")),
        option("flagged", tr("scope.flagged"))
      ];
      for (const team of (S.options && S.options.teams) || []) {
        opts.push(option("team:" + team.id, tr("scope.team", { team: I.pick(team) })));
      }
      scopeSelect.replaceChildren(...opts);
      scopeSelect.value = keep;
      if (scopeSelect.value !== keep) scopeSelect.value = "all";
    }

    function row(c) {
      const li = make("li", "fu-item" + (c.overdue ? " fu-item-overdue" : ""));
      li.dataset.id = String(c.id);
      const link = make("a", "fu-open");
      link.href = "/followups/" + c.id;
      link.dataset.id = String(c.id);
      const top = make("span", "fu-item-top");
      top.append(make("strong", "fu-pseudonym", c.pseudonym), riskBadge(c.risk));
      if (c.grade !== null && c.grade !== undefined) top.append(make("span", "fu-grade", tr("grade.short", { n: c.grade })));
      const due = dueLine(c);
      const dueNode = make("span", "fu-due-text" + (due.overdue ? " is-overdue" : ""));
      dueNode.append(make("span", null, due.text), document.createTextNode(" "), make("strong", "fu-rel", due.rel));
      const facts = make("span", "fu-item-facts");
      facts.append(
        make("span", "fu-owner", tr("row.owner", { owner: ownerText(c.owner) })),
        make("span", "fu-district", districtText(c.district))
      );
      link.append(top, dueNode, facts);
      const flags = flagsOf(c);
      if (flags.length) {
        const flagLine = make("span", "fu-flags");
        for (const f of flags) flagLine.append(make("strong", "fu-flag", f));
        link.append(flagLine);
      }
      li.append(link);
      return li;
    }

    function renderBucket(listId, emptyId, countId, rows) {
      const focused = document.activeElement;
      const focusedId = focused && focused.classList && focused.classList.contains("fu-open") ? focused.dataset.id : null;
      $(listId).replaceChildren(...rows.map(row));
      $(emptyId).hidden = rows.length > 0;
      $(countId).textContent = String(rows.length);
      if (focusedId) {
        const again = $(listId).querySelector('a.fu-open[data-id="' + focusedId + '"]');
        if (again) again.focus({ preventScroll: true });
      }
    }

    function undecidedItem(u) {
      const li = make("li", "fu-undecided-item");
      li.dataset.contact = String(u.contact_id);
      const text = make("p", "fu-undecided-text", tr("undecided.item", {
        id: u.contact_id,
        channel: I.t("channel." + u.channel),
        risk: tr("risk." + u.risk),
        state: I.t("state." + u.state),
        district: districtText(u.district),
        time: when(u.started_at)
      }) + " · " + tr(u.has_number ? "undecided.number" : "undecided.no_number"));
      const error = make("p", "inline-message");
      error.setAttribute("role", "alert");
      error.hidden = true;

      const openForm = make("form", "fu-inline-form fu-undecided-open");
      openForm.noValidate = true;
      const ownerId = "ud-owner-" + u.contact_id;
      const ownerLabel = make("label", null, tr("undecided.owner"));
      ownerLabel.htmlFor = ownerId;
      const owner = make("select");
      owner.id = ownerId;
      ownerOptions(owner, true);
      const phoneId = "ud-phone-" + u.contact_id;
      const phoneLabel = make("label", null, tr("undecided.phone"));
      phoneLabel.htmlFor = phoneId;
      const phone = make("input");
      phone.type = "tel";
      phone.id = phoneId;
      phone.autocomplete = "off";
      const caringWrap = make("span", "field-checkbox");
      const caring = make("input");
      caring.type = "checkbox";
      caring.id = "ud-caring-" + u.contact_id;
      const caringLabel = make("label", null, tr("undecided.caring"));
      caringLabel.htmlFor = caring.id;
      caringWrap.append(caring, caringLabel);
      const openBtn = make("button", "btn btn-primary btn-small", tr("undecided.open"));
      openBtn.type = "submit";
      openForm.append(ownerLabel, owner, phoneLabel, phone, caringWrap, openBtn);
      openForm.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        clearError(error);
        const r = await api("POST", "/api/followups/decisions/" + u.contact_id, {
          action: "open", owner: owner.value, caring: caring.checked, phone: phone.value.trim() || null
        });
        if (r.ok) location.assign("/followups/" + r.data.id);
        else showError(error, r.data);
      });

      const noForm = make("form", "fu-inline-form fu-undecided-no");
      noForm.noValidate = true;
      const reasonId = "ud-reason-" + u.contact_id;
      const reasonLabel = make("label", null, tr("undecided.reason"));
      reasonLabel.htmlFor = reasonId;
      const reason = make("select");
      reason.id = reasonId;
      reason.append(option("", tr("undecided.choose")));
      for (const r of (S.options && S.options.no_follow_up_reasons) || []) reason.append(option(r.id, I.pick(r)));
      const noBtn = make("button", "btn btn-secondary btn-small", tr("undecided.no_case"));
      noBtn.type = "submit";
      noForm.append(reasonLabel, reason, noBtn);
      noForm.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        clearError(error);
        if (!reason.value) {
          say(error, "undecided.need_reason");
          error.hidden = false;
          reason.focus();
          return;
        }
        const r = await api("POST", "/api/followups/decisions/" + u.contact_id, { action: "no_case", reason: reason.value });
        if (r.ok) reload();
        else showError(error, r.data);
      });
      li.append(text, openForm, noForm, error);
      return li;
    }

    function renderUndecided(rows) {
      const panel = $("undecided");
      if (!OVERSEER) return;
      panel.hidden = false;
      $("go-undecided").hidden = false;
      /* keep forms someone is filling in: rebuild only when the set of contacts changed */
      const ids = rows.map((u) => u.contact_id).join(",");
      if (panel.dataset.ids !== ids || panel.dataset.lang !== I.lang) {
        panel.dataset.ids = ids;
        panel.dataset.lang = I.lang;
        $("undecided-list").replaceChildren(...rows.map(undecidedItem));
      }
      $("undecided-empty").hidden = rows.length > 0;
      $("count-undecided").textContent = String(rows.length);
    }

    function render() {
      const d = L.data;
      if (!d) return;
      renderBucket("list-overdue", "overdue-empty", "count-overdue", d.overdue || []);
      renderBucket("list-today", "today-empty", "count-today", d.due_today || []);
      renderBucket("list-upcoming", "upcoming-empty", "count-upcoming", d.upcoming || []);
      if (d.undecided) renderUndecided(d.undecided);
      const overdue = (d.overdue || []).length;
      document.title = (overdue ? "(" + overdue + ") " : "") + tr("title.list") + " · " + I.t("app.name");
    }

    function renderForm() {
      riskOptions($("new-risk"), false);
      if (!$("new-risk").dataset.touched) $("new-risk").value = "high";
      const district = $("new-district");
      fillSelect(district, [option("", tr("field.district_none")),
        ...((S.options && S.options.districts) || []).map((d) => option(d.id, I.pick(d)))]);
      gradeOptions($("new-grade"));
      ownerOptions($("new-owner"), true);
    }

    function toggleNew(show) {
      const panel = $("new-case");
      const open = show === undefined ? panel.hidden : show;
      panel.hidden = !open;
      $("go-new").setAttribute("aria-expanded", String(open));
      if (open) {
        $("new-risk").focus();
        panel.scrollIntoView({ block: "nearest" });
      }
    }

    async function submitNew(ev) {
      ev.preventDefault();
      if (S.busy.has("new")) return;
      const error = $("new-error");
      clearError(error);
      for (const el of $("new-form").querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
      const body = {
        risk: $("new-risk").value,
        district: $("new-district").value || null,
        owner: $("new-owner").value,
        grade: $("new-grade").value,
        phone: $("new-phone").value.trim() || null,
        name: $("new-name").value.trim() || null,
        contact_id: $("new-contact").value.trim() || null,
        caring: $("new-caring").checked
      };
      S.busy.add("new");
      $("new-submit").setAttribute("aria-busy", "true");
      const r = await api("POST", "/api/followups", body);
      S.busy.delete("new");
      $("new-submit").removeAttribute("aria-busy");
      if (r.ok) {
        location.assign("/followups/" + r.data.id);
        return;
      }
      showError(error, r.data);
      const target = {
        risk: "new-risk", district: "new-district", owner: "new-owner", grade: "new-grade",
        phone: "new-phone", name: "new-name", contact_id: "new-contact", caring: "new-caring"
      }[r.data && r.data.field];
      if (target) {
        $(target).setAttribute("aria-invalid", "true");
        $(target).focus();
      }
    }

    function focusFirst(listId, sectionId) {
      const first = $(listId).querySelector("a.fu-open");
      if (first) first.focus();
      else $(sectionId).focus();
      $(sectionId).scrollIntoView({ block: "nearest" });
    }

    commonWiring();
    $("scope-panel").hidden = !OVERSEER;
    $("console-link").hidden = !(ROLE === "counsellor" || ROLE === "supervisor");
    $("board-link").hidden = !OVERSEER;
    scopeSelect.addEventListener("change", () => {
      const url = new URL(location.href);
      url.searchParams.set("scope", scopeSelect.value);
      history.replaceState(history.state, "", url.toString());
      reload();
    });
    $("new-risk").addEventListener("change", () => {
      $("new-risk").dataset.touched = "1";
    });
    $("new-form").addEventListener("submit", submitNew);
    $("new-cancel").addEventListener("click", () => {
      toggleNew(false);
      $("go-new").focus();
    });
    $("go-new").addEventListener("click", () => toggleNew());
    $("go-overdue").addEventListener("click", () => focusFirst("list-overdue", "overdue"));
    $("go-today").addEventListener("click", () => focusFirst("list-today", "due-today"));
    $("go-upcoming").addEventListener("click", () => focusFirst("list-upcoming", "upcoming"));
    $("go-undecided").addEventListener("click", () => $("undecided").focus());
    shortcuts({
      n: () => toggleNew(true),
      o: () => focusFirst("list-overdue", "overdue"),
      t: () => focusFirst("list-today", "due-today"),
      u: () => focusFirst("list-upcoming", "upcoming"),
      d: () => {
        if (OVERSEER) $("undecided").focus();
      },
      s: () => {
        if (OVERSEER) scopeSelect.focus();
      },
      k: dismissAlarms
    });
    I.onChange(() => {
      applyStrings();
      renderScopes();
      renderForm();
      render();
      renderAlarms();
      renderNotifyControls();
    });
    setInterval(reload, LIST_REFRESH_MS); /* "due today" becomes "overdue" with the clock */
    loadOptions().then(() => {
      renderScopes();
      renderForm();
      return reload();
    }).then(() => connect((f) => {
      if (f.type === "changed") reloadSoon();
    }, reloadSoon));
  }

  /* ================================================================ a case */

  function initCase() {
    const CASE_ID = Number(meta("case-id"));
    const C = { view: null };
    const { reload, reloadSoon } = pageReader(() => "/api/followups/" + CASE_ID, "case-error", 100, (view) => {
      C.view = view;
      render();
    });

    function renderHead(c) {
      $("case-title").textContent = c.pseudonym;
      say($("case-state"), "case.state." + c.state);
      $("case-state").className = "fu-state fu-state-" + c.state;
      riskBadge(c.risk, $("case-risk"));
      const flags = flagsOf(c);
      $("case-flag").hidden = flags.length === 0;
      $("case-flag").textContent = flags.join(" · ");
      const due = dueLine(c);
      const dueNode = $("case-due");
      dueNode.replaceChildren(make("span", "fu-due-when", due.text));
      if (due.rel) {
        dueNode.append(document.createTextNode(" "), make("strong", "fu-rel" + (due.overdue ? " fu-overdue-word" : ""), due.rel));
      }
      dueNode.classList.toggle("is-overdue", due.overdue);
      $("case-grade").textContent = gradeText(c.grade);
      $("case-owner").textContent = ownerText(c.owner);
      $("case-district").textContent = districtText(c.district);
      say($("case-source"), "source." + c.source);
      $("case-opened").textContent = when(c.opened_at);
      $("case-failed").textContent = tr("failed.n", { n: c.failed_streak });
      $("case-caring").textContent = c.caring_sms ? tr("caring.on", { n: c.caring_sent }) : tr("caring.off");
      document.title = tr("title.case", { p: c.pseudonym }) + " · " + I.t("app.name");
    }

    function renderSchedule(c) {
      const items = (c.schedule || []).map((p, i) => {
        const li = make("li", "fu-point" + (p.done ? " is-done" : ""));
        li.append(make("span", "fu-point-state", tr(p.done ? "schedule.done" : "schedule.open")),
          document.createTextNode(" "), make("span", null, tr("schedule.point", { n: i + 1, time: when(p.at) })));
        return li;
      });
      if (c.grade !== null && c.grade !== undefined && S.options) {
        const info = (S.options.grades || []).find((g) => g.grade === c.grade);
        if (info) {
          items.push(make("li", "fu-point fu-point-grade", tr("schedule.grade", {
            grade: c.grade, every: tr("grade.every", { d: span(info.every_seconds * 1000) })
          })));
        }
      }
      if (!items.length) items.push(make("li", "empty", tr("schedule.empty")));
      $("schedule-list").replaceChildren(...items);
    }

    function renderAttempts(c) {
      const items = (c.attempts || []).map((a) => {
        const li = make("li", "fu-attempt-item outcome-" + a.outcome);
        const head = make("p", "fu-attempt-head");
        head.append(make("strong", "fu-attempt-outcome", tr("outcome." + a.outcome)), document.createTextNode(" "), riskBadge(a.risk));
        if (a.grade !== null && a.grade !== undefined) head.append(document.createTextNode(" "), make("span", "fu-grade", tr("timeline.grade", { grade: a.grade })));
        li.append(head, make("p", "fu-attempt-by", tr("timeline.by", { time: when(a.at), actor: ownerText(a.actor) })));
        if (a.note) li.append(make("p", "fu-attempt-note", a.note));
        return li;
      });
      $("attempt-list").replaceChildren(...items);
      $("timeline-empty").hidden = items.length > 0;
      $("count-attempts").textContent = String(items.length);
    }

    function renderLinks(c) {
      const items = (c.links || []).map((l) => make("li", null, tr("links.item", {
        id: l.contact_id,
        channel: I.t("channel." + l.channel),
        risk: tr("risk." + l.risk),
        state: I.t("state." + l.state),
        time: when(l.started_at),
        link: tr("link." + l.link)
      })));
      $("links-list").replaceChildren(...items);
      $("links-empty").hidden = items.length > 0;
    }

    function renderCaring(c) {
      const items = (c.caring_texts || []).map((t) => make("li", null, tr("caring.item", {
        n: t.seq + 1,
        status: has("caring.status." + t.status) ? tr("caring.status." + t.status) : t.status,
        time: when(t.at)
      })));
      $("caring-list").replaceChildren(...items);
      const empty = $("caring-empty");
      empty.hidden = items.length > 0;
      say(empty, c.caring_sms ? "caring.nothing_yet" : "caring.none");
    }

    function historyText(e) {
      const d = e.data || {};
      const key = "history." + e.kind;
      if (!has(key)) return tr("history.other", { kind: e.kind });
      const reason = d.reason && S.options ? (S.options.close_reasons || []).find((r) => r.id === d.reason) : null;
      return tr(key, {
        risk: d.risk ? tr("risk." + d.risk) : "",
        outcome: d.outcome ? tr("outcome." + d.outcome) : "",
        from: typeof d.from === "object" ? ownerText(d.from) : d.from,
        to: typeof d.to === "object" ? ownerText(d.to) : d.to,
        n: d.failed_streak !== undefined ? d.failed_streak : (d.seq !== undefined ? d.seq + 1 : ""),
        grade: d.grade,
        stage: d.stage ? tr("history.stage." + d.stage) : "",
        reason: reason ? I.pick(reason) : d.reason,
        id: d.contact_id,
        link: d.link ? tr("link." + d.link) : "",
        status: d.status ? (has("caring.status." + d.status) ? tr("caring.status." + d.status) : d.status) : ""
      });
    }

    function renderHistory(c) {
      const items = (c.history || []).slice().reverse().map((e) => {
        const li = make("li", "fu-history-item");
        li.append(make("span", "fu-history-time", when(e.at)), document.createTextNode(" "),
          make("span", null, historyText(e)));
        if (e.actor && e.actor.kind === "user") li.append(document.createTextNode(" · " + ownerText(e.actor)));
        return li;
      });
      $("history-list").replaceChildren(...items);
    }

    function renderActions(c) {
      const open = c.state === "open";
      for (const id of ["attempt", "dispatch", "reassign"]) $(id).hidden = !open;
      for (const id of ["go-attempt", "go-dispatch", "go-reassign", "go-close"]) $(id).hidden = !open;
      $("close-form").hidden = !open;
      $("link-form").hidden = !open;
      const closed = $("closed-text");
      closed.hidden = open;
      if (!open) {
        const reason = S.options ? (S.options.close_reasons || []).find((r) => r.id === c.close_reason) : null;
        say(closed, "closed.text", { time: when(c.closed_at), reason: reason ? I.pick(reason) : c.close_reason });
      }
      $("dispatch-offer").hidden = !(open && c.offer_dispatch);
      const ownerSelect = $("reassign-owner");
      ownerOptions(ownerSelect, true);
      if (!ownerSelect.dataset.touched) {
        const current = c.owner.kind === "team" ? "team:" + c.owner.id : (c.owner.id === USER_ID ? "me" : "user:" + c.owner.id);
        ownerSelect.value = current;
        if (ownerSelect.value !== current && c.owner.kind === "user") {
          ownerSelect.append(option(current, ownerText(c.owner)));
          ownerSelect.value = current;
        }
      }
      if (!$("dispatch-risk").dataset.touched) $("dispatch-risk").value = c.risk;
    }

    function render() {
      const c = C.view;
      if (!c) return;
      renderHead(c);
      renderSchedule(c);
      renderAttempts(c);
      renderLinks(c);
      renderCaring(c);
      renderHistory(c);
      renderActions(c);
      const dispatches = c.dispatches || [];
      if (dispatches.length && $("dispatch-result").hidden) {
        const last = dispatches[dispatches.length - 1];
        const result = $("dispatch-result");
        say(result, "dispatch.earlier", { time: when(last.at), actor: ownerText(last.actor), risk: tr("risk." + last.risk) });
        result.hidden = false;
      }
    }

    function renderForms() {
      riskOptions($("attempt-risk"), true);
      gradeOptions($("attempt-grade"));
      riskOptions($("dispatch-risk"), false);
      const reasons = ((S.options && S.options.close_reasons) || []).map((r) => option(r.id, I.pick(r)));
      fillSelect($("close-reason"), [option("", tr("close.choose")), ...reasons]);
    }

    /* The attempt form answers with the case; a rise in risk puts dispatch first. */
    async function submitAttempt(ev) {
      if (ev) ev.preventDefault();
      if (S.busy.has("attempt")) return;
      const error = $("attempt-error");
      const result = $("attempt-result");
      clearError(error);
      result.hidden = true;
      const checked = document.querySelector('#attempt-form input[name="outcome"]:checked');
      if (!checked) {
        say(error, "attempt.choose_outcome");
        error.hidden = false;
        document.querySelector('#attempt-form input[name="outcome"]').focus();
        return;
      }
      S.busy.add("attempt");
      $("attempt-submit").setAttribute("aria-busy", "true");
      const r = await api("POST", "/api/followups/" + CASE_ID + "/attempts", {
        outcome: checked.value,
        risk: $("attempt-risk").value || null,
        grade: $("attempt-grade").value,
        note: $("attempt-note").value
      });
      S.busy.delete("attempt");
      $("attempt-submit").removeAttribute("aria-busy");
      if (!r.ok) {
        showError(error, r.data);
        const field = r.data && r.data.field;
        if (field === "risk") $("attempt-risk").focus();
        else if (field === "grade") $("attempt-grade").focus();
        else if (field === "note") $("attempt-note").focus();
        else if (field === "outcome") checked.focus();
        return;
      }
      setServerTime(r.data.now);
      C.view = r.data;
      $("attempt-form").reset();
      render();
      if (r.data.risk_rose) {
        say(result, "attempt.saved_rose");
        $("dispatch-risk").value = r.data.risk;
        $("dispatch-risk").dataset.touched = "1";
        result.hidden = false;
        $("offer-dispatch").focus();
      } else {
        const kind = tr(r.data.due_kind === "review" ? "due.review" : "due.contact");
        say(result, "attempt.saved", { kind, time: r.data.next_due_at ? when(r.data.next_due_at) : "–" });
        result.hidden = false;
      }
    }

    async function submitDispatch(ev) {
      if (ev) ev.preventDefault();
      if (S.busy.has("dispatch")) return;
      const error = $("dispatch-error");
      const result = $("dispatch-result");
      clearError(error);
      S.busy.add("dispatch");
      $("dispatch-submit").setAttribute("aria-busy", "true");
      const r = await api("POST", "/api/followups/" + CASE_ID + "/dispatch", {
        risk: $("dispatch-risk").value, summary: $("dispatch-summary").value.trim()
      });
      S.busy.delete("dispatch");
      $("dispatch-submit").removeAttribute("aria-busy");
      if (!r.ok) {
        showError(error, r.data);
        return;
      }
      const d = r.data;
      const team = (S.options && (S.options.teams || []).find((t) => t.id === d.team_id)) || null;
      say(result, "dispatch.sent", {
        code: d.code,
        state: I.has("board.state." + d.state) ? I.t("board.state." + d.state) : d.state,
        team: team ? I.pick(team) : I.t("console.dispatch.city_team")
      });
      result.hidden = false;
      $("dispatch-summary").value = "";
      reload();
    }

    async function showDetails() {
      if (S.busy.has("details")) return;
      const error = $("details-error");
      clearError(error);
      S.busy.add("details");
      const r = await api("POST", "/api/followups/" + CASE_ID + "/details", {});
      S.busy.delete("details");
      if (!r.ok) {
        showError(error, r.data);
        return;
      }
      const phone = $("details-phone");
      if (r.data.phone) {
        const link = make("a", null, r.data.phone);
        link.href = "tel:" + r.data.phone;
        phone.replaceChildren(link);
      } else phone.textContent = tr("details.none");
      $("details-name").textContent = r.data.name || tr("details.none");
      say($("details-audited"), "details.audited", { time: when(r.data.read_at) });
      $("details-result").hidden = false;
      $("details-show").hidden = true;
      reload(); /* the read is in the case's history now */
    }

    function hideDetails() {
      $("details-phone").replaceChildren();
      $("details-name").textContent = "";
      $("details-result").hidden = true;
      $("details-show").hidden = false;
      $("details-show").focus();
    }

    async function submitReassign(ev) {
      ev.preventDefault();
      const error = $("reassign-error");
      clearError(error);
      const r = await api("POST", "/api/followups/" + CASE_ID + "/owner", { owner: $("reassign-owner").value });
      if (!r.ok) {
        showError(error, r.data);
        return;
      }
      delete $("reassign-owner").dataset.touched;
      C.view = r.data;
      render();
      if (r.data.owner.kind === "user" && r.data.owner.id !== USER_ID && !OVERSEER) location.assign("/followups");
    }

    async function submitClose(ev) {
      ev.preventDefault();
      const error = $("close-error");
      clearError(error);
      $("close-reason").removeAttribute("aria-invalid");
      const r = await api("POST", "/api/followups/" + CASE_ID + "/close", {
        reason: $("close-reason").value || null, note: $("close-note").value
      });
      if (!r.ok) {
        showError(error, r.data);
        if (r.data && r.data.field === "reason") {
          $("close-reason").setAttribute("aria-invalid", "true");
          $("close-reason").focus();
        }
        return;
      }
      C.view = r.data;
      render();
      $("closed-text").scrollIntoView({ block: "nearest" });
    }

    async function submitLink(ev) {
      ev.preventDefault();
      const error = $("link-error");
      clearError(error);
      const r = await api("POST", "/api/followups/" + CASE_ID + "/links", { contact_id: $("link-contact").value.trim() });
      if (!r.ok) {
        showError(error, r.data);
        return;
      }
      $("link-contact").value = "";
      C.view = r.data;
      render();
    }

    function focusAttempt() {
      if ($("attempt").hidden) return;
      const radio = document.querySelector('#attempt-form input[name="outcome"]:checked') ||
        document.querySelector('#attempt-form input[name="outcome"]');
      radio.focus();
      $("attempt").scrollIntoView({ block: "nearest" });
    }

    function focusDispatch() {
      if ($("dispatch").hidden) return;
      $("dispatch-risk").focus();
      $("dispatch").scrollIntoView({ block: "nearest" });
    }

    function focusOn(sectionId, controlId) {
      if ($(sectionId).hidden) return;
      const control = $(controlId);
      if (control && !control.hidden) control.focus();
      $(sectionId).scrollIntoView({ block: "nearest" });
    }

    commonWiring();
    renderForms();
    $("attempt-form").addEventListener("submit", submitAttempt);
    $("attempt-note").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && !ev.isComposing) {
        ev.preventDefault();
        submitAttempt();
      }
    });
    $("dispatch-form").addEventListener("submit", submitDispatch);
    $("dispatch-risk").addEventListener("change", () => {
      $("dispatch-risk").dataset.touched = "1";
    });
    $("reassign-owner").addEventListener("change", () => {
      $("reassign-owner").dataset.touched = "1";
    });
    $("reassign-form").addEventListener("submit", submitReassign);
    $("close-form").addEventListener("submit", submitClose);
    $("link-form").addEventListener("submit", submitLink);
    $("details-show").addEventListener("click", showDetails);
    $("details-hide").addEventListener("click", hideDetails);
    $("offer-dispatch").addEventListener("click", focusDispatch);
    $("go-attempt").addEventListener("click", focusAttempt);
    $("go-dispatch").addEventListener("click", focusDispatch);
    $("go-details").addEventListener("click", () => focusOn("details", "details-show"));
    $("go-reassign").addEventListener("click", () => focusOn("reassign", "reassign-owner"));
    $("go-close").addEventListener("click", () => focusOn("close", "close-reason"));
    /* P only moves to the "show" button: reading the number is recorded, so it takes a
     * deliberate Enter, never a stray keypress. */
    shortcuts({
      a: focusAttempt,
      d: focusDispatch,
      p: () => focusOn("details", "details-show"),
      r: () => focusOn("reassign", "reassign-owner"),
      c: () => focusOn("close", "close-reason"),
      l: () => location.assign("/followups"),
      k: dismissAlarms
    });
    I.onChange(() => {
      applyStrings();
      renderForms();
      render();
      renderAlarms();
      renderNotifyControls();
    });
    setInterval(() => {
      if (C.view) renderHead(C.view); /* "in 3 h" / "overdue by 5 min" move with the clock */
    }, 30000);
    loadOptions().then(() => {
      renderForms();
      return reload();
    }).then(() => connect((f) => {
      if (f.type === "changed" && (f.case_id === CASE_ID || f.kind === "resync")) reloadSoon();
    }, reloadSoon));
  }

  if (document.body.classList.contains("page-followups")) initList();
  else if (document.body.classList.contains("page-followup-case")) initCase();
})();
