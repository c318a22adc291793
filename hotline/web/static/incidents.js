/* Mass incidents: the board (/incidents) and the after-action report (/incidents/{id}/report).
 * Contract: docs/incidents-api.md.
 *
 * For a tired coordinator at 3 a.m.: with no incident, one big declare form; with one, the
 * teams' roll-up, the checklist (overdue in red, a "完成" button each), the situation
 * report's countdown, the registry, group sessions, duty hours and the timeline. Every main
 * action is a real button with its shortcut printed on it; times are in the hotline's own
 * time zone. Strings live here (zh-CN first, English second) on data-in="key" and follow the
 * shared language switch (I18n.onChange). Registered people appear by pseudonym only.
 */
"use strict";

(() => {
  const I = window.I18n;
  const $ = (id) => document.getElementById(id);
  const { meta, make, hideMessage } = window.StaffPage;
  const TZ = meta("time-zone") || "Asia/Shanghai";
  const RISKS = ["imminent", "high", "moderate", "low", "none"];

  const STR = {
    "zh-CN": {
      "skip": "跳到主要内容",
      "heading": "应急事件",
      "clock": "热线时间",
      "link.board": "调度台",
      "link.followups": "随访",
      "link.incidents": "应急事件",
      "connection.lost": "与服务器的连接已断开，正在重新连接…页面上的信息可能不是最新的。",
      "connection.retry": "立即重试",
      "alarm.dismiss": "知道了",
      "alarm.step_overdue": "⚠ 清单事项已逾期：{title}",
      "alarm.sitrep_due": "⚠ 工作简报到期，请报送。",
      "alarm.rest_due": "⚠ {name} 已连续值守较长时间，请安排轮休。",
      "declare.heading": "宣布启动应急预案",
      "declare.intro": "宣布后会立即呼叫预案中的队伍、生成工作清单，并让热线进入应急模式。",
      "declare.plan": "预案",
      "declare.districts": "涉及区县（至少选一个）",
      "declare.description": "情况说明（可不填）",
      "declare.submit": "宣布启动",
      "declare.mobilises": "将呼叫：{teams}",
      "declare.district_teams": "所选区县的队伍",
      "declare.sending": "正在宣布…",
      "report.draft": "查看报告（草稿）",
      "report.final": "查看总结报告",
      "standdown.button": "解除应急响应",
      "standdown.question": "确定解除？热线会退出应急模式，未接受的队伍呼叫会被取消，并生成事件总结报告。",
      "standdown.yes": "确定解除",
      "standdown.no": "取消",
      "meta": "区县：{districts} · 启动于 {at} · 已持续 {elapsed}",
      "teams.heading": "队伍动员",
      "teams.rollup": "{n}/{m} 支队伍已接受",
      "reserve.heading": "后备咨询员召集",
      "reserve.rollup": "{n}/{m} 人将到岗",
      "reserve.none": "本预案未召集后备咨询员",
      "reserve.coming": "将到岗",
      "reserve.eta": "约 {n} 分钟后到",
      "reserve.cannot": "无法到岗",
      "reserve.waiting": "等待回复",
      "teams.team": "队伍",
      "teams.code": "调度号",
      "teams.state": "状态",
      "teams.member": "接受人",
      "teams.minutes": "用时",
      "teams.min": "{n} 分钟",
      "checklist.heading": "工作清单",
      "checklist.due": "期限 {at}",
      "checklist.overdue": "已逾期",
      "checklist.done_at": "已完成 {at}",
      "checklist.done": "完成",
      "owner.coordinator": "协调员",
      "owner.supervisor": "督导",
      "owner.city_team": "市级队伍",
      "owner.district_teams": "区县队伍",
      "sitrep.heading": "工作简报",
      "sitrep.body": "简报内容",
      "sitrep.submit": "报送",
      "sitrep.next": "下一份简报 {at} 到期（还有 {left}）· 已报送 {n} 份",
      "sitrep.overdue": "工作简报已逾期 {left}（应于 {at}）· 已报送 {n} 份",
      "sitrep.filed": "已报送。",
      "contacts.heading": "热线中标记为受影响的来电来信",
      "contacts.total": "合计 {n}",
      "registry.heading": "受影响人员登记",
      "registry.submit": "登记",
      "registry.pseudonym": "编号",
      "registry.case": "随访",
      "registry.done": "已登记 {p}",
      "registry.case_opened": "已登记 {p}，并建立随访个案 {c}",
      "registry.empty": "还没有登记。",
      "field.district": "区县",
      "field.tier": "人群分级",
      "field.risk": "风险等级",
      "field.exposures": "暴露因素",
      "field.name": "称呼（可不填，加密保存，看板上不显示）",
      "field.phone": "联系电话（可不填，加密保存）",
      "sessions.heading": "团体干预",
      "sessions.kind": "形式",
      "sessions.participants": "参加人数",
      "sessions.submit": "记录",
      "sessions.item": "{at} {district} {kind}，{n} 人",
      "kind.debriefing": "心理晤谈",
      "kind.psychoeducation": "心理健康教育",
      "kind.support_group": "支持小组",
      "duty.heading": "人员值守与轮休",
      "duty.empty": "还没有人员开始值守（队伍接受动员后自动开始计时）。",
      "duty.item": "{name}：已值守 {h} 小时",
      "duty.rest": "请安排轮休",
      "duty.off": "已休息",
      "duty.end": "结束值守（轮休）",
      "timeline.heading": "时间线",
      "risk.imminent": "紧急危险",
      "risk.high": "高风险",
      "risk.moderate": "中风险",
      "risk.low": "低风险",
      "risk.none": "无风险",
      "exposure.injured": "受伤",
      "exposure.bereaved": "亲人遇难",
      "exposure.home_lost": "房屋损毁",
      "exposure.trapped": "曾被困",
      "exposure.threat_to_life": "生命受威胁",
      "exposure.witnessed_death": "目睹死亡",
      "exposure.earlier_mental_illness": "既往精神疾病",
      "state.requested": "已请求",
      "state.paging": "呼叫中",
      "state.accepted": "已接受",
      "state.en_route": "在路上",
      "state.on_scene": "已到达",
      "state.resolved": "已完成",
      "state.cancelled": "已取消",
      "state.exhausted": "无人接受",
      "report.heading": "事件处置总结报告",
      "report.download": "下载报告（Markdown）",
      "report.summary": "概况",
      "report.teams": "队伍接受 / 动员",
      "report.people": "登记受影响人员",
      "report.contacts": "标记为受影响的来电来信",
      "report.followups": "建立随访个案",
      "report.meta": "区县：{districts} · 启动 {from} · 解除 {to}",
      "report.mobilisation": "队伍动员",
      "report.tiers": "人员分级",
      "report.checklist": "工作清单",
      "report.sessions": "团体干预",
      "report.duty": "值守时长（小时）",
      "report.timeline": "时间线",
      "report.running": "进行中",
      "err.generic": "没有成功：{m}",
      "err.network": "网络不通，请重试。"
    },
    en: {
      "skip": "Skip to the main content",
      "heading": "Incidents",
      "clock": "Hotline time",
      "link.board": "Dispatch board",
      "link.followups": "Follow-ups",
      "link.incidents": "Incidents",
      "connection.lost": "Lost the connection to the server; reconnecting… what you see may be out of date.",
      "connection.retry": "Retry now",
      "alarm.dismiss": "Got it",
      "alarm.step_overdue": "⚠ Checklist step overdue: {title}",
      "alarm.sitrep_due": "⚠ A situation report is due: file one.",
      "alarm.rest_due": "⚠ {name} has been on duty a long time: arrange a rest.",
      "declare.heading": "Declare an incident",
      "declare.intro": "Declaring pages the plan's teams at once, starts the checklist and puts the hotline in surge mode.",
      "declare.plan": "Plan",
      "declare.districts": "Districts (at least one)",
      "declare.description": "Description (optional)",
      "declare.submit": "Declare",
      "declare.mobilises": "Will page: {teams}",
      "declare.district_teams": "the chosen districts' teams",
      "declare.sending": "Declaring…",
      "report.draft": "Report (draft)",
      "report.final": "After-action report",
      "standdown.button": "Stand down",
      "standdown.question": "Stand the incident down? The hotline leaves surge mode, unanswered pages are cancelled and the report is written.",
      "standdown.yes": "Stand down",
      "standdown.no": "Cancel",
      "meta": "Districts: {districts} · declared {at} · running {elapsed}",
      "teams.heading": "Mobilisation",
      "teams.rollup": "{n} of {m} teams accepted",
      "reserve.heading": "Reserve counsellors called in",
      "reserve.rollup": "{n} of {m} coming",
      "reserve.none": "This plan calls in no reserve counsellors",
      "reserve.coming": "coming",
      "reserve.eta": "coming in about {n} min",
      "reserve.cannot": "cannot come",
      "reserve.waiting": "no answer yet",
      "teams.team": "Team",
      "teams.code": "Code",
      "teams.state": "State",
      "teams.member": "Accepted by",
      "teams.minutes": "Time",
      "teams.min": "{n} min",
      "checklist.heading": "Checklist",
      "checklist.due": "due {at}",
      "checklist.overdue": "overdue",
      "checklist.done_at": "done {at}",
      "checklist.done": "Done",
      "owner.coordinator": "coordinator",
      "owner.supervisor": "supervisor",
      "owner.city_team": "city team",
      "owner.district_teams": "district teams",
      "sitrep.heading": "Situation reports",
      "sitrep.body": "Report",
      "sitrep.submit": "File",
      "sitrep.next": "Next report due {at} (in {left}) · {n} filed",
      "sitrep.overdue": "Situation report overdue by {left} (due {at}) · {n} filed",
      "sitrep.filed": "Filed.",
      "contacts.heading": "Hotline contacts tagged as affected",
      "contacts.total": "{n} in all",
      "registry.heading": "Affected people",
      "registry.submit": "Register",
      "registry.pseudonym": "Pseudonym",
      "registry.case": "Follow-up",
      "registry.done": "Registered {p}",
      "registry.case_opened": "Registered {p}; follow-up case {c} opened",
      "registry.empty": "Nobody registered yet.",
      "field.district": "District",
      "field.tier": "Tier",
      "field.risk": "Risk",
      "field.exposures": "Exposure factors",
      "field.name": "Name (optional, sealed, never shown on the board)",
      "field.phone": "Phone (optional, sealed)",
      "sessions.heading": "Group sessions",
      "sessions.kind": "Kind",
      "sessions.participants": "Participants",
      "sessions.submit": "Record",
      "sessions.item": "{at} {district} {kind}, {n} people",
      "kind.debriefing": "Debriefing",
      "kind.psychoeducation": "Psychoeducation",
      "kind.support_group": "Support group",
      "duty.heading": "Duty and rest",
      "duty.empty": "Nobody on duty yet (the clock starts when a team accepts).",
      "duty.item": "{name}: {h} h on duty",
      "duty.rest": "arrange a rest",
      "duty.off": "resting",
      "duty.end": "End duty (rest)",
      "timeline.heading": "Timeline",
      "risk.imminent": "Imminent danger",
      "risk.high": "High",
      "risk.moderate": "Moderate",
      "risk.low": "Low",
      "risk.none": "None",
      "exposure.injured": "Injured",
      "exposure.bereaved": "Bereaved",
      "exposure.home_lost": "Home lost",
      "exposure.trapped": "Trapped",
      "exposure.threat_to_life": "Threat to life",
      "exposure.witnessed_death": "Witnessed death",
      "exposure.earlier_mental_illness": "Earlier mental illness",
      "state.requested": "Requested",
      "state.paging": "Paging",
      "state.accepted": "Accepted",
      "state.en_route": "En route",
      "state.on_scene": "On scene",
      "state.resolved": "Resolved",
      "state.cancelled": "Cancelled",
      "state.exhausted": "Unanswered",
      "report.heading": "After-action report",
      "report.download": "Download (Markdown)",
      "report.summary": "Summary",
      "report.teams": "Teams accepted / mobilised",
      "report.people": "Affected people registered",
      "report.contacts": "Contacts tagged as affected",
      "report.followups": "Follow-up cases opened",
      "report.meta": "Districts: {districts} · declared {from} · stood down {to}",
      "report.mobilisation": "Mobilisation",
      "report.tiers": "People by tier",
      "report.checklist": "Checklist",
      "report.sessions": "Group sessions",
      "report.duty": "Hours on duty",
      "report.timeline": "Timeline",
      "report.running": "still running",
      "err.generic": "That did not work: {m}",
      "err.network": "The network is down; try again."
    }
  };

  const { tr, say, apply: applyStrings } = window.StaffPage.pageStrings(STR, "in");

  const en = () => I.lang === "en";
  const nameOf = (o) => (o ? (en() ? o.name_en || o.name_zh : o.name_zh || o.name_en) || o.id || "" : "");

  /* "11-23 03:05" in the hotline's time zone. */
  function at(iso) {
    const ms = I.parseTime(iso);
    if (Number.isNaN(ms)) return "—";
    const parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: TZ, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date(ms));
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  function span(ms) {
    const minutes = Math.max(0, Math.floor(Math.abs(ms) / 60000));
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return en() ? (h ? h + " h " : "") + m + " min" : (h ? h + " 小时 " : "") + m + " 分钟";
  }

  function showError(el, res) {
    el.hidden = false;
    const message = res.status === 0 ? tr("err.network") : tr("err.generic", { m: (res.data && res.data.message) || res.status });
    el.textContent = message;
  }

  function shortcut(ev, key) {
    return ev.altKey && !ev.ctrlKey && !ev.metaKey && ev.key.toLowerCase() === key;
  }

  /* ------------------------------------------------------------- the board */

  function board() {
    const S = { offset: 0, leaving: false, board: null, alarms: [], loading: null };
    const clock = window.StaffPage.clock(S);
    const { api } = window.StaffPage.session(S);

    async function load() {
      const res = await api("GET", "/api/incidents/board");
      if (!res.ok) {
        showError($("load-error"), res);
        return;
      }
      hideMessage($("load-error"));
      S.board = res.data;
      clock.setServerTime(res.data.now);
      render();
    }

    let pending = null;
    function reload() {
      clearTimeout(pending);
      pending = setTimeout(load, 150);
    }

    function render() {
      const b = S.board;
      if (!b) return;
      const incident = b.incident;
      $("declare").hidden = !!incident;
      $("incident").hidden = !incident;
      if (!incident) renderDeclare(b);
      else renderIncident(incident, b);
      tick();
    }

    /* -- declaring */
    function renderDeclare(b) {
      const select = $("declare-plan");
      const chosen = select.value;
      select.replaceChildren(...b.plans.map((p) => {
        const o = make("option", "", nameOf(p));
        o.value = p.id;
        return o;
      }));
      if (chosen) select.value = chosen;
      const box = $("declare-districts");
      const ticked = new Set([...box.querySelectorAll("input:checked")].map((i) => i.value));
      box.replaceChildren(...b.districts.map((d) => {
        const label = make("label", "in-check");
        const input = make("input");
        input.type = "checkbox";
        input.name = "districts";
        input.value = d.id;
        input.checked = ticked.has(d.id);
        label.append(input, " ", nameOf(d));
        return label;
      }));
      planInfo();
    }

    function planInfo() {
      const plan = S.board && S.board.plans.find((p) => p.id === $("declare-plan").value);
      if (!plan) return;
      const teams = plan.mobilise.map((m) => (m.district_teams ? tr("declare.district_teams") : nameOf(m)));
      say($("declare-plan-info"), "declare.mobilises", { teams: teams.join("、") });
    }

    async function declare(ev) {
      if (ev) ev.preventDefault();
      const button = $("declare-submit");
      if (button.disabled) return;
      const districts = [...$("declare-districts").querySelectorAll("input:checked")].map((i) => i.value);
      button.disabled = true;
      const res = await api("POST", "/api/incidents", {
        plan: $("declare-plan").value, districts, description: $("declare-description").value
      });
      button.disabled = false;
      if (!res.ok) {
        showError($("declare-error"), res);
        return;
      }
      hideMessage($("declare-error"));
      $("declare-description").value = "";
      await load();
      $("incident-title").focus();
    }

    /* -- the incident */
    function renderIncident(inc, b) {
      $("incident-title").textContent = nameOf(inc.plan);
      $("incident-title").tabIndex = -1;
      $("incident-description").textContent = inc.description || "";
      $("report-link").href = "/incidents/" + inc.id + "/report";
      say($("rollup"), "teams.rollup", { n: inc.teams_accepted, m: inc.teams_mobilised });
      $("rollup").classList.toggle("in-rollup-full", inc.teams_accepted === inc.teams_mobilised);

      const reserve = inc.reserve || [];
      const coming = reserve.filter((r) => r.answer === "coming").length;
      say($("reserve-rollup"), "reserve.rollup", { n: coming, m: reserve.length });
      $("reserve-list").replaceChildren(...(reserve.length ? reserve.map((r) => {
        const li = make("li", "in-reserve-" + (r.answer || "waiting"));
        const answer = r.answer === "coming" && r.eta_minutes ? say(make("strong"), "reserve.eta", { n: r.eta_minutes })
          : say(make("strong"), "reserve." + (r.answer || "waiting"));
        li.append(make("span", "", r.member ? r.member.name : "—"), " ", answer);
        return li;
      }) : [say(make("li"), "reserve.none")]));

      $("teams-body").replaceChildren(...inc.teams.map((t) => {
        const row = make("tr", t.accepted ? "in-accepted" : "");
        row.append(
          make("td", "", nameOf(t.team)),
          make("td", "", t.code),
          say(make("td", "in-state in-state-" + t.state), "state." + t.state),
          make("td", "", t.member ? t.member.name : "—"),
          t.minutes_to_accept === null ? make("td", "", "—") : say(make("td"), "teams.min", { n: t.minutes_to_accept })
        );
        return row;
      }));

      // The board is redrawn on every update (a page sent, a team answering): a coordinator
      // who has tabbed to a step's "done" button must still be on it, or their Enter is lost.
      const held = document.activeElement && document.activeElement.closest
        ? document.activeElement.closest("#checklist-list li") : null;
      const heldStep = held ? held.dataset.step : null;
      $("checklist-list").replaceChildren(...inc.checklist.map((s) => {
        const li = make("li", "in-step" + (s.overdue ? " in-overdue" : "") + (s.done_at ? " in-done" : ""));
        li.dataset.step = s.id;
        const title = make("span", "in-step-title", en() ? s.title_en : s.title_zh);
        const owner = say(make("span", "in-owner"), "owner." + s.owner);
        const due = s.done_at ? say(make("span", "in-step-due"), "checklist.done_at", { at: at(s.done_at) })
          : say(make("span", "in-step-due"), "checklist.due", { at: at(s.due_at) });
        li.append(title, " ", owner, " ", due);
        if (s.overdue) li.append(" ", say(make("strong", "in-overdue-label"), "checklist.overdue"));
        if (!s.done_at && inc.active) {
          const btn = say(make("button", "btn btn-primary in-step-done"), "checklist.done");
          btn.type = "button";
          btn.addEventListener("click", () => act("/steps/" + encodeURIComponent(s.id) + "/done", {}, $("head-error")));
          li.append(" ", btn);
        }
        return li;
      }));
      if (heldStep) {
        const again = [...document.querySelectorAll("#checklist-list li")]
          .find((li) => li.dataset.step === heldStep);
        const button = again ? again.querySelector(".in-step-done") : null;
        if (button) button.focus();
        else $("checklist").focus();
      }

      const counts = inc.contacts_by_risk;
      $("contacts-list").replaceChildren(
        ...RISKS.map((r) => {
          const li = make("li", "in-count in-risk-" + r);
          li.append(say(make("span"), "risk." + r), " ", make("strong", "", counts.by_risk[r] || 0));
          return li;
        }),
        say(make("li", "in-count-total"), "contacts.total", { n: counts.total })
      );

      fillDistricts($("person-district"), inc.districts);
      fillDistricts($("session-district"), inc.districts);
      const tier = $("person-tier");
      const tierValue = tier.value;
      tier.replaceChildren(...inc.tiers.map((t) => {
        const o = make("option", "", nameOf(t));
        o.value = String(t.tier);
        return o;
      }));
      if (tierValue) tier.value = tierValue;
      tierInfo();
      const risk = $("person-risk");
      if (!risk.options.length) {
        risk.replaceChildren(...["none", "low", "moderate", "high", "imminent"].map((r) => {
          const o = say(make("option"), "risk." + r);
          o.value = r;
          return o;
        }));
      }
      const ex = $("person-exposures");
      if (!ex.children.length) {
        ex.replaceChildren(...inc.exposures.map((e) => {
          const label = make("label", "in-check");
          const input = make("input");
          input.type = "checkbox";
          input.value = e;
          label.append(input, " ", say(make("span"), "exposure." + e));
          return label;
        }));
      }
      $("registry-body").replaceChildren(...inc.registry.map((p) => {
        const row = make("tr", "in-risk-" + p.risk);
        const caseCell = make("td");
        if (p.case_id) {
          const a = make("a", "", p.case_pseudonym || "#" + p.case_id);
          a.href = "/followups/" + p.case_id;
          caseCell.append(a);
        } else caseCell.textContent = "—";
        row.append(
          make("td", "in-pseudonym", p.pseudonym),
          make("td", "", districtName(p.district)),
          make("td", "", p.tier),
          make("td", "", p.exposures.map((e) => tr("exposure." + e)).join("、") || "—"),
          say(make("td"), "risk." + p.risk),
          caseCell
        );
        return row;
      }));

      $("sessions-list").replaceChildren(...inc.group_sessions.map((g) =>
        say(make("li"), "sessions.item", { at: at(g.at), district: districtName(g.district), kind: tr("kind." + g.kind), n: g.participants })));

      $("duty-empty").hidden = inc.duty.length > 0;
      $("duty-list").replaceChildren(...inc.duty.map((d) => {
        const li = make("li", "in-duty-item" + (d.rest_reminded ? " in-rest" : ""));
        li.append(say(make("span"), "duty.item", { name: d.responder.name, h: d.hours }));
        if (d.rest_reminded) li.append(" ", say(make("strong", "in-rest-label"), "duty.rest"));
        if (!d.on_duty) li.append(" ", say(make("span", "hint"), "duty.off"));
        if (d.on_duty && inc.active) {
          const btn = say(make("button", "btn btn-secondary"), "duty.end");
          btn.type = "button";
          btn.addEventListener("click", () => act("/duty/" + encodeURIComponent(d.responder.id) + "/end", {}, $("head-error")));
          li.append(" ", btn);
        }
        return li;
      }));

      $("timeline-list").replaceChildren(...inc.timeline.slice().reverse().map((e) =>
        make("li", "", at(e.at) + "  " + (en() ? e.what_en : e.what_zh))));
    }

    function districtName(id) {
      const d = S.board && S.board.districts.find((x) => x.id === id);
      return d ? nameOf(d) : id;
    }

    function fillDistricts(select, districts) {
      const value = select.value;
      select.replaceChildren(...districts.map((d) => {
        const o = make("option", "", nameOf(d));
        o.value = d.id;
        return o;
      }));
      if (value) select.value = value;
    }

    function tierInfo() {
      const inc = S.board && S.board.incident;
      if (!inc) return;
      const t = inc.tiers.find((x) => String(x.tier) === $("person-tier").value);
      $("person-tier-info").textContent = t ? (en() ? t.definition_en : t.definition_zh) : "";
    }

    async function act(path, body, errorEl) {
      const inc = S.board && S.board.incident;
      if (!inc) return null;
      const res = await api("POST", "/api/incidents/" + inc.id + path, body);
      if (!res.ok) {
        showError(errorEl, res);
        return null;
      }
      hideMessage(errorEl);
      S.board.incident = res.data;
      clock.setServerTime(res.data.now);
      render();
      return res.data;
    }

    async function fileSitrep(ev) {
      if (ev) ev.preventDefault();
      const done = await act("/sitreps", { body: $("sitrep-body").value }, $("sitrep-error"));
      if (done) $("sitrep-body").value = "";
    }

    async function register(ev) {
      ev.preventDefault();
      const exposures = [...$("person-exposures").querySelectorAll("input:checked")].map((i) => i.value);
      const done = await act("/people", {
        district: $("person-district").value,
        tier: Number($("person-tier").value),
        risk: $("person-risk").value,
        exposures,
        name: $("person-name").value,
        phone: $("person-phone").value
      }, $("person-error"));
      if (!done) return;
      const p = done.registered;
      if (p.case_id) say($("person-result"), "registry.case_opened", { p: p.pseudonym, c: p.case_pseudonym });
      else say($("person-result"), "registry.done", { p: p.pseudonym });
      $("person-name").value = "";
      $("person-phone").value = "";
      for (const i of $("person-exposures").querySelectorAll("input")) i.checked = false;
    }

    async function logSession(ev) {
      ev.preventDefault();
      const done = await act("/sessions", {
        district: $("session-district").value,
        kind: $("session-kind").value,
        participants: $("session-participants").value
      }, $("session-error"));
      if (done) $("session-participants").value = "";
    }

    function askStandDown() {
      if (!S.board || !S.board.incident) return;
      $("stand-down-confirm").hidden = false;
      $("stand-down-yes").focus();
    }

    async function standDown() {
      const inc = S.board.incident;
      const done = await act("/stand-down", {}, $("head-error"));
      $("stand-down-confirm").hidden = true;
      if (done) location.assign("/incidents/" + inc.id + "/report");
    }

    /* -- clock, alarms, socket */
    function tick() {
      const now = clock.now();
      $("in-clock").textContent = at(new Date(now).toISOString()).slice(6);
      const inc = S.board && S.board.incident;
      if (!inc) return;
      say($("incident-meta"), "meta", {
        districts: inc.districts.map(nameOf).join("、"),
        at: at(inc.declared_at),
        elapsed: span(now - I.parseTime(inc.declared_at))
      });
      const due = I.parseTime(inc.sitrep.next_due_at);
      if (!Number.isNaN(due)) {
        const late = due <= now;
        say($("sitrep-due"), late ? "sitrep.overdue" : "sitrep.next",
          { at: at(inc.sitrep.next_due_at), left: span(due - now), n: inc.sitrep.filed.length });
        $("sitrep-due").classList.toggle("in-overdue", late);
      }
    }

    function renderAlarms() {
      $("alarm-banner").hidden = S.alarms.length === 0;
      $("alarm-list").replaceChildren(...S.alarms.map((a) => {
        if (a.kind === "step_overdue") return say(make("li"), "alarm.step_overdue", { title: en() ? a.title_en : a.title_zh });
        if (a.kind === "rest_due") return say(make("li"), "alarm.rest_due", { name: a.responder ? a.responder.name : "" });
        return say(make("li"), "alarm.sitrep_due");
      }));
    }

    function dismissAlarms() {
      S.alarms = [];
      renderAlarms();
    }

    const live = window.StaffPage.liveSocket(S, {
      path: "/api/incidents/ws",
      upOn: (f) => f.type === "hello",
      onDown: () => {
        $("connection-banner").hidden = false;
      },
      onUp: () => {
        $("connection-banner").hidden = true;
        load();
      },
      onFrame: (f) => {
        if (f.type === "hello") clock.setServerTime(f.now);
        else if (f.type === "changed") reload();
        else if (f.type === "alarm") {
          S.alarms.push(f);
          renderAlarms();
          reload();
        }
      }
    });

    /* -- wiring */
    $("declare-form").addEventListener("submit", declare);
    $("declare-plan").addEventListener("change", planInfo);
    $("declare-form").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) declare(ev);
    });
    $("sitrep-form").addEventListener("submit", fileSitrep);
    $("sitrep-body").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) fileSitrep(ev);
    });
    $("person-form").addEventListener("submit", register);
    $("person-tier").addEventListener("change", tierInfo);
    $("session-form").addEventListener("submit", logSession);
    $("stand-down").addEventListener("click", askStandDown);
    $("stand-down-yes").addEventListener("click", standDown);
    $("stand-down-no").addEventListener("click", () => {
      $("stand-down-confirm").hidden = true;
      $("stand-down").focus();
    });
    $("alarm-dismiss").addEventListener("click", dismissAlarms);
    $("reconnect-now").addEventListener("click", () => live.reconnectNow());
    document.addEventListener("keydown", (ev) => {
      if (shortcut(ev, "k")) dismissAlarms();
      else if (shortcut(ev, "x")) askStandDown();
      else if (shortcut(ev, "c")) {
        const first = document.querySelector("#checklist-list .in-step-done");
        if (first) first.focus();
        else $("checklist").focus();
      } else if (shortcut(ev, "s")) $("sitrep-body").focus();
      else if (shortcut(ev, "r")) $("person-district").focus();
      else if (ev.key === "Escape" && !$("stand-down-confirm").hidden) $("stand-down-confirm").hidden = true;
      else return;
      ev.preventDefault();
    });
    I.onChange(() => {
      applyStrings();
      render();
      renderAlarms();
    });
    applyStrings();
    setInterval(tick, 1000);
    load();
    live.connect();
  }

  /* ------------------------------------------------------------ the report */

  function report() {
    const S = { offset: 0, leaving: false, data: null };
    const { api } = window.StaffPage.session(S);
    const id = meta("incident-id");

    function table(headers, rows) {
      const t = make("table", "in-table");
      const head = make("tr");
      head.append(...headers.map((h) => make("th", "", h)));
      const body = make("tbody");
      body.append(...rows.map((r) => {
        const tr = make("tr");
        tr.append(...r.map((c) => make("td", "", c)));
        return tr;
      }));
      t.append(make("thead"), body);
      t.firstChild.append(head);
      return t;
    }

    function section(key, content) {
      const s = make("section", "panel");
      s.append(say(make("h2"), key), content);
      return s;
    }

    function render() {
      const r = S.data;
      if (!r) return;
      say($("report-meta"), "report.meta", {
        districts: r.districts.join("、"), from: at(r.declared_at), to: r.stood_down_at ? at(r.stood_down_at) : tr("report.running")
      });
      $("report-body").replaceChildren(
        section("report.mobilisation", table(
          [tr("teams.team"), tr("teams.state"), tr("teams.member"), tr("teams.minutes")],
          r.mobilisation.map((m) => [m.team_id, tr("state." + m.state), m.member || "—", m.minutes_to_accept === null ? "—" : tr("teams.min", { n: m.minutes_to_accept })]))),
        section("report.tiers", table([tr("field.tier"), "#"], Object.entries(r.people_by_tier))),
        section("report.checklist", table(
          [tr("checklist.heading"), "", ""],
          r.checklist.map((c) => [en() ? c.title_en : c.title_zh, at(c.due_at), c.done_at ? at(c.done_at) : "—"]))),
        section("report.sessions", table([tr("sessions.kind"), "#", tr("sessions.participants")],
          r.group_sessions.map((g) => [tr("kind." + g.kind), g.sessions, g.participants]))),
        section("report.duty", table(["", "h"], Object.entries(r.duty_hours))),
        section("report.timeline", table(["", ""], r.timeline.map((e) => [at(e.at), en() ? e.what_en : e.what_zh])))
      );
    }

    async function load() {
      const res = await api("GET", "/api/incidents/" + id + "/report");
      if (!res.ok) {
        showError($("report-error"), res);
        return;
      }
      S.data = res.data;
      render();
    }

    I.onChange(() => {
      applyStrings();
      render();
    });
    applyStrings();
    load();
  }

  function start() {
    if (document.body.classList.contains("page-incident-report")) report();
    else board();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
