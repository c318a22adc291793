/* Counsellor / supervisor console (/console). Contract: docs/web-api.md. */
"use strict";

(() => {
  const I = window.I18n;
  const $ = (id) => document.getElementById(id);

  function meta(name) {
    const m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute("content") || "" : "";
  }

  const CSRF = meta("csrf-token");
  const PAGE_ROLE = meta("user-role");
  const PAGE_USER_ID = meta("user-id");
  const MAX_BACKOFF_MS = 30000;
  const LIVE_STATES = new Set(["offered", "active"]);
  const GONE_STATES = new Set(["closed", "abandoned", "transferred"]);
  const RISK_ORDER = ["imminent", "high", "moderate", "low", "none"];
  const PRESENCES = new Set(["available", "on_break", "offline"]);

  const S = {
    me: null,
    offset: 0, /* server clock minus browser clock, ms */
    queue: [],
    queueStamp: -Infinity,
    contacts: new Map(), /* my contacts: id -> ContactSummary */
    details: new Map(), /* id -> ContactDetail (messages, notes) */
    selected: null,
    observing: false,
    floor: null,
    options: null,
    unread: new Map(),
    endedByMe: new Set(),
    endedByPerson: new Set(),
    drafts: new Map(),
    noteDrafts: new Map(),
    wrapFormFor: null,
    ws: null,
    wsAttempts: 0,
    wsTimer: null,
    busy: { take: false, presence: false, reply: false, note: false, end: false, wrap: false },
    leaving: false
  };

  /* ---------------------------------------------------------------- helpers */

  function isSupervisor() {
    return (S.me && S.me.role === "supervisor") || PAGE_ROLE === "supervisor";
  }

  function myId() {
    if (S.me && S.me.id !== undefined && S.me.id !== null) return String(S.me.id);
    return PAGE_USER_ID;
  }

  function now() {
    return Date.now() + S.offset;
  }

  function setServerTime(iso) {
    const ms = I.parseTime(iso);
    if (!Number.isNaN(ms)) S.offset = ms - Date.now();
    return ms;
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function sameId(a, b) {
    return a !== null && a !== undefined && b !== null && b !== undefined && String(a) === String(b);
  }

  function toLogin() {
    if (S.leaving) return;
    S.leaving = true;
    const next = location.pathname + location.search;
    location.assign("/login?next=" + encodeURIComponent(next));
  }

  /* Show an API error in `target`: our own translation of the code when we have one,
   * otherwise the server's message. `preferServer` keeps the server's wording (wrap-up errors
   * name the offending field). */
  function showError(target, data, preferServer) {
    const code = data && data.error;
    const key = code && I.has("error." + code) ? "error." + code : null;
    if (preferServer && data && data.message) I.setText(target, data.message);
    else if (key) I.set(target, key);
    else if (data && data.message) I.setText(target, data.message);
    else I.set(target, "error.generic");
    target.hidden = false;
  }

  function hideMessage(target) {
    target.hidden = true;
    I.setText(target, "");
  }

  async function api(method, path, body) {
    const opts = {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRF-Token": CSRF
      }
    };
    if (method !== "GET") opts.body = JSON.stringify(body === undefined ? {} : body);
    let res;
    try {
      res = await fetch(path, opts);
    } catch (_e) {
      return { ok: false, status: 0, data: { error: "network" } };
    }
    if (res.status === 401) {
      toLogin();
      return new Promise(() => {}); /* the page is going away */
    }
    let data = null;
    try {
      data = await res.json();
    } catch (_e) {
      data = null;
    }
    return { ok: res.ok, status: res.status, data: data || {} };
  }

  /* ------------------------------------------------------------ formatting */

  function riskBadge(risk, node) {
    const badge = node || make("span");
    const r = RISK_ORDER.includes(risk) ? risk : "none";
    badge.className = "risk risk-" + r;
    if (RISK_ORDER.includes(risk)) I.set(badge, "risk." + r);
    else I.setText(badge, risk || "–");
    return badge;
  }

  function setChannel(node, channel) {
    if (channel && I.has("channel." + channel)) I.set(node, "channel." + channel);
    else I.setText(node, channel || "–");
  }

  function setState(node, state) {
    node.dataset.state = state || "";
    if (state && I.has("state." + state)) I.set(node, "state." + state);
    else I.setText(node, state || "");
  }

  function findOption(list, id) {
    if (!S.options || !Array.isArray(S.options[list])) return null;
    return S.options[list].find((o) => o && sameId(o.id, id)) || null;
  }

  function setDistrict(node, id) {
    if (id === null || id === undefined || id === "") {
      I.set(node, "console.district.none");
      return;
    }
    const opt = findOption("districts", id);
    if (opt) I.setName(node, opt);
    else I.setText(node, id);
  }

  function ticker(since, className) {
    const span = make("span", "ticker" + (className ? " " + className : ""));
    if (since) span.dataset.since = since;
    span.textContent = I.formatDuration(now() - I.parseTime(since));
    return span;
  }

  function tick() {
    const t = now();
    for (const node of document.querySelectorAll(".ticker[data-since]")) {
      node.textContent = I.formatDuration(t - I.parseTime(node.dataset.since));
    }
  }

  function counsellorName(id) {
    if (sameId(id, myId())) return I.t("console.notes.me");
    if (S.floor && Array.isArray(S.floor.counsellors)) {
      const c = S.floor.counsellors.find((x) => sameId(x.id, id));
      if (c && c.display_name) return c.display_name;
    }
    return null;
  }

  /* -------------------------------------------------------------- notices */

  let noticeTimer = null;

  function notify(key, params) {
    const box = $("console-notice");
    I.set($("console-notice-text"), key, params);
    box.hidden = false;
    clearTimeout(noticeTimer);
  }

  function notifyError(data) {
    const box = $("console-notice");
    showError($("console-notice-text"), data, false);
    box.hidden = false;
  }

  function dismissNotice() {
    $("console-notice").hidden = true;
  }

  function updateTitle() {
    const n = S.queue.length;
    document.title = (n > 0 ? "(" + n + ") " : "") + I.t("console.title");
  }

  /* ------------------------------------------------------------------- me */

  function renderMe() {
    const btn = $("presence");
    const p = S.me && PRESENCES.has(S.me.presence) ? S.me.presence : "offline";
    btn.dataset.presence = p;
    btn.className = "btn presence presence-" + p;
    I.set(btn, "presence." + p);
    const role = $("role-label");
    const r = (S.me && S.me.role) || PAGE_ROLE;
    if (r && I.has("role." + r)) I.set(role, "role." + r);
    else I.setText(role, r || "");
    if (S.me && S.me.display_name) $("display-name").textContent = S.me.display_name;
    const sup = isSupervisor();
    $("skip-floor").hidden = !sup;
    $("floor").hidden = !sup;
  }

  async function togglePresence() {
    if (S.busy.presence) return;
    S.busy.presence = true;
    const btn = $("presence");
    btn.setAttribute("aria-busy", "true");
    const next = S.me && S.me.presence === "available" ? "on_break" : "available";
    const r = await api("POST", "/console/api/presence", { status: next });
    S.busy.presence = false;
    btn.removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.presence) {
      S.me = Object.assign({}, S.me || {}, r.data);
      renderMe();
      hideMessage($("take-next-message"));
    } else {
      notifyError(r.data);
    }
  }

  /* ---------------------------------------------------------------- queue */

  function renderQueue() {
    const body = $("queue-body");
    const items = S.queue.slice().sort((a, b) => {
      const pa = typeof a.position === "number" ? a.position : Infinity;
      const pb = typeof b.position === "number" ? b.position : Infinity;
      return pa - pb;
    });
    const rows = [];
    for (const q of items) {
      const tr = make("tr", "queue-item risk-row-" + (RISK_ORDER.includes(q.risk) ? q.risk : "none"));
      tr.dataset.id = String(q.id);
      tr.appendChild(make("td", "col-pos", q.position === null || q.position === undefined ? "–" : q.position));
      const ch = make("td");
      setChannel(ch, q.channel);
      tr.appendChild(ch);
      const rk = make("td");
      rk.appendChild(riskBadge(q.risk));
      tr.appendChild(rk);
      const w = make("td", "col-time");
      w.appendChild(ticker(q.waiting_since));
      tr.appendChild(w);
      const d = make("td");
      setDistrict(d, q.district);
      tr.appendChild(d);
      rows.push(tr);
    }
    if (rows.length === 0) {
      const tr = make("tr", "empty-row");
      const td = make("td");
      td.colSpan = 5;
      I.set(td, "console.queue.empty");
      tr.appendChild(td);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    $("queue-count").textContent = String(items.length);
    updateTitle();
  }

  async function takeNext() {
    if (S.busy.take) return;
    S.busy.take = true;
    const btn = $("take-next");
    btn.setAttribute("aria-busy", "true");
    const msg = $("take-next-message");
    hideMessage(msg);
    const r = await api("POST", "/console/api/take-next");
    S.busy.take = false;
    btn.removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.contact) {
      const d = r.data.contact;
      mergeDetail(d);
      upsertSummary(summaryOf(d), { silent: true });
      S.queue = S.queue.filter((q) => !sameId(q.id, d.id));
      renderQueue();
      selectContact(d.id, { fetch: false });
      $("reply").focus();
    } else {
      showError(msg, r.data, false);
    }
  }

  /* ---------------------------------------------------------- my contacts */

  function summaryOf(detail) {
    const s = Object.assign({}, detail);
    delete s.messages;
    delete s.notes;
    delete s.wrap_up;
    return s;
  }

  function renderMyContacts() {
    const ul = $("my-contacts");
    const items = [];
    for (const c of S.contacts.values()) {
      const li = make("li", "contact-item");
      li.dataset.id = String(c.id);
      li.dataset.state = c.state || "";
      const selected = sameId(c.id, S.selected);
      if (selected) li.classList.add("selected");
      const btn = make("button", "contact-button");
      btn.type = "button";
      btn.dataset.id = String(c.id);
      if (selected) btn.setAttribute("aria-current", "true");

      const line1 = make("span", "contact-line");
      const title = make("span", "contact-name");
      I.set(title, "console.contact.title", { id: c.id });
      line1.appendChild(title);
      line1.appendChild(riskBadge(c.risk));
      const st = make("span", "state-label");
      setState(st, c.state);
      line1.appendChild(st);

      const line2 = make("span", "contact-line contact-sub");
      const dist = make("span");
      setDistrict(dist, c.district);
      line2.appendChild(dist);
      line2.appendChild(ticker(c.waiting_since));

      btn.appendChild(line1);
      btn.appendChild(line2);

      const flags = make("span", "contact-line contact-flags");
      const unread = S.unread.get(String(c.id)) || 0;
      if (unread > 0) {
        const u = make("span", "flag flag-unread");
        I.set(u, "console.my.unread", { n: unread });
        flags.appendChild(u);
      }
      if (c.state === "wrap_up" && S.endedByPerson.has(String(c.id))) {
        const e = make("span", "flag flag-ended");
        I.set(e, "console.my.person_ended");
        flags.appendChild(e);
      }
      if (flags.childNodes.length) btn.appendChild(flags);

      btn.addEventListener("click", () => selectContact(c.id));
      li.appendChild(btn);
      items.push(li);
    }
    ul.replaceChildren(...items);
    $("my-contacts-empty").hidden = items.length > 0;
    $("my-contacts-count").textContent = String(items.length);
  }

  function mergeById(a, b) {
    const map = new Map();
    for (const x of Array.isArray(a) ? a : []) if (x) map.set(String(x.id), x);
    for (const x of Array.isArray(b) ? b : []) if (x) map.set(String(x.id), x);
    return Array.from(map.values()).sort((x, y) => {
      const tx = I.parseTime(x.at);
      const ty = I.parseTime(y.at);
      if (tx !== ty && !Number.isNaN(tx) && !Number.isNaN(ty)) return tx - ty;
      return Number(x.id) - Number(y.id);
    });
  }

  function mergeDetail(d) {
    if (!d || d.id === undefined || d.id === null) return;
    const key = String(d.id);
    const old = S.details.get(key);
    const merged = Object.assign({}, old || {}, d);
    merged.messages = mergeById(old && old.messages, d.messages);
    merged.notes = mergeById(old && old.notes, d.notes);
    S.details.set(key, merged);
  }

  /* A contact I hold changed (from a `contact` frame, state reload or an API reply). */
  function upsertSummary(c, opts) {
    if (!c || c.id === undefined || c.id === null) return;
    const key = String(c.id);
    const old = S.contacts.get(key);
    const detail = S.details.get(key);
    if (detail) Object.assign(detail, c);

    if (GONE_STATES.has(c.state)) {
      if (old) {
        removeContact(key);
        if (!(opts && opts.silent)) notify("console.contact.gone_notice", { id: c.id });
      } else if (sameId(S.selected, key)) {
        renderConversation();
      }
      return;
    }

    const wasState = old ? old.state : detail ? detail.state : null;
    if (c.state === "wrap_up" && wasState && wasState !== "wrap_up" && !S.endedByMe.has(key)) {
      S.endedByPerson.add(key);
      if (!(opts && opts.silent)) notify("console.contact.person_ended_notice", { id: c.id });
    }
    S.contacts.set(key, Object.assign({}, old || {}, c));
    renderMyContacts();
    if (sameId(S.selected, key)) renderConversation();
    else if (S.selected === null) selectContact(key);
  }

  function removeContact(key) {
    key = String(key);
    S.contacts.delete(key);
    S.unread.delete(key);
    S.drafts.delete(key);
    S.noteDrafts.delete(key);
    S.endedByMe.delete(key);
    S.endedByPerson.delete(key);
    const wasSelected = sameId(S.selected, key) && !S.observing;
    if (wasSelected) {
      S.details.delete(key);
      S.selected = null;
      S.wrapFormFor = null;
      const next = S.contacts.keys().next();
      if (!next.done) {
        selectContact(next.value);
        return;
      }
    } else if (!sameId(S.selected, key)) {
      S.details.delete(key);
    }
    renderMyContacts();
    renderConversation();
  }

  /* ---------------------------------------------------------- conversation */

  function saveDrafts() {
    if (S.selected === null) return;
    S.drafts.set(String(S.selected), $("reply").value);
    S.noteDrafts.set(String(S.selected), $("note").value);
  }

  function restoreDrafts() {
    const key = S.selected === null ? null : String(S.selected);
    $("reply").value = key !== null ? S.drafts.get(key) || "" : "";
    $("note").value = key !== null ? S.noteDrafts.get(key) || "" : "";
  }

  async function selectContact(id, opts) {
    const key = String(id);
    if (!sameId(S.selected, key)) {
      saveDrafts();
      S.selected = key;
      restoreDrafts();
      hideMessage($("reply-notice"));
      hideMessage($("note-notice"));
      hideMessage($("wrap-error"));
      $("end-confirm-box").hidden = true;
    }
    S.observing = Boolean(opts && opts.observe) && !S.contacts.has(key);
    S.unread.delete(key);
    renderMyContacts();
    renderConversation({ scroll: true });
    if (!(opts && opts.fetch === false)) await refreshDetail(key);
  }

  async function refreshDetail(key) {
    const r = await api("GET", "/console/api/contacts/" + encodeURIComponent(key));
    if (r.ok && r.data && r.data.id !== undefined) {
      mergeDetail(r.data);
      if (S.contacts.has(String(key))) {
        const c = summaryOf(r.data);
        if (GONE_STATES.has(c.state)) {
          upsertSummary(c);
          return;
        }
        const old = S.contacts.get(String(key));
        S.contacts.set(String(key), Object.assign({}, old, c));
        renderMyContacts();
      }
      if (sameId(S.selected, key)) renderConversation();
    } else if (sameId(S.selected, key)) {
      notifyError(r.data);
      if (!S.contacts.has(String(key))) {
        S.selected = null;
        S.observing = false;
        renderConversation();
      }
    }
  }

  function focusIsIn(node) {
    return node && document.activeElement && node.contains(document.activeElement);
  }

  function renderConversation(opts) {
    const key = S.selected === null ? null : String(S.selected);
    const view = $("contact-view");
    const notesPanel = $("notes-panel");
    if (key === null) {
      $("no-selection").hidden = false;
      view.hidden = true;
      notesPanel.hidden = true;
      return;
    }
    const d = S.details.get(key);
    const c = Object.assign({}, d || {}, S.contacts.get(key) || {});
    if (c.id === undefined) c.id = key;
    const state = c.state || "";
    const live = LIVE_STATES.has(state);
    const observing = S.observing;

    $("no-selection").hidden = true;
    view.hidden = false;
    notesPanel.hidden = false;

    I.set($("contact-title"), "console.contact.title", { id: c.id });
    riskBadge(c.risk, $("contact-risk"));
    setState($("contact-state"), state);
    setChannel($("contact-channel"), c.channel);
    setDistrict($("contact-district"), c.district);
    const who = $("contact-counsellor");
    if (c.counsellor_name && (observing || isSupervisor())) {
      I.set(who, "console.contact.counsellor", { name: c.counsellor_name });
      who.hidden = false;
    } else {
      I.setText(who, "");
      who.hidden = true;
    }
    const dur = $("contact-duration");
    if (c.waiting_since) dur.dataset.since = c.waiting_since;
    else delete dur.dataset.since;
    dur.textContent = I.formatDuration(now() - I.parseTime(c.waiting_since));

    const obs = $("observe-banner");
    if (observing) {
      I.set(obs, "console.contact.observing", { name: c.counsellor_name || "–" });
      obs.hidden = false;
    } else {
      obs.hidden = true;
    }

    const ended = $("contact-ended");
    if (state === "wrap_up") {
      I.set(ended, S.endedByPerson.has(key) ? "console.contact.person_ended" : "console.contact.i_ended");
      ended.hidden = false;
    } else if (GONE_STATES.has(state)) {
      I.set(ended, "console.contact.closed");
      ended.hidden = false;
    } else {
      ended.hidden = true;
    }

    const replyForm = $("reply-form");
    const focusWasInReply = focusIsIn(replyForm) || focusIsIn($("end-confirm-box")) ||
      document.activeElement === $("end-conversation");
    const endBtn = $("end-conversation");
    endBtn.hidden = !live || observing;
    if (endBtn.hidden) $("end-confirm-box").hidden = true;
    replyForm.hidden = !live || observing;
    $("note-form").hidden = observing;

    const wrap = $("wrap-up");
    const showWrap = state === "wrap_up" && !observing;
    if (showWrap && S.wrapFormFor !== key) prepareWrapUp(key, d);
    const wrapWasHidden = wrap.hidden;
    wrap.hidden = !showWrap;
    $("conversation-pane").classList.toggle("is-wrap-up", showWrap);

    renderMessages(d, opts && opts.scroll);
    renderNotes(d);

    if (showWrap && wrapWasHidden) {
      if (focusWasInReply || document.activeElement === document.body) $("wrap-category").focus();
      wrap.scrollIntoView({ block: "nearest" });
    }
  }

  function buildMessage(m) {
    const fromCaller = m.from === "caller";
    const item = make("div", "message " + (fromCaller ? "from-caller" : "from-counsellor"));
    item.dataset.id = String(m.id);
    const head = make("div", "meta");
    const who = make("span", "who");
    I.set(who, fromCaller ? "console.from.caller" : "console.from.counsellor");
    head.appendChild(who);
    const time = make("time", "time", I.formatTime(m.at));
    if (m.at) time.setAttribute("datetime", m.at);
    head.appendChild(time);
    item.appendChild(head);
    item.appendChild(make("p", "text", m.text === undefined || m.text === null ? "" : m.text));
    return item;
  }

  function renderMessages(d, forceScroll) {
    const box = $("conversation");
    const key = S.selected === null ? "" : String(S.selected);
    const list = d && Array.isArray(d.messages) ? d.messages : [];
    const stick = forceScroll || box.dataset.contactId !== key ||
      box.scrollHeight - box.scrollTop - box.clientHeight < 80;

    if (!d) {
      const p = make("p", "empty");
      I.set(p, "console.loading");
      box.replaceChildren(p);
      box.dataset.contactId = "";
      return;
    }
    const rendered = Array.from(box.querySelectorAll(".message")).map((n) => n.dataset.id);
    const wanted = list.map((m) => String(m.id));
    const isPrefix = box.dataset.contactId === key && rendered.length <= wanted.length &&
      rendered.every((id, i) => id === wanted[i]) && box.querySelector(".empty") === null;
    if (isPrefix) {
      for (let i = rendered.length; i < list.length; i++) box.appendChild(buildMessage(list[i]));
    } else {
      const nodes = list.map(buildMessage);
      if (nodes.length === 0) {
        const p = make("p", "empty");
        I.set(p, "console.contact.no_messages");
        nodes.push(p);
      }
      box.replaceChildren(...nodes);
    }
    if (list.length > 0) {
      const empty = box.querySelector(".empty");
      if (empty) empty.remove();
    }
    box.dataset.contactId = key;
    if (stick) box.scrollTop = box.scrollHeight;
  }

  function renderNotes(d) {
    const ul = $("notes");
    const list = d && Array.isArray(d.notes) ? d.notes : [];
    const items = list.map((n) => {
      const li = make("li", "note");
      li.dataset.id = String(n.id);
      const head = make("div", "meta");
      const tag = make("span", "private-tag");
      I.set(tag, "console.notes.tag");
      head.appendChild(tag);
      const author = make("span", "who");
      const name = counsellorName(n.author_id);
      if (sameId(n.author_id, myId())) I.set(author, "console.notes.me");
      else if (name) I.setText(author, name);
      else I.set(author, "console.notes.staff", { id: n.author_id });
      head.appendChild(author);
      const time = make("time", "time", I.formatTime(n.at));
      if (n.at) time.setAttribute("datetime", n.at);
      head.appendChild(time);
      li.appendChild(head);
      li.appendChild(make("p", "text", n.text));
      return li;
    });
    ul.replaceChildren(...items);
    $("notes-empty").hidden = items.length > 0;
  }

  function addMessage(contactId, m) {
    if (!m || contactId === undefined || contactId === null) return;
    const key = String(contactId);
    const d = S.details.get(key);
    if (d) {
      if (!d.messages.some((x) => sameId(x.id, m.id))) d.messages = mergeById(d.messages, [m]);
    }
    if (sameId(S.selected, key)) {
      if (d) renderMessages(d, m.from === "counsellor" && !S.observing);
    } else if (S.contacts.has(key) && m.from === "caller") {
      S.unread.set(key, (S.unread.get(key) || 0) + 1);
      renderMyContacts();
    }
  }

  async function sendReply() {
    if (S.busy.reply || S.selected === null || S.observing) return;
    const key = String(S.selected);
    const box = $("reply");
    const notice = $("reply-notice");
    const text = box.value.trim();
    if (!text) {
      I.set(notice, "error.empty");
      notice.hidden = false;
      box.focus();
      return;
    }
    S.busy.reply = true;
    $("send-reply").setAttribute("aria-busy", "true");
    const r = await api("POST", "/console/api/contacts/" + encodeURIComponent(key) + "/messages", { text });
    S.busy.reply = false;
    $("send-reply").removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.id !== undefined) {
      addMessage(key, r.data);
      if (sameId(S.selected, key)) {
        if (box.value.trim() === text) box.value = "";
        hideMessage(notice);
      } else if ((S.drafts.get(key) || "").trim() === text) {
        S.drafts.delete(key);
      }
    } else {
      if (sameId(S.selected, key)) showError(notice, r.data, false);
      else notifyError(r.data);
      const code = r.data && r.data.error;
      if (code === "not_active" || code === "ended" || code === "illegal_transition") {
        refreshDetail(key); /* the conversation moved on; show its real state */
      }
    }
  }

  async function addNote() {
    if (S.busy.note || S.selected === null || S.observing) return;
    const key = String(S.selected);
    const box = $("note");
    const notice = $("note-notice");
    const text = box.value.trim();
    if (!text) {
      I.set(notice, "error.empty");
      notice.hidden = false;
      box.focus();
      return;
    }
    S.busy.note = true;
    $("add-note").setAttribute("aria-busy", "true");
    const r = await api("POST", "/console/api/contacts/" + encodeURIComponent(key) + "/notes", { text });
    S.busy.note = false;
    $("add-note").removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.id !== undefined) {
      const d = S.details.get(key);
      if (d) d.notes = mergeById(d.notes, [r.data]);
      if (sameId(S.selected, key)) {
        if (box.value.trim() === text) box.value = "";
        hideMessage(notice);
        renderNotes(S.details.get(key));
      } else {
        S.noteDrafts.delete(key);
      }
    } else if (sameId(S.selected, key)) {
      showError(notice, r.data, false);
    } else {
      notifyError(r.data);
    }
  }

  function askEnd() {
    $("end-confirm-box").hidden = false;
    $("end-conversation-cancel").focus();
  }

  function cancelEnd() {
    $("end-confirm-box").hidden = true;
    $("end-conversation").focus();
  }

  async function confirmEnd() {
    if (S.busy.end || S.selected === null || S.observing) return;
    const key = String(S.selected);
    S.busy.end = true;
    S.endedByMe.add(key);
    $("end-conversation-confirm").setAttribute("aria-busy", "true");
    const r = await api("POST", "/console/api/contacts/" + encodeURIComponent(key) + "/end");
    S.busy.end = false;
    $("end-conversation-confirm").removeAttribute("aria-busy");
    $("end-confirm-box").hidden = true;
    if (r.ok && r.data && r.data.id !== undefined) {
      mergeDetail(r.data);
      upsertSummary(summaryOf(r.data), { silent: true });
      if (sameId(S.selected, key)) {
        renderConversation();
        if (!$("wrap-up").hidden) $("wrap-category").focus();
      }
    } else {
      S.endedByMe.delete(key);
      const notice = $("reply-notice");
      if (sameId(S.selected, key) && !$("reply-form").hidden) showError(notice, r.data, false);
      else notifyError(r.data);
      /* the state may have moved on (e.g. the person ended first) */
      refreshDetail(key);
    }
  }

  /* --------------------------------------------------------------- wrap-up */

  function fillSelect(select, list) {
    const keep = select.value;
    const first = select.options[0];
    const nodes = [first];
    for (const o of Array.isArray(list) ? list : []) {
      if (!o || o.id === undefined || o.id === null) continue;
      const opt = document.createElement("option");
      opt.value = String(o.id);
      I.setName(opt, o);
      nodes.push(opt);
    }
    select.replaceChildren(...nodes);
    select.value = keep;
    if (select.value !== keep) select.value = "";
  }

  function fillWrapUpOptions() {
    const o = S.options || {};
    fillSelect($("wrap-category"), o.categories);
    fillSelect($("wrap-outcome"), o.outcomes);
    fillSelect($("wrap-referral"), o.referrals);
    const box = $("wrap-key-groups-list");
    const checked = new Set(
      Array.from(box.querySelectorAll("input:checked")).map((x) => x.value));
    const nodes = [];
    for (const g of Array.isArray(o.key_groups) ? o.key_groups : []) {
      if (!g || g.id === undefined || g.id === null) continue;
      const id = "wrap-kg-" + String(g.id).replace(/[^A-Za-z0-9_-]/g, "_");
      const wrap = make("div", "field-checkbox");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "key_groups";
      input.value = String(g.id);
      input.id = id;
      input.checked = checked.has(String(g.id));
      const label = make("label");
      label.htmlFor = id;
      I.setName(label, g);
      wrap.appendChild(input);
      wrap.appendChild(label);
      nodes.push(wrap);
    }
    box.replaceChildren(...nodes);
    $("wrap-key-groups").hidden = nodes.length === 0;
    if (S.wrapFormFor === null) defaultReferral();
  }

  function defaultReferral() {
    const sel = $("wrap-referral");
    if (!sel.value && findOption("referrals", "none")) sel.value = "none";
  }

  function prepareWrapUp(key, d) {
    const form = $("wrap-up");
    form.reset();
    for (const f of form.querySelectorAll("[aria-invalid]")) f.removeAttribute("aria-invalid");
    hideMessage($("wrap-error"));
    defaultReferral();
    const w = d && d.wrap_up;
    if (w && typeof w === "object") {
      if (w.category) $("wrap-category").value = String(w.category);
      if (w.outcome) $("wrap-outcome").value = String(w.outcome);
      if (w.referral) $("wrap-referral").value = String(w.referral);
      $("wrap-follow-up").checked = Boolean(w.follow_up_wanted);
      if (typeof w.summary === "string") $("wrap-summary").value = w.summary;
      const groups = new Set((Array.isArray(w.key_groups) ? w.key_groups : []).map(String));
      for (const cb of form.querySelectorAll('input[name="key_groups"]')) cb.checked = groups.has(cb.value);
    }
    S.wrapFormFor = key;
  }

  const WRAP_FIELDS = [
    ["category", "wrap-category", "console.wrap.category"],
    ["outcome", "wrap-outcome", "console.wrap.outcome"],
    ["referral", "wrap-referral", "console.wrap.referral"]
  ];

  async function submitWrapUp(ev) {
    ev.preventDefault();
    if (S.busy.wrap || S.selected === null || S.observing) return;
    const key = String(S.selected);
    const err = $("wrap-error");
    hideMessage(err);
    const missing = [];
    let firstBad = null;
    for (const [, id, label] of WRAP_FIELDS) {
      const sel = $(id);
      if (!sel.value) {
        sel.setAttribute("aria-invalid", "true");
        missing.push(I.t(label));
        if (!firstBad) firstBad = sel;
      } else {
        sel.removeAttribute("aria-invalid");
      }
    }
    if (missing.length) {
      I.set(err, "console.wrap.missing", { fields: missing.join(I.t("console.wrap.separator")) });
      err.hidden = false;
      firstBad.focus();
      return;
    }
    const body = {
      category: $("wrap-category").value,
      outcome: $("wrap-outcome").value,
      referral: $("wrap-referral").value,
      follow_up_wanted: $("wrap-follow-up").checked,
      key_groups: Array.from(document.querySelectorAll('#wrap-key-groups-list input:checked'))
        .map((x) => x.value),
      summary: $("wrap-summary").value.trim()
    };
    S.busy.wrap = true;
    $("wrap-submit").setAttribute("aria-busy", "true");
    const r = await api("POST", "/console/api/contacts/" + encodeURIComponent(key) + "/wrap-up", body);
    S.busy.wrap = false;
    $("wrap-submit").removeAttribute("aria-busy");
    if (r.ok) {
      S.wrapFormFor = null;
      $("wrap-up").reset();
      removeContact(key);
      notify("console.wrap.saved", { id: key });
      if (S.selected === null) $("take-next").focus();
      else $("conversation-pane").focus();
    } else {
      const data = r.data || {};
      if (data.field === "summary" && data.error === "too_long") I.set(err, "error.summary_too_long");
      else showError(err, data, false);
      err.hidden = false;
      const targets = {
        category: "wrap-category",
        outcome: "wrap-outcome",
        referral: "wrap-referral",
        follow_up_wanted: "wrap-follow-up",
        summary: "wrap-summary"
      };
      let target = data.field && targets[data.field] ? $(targets[data.field]) : null;
      if (!target && data.field === "key_groups") {
        target = document.querySelector('#wrap-key-groups-list input[type="checkbox"]');
      }
      if (target) {
        if (target.type !== "checkbox") target.setAttribute("aria-invalid", "true");
        target.focus();
      }
      if (data.error === "not_in_wrap_up" || data.error === "not_yours" ||
          data.error === "illegal_transition") {
        refreshDetail(key);
      }
    }
  }

  /* ----------------------------------------------------------------- floor */

  function renderFloor() {
    const sup = isSupervisor();
    $("floor").hidden = !sup;
    $("skip-floor").hidden = !sup;
    if (!sup) return;
    const f = S.floor || {};
    const counsellors = Array.isArray(f.counsellors) ? f.counsellors : [];
    const active = Array.isArray(f.active) ? f.active.slice() : [];

    const cRows = counsellors.map((c) => {
      const p = PRESENCES.has(c.presence) ? c.presence : "offline";
      const tr = make("tr", "floor-counsellor presence-row-" + p);
      tr.dataset.id = String(c.id);
      tr.appendChild(make("td", "", c.display_name || ""));
      const td = make("td");
      const badge = make("span", "presence-badge presence-" + p);
      I.set(badge, "presence." + p);
      td.appendChild(badge);
      tr.appendChild(td);
      tr.appendChild(make("td", "col-num", c.active_contacts === undefined ? "–" : c.active_contacts));
      return tr;
    });
    if (cRows.length === 0) {
      const tr = make("tr", "empty-row");
      const td = make("td");
      td.colSpan = 3;
      I.set(td, "console.floor.no_counsellors");
      tr.appendChild(td);
      cRows.push(tr);
    }
    $("floor-counsellors-body").replaceChildren(...cRows);

    active.sort((a, b) => {
      const ra = RISK_ORDER.indexOf(a.risk);
      const rb = RISK_ORDER.indexOf(b.risk);
      if (ra !== rb) return (ra < 0 ? 99 : ra) - (rb < 0 ? 99 : rb);
      return I.parseTime(a.waiting_since) - I.parseTime(b.waiting_since);
    });
    const aRows = active.map((c) => {
      const tr = make("tr", "floor-contact risk-row-" + (RISK_ORDER.includes(c.risk) ? c.risk : "none"));
      tr.dataset.id = String(c.id);
      if (sameId(c.id, S.selected)) tr.classList.add("selected");
      const idCell = make("td");
      I.set(idCell, "console.contact.title", { id: c.id });
      tr.appendChild(idCell);
      tr.appendChild(make("td", "", c.counsellor_name || "–"));
      const rk = make("td");
      rk.appendChild(riskBadge(c.risk));
      tr.appendChild(rk);
      const ch = make("td");
      setChannel(ch, c.channel);
      tr.appendChild(ch);
      const st = make("td");
      setState(st, c.state);
      tr.appendChild(st);
      const du = make("td", "col-time");
      du.appendChild(ticker(c.waiting_since));
      tr.appendChild(du);
      const act = make("td");
      const btn = make("button", "btn btn-secondary btn-small");
      btn.type = "button";
      I.set(btn, "console.view");
      btn.addEventListener("click", () => {
        selectContact(c.id, { observe: !S.contacts.has(String(c.id)) });
        $("conversation-pane").focus();
      });
      act.appendChild(btn);
      tr.appendChild(act);
      return tr;
    });
    if (aRows.length === 0) {
      const tr = make("tr", "empty-row");
      const td = make("td");
      td.colSpan = 7;
      I.set(td, "console.floor.no_active");
      tr.appendChild(td);
      aRows.push(tr);
    }
    $("floor-active-body").replaceChildren(...aRows);
  }

  /* ----------------------------------------------------------------- state */

  function applyState(d) {
    const stamp = setServerTime(d.server_time);
    if (d.me) S.me = d.me;
    renderMe();

    if (Array.isArray(d.queue) && (Number.isNaN(stamp) || stamp >= S.queueStamp)) {
      S.queue = d.queue;
      if (!Number.isNaN(stamp)) S.queueStamp = stamp;
      renderQueue();
    }

    if (Array.isArray(d.my_contacts)) {
      const fresh = new Map();
      for (const c of d.my_contacts) {
        if (!c || c.id === undefined || c.id === null || GONE_STATES.has(c.state)) continue;
        const key = String(c.id);
        const old = S.contacts.get(key);
        if (old && old.state !== "wrap_up" && c.state === "wrap_up" && !S.endedByMe.has(key)) {
          S.endedByPerson.add(key);
        }
        fresh.set(key, Object.assign({}, old || {}, c));
        const det = S.details.get(key);
        if (det) Object.assign(det, c);
      }
      for (const key of S.contacts.keys()) {
        if (!fresh.has(key)) {
          S.unread.delete(key);
          S.drafts.delete(key);
          S.noteDrafts.delete(key);
          if (!sameId(S.selected, key)) S.details.delete(key);
        }
      }
      S.contacts = fresh;
      if (S.selected !== null && !S.contacts.has(String(S.selected)) && !S.observing) {
        S.selected = null;
        S.wrapFormFor = null;
      }
    }

    S.floor = d.floor || null;
    renderFloor();
    renderMyContacts();

    if (S.selected === null) {
      const first = S.contacts.keys().next();
      if (!first.done) selectContact(first.value);
      else renderConversation();
    } else {
      renderConversation();
      refreshDetail(String(S.selected)); /* pick up anything missed while disconnected */
    }
  }

  async function loadState() {
    const r = await api("GET", "/console/api/state");
    if (r.ok && r.data) applyState(r.data);
    else notifyError(r.data);
  }

  async function loadOptions() {
    const r = await api("GET", "/console/api/options");
    if (!(r.ok && r.data)) return;
    S.options = r.data;
    fillWrapUpOptions();
    renderQueue();
    renderMyContacts();
    renderFloor();
    if (S.selected !== null) renderConversation();
  }

  /* ------------------------------------------------------------- websocket */

  function wsUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/console/ws";
  }

  function showBanner() {
    const banner = $("connection-banner");
    I.set($("connection-text"), "console.connection.lost", { n: Math.max(1, S.wsAttempts) });
    banner.hidden = false;
  }

  function scheduleWs() {
    clearTimeout(S.wsTimer);
    const base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, S.wsAttempts));
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    S.wsAttempts += 1;
    showBanner();
    S.wsTimer = setTimeout(connectWs, delay);
  }

  function connectWs() {
    clearTimeout(S.wsTimer);
    S.wsTimer = null;
    if (S.leaving) return;
    if (S.ws && (S.ws.readyState === WebSocket.OPEN || S.ws.readyState === WebSocket.CONNECTING)) return;
    let sock;
    try {
      sock = new WebSocket(wsUrl());
    } catch (_e) {
      scheduleWs();
      return;
    }
    S.ws = sock;
    sock.addEventListener("open", () => {
      if (sock !== S.ws) return;
      S.wsAttempts = 0;
      $("connection-banner").hidden = true;
      loadState(); /* resync: frames may have been missed before or between connections */
    });
    sock.addEventListener("message", (ev) => {
      if (sock !== S.ws) return;
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch (_e) {
        return;
      }
      if (f && typeof f === "object") handleFrame(f);
    });
    sock.addEventListener("close", () => {
      if (sock !== S.ws) return;
      S.ws = null;
      if (S.leaving) return;
      scheduleWs();
    });
  }

  function reconnectNow() {
    S.wsAttempts = 0;
    if (S.ws) {
      const old = S.ws;
      S.ws = null;
      try {
        old.close();
      } catch (_e) {
        /* ignore */
      }
    }
    connectWs();
  }

  function handleFrame(f) {
    switch (f.type) {
      case "queue": {
        const stamp = setServerTime(f.server_time);
        if (!Number.isNaN(stamp)) S.queueStamp = Math.max(S.queueStamp, stamp);
        S.queue = Array.isArray(f.queue) ? f.queue : [];
        renderQueue();
        break;
      }
      case "message":
        addMessage(f.contact_id, f.message);
        break;
      case "contact":
        if (f.contact) upsertSummary(f.contact);
        break;
      case "me":
        /* my presence changed on the server (the socket opening makes me available) */
        if (f.me) {
          S.me = Object.assign({}, S.me || {}, f.me);
          renderMe();
        }
        break;
      case "floor":
        S.floor = f.floor || null;
        renderFloor();
        if (S.observing && S.selected !== null && S.floor && Array.isArray(S.floor.active) &&
            !S.floor.active.some((c) => sameId(c.id, S.selected))) {
          refreshDetail(String(S.selected));
        }
        break;
      default:
        break;
    }
  }

  /* ---------------------------------------------------------------- wiring */

  function enterSends(ev, fn, ctrlOnly) {
    if (ev.key !== "Enter" || ev.isComposing || ev.keyCode === 229) return;
    const ctrl = ev.ctrlKey || ev.metaKey;
    if (ctrlOnly ? !ctrl : ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    fn();
  }

  $("presence").addEventListener("click", togglePresence);
  $("take-next").addEventListener("click", takeNext);
  $("reply-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sendReply();
  });
  $("reply").addEventListener("keydown", (ev) => enterSends(ev, sendReply, false));
  $("note-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    addNote();
  });
  $("note").addEventListener("keydown", (ev) => enterSends(ev, addNote, true));
  $("end-conversation").addEventListener("click", askEnd);
  $("end-conversation-cancel").addEventListener("click", cancelEnd);
  $("end-conversation-confirm").addEventListener("click", confirmEnd);
  $("end-confirm-box").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      cancelEnd();
    }
  });
  $("wrap-up").addEventListener("submit", submitWrapUp);
  $("wrap-up").addEventListener("change", (ev) => {
    if (ev.target && ev.target.value) ev.target.removeAttribute("aria-invalid");
  });
  $("console-notice-dismiss").addEventListener("click", dismissNotice);
  $("reconnect-now").addEventListener("click", reconnectNow);

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey &&
        (ev.code === "KeyN" || (ev.key && ev.key.toLowerCase() === "n"))) {
      ev.preventDefault();
      takeNext();
    }
  });

  window.addEventListener("online", () => {
    if (!S.ws) reconnectNow();
  });
  window.addEventListener("pagehide", () => {
    S.leaving = true;
  });
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) {
      S.leaving = false;
      reconnectNow();
    }
  });

  I.onChange(() => {
    updateTitle();
    /* names in tables follow data-name-*; rebuild the pieces assembled from several strings */
    renderQueue();
    renderMyContacts();
    renderFloor();
    if (S.selected !== null) renderNotes(S.details.get(String(S.selected)));
  });

  renderMe();
  renderQueue();
  renderMyContacts();
  renderConversation();
  renderFloor();
  setInterval(tick, 1000);

  loadOptions();
  loadState().then(connectWs, connectWs);
})();
