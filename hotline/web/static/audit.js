/* The audit trail (/audit), for administrators. Contract: docs/audit.md.
 *
 * For a tired admin at 3 a.m.: the banner at the top says in one line whether the hash chain
 * holds (green, with how many records were checked) or where it breaks (red, with a button
 * that shows that record). Below, the filters and the table, newest first, a page at a time.
 * Every button is a real button with its shortcut printed on it; nothing is on hover only.
 * Times are in the hotline's own time zone (meta time-zone), not the browser's. Strings live
 * here (zh-CN first, English second) on data-au="key" and follow the shared language switch.
 * People appear by login name and role only: the API never sends a display name.
 */
"use strict";

(() => {
  const I = window.I18n;
  const $ = (id) => document.getElementById(id);
  const { meta, make, hideMessage } = window.StaffPage;
  const TZ = meta("time-zone") || "Asia/Shanghai";

  const STR = {
    "zh-CN": {
      "skip": "跳到审计记录表",
      "heading": "审计记录",
      "link.board": "调度台",
      "link.followups": "随访",
      "link.incidents": "应急事件",
      "chain.checking": "正在核对审计链…",
      "chain.ok": "✓ 审计链完整：已核对 {n} 条记录",
      "chain.ok_empty": "✓ 审计链完整：还没有任何记录",
      "chain.broken": "⚠ 审计链在第 {id} 条记录处断开：{problem}（之前的 {n} 条完好）",
      "chain.advice": "请立即报告负责人，不要修改数据库；可在服务器上运行 hotline audit verify 再次核对。",
      "chain.show": "查看断开处",
      "problem.changed": "这条记录的内容被改动过",
      "problem.follow": "这条记录与前一条接不上（前面的记录被改动、删除或插入过）",
      "problem.data": "这条记录的详情无法读取",
      "problem.missing": "第 {n} 条记录不见了",
      "filters.heading": "筛选",
      "filters.action": "操作",
      "filters.any_action": "全部操作",
      "filters.actor": "操作人",
      "filters.actor_hint": "用户名，或记录里的代码，如 user:5、admin",
      "filters.from": "从（日期）",
      "filters.to": "到（日期，含当天）",
      "filters.apply": "筛选",
      "filters.clear": "清除筛选",
      "records.heading": "审计记录",
      "records.empty": "没有符合条件的记录。",
      "records.loading": "正在读取…",
      "records.status": "显示编号 {hi} 至 {lo} 的 {n} 条记录",
      "records.status_newest": "显示最新的 {n} 条记录（编号 {hi} 至 {lo}）",
      "records.filtered": "（已筛选）",
      "records.broken_mark": "⚠ 断开处",
      "col.id": "编号",
      "col.time": "时间（{tz}）",
      "col.actor": "操作人",
      "col.action": "操作",
      "col.subject": "对象",
      "col.purpose": "目的",
      "col.data": "详情",
      "paging.label": "翻页",
      "paging.newer": "← 较新",
      "paging.older": "更早 →",
      "actor.account": "{name}（{role}）",
      "actor.admin": "管理员（命令行）",
      "actor.responder": "响应人员本人",
      "subject.contact": "对话 #{id}",
      "subject.followup": "随访个案 #{id}",
      "subject.dispatch": "调度 #{id}",
      "subject.user": "账号 #{id}",
      "subject.account": "账号 {name}（{role}）",
      "action.role.granted": "授予角色",
      "action.contact.viewed": "督导查看对话",
      "action.history.opened": "打开来电者既往记录",
      "action.dispatch.acknowledged_on_behalf": "代响应人员确认调度",
      "action.number.disclosed": "向响应人员透露来电号码",
      "action.case.details_read": "查看随访对象的电话和称呼",
      "action.case.notes_read": "查看随访记录内容",
      "action.retention.purged": "按保存期限清除个人信息",
      "action.option": "{label}（{code}）",
      "purpose.account_created": "新建账号",
      "purpose.supervision": "督导",
      "purpose.serving_contact": "正在接待此人",
      "purpose.board": "调度台操作",
      "purpose.responder_callback": "响应人员回拨",
      "purpose.follow_up_call": "随访电话",
      "purpose.case_page": "随访个案页",
      "purpose.scheduled": "定时任务",
      "purpose.manual": "手动执行",
      "data.none": "—",
      "err.generic": "没有读取成功：{m}",
      "err.network": "网络不通，请检查网络后重试。"
    },
    en: {
      "skip": "Skip to the audit records",
      "heading": "Audit trail",
      "link.board": "Dispatch board",
      "link.followups": "Follow-ups",
      "link.incidents": "Incidents",
      "chain.checking": "Checking the audit chain…",
      "chain.ok": "✓ Audit chain intact: {n} records checked",
      "chain.ok_empty": "✓ Audit chain intact: no records yet",
      "chain.broken": "⚠ The audit chain is broken at record {id}: {problem} (the {n} before it hold)",
      "chain.advice": "Report it to the person in charge at once and do not touch the database; run hotline audit verify on the server to check again.",
      "chain.show": "Show where it breaks",
      "problem.changed": "its contents were changed",
      "problem.follow": "it does not follow the record before it (records before it were changed, removed or inserted)",
      "problem.data": "its details cannot be read",
      "problem.missing": "record {n} is missing",
      "filters.heading": "Filters",
      "filters.action": "Action",
      "filters.any_action": "Any action",
      "filters.actor": "Who",
      "filters.actor_hint": "A login name, or the code in the record, like user:5 or admin",
      "filters.from": "From (date)",
      "filters.to": "To (date, inclusive)",
      "filters.apply": "Filter",
      "filters.clear": "Clear filters",
      "records.heading": "Audit trail",
      "records.empty": "No records match.",
      "records.loading": "Loading…",
      "records.status": "Showing {n} records, numbers {hi} to {lo}",
      "records.status_newest": "Showing the newest {n} records (numbers {hi} to {lo})",
      "records.filtered": " (filtered)",
      "records.broken_mark": "⚠ broken here",
      "col.id": "No.",
      "col.time": "Time ({tz})",
      "col.actor": "Who",
      "col.action": "Action",
      "col.subject": "Subject",
      "col.purpose": "Purpose",
      "col.data": "Details",
      "paging.label": "Pages",
      "paging.newer": "← Newer",
      "paging.older": "Older →",
      "actor.account": "{name} ({role})",
      "actor.admin": "administrator (command line)",
      "actor.responder": "the responder",
      "subject.contact": "contact #{id}",
      "subject.followup": "follow-up case #{id}",
      "subject.dispatch": "dispatch #{id}",
      "subject.user": "account #{id}",
      "subject.account": "account {name} ({role})",
      "action.role.granted": "Role granted",
      "action.contact.viewed": "Contact viewed by a supervisor",
      "action.history.opened": "Caller's history opened",
      "action.dispatch.acknowledged_on_behalf": "Dispatch acknowledged on a responder's behalf",
      "action.number.disclosed": "Caller's number disclosed to a responder",
      "action.case.details_read": "Follow-up phone and name read",
      "action.case.notes_read": "Follow-up attempt notes read",
      "action.retention.purged": "Personal data purged by age",
      "action.option": "{label} ({code})",
      "purpose.account_created": "account created",
      "purpose.supervision": "supervision",
      "purpose.serving_contact": "serving the person",
      "purpose.board": "dispatch board",
      "purpose.case_page": "follow-up case page",
      "purpose.scheduled": "scheduled job",
      "purpose.manual": "run by hand",
      "purpose.responder_callback": "responder's callback",
      "purpose.follow_up_call": "follow-up call",
      "data.none": "—",
      "err.generic": "Could not load: {m}",
      "err.network": "The network is down; check it and try again."
    }
  };

  const strings = window.StaffPage.pageStrings(STR, "au");
  const { tr, has, say } = strings;

  function applyStrings() {
    strings.apply();
    say($("col-time"), "col.time", { tz: TZ });
    document.title = tr("heading") + " · " + I.t("app.name");
  }

  /* "2026-11-23 11:05:09" in the hotline's time zone; an unreadable time as it stands. */
  function at(iso) {
    const ms = I.parseTime(iso);
    if (Number.isNaN(ms)) return String(iso);
    const parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date(ms));
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
  }

  function roleName(role) {
    return I.has("role." + role) ? I.t("role." + role) : role;
  }

  function actionLabel(code) {
    return has("action." + code) ? tr("action." + code) : code;
  }

  function actorText(r) {
    if (r.actor_account) {
      return tr("actor.account", { name: r.actor_account.username, role: roleName(r.actor_account.role) });
    }
    if (r.actor === "admin") return tr("actor.admin");
    if (r.actor === "responder") return tr("actor.responder");
    return r.actor;
  }

  function subjectText(r) {
    if (r.subject_account) {
      return tr("subject.account", { name: r.subject_account.username, role: roleName(r.subject_account.role) });
    }
    const m = /^(contact|followup|dispatch|user):(\d+)$/.exec(r.subject);
    return m ? tr("subject." + m[1], { id: m[2] }) : r.subject;
  }

  function purposeText(code) {
    return has("purpose." + code) ? tr("purpose." + code) : code;
  }

  /* {"role": "supervisor", "on_behalf": true} → "role=supervisor on_behalf=true". */
  function dataText(data) {
    const keys = Object.keys(data || {}).sort();
    if (!keys.length) return tr("data.none");
    return keys.map((k) => {
      const v = data[k];
      const shown = v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
      return k + "=" + shown;
    }).join("  ");
  }

  function problemText(problem) {
    const text = problem || "";
    const missing = /^record (\d+) is missing$/.exec(text);
    if (missing) return tr("problem.missing", { n: missing[1] });
    if (text.includes("contents were changed")) return tr("problem.changed");
    if (text.includes("does not follow")) return tr("problem.follow");
    if (text.includes("not readable")) return tr("problem.data");
    return text;
  }

  /* A main line and, below it, the code as the record holds it (for the filter and the CLI). */
  function cell(main, code, className) {
    const td = make("td", className || "");
    td.append(make("span", "au-main-text", main));
    if (code && code !== main) td.append(make("span", "au-code", code));
    return td;
  }

  function start() {
    const S = {
      leaving: false,
      cursors: [null], /* the before_id of each page shown so far; [0] is where we started */
      page: 0,
      data: null,
      filters: {},
      loading: false
    };
    const { api } = window.StaffPage.session(S);

    function readFilters() {
      return {
        action: $("f-action").value,
        actor: $("f-actor").value.trim(),
        from: $("f-from").value,
        to: $("f-to").value
      };
    }

    function filtered() {
      return Object.values(S.filters).some((v) => v);
    }

    function renderChain() {
      const chain = S.data && S.data.chain;
      $("chain-checking").hidden = Boolean(chain);
      $("chain-ok").hidden = !chain || !chain.intact;
      $("chain-broken").hidden = !chain || chain.intact;
      document.body.classList.toggle("au-is-broken", Boolean(chain && !chain.intact));
      if (!chain) return;
      if (chain.intact) {
        say($("chain-ok-text"), chain.checked ? "chain.ok" : "chain.ok_empty", { n: chain.checked });
      } else {
        $("chain-broken-text").textContent = tr("chain.broken", {
          id: chain.broken_at, n: chain.checked, problem: problemText(chain.problem)
        });
      }
    }

    function renderActions() {
      const select = $("f-action");
      const chosen = S.filters.action || select.value;
      const codes = new Set((S.data && S.data.actions) || []);
      if (chosen) codes.add(chosen);
      const options = [...codes].sort().map((code) => {
        const label = actionLabel(code);
        const text = label === code ? code : tr("action.option", { label, code });
        const option = make("option", "", text);
        option.value = code;
        return option;
      });
      const any = say(make("option"), "filters.any_action");
      any.value = "";
      select.replaceChildren(any, ...options);
      select.value = chosen || "";
    }

    function renderRecords() {
      const data = S.data;
      const body = $("records-body");
      if (!data) return;
      const broken = data.chain && !data.chain.intact ? data.chain.broken_at : null;
      body.replaceChildren(...data.records.map((r) => {
        const row = make("tr");
        row.dataset.id = String(r.id);
        const idCell = make("td", "au-id");
        idCell.append(make("span", "au-main-text", "#" + r.id));
        if (r.id === broken) {
          row.classList.add("au-broken");
          idCell.append(make("span", "au-broken-mark", tr("records.broken_mark")));
        }
        row.append(
          idCell,
          make("td", "au-time", at(r.at)),
          cell(actorText(r), r.actor),
          cell(actionLabel(r.action), r.action, "au-action"),
          cell(subjectText(r), r.subject),
          cell(purposeText(r.purpose), r.purpose),
          make("td", "au-data", dataText(r.data))
        );
        return row;
      }));
      const n = data.records.length;
      $("records-empty").hidden = n > 0;
      $("records").hidden = n === 0;
      const status = $("page-status");
      if (n) {
        const newest = S.page === 0 && S.cursors[0] === null;
        const text = tr(newest ? "records.status_newest" : "records.status", {
          n, hi: data.records[0].id, lo: data.records[n - 1].id
        });
        status.textContent = text + (filtered() ? tr("records.filtered") : "");
      } else {
        status.textContent = "";
      }
      $("older").disabled = !data.next_before_id;
      $("newer").disabled = S.page === 0 && S.cursors[0] === null;
    }

    function render() {
      renderChain();
      renderActions();
      renderRecords();
    }

    async function load() {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(S.filters)) if (v) params.set(k, v);
      const cursor = S.cursors[S.page];
      if (cursor) params.set("before_id", String(cursor));
      S.loading = true;
      $("page-status").textContent = tr("records.loading");
      const res = await api("GET", "/api/audit" + (params.toString() ? "?" + params : ""));
      S.loading = false;
      const error = $("load-error");
      if (!res.ok) {
        error.hidden = false;
        error.textContent = res.status === 0 ? tr("err.network")
          : tr("err.generic", { m: (res.data && res.data.message) || res.status });
        $("page-status").textContent = "";
        return false;
      }
      hideMessage(error);
      S.data = res.data;
      render();
      return true;
    }

    /* After paging, keep the keyboard where it was, unless that button just went dead. */
    function keepFocus(pressed) {
      if (!pressed.disabled) return;
      const other = pressed.id === "older" ? $("newer") : $("older");
      if (!other.disabled) other.focus();
      else $("records").focus();
    }

    async function older() {
      if (S.loading || !S.data || !S.data.next_before_id) return;
      S.cursors = S.cursors.slice(0, S.page + 1);
      S.cursors.push(S.data.next_before_id);
      S.page += 1;
      await load();
      keepFocus($("older"));
    }

    async function newer() {
      if (S.loading) return;
      if (S.page > 0) S.page -= 1;
      else if (S.cursors[0] !== null) S.cursors = [null];
      else return;
      await load();
      keepFocus($("newer"));
    }

    function fromTheTop() {
      S.cursors = [null];
      S.page = 0;
    }

    async function applyFilters(ev) {
      if (ev) ev.preventDefault();
      S.filters = readFilters();
      fromTheTop();
      await load();
    }

    async function clearFilters() {
      $("filters").reset();
      $("f-action").value = "";
      await applyFilters();
      $("f-action").focus();
    }

    /* The broken record at the top of the table, all filters off: what the admin must see. */
    async function showBroken() {
      const chain = S.data && S.data.chain;
      if (!chain || chain.intact) return;
      $("filters").reset();
      $("f-action").value = "";
      S.filters = {};
      S.cursors = [chain.broken_at + 1];
      S.page = 0;
      if (await load()) $("records").focus();
    }

    function shortcut(ev, letter) {
      return ev.altKey && !ev.ctrlKey && !ev.metaKey &&
        (ev.code === "Key" + letter.toUpperCase() || (ev.key || "").toLowerCase() === letter);
    }

    $("filters").addEventListener("submit", applyFilters);
    $("filters").addEventListener("keydown", (ev) => {
      /* Enter filters from the action list too, as it does from the text and date fields. */
      if (ev.key === "Enter" && ev.target.tagName === "SELECT") applyFilters(ev);
    });
    $("f-clear").addEventListener("click", clearFilters);
    $("older").addEventListener("click", older);
    $("newer").addEventListener("click", newer);
    $("show-broken").addEventListener("click", showBroken);
    document.addEventListener("keydown", (ev) => {
      if (shortcut(ev, "o")) {
        $("older").focus();
        older();
      } else if (shortcut(ev, "n")) {
        $("newer").focus();
        newer();
      } else if (shortcut(ev, "a")) $("f-action").focus();
      else if (shortcut(ev, "r")) clearFilters();
      else if (shortcut(ev, "b")) showBroken();
      else return;
      ev.preventDefault();
    });
    I.onChange(() => {
      applyStrings();
      render();
    });
    applyStrings();
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
