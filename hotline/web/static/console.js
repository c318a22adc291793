/* Counsellor / supervisor console (/console). Contract: docs/web-api.md. */
"use strict";

(() => {
  const I = window.I18n;
  const $ = (id) => document.getElementById(id);

  const { meta, make, hideMessage, liveSocket } = window.StaffPage;
  const PAGE_ROLE = meta("user-role");
  const PAGE_USER_ID = meta("user-id");
  const LIVE_STATES = new Set(["offered", "active"]);
  const GONE_STATES = new Set(["closed", "abandoned", "transferred"]);
  const RISK_ORDER = ["imminent", "high", "moderate", "low", "none"];
  const PRESENCES = new Set(["available", "on_break", "offline"]);
  const CHANNELS = { webchat: "⌨", voice: "☎", sms: "✉" }; /* glyphs beside the text label */
  const SMS_MAX_CHARS = 500; /* texts are short: replies over this are refused here */
  /* Order of an SMS reply's delivery statuses: a later report never goes back to an earlier
   * one (a `message` frame may carry "pending" after the reply's answer said "sent"). */
  const DELIVERY_RANK = {
    pending: 0, accepted: 1, queued: 1, sending: 2, sent: 3, delivered: 4, read: 5,
    undelivered: 6, failed: 6
  };
  const DELIVERY_FAILED = new Set(["failed", "undelivered"]);

  const S = {
    me: null,
    offset: 0, /* server clock minus browser clock, ms */
    queue: [],
    queueStamp: -Infinity,
    queueFrames: 0, /* queue frames received so far */
    contacts: new Map(), /* my contacts: id -> ContactSummary */
    details: new Map(), /* id -> ContactDetail (messages, notes) */
    selected: null,
    observing: false,
    floor: null,
    options: null,
    unread: new Map(),
    endedByMe: new Set(),
    endedByPerson: new Set(),
    optedOut: new Map(), /* SMS contacts whose person texted STOP: id -> server's message */
    requeueChecks: new Set(),
    drafts: new Map(),
    noteDrafts: new Map(),
    wrapFormFor: null,
    /* Repeat callers: what the server says of each contact's person (counts, levels, cases),
     * and the history opened for the selected contact (personal text: each opening is an
     * audited POST, so it is never kept once closed or once another contact is selected). */
    callers: new Map(),
    history: null, /* { key, data, openedAt } */
    warnings: null, /* supervisors: the open early warnings, worded per language */
    phoneAsked: new Set(), /* contacts whose wrap-up the server asked a number for */
    busy: { take: false, presence: false, reply: false, note: false, end: false, wrap: false,
      history: false },
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

  const { now, setServerTime } = window.StaffPage.clock(S);
  const { toLogin, api } = window.StaffPage.session(S);

  function sameId(a, b) {
    return a !== null && a !== undefined && b !== null && b !== undefined && String(a) === String(b);
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

  /* ------------------------------------------------------------ formatting */

  function riskBadge(risk, node) {
    const badge = node || make("span");
    const r = RISK_ORDER.includes(risk) ? risk : "none";
    badge.className = "risk risk-" + r;
    if (RISK_ORDER.includes(risk)) I.set(badge, "risk." + r);
    else I.setText(badge, risk || "–");
    return badge;
  }

  /* A channel as text with a glyph (never colour alone): "☎ 电话". */
  function channelTag(channel) {
    const known = Object.prototype.hasOwnProperty.call(CHANNELS, channel);
    const tag = make("span", "channel channel-" + (known ? channel : "other"));
    if (known) {
      const glyph = make("span", "channel-glyph", CHANNELS[channel]);
      glyph.setAttribute("aria-hidden", "true");
      tag.appendChild(glyph);
    }
    const name = make("span", "channel-name");
    if (channel && I.has("channel." + channel)) I.set(name, "channel." + channel);
    else I.setText(name, channel || "–");
    tag.appendChild(name);
    return tag;
  }

  function setChannel(node, channel) {
    I.setText(node, "");
    node.replaceChildren(channelTag(channel));
  }

  function channelOf(key) {
    if (key === null || key === undefined) return null;
    const c = S.contacts.get(String(key));
    const d = S.details.get(String(key));
    return (c && c.channel) || (d && d.channel) || null;
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

  const MAX_NOTICES = 3;

  /* Notices stack (newest last, at most three) until "知道了": two things that happen at
   * once (a call went back to the queue, and a text was given instead) are both seen. */
  function noticeLine(fill) {
    const box = $("console-notice");
    const list = $("console-notice-text");
    if (box.hidden) list.replaceChildren();
    const line = make("span", "notice-line");
    fill(line);
    line.hidden = false;
    for (const old of Array.from(list.children)) {
      if (old.textContent === line.textContent) old.remove();
    }
    list.appendChild(line);
    while (list.children.length > MAX_NOTICES) list.firstElementChild.remove();
    box.hidden = false;
    clearTimeout(noticeTimer);
  }

  function notify(key, params) {
    noticeLine((line) => I.set(line, key, params));
  }

  function notifyError(data) {
    noticeLine((line) => showError(line, data, false));
  }

  function dismissNotice() {
    $("console-notice").hidden = true;
    $("console-notice-text").replaceChildren();
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
    $("board-link").hidden = !sup; /* supervisors also use the dispatch board */
    $("followups-link").hidden = !followupViewer();
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
      if (q.incident_id) rk.appendChild(incidentTag(q.incident_id));
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
    const framesBefore = S.queueFrames;
    const r = await api("POST", "/console/api/take-next");
    S.busy.take = false;
    btn.removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.contact) {
      openTaken(r, framesBefore);
    } else {
      showError(msg, r.data, false);
    }
    takeNextSettled();
  }

  /* Show a contact just taken (by "take next" or by answering an urgent offer). */
  function openTaken(r, framesBefore) {
    const d = r.data.contact;
    const summary = summaryOf(d);
    const prior = S.contacts.get(String(d.id));
    if (prior && summary.state === "offered" && prior.state !== "offered") {
      /* a `contact` frame (the call was answered) overtook this answer: keep the newer state */
      summary.state = prior.state;
      summary.answered_at = prior.answered_at;
      d.state = prior.state;
      d.answered_at = prior.answered_at;
    }
    mergeDetail(d);
    upsertSummary(summary, { silent: true });
    if (S.queueFrames === framesBefore) {
      S.queue = S.queue.filter((q) => !sameId(q.id, d.id));
      renderQueue();
    } else if (S.queue.some((q) => sameId(q.id, d.id))) {
      checkRequeued(d.id); /* a newer queue frame already shows it waiting again */
    }
    selectContact(d.id, { fetch: false });
    if (d.channel === "voice") $("note").focus(); /* a call: no reply box, notes are at hand */
    else $("reply").focus();
    if (r.data.notice === "call_not_connected") notify("console.take_next.call_notice");
  }

  /* Urgent offers: someone in danger now is offered to every console; first to take gets it. */
  const urgent = new Map();

  function showUrgent(contact) {
    if (!contact || contact.state !== "queued") return;
    urgent.set(String(contact.id), contact);
    renderUrgent();
  }

  function renderUrgent() {
    for (const id of Array.from(urgent.keys())) {
      if (!S.queue.some((q) => sameId(q.id, id)) && S.queueFrames > 0) urgent.delete(id);
    }
    const banner = $("urgent-banner");
    const first = urgent.values().next().value;
    if (!first) {
      banner.hidden = true;
      return;
    }
    $("urgent-text").textContent = I.t("console.urgent.text", {
      id: first.id,
      channel: I.t("channel." + first.channel),
    });
    banner.hidden = false;
  }

  async function takeUrgent() {
    const first = urgent.values().next().value;
    if (!first || S.busy.take) return;
    S.busy.take = true;
    const framesBefore = S.queueFrames;
    const r = await api("POST", "/console/api/contacts/" + encodeURIComponent(first.id) + "/take");
    S.busy.take = false;
    urgent.delete(String(first.id));
    renderUrgent();
    if (r.ok && r.data && r.data.contact) openTaken(r, framesBefore);
    else notify("console.urgent.taken");
  }

  $("urgent-take").addEventListener("click", takeUrgent);
  document.addEventListener("keydown", (ev) => {
    if (ev.altKey && (ev.key === "u" || ev.key === "U")) {
      ev.preventDefault();
      takeUrgent();
    }
  });

  /* ---------------------------------------------------------- my contacts */

  function summaryOf(detail) {
    const s = Object.assign({}, detail);
    delete s.messages;
    delete s.notes;
    delete s.wrap_up;
    delete s.assessment;
    delete s.protocol;
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
      line2.appendChild(channelTag(c.channel));
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
      if (c.channel === "voice" && (c.state === "offered" || c.state === "active")) {
        const f = make("span", "flag flag-call flag-call-" + c.state);
        I.set(f, c.state === "offered" ? "console.call.ringing" : "console.call.active");
        flags.appendChild(f);
      }
      if (c.state === "wrap_up" && S.endedByPerson.has(String(c.id))) {
        const e = make("span", "flag flag-ended");
        I.set(e, "console.my.person_ended");
        flags.appendChild(e);
      }
      if (c.incident_id) flags.appendChild(incidentTag(c.incident_id));
      if (flags.childNodes.length) btn.appendChild(flags);

      btn.addEventListener("click", () => selectContact(c.id));
      li.appendChild(btn);
      items.push(li);
    }
    ul.replaceChildren(...items);
    $("my-contacts-empty").hidden = items.length > 0;
    $("my-contacts-count").textContent = String(items.length);
  }

  function deliveryRank(status) {
    return Object.prototype.hasOwnProperty.call(DELIVERY_RANK, status) ? DELIVERY_RANK[status] : 3;
  }

  /* The newer copy of the same message, except that its delivery status never goes back. */
  function newerCopy(old, fresh) {
    if (!old || !fresh || !old.delivery_status) return fresh;
    if (!fresh.delivery_status || deliveryRank(fresh.delivery_status) < deliveryRank(old.delivery_status)) {
      return Object.assign({}, fresh, { delivery_status: old.delivery_status });
    }
    return fresh;
  }

  function mergeById(a, b) {
    const map = new Map();
    for (const x of Array.isArray(a) ? a : []) if (x) map.set(String(x.id), x);
    for (const x of Array.isArray(b) ? b : []) if (x) map.set(String(x.id), newerCopy(map.get(String(x.id)), x));
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

    if (!LIVE_STATES.has(c.state)) voiceContactEnded(key);

    if (GONE_STATES.has(c.state)) {
      if (old) {
        removeContact(key);
        if (!(opts && opts.silent)) notify("console.contact.gone_notice", { id: c.id });
      } else if (sameId(S.selected, key)) {
        renderConversation();
      }
      return;
    }

    /* No longer mine: a call nobody answered goes back to the queue (state queued,
     * counsellor_id null). */
    if (c.state === "queued" ||
        (Object.prototype.hasOwnProperty.call(c, "counsellor_id") && !sameId(c.counsellor_id, myId()))) {
      if (old) {
        removeContact(key);
        if (!(opts && opts.silent)) {
          if (c.channel === "voice" || old.channel === "voice") notify("console.call.requeued_notice", { id: c.id });
          else notify("console.contact.gone_notice", { id: c.id });
        }
      }
      return;
    }

    const wasState = old ? old.state : detail ? detail.state : null;
    if (c.state === "wrap_up" && wasState && wasState !== "wrap_up" && !S.endedByMe.has(key) &&
        c.ended_by !== "counsellor") {
      S.endedByPerson.add(key);
      if (!(opts && opts.silent)) notify("console.contact.person_ended_notice", { id: c.id });
    }
    S.contacts.set(key, Object.assign({}, old || {}, c));
    voiceContactChanged(key);
    renderMyContacts();
    if (sameId(S.selected, key)) renderConversation();
    else if (S.selected === null) selectContact(key);
  }

  /* A queue frame lists a contact I still hold (a call I did not answer went back to the
   * queue, and no `contact` frame tells me since it is no longer mine): ask the server. */
  async function checkRequeued(key) {
    key = String(key);
    if (S.requeueChecks.has(key)) return;
    S.requeueChecks.add(key);
    const r = await api("GET", "/console/api/contacts/" + encodeURIComponent(key));
    S.requeueChecks.delete(key);
    if (!S.contacts.has(key)) return;
    if (r.ok && r.data && r.data.id !== undefined) {
      if (r.data.state === "queued" || !sameId(r.data.counsellor_id, myId())) {
        upsertSummary(summaryOf(r.data));
      }
    } else if (r.status === 403 || r.status === 404) {
      lostContact(key);
    }
  }

  /* The server says a contact I listed is not mine any more. */
  function lostContact(key) {
    const old = S.contacts.get(key);
    if (!old) return;
    removeContact(key);
    notify(old.channel === "voice" ? "console.call.requeued_notice" : "console.contact.gone_notice", { id: key });
  }

  function removeContact(key) {
    key = String(key);
    S.contacts.delete(key);
    S.unread.delete(key);
    S.drafts.delete(key);
    S.noteDrafts.delete(key);
    S.endedByMe.delete(key);
    S.endedByPerson.delete(key);
    S.optedOut.delete(key);
    S.callers.delete(key);
    S.phoneAsked.delete(key);
    if (S.history && S.history.key === key) S.history = null;
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
      hideMessage($("history-error"));
      $("end-confirm-box").hidden = true;
      if (S.history && S.history.key !== key) S.history = null; /* reopening is a new, recorded look */
    }
    S.observing = Boolean(opts && opts.observe) && !S.contacts.has(key);
    S.unread.delete(key);
    renderMyContacts();
    renderConversation({ scroll: true });
    loadCaller(key);
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
        if (old && old.state === "active" && c.state === "offered") {
          /* a `contact` frame (the call was answered) overtook this answer: keep the newer state */
          c.state = old.state;
          c.answered_at = old.answered_at;
          const det = S.details.get(String(key));
          if (det) {
            det.state = old.state;
            det.answered_at = old.answered_at;
          }
        }
        S.contacts.set(String(key), Object.assign({}, old, c));
        renderMyContacts();
      }
      if (sameId(S.selected, key)) renderConversation();
    } else if (r.status === 403 && S.contacts.has(String(key))) {
      lostContact(String(key)); /* no longer mine: e.g. a call that went back to the queue */
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

    const voice = c.channel === "voice";
    const sms = c.channel === "sms";
    const replyForm = $("reply-form");
    const focusWasInReply = focusIsIn(replyForm) || focusIsIn($("end-confirm-box")) ||
      focusIsIn($("call-panel")) || document.activeElement === $("end-conversation");
    const endBtn = $("end-conversation");
    /* A call can be hung up once it is answered; while it rings there is nothing to end
     * (an unanswered call goes back to the queue by itself). */
    endBtn.hidden = observing || (voice ? state !== "active" : !live);
    if (endBtn.hidden) $("end-confirm-box").hidden = true;
    renderEndControls(voice);
    renderCallPanel(key, c, observing);
    replyForm.hidden = !live || observing || voice;
    renderReplyChannel(key, sms);
    $("note-form").hidden = observing;

    const wrap = $("wrap-up");
    const showWrap = state === "wrap_up" && !observing;
    if (showWrap && S.wrapFormFor !== key) prepareWrapUp(key, d);
    const wrapWasHidden = wrap.hidden;
    wrap.hidden = !showWrap;
    $("conversation-pane").classList.toggle("is-wrap-up", showWrap);

    renderCaller(key);
    renderHistory(key);
    if (showWrap) renderFollowUp(key, c);
    renderMessages(d, opts && opts.scroll);
    renderNotes(d);
    renderRiskForms(key, c, d, observing);
    renderDispatchRequest(key, c, observing);
    renderIncident(key, c, observing);

    if (showWrap && wrapWasHidden) {
      if (focusWasInReply || document.activeElement === document.body) $("wrap-category").focus();
      wrap.scrollIntoView({ block: "nearest" });
    }
  }

  /* The end button: "结束对话" for text, "挂断并结束 Alt+H" in the call panel for a call. */
  function renderEndControls(voice) {
    const btn = $("end-conversation");
    const home = voice ? $("call-actions") : document.querySelector("#contact-view .conversation-head");
    if (home && btn.parentNode !== home) home.appendChild(btn);
    I.set($("end-conversation-label"), voice ? "console.end.call" : "console.end");
    $("end-conversation-kbd").hidden = !voice;
    if (voice) btn.setAttribute("aria-keyshortcuts", "Alt+H");
    else btn.removeAttribute("aria-keyshortcuts");
    I.set($("end-question"), voice ? "console.end.question_call" : "console.end.question");
    I.set($("end-conversation-confirm"), voice ? "console.end.confirm_call" : "console.end.confirm");
    $("end-keys").hidden = !voice;
  }

  /* Reply box: a text reply for SMS (label, hint, counter; closed after STOP). */
  function renderReplyChannel(key, sms) {
    I.set($("reply-label"), sms ? "console.reply.label_sms" : "console.reply.label");
    $("reply-sms-hint").hidden = !sms;
    $("reply-counter").hidden = !sms;
    const box = $("reply");
    box.setAttribute("aria-describedby", sms ? "reply-sms-hint reply-counter reply-help" : "reply-help");
    const c = S.contacts.get(key) || S.details.get(key) || {};
    if (sms && c.opted_out === true && !S.optedOut.has(key)) S.optedOut.set(key, "");
    const blocked = sms && S.optedOut.has(key);
    box.disabled = blocked;
    $("send-reply").disabled = blocked;
    const note = $("reply-blocked");
    note.hidden = !blocked;
    if (blocked) {
      const said = S.optedOut.get(key);
      const server = $("reply-blocked-server");
      if (said) I.set(server, "console.reply.server_said", { message: said });
      else I.setText(server, "");
    }
    updateCounter();
  }

  function textLength(text) {
    return Array.from(text || "").length; /* characters, as the server counts them */
  }

  function updateCounter() {
    const counter = $("reply-counter");
    if (counter.hidden) return;
    const n = textLength($("reply").value);
    const over = n - SMS_MAX_CHARS;
    if (over > 0) I.set(counter, "console.reply.counter_over", { n, max: SMS_MAX_CHARS, over });
    else I.set(counter, "console.reply.counter", { n, max: SMS_MAX_CHARS });
    counter.classList.toggle("over", over > 0);
    counter.classList.toggle("near", over <= 0 && n >= SMS_MAX_CHARS * 0.8);
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
    showDelivery(item, m);
    return item;
  }

  /* An SMS reply's delivery, as text under it: "短信已发送", or a failure in red that says the
   * text did not reach the person. Web chat and the person's own messages have none. */
  function showDelivery(item, m) {
    const status = m.from === "counsellor" && m.delivery_status ? String(m.delivery_status) : "";
    let node = item.querySelector(".delivery");
    if (!status) {
      if (node) node.remove();
      return;
    }
    if (node && node.dataset.status === status) return;
    if (!node) {
      node = make("p", "delivery");
      item.appendChild(node);
    }
    node.dataset.status = status;
    const failed = DELIVERY_FAILED.has(status);
    node.className = "delivery delivery-" + status.replace(/[^a-z_-]/gi, "") + (failed ? " delivery-failed" : "");
    let mark = "…";
    if (failed) mark = "✕";
    else if (status === "delivered" || status === "read") mark = "✓✓";
    else if (status === "sent") mark = "✓";
    const glyph = make("span", "delivery-glyph", mark);
    glyph.setAttribute("aria-hidden", "true");
    const label = make("span", "delivery-text");
    if (I.has("console.delivery." + status)) I.set(label, "console.delivery." + status);
    else I.set(label, "console.delivery.other", { status });
    node.replaceChildren(glyph, label);
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
      const nodes = box.querySelectorAll(".message");
      for (let i = 0; i < rendered.length; i++) showDelivery(nodes[i], list[i]);
      for (let i = rendered.length; i < list.length; i++) box.appendChild(buildMessage(list[i]));
    } else {
      const nodes = list.map(buildMessage);
      if (nodes.length === 0) {
        const p = make("p", "empty");
        I.set(p, (d.channel || channelOf(key)) === "voice" ? "console.call.no_text" : "console.contact.no_messages");
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
    const known = Boolean(d && d.messages.some((x) => sameId(x.id, m.id)));
    /* a copy already here may still gain a later delivery status (an SMS reply's answer) */
    if (d) d.messages = mergeById(d.messages, [m]);
    if (sameId(S.selected, key)) {
      if (d) renderMessages(d, m.from === "counsellor" && !S.observing && !known);
    } else if (S.contacts.has(key) && m.from === "caller" && !known) {
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
    const channel = channelOf(key);
    if (channel === "voice" || (channel === "sms" && S.optedOut.has(key))) return;
    if (channel === "sms" && textLength(text) > SMS_MAX_CHARS) {
      I.set(notice, "console.reply.sms_too_long", { n: textLength(text), max: SMS_MAX_CHARS });
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
      if (channel === "sms") followDelivery(key, r.data.delivery_status);
      if (sameId(S.selected, key)) {
        if (box.value.trim() === text) box.value = "";
        updateCounter();
        hideMessage(notice);
      } else if ((S.drafts.get(key) || "").trim() === text) {
        S.drafts.delete(key);
      }
    } else {
      const code = r.data && r.data.error;
      if (code === "opted_out") {
        /* the person texted STOP: no reply can go out; the box closes for this contact */
        S.optedOut.set(key, (r.data && r.data.message) || "");
        hideMessage(notice);
        if (sameId(S.selected, key)) {
          renderConversation();
          $("reply-blocked").focus();
        } else {
          notifyError(r.data);
        }
        return;
      }
      if (sameId(S.selected, key)) showError(notice, r.data, false);
      else notifyError(r.data);
      if (code === "not_active" || code === "ended" || code === "illegal_transition" ||
          code === "voice_call") {
        refreshDetail(key); /* the conversation moved on; show its real state */
      }
    }
  }

  /* The server does not push later delivery reports yet (message.delivery): look again a
   * little later while a text is still on its way, so "sent" can become "delivered" or
   * "failed" without a reload. */
  const DELIVERY_SETTLED = new Set(["delivered", "read", "failed", "undelivered"]);
  const DELIVERY_LOOKS_MS = [10000, 60000];

  function followDelivery(key, status) {
    if (!status || DELIVERY_SETTLED.has(status)) return;
    for (const ms of DELIVERY_LOOKS_MS) {
      setTimeout(() => {
        if (!S.contacts.has(String(key))) return;
        const d = S.details.get(String(key));
        const open = d && Array.isArray(d.messages) && d.messages.some((m) =>
          m.from === "counsellor" && m.delivery_status && !DELIVERY_SETTLED.has(m.delivery_status));
        if (open) refreshDetail(String(key));
      }, ms);
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

  /* `viaShortcut`: Alt+H asked to hang up, so the confirm button takes the focus (Enter or
   * Alt+H again confirms, Esc cancels); a click leaves it on the safe "cancel". */
  function askEnd(viaShortcut) {
    $("end-confirm-box").hidden = false;
    $(viaShortcut === true ? "end-conversation-confirm" : "end-conversation-cancel").focus();
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
    /* The server hangs up the live call; this browser's leg of it ends here as well (even if
     * the request failed: the counsellor chose to hang up, and a dropped leg ends the call). */
    if (channelOf(key) === "voice") hangUpLocal(key);
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

  /* ----------------------------------------------------------- phone calls */
  /* Calls ring the counsellor's phone, or this page when browser answering is configured
   * (GET /console/api/voice-token answers 200): then the vendored Twilio Voice SDK is loaded
   * and a Device registered as `counsellor-<id>`. A call that rings here while I hold that
   * call as `offered` (I pressed "take next") is answered at once; any other call asks first.
   * Nothing from Twilio may break the page: every call into the SDK is guarded, and its
   * errors are shown in #voice-banner. */

  const VOICE_SDK_SRC = "/static/vendor/twilio-voice.min.js";
  const VOICE_RETRY_MS = [15000, 30000, 60000, 120000, 300000];
  const MIC_ERROR_CODES = new Set([31401, 31402, 31208]);
  const TOKEN_EXPIRED_CODES = new Set([20104, 31205]);

  const V = {
    mode: "unknown", /* "phone" (no browser answering), "browser", "unavailable" */
    device: null,
    startRetries: 0,
    tokenRetries: 0,
    incoming: null, /* a call ringing here that nobody here took: Answer / Decline */
    held: null, /* a call that rang while "take next" was still on its way */
    call: null, /* the call answered in this browser */
    callContact: null, /* the contact (key) that call belongs to, once known */
    muted: false,
    expiredRefreshAt: -Infinity
  };

  /* Run a handler from the SDK so that its failure shows in the banner and goes no further. */
  function guarded(fn) {
    return function guardedHandler() {
      try {
        return fn.apply(this, arguments);
      } catch (err) {
        showVoiceError(err);
        return undefined;
      }
    };
  }

  function setVoiceStatus(key, params) {
    const line = $("voice-status");
    I.set($("voice-status-text"), key, params);
    line.dataset.voice = key.split(".").pop();
    line.hidden = false;
    renderCallUi(); /* the call panel's hint depends on how calls are answered */
  }

  function voiceBanner(key, params) {
    I.set($("voice-banner-text"), key, params);
    $("voice-banner").hidden = false;
  }

  function showVoiceError(err) {
    try {
      const code = err && typeof err.code === "number" ? err.code : null;
      const text = String((err && (err.explanation || err.description || err.message)) || err || "");
      if (code !== null && MIC_ERROR_CODES.has(code)) voiceBanner("console.voice.mic_denied");
      else if (code !== null) voiceBanner("console.voice.error_code", { code, message: text });
      else voiceBanner("console.voice.error", { message: text || I.t("error.generic") });
      /* an expired token: fetch a new one (at most once a minute, so a server whose tokens
       * are refused cannot set off a loop) */
      if (code !== null && TOKEN_EXPIRED_CODES.has(code) && Date.now() - V.expiredRefreshAt > 60000) {
        V.expiredRefreshAt = Date.now();
        refreshVoiceToken();
      }
    } catch (_e) {
      voiceBanner("console.voice.error", { message: I.t("error.generic") });
    }
  }

  function loadVoiceSdk() {
    return new Promise((resolve, reject) => {
      if (window.Twilio && window.Twilio.Device) {
        resolve(window.Twilio);
        return;
      }
      const script = document.createElement("script");
      script.src = VOICE_SDK_SRC;
      script.async = true;
      const timer = setTimeout(() => reject(new Error("timeout")), 30000);
      script.addEventListener("load", () => {
        clearTimeout(timer);
        if (window.Twilio && window.Twilio.Device) resolve(window.Twilio);
        else reject(new Error("Twilio.Device missing"));
      });
      script.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error("load failed"));
      });
      document.head.appendChild(script);
    });
  }

  async function startVoice() {
    const r = await api("GET", "/console/api/voice-token");
    if (r.status === 404) {
      V.mode = "phone";
      setVoiceStatus("console.voice.phone");
      return;
    }
    if (!(r.ok && r.data && typeof r.data.token === "string")) {
      V.mode = "unavailable";
      setVoiceStatus("console.voice.retrying");
      const wait = VOICE_RETRY_MS[Math.min(V.startRetries, VOICE_RETRY_MS.length - 1)];
      V.startRetries += 1;
      setTimeout(startVoice, wait);
      return;
    }
    V.mode = "browser";
    V.startRetries = 0;
    setVoiceStatus("console.voice.loading");
    let Twilio;
    try {
      Twilio = await loadVoiceSdk();
    } catch (_e) {
      setVoiceStatus("console.voice.not_ready");
      voiceBanner("console.voice.sdk_missing");
      return;
    }
    try {
      setUpDevice(Twilio, r.data.token);
    } catch (err) {
      V.device = null;
      setVoiceStatus("console.voice.not_ready");
      showVoiceError(err);
    }
  }

  function setUpDevice(Twilio, token) {
    const device = new Twilio.Device(token, {
      codecPreferences: ["opus", "pcmu"],
      tokenRefreshMs: 60000, /* ask for a new token a minute before this one expires */
      closeProtection: true /* the browser asks before a reload or close cuts a live call */
    });
    V.device = device;
    device.on("registering", guarded(() => setVoiceStatus("console.voice.registering")));
    device.on("registered", guarded(() => setVoiceStatus("console.voice.ready")));
    device.on("unregistered", guarded(() => {
      if (V.device === device) setVoiceStatus("console.voice.offline");
    }));
    device.on("error", guarded((err) => {
      showVoiceError(err);
      if (V.device === device && device.state !== "registered") setVoiceStatus("console.voice.offline");
    }));
    device.on("incoming", guarded((call) => onIncoming(call)));
    device.on("tokenWillExpire", guarded(() => refreshVoiceToken()));
    registerDevice();
  }

  function registerDevice() {
    const device = V.device;
    if (!device) return;
    try {
      const p = device.register();
      if (p && typeof p.catch === "function") p.catch((err) => showVoiceError(err));
    } catch (err) {
      showVoiceError(err);
    }
  }

  let refreshing = false;

  async function refreshVoiceToken() {
    if (!V.device || refreshing) return;
    refreshing = true;
    const r = await api("GET", "/console/api/voice-token");
    refreshing = false;
    const device = V.device;
    if (!device) return;
    if (r.status === 404) { /* browser answering was switched off meanwhile */
      V.device = null;
      try {
        device.destroy();
      } catch (_e) {
        /* ignore */
      }
      V.mode = "phone";
      setVoiceStatus("console.voice.phone");
      voiceBanner("console.voice.turned_off");
      return;
    }
    if (r.ok && r.data && typeof r.data.token === "string") {
      V.tokenRetries = 0;
      try {
        device.updateToken(r.data.token);
        if (device.state === "unregistered") registerDevice();
      } catch (err) {
        showVoiceError(err);
      }
      return;
    }
    voiceBanner("console.voice.token_failed");
    V.tokenRetries += 1;
    if (V.tokenRetries <= 8) setTimeout(refreshVoiceToken, 15000);
  }

  /* My contact that a call ringing here belongs to: the one the server names (a custom
   * parameter contact_id, if it sends one), else my call that is ringing (`offered`). */
  function offeredCallFor(call) {
    let named = null;
    try {
      const params = call && call.customParameters;
      if (params && typeof params.get === "function") named = params.get("contact_id") || params.get("contact");
    } catch (_e) {
      named = null;
    }
    if (named && S.contacts.has(String(named))) return String(named);
    for (const [key, c] of S.contacts) {
      if (c.channel === "voice" && c.state === "offered" && V.callContact !== key) return key;
    }
    return null;
  }

  function watchCall(call) {
    const gone = guarded(() => callGone(call));
    call.on("accept", guarded(() => {
      if (V.incoming === call) V.incoming = null;
      V.call = call;
      if (V.callContact === null) bindLocalCall();
      renderCallUi();
    }));
    call.on("disconnect", gone);
    call.on("cancel", gone);
    call.on("reject", gone);
    call.on("error", guarded((err) => showVoiceError(err)));
    call.on("mute", guarded((muted) => {
      if (call === V.call) {
        V.muted = Boolean(muted);
        renderCallUi();
      }
    }));
  }

  function onIncoming(call) {
    watchCall(call);
    const key = offeredCallFor(call);
    if (key !== null) {
      acceptFor(call, key);
    } else if (S.busy.take) {
      V.held = call; /* decided when "take next" answers */
    } else {
      showIncoming(call);
    }
  }

  /* "take next" has answered (with a call, a text, or an error): settle a call that rang
   * meanwhile. */
  function takeNextSettled() {
    const call = V.held;
    if (!call) return;
    V.held = null;
    const key = offeredCallFor(call);
    if (key !== null) acceptFor(call, key);
    else showIncoming(call);
  }

  /* The counsellor took this call with "take next": answer it in this browser now. */
  function acceptFor(call, key) {
    if (V.incoming === call) V.incoming = null;
    V.call = call;
    V.callContact = key;
    V.muted = false;
    try {
      call.accept();
    } catch (err) {
      showVoiceError(err);
    }
    renderCallUi();
    if (!sameId(S.selected, key)) selectContact(key);
  }

  function showIncoming(call) {
    if (V.incoming && V.incoming !== call) {
      try {
        V.incoming.reject();
      } catch (_e) {
        /* ignore */
      }
    }
    V.incoming = call;
    renderCallUi();
  }

  function answerIncoming() {
    const call = V.incoming;
    if (!call) return;
    V.incoming = null;
    V.call = call;
    V.callContact = null;
    V.muted = false;
    bindLocalCall();
    try {
      call.accept();
    } catch (err) {
      showVoiceError(err);
    }
    renderCallUi();
  }

  function declineIncoming() {
    const call = V.incoming;
    V.incoming = null;
    if (call) {
      try {
        call.reject();
      } catch (err) {
        showVoiceError(err);
      }
    }
    renderCallUi();
  }

  function callGone(call) {
    if (V.incoming === call) V.incoming = null;
    if (V.held === call) V.held = null;
    if (V.call === call) {
      V.call = null;
      V.callContact = null;
      V.muted = false;
    }
    renderCallUi();
  }

  /* A call answered here without a contact yet (Answer): it belongs to my ringing or
   * just-answered call. */
  function bindLocalCall() {
    if (!V.call || V.callContact !== null) return;
    for (const [key, c] of S.contacts) {
      if (c.channel === "voice" && (c.state === "offered" || c.state === "active")) {
        V.callContact = key;
        if (!sameId(S.selected, key)) selectContact(key);
        return;
      }
    }
  }

  /* One of my contacts changed (frame, reload or answer). */
  function voiceContactChanged(key) {
    const c = S.contacts.get(key);
    if (!c || c.channel !== "voice") return;
    if (V.call && V.callContact === null) bindLocalCall();
    if (V.incoming && c.state === "offered") {
      acceptFor(V.incoming, key); /* rang before I knew it was mine: I did take it */
      return;
    }
    if (V.call || V.incoming) renderCallUi();
  }

  /* My contact is no longer live (wrap-up, closed, back in the queue): its call here ends. */
  function voiceContactEnded(key) {
    if (V.call && V.callContact === key) hangUpLocal(key);
  }

  function hangUpLocal(key) {
    const call = V.call;
    if (!call || (V.callContact !== null && V.callContact !== String(key))) return;
    V.call = null;
    V.callContact = null;
    V.muted = false;
    try {
      call.disconnect();
    } catch (err) {
      showVoiceError(err);
    }
    renderCallUi();
  }

  function toggleMute() {
    const call = V.call;
    if (!call) return;
    try {
      call.mute(!call.isMuted());
      V.muted = Boolean(call.isMuted());
    } catch (err) {
      showVoiceError(err);
    }
    renderCallUi();
  }

  function renderCallUi() {
    $("incoming-call").hidden = !V.incoming;
    if (S.selected !== null && channelOf(S.selected) === "voice") {
      const key = String(S.selected);
      const c = Object.assign({}, S.details.get(key) || {}, S.contacts.get(key) || {});
      renderCallPanel(key, c, S.observing);
    }
  }

  /* The call panel of the selected contact: ringing, on the call (with its timer from
   * answered_at), or ended; mute while the call is in this browser. */
  function renderCallPanel(key, c, observing) {
    const panel = $("call-panel");
    if (c.channel !== "voice") {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    const state = c.state || "";
    panel.dataset.state = state;
    const local = V.call && V.callContact === key ? V.call : null;
    const status = $("call-status");
    const hint = $("call-hint");
    const timerWrap = $("call-timer-wrap");
    const timer = $("call-timer");
    let hintKey = null;
    if (state === "offered") {
      I.set(status, "console.call.ringing");
      if (!observing) hintKey = V.mode === "browser" ? "console.call.ringing_browser" : "console.call.ringing_phone";
      if (!observing && c.callback_requested === true && local) hintKey = "console.call.callback";
    } else if (state === "active") {
      I.set(status, "console.call.active");
      if (!observing) {
        if (local) hintKey = V.muted ? "console.call.muted" : "console.call.in_browser";
        else hintKey = "console.call.on_phone";
      }
    } else if (state === "queued") {
      I.set(status, "state.queued");
    } else {
      I.set(status, "console.call.ended");
    }
    if (observing) hintKey = "console.call.observing";
    if (hintKey) I.set(hint, hintKey);
    else I.setText(hint, "");
    hint.hidden = !hintKey;
    hint.classList.toggle("call-muted", hintKey === "console.call.muted");
    const since = state === "active" ? c.answered_at || null : null;
    if (since) {
      timer.dataset.since = since;
      timer.textContent = I.formatDuration(now() - I.parseTime(since));
    } else {
      delete timer.dataset.since;
      timer.textContent = "";
    }
    timerWrap.hidden = !since;
    const mute = $("call-mute");
    mute.hidden = !(local && state === "active" && !observing);
    I.set(mute, V.muted ? "console.call.unmute" : "console.call.mute");
    mute.setAttribute("aria-pressed", V.muted ? "true" : "false");
  }

  /* Alt+H: hang up and end my call in progress (the selected one, else my only one). It asks
   * first, in the page; Alt+H again (or Enter) confirms. */
  function hangUpShortcut() {
    if (!$("end-confirm-box").hidden && S.selected !== null && channelOf(S.selected) === "voice") {
      confirmEnd();
      return;
    }
    let key = null;
    if (S.selected !== null && !S.observing) {
      const c = S.contacts.get(String(S.selected));
      if (c && c.channel === "voice" && c.state === "active") key = String(S.selected);
    }
    if (key === null) {
      for (const [k, c] of S.contacts) {
        if (c.channel === "voice" && c.state === "active") {
          key = k;
          break;
        }
      }
    }
    if (key === null) {
      notify("console.call.none");
      return;
    }
    if (!sameId(S.selected, key) || S.observing) {
      selectContact(key);
    }
    askEnd(true);
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
    fillSelect($("wrap-follow-up-reason"), o.follow_up_reasons);
    fillFollowUpOwners();
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
    hideMessage($("wrap-follow-up-error"));
    defaultReferral();
    const w = d && d.wrap_up;
    if (w && typeof w === "object") {
      if (w.category) $("wrap-category").value = String(w.category);
      if (w.outcome) $("wrap-outcome").value = String(w.outcome);
      if (w.referral) $("wrap-referral").value = String(w.referral);
      if (typeof w.follow_up_wanted === "boolean") {
        $(w.follow_up_wanted ? "wrap-follow-up-yes" : "wrap-follow-up-no").checked = true;
      }
      if (w.follow_up_reason) $("wrap-follow-up-reason").value = String(w.follow_up_reason);
      $("wrap-caring").checked = Boolean(w.caring_contacts);
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
    hideMessage($("wrap-follow-up-error"));
    const body = {
      category: $("wrap-category").value,
      outcome: $("wrap-outcome").value,
      referral: $("wrap-referral").value,
      key_groups: Array.from(document.querySelectorAll('#wrap-key-groups-list input:checked'))
        .map((x) => x.value),
      summary: $("wrap-summary").value.trim()
    };
    Object.assign(body, followUpFields());
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
      if (data.field && Object.prototype.hasOwnProperty.call(FOLLOW_UP_TARGETS, data.field)) {
        followUpRefused(key, data);
        return;
      }
      if (data.field === "summary" && data.error === "too_long") I.set(err, "error.summary_too_long");
      else showError(err, data, false);
      err.hidden = false;
      const targets = {
        category: "wrap-category",
        outcome: "wrap-outcome",
        referral: "wrap-referral",
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

  /* ------------------------------------------------------ follow-up decision */
  /* At high or imminent risk the wrap-up must record whether the person agreed to follow-up,
   * or why not: the section says so, with the risk, and the server decides (its refusal is
   * shown next to the field it names). With consent: caring texts, who follows up, and a
   * number when the contact has none of its own (web chat). */

  const FOLLOW_UP_TARGETS = {
    follow_up_wanted: "wrap-follow-up-yes",
    follow_up_reason: "wrap-follow-up-reason",
    follow_up_phone: "wrap-follow-up-phone",
    caring_contacts: "wrap-caring",
    follow_up_owner: "wrap-follow-up-owner"
  };

  function fillFollowUpOwners() {
    const select = $("wrap-follow-up-owner");
    const keep = select.value;
    const first = select.options[0];
    const list = S.options && Array.isArray(S.options.districts) ? S.options.districts : [];
    select.replaceChildren(first, ...list.map((d) => {
      const opt = make("option");
      opt.value = String(d.id);
      I.set(opt, "console.wrap.fu.owner_team", { name: I.pick(d) });
      return opt;
    }));
    select.value = keep;
    if (select.value !== keep) select.value = "";
  }

  function needsDecision(risk) {
    return risk === "high" || risk === "imminent";
  }

  function renderFollowUp(key, c) {
    const required = needsDecision(c.risk);
    const tag = $("wrap-follow-up-required");
    if (required) I.set(tag, "console.wrap.fu.required", { risk: I.t("risk." + c.risk) });
    else I.set(tag, "console.wrap.fu.optional");
    tag.classList.toggle("is-required", required);
    for (const radio of document.querySelectorAll('#wrap-follow-up input[name="follow_up_wanted"]')) {
      radio.required = required;
    }
    const yes = $("wrap-follow-up-yes").checked;
    const no = $("wrap-follow-up-no").checked;
    $("wrap-follow-up-yes-box").hidden = !yes;
    $("wrap-follow-up-no-box").hidden = !no;
    $("wrap-follow-up-reason").required = no && required;
    const ownNumber = c.has_number === true && !S.phoneAsked.has(key);
    $("wrap-follow-up-phone-box").hidden = !yes || ownNumber;
    $("wrap-follow-up-phone").required = yes && !ownNumber;
  }

  function followUpFields() {
    const yes = $("wrap-follow-up-yes").checked;
    const no = $("wrap-follow-up-no").checked;
    if (!yes && !no) return {}; /* not asked: the server says whether it had to be */
    const out = { follow_up_wanted: yes };
    if (no) {
      if ($("wrap-follow-up-reason").value) out.follow_up_reason = $("wrap-follow-up-reason").value;
      return out;
    }
    out.caring_contacts = $("wrap-caring").checked;
    out.follow_up_owner = $("wrap-follow-up-owner").value || null;
    const phone = $("wrap-follow-up-phone").value.trim();
    if (!$("wrap-follow-up-phone-box").hidden && phone) out.follow_up_phone = phone;
    return out;
  }

  /* The server refused the follow-up part: say why beside it, and put the cursor there. */
  function followUpRefused(key, data) {
    if (data.field === "follow_up_phone") S.phoneAsked.add(key);
    if (sameId(S.selected, key)) renderConversation();
    const box = $("wrap-follow-up-error");
    showError(box, data, false);
    const target = $(FOLLOW_UP_TARGETS[data.field]);
    if (target && target.hidden === false && target.offsetParent !== null) {
      if (target.tagName !== "INPUT" || target.type === "tel") target.setAttribute("aria-invalid", "true");
      target.focus();
    } else {
      $("wrap-follow-up-yes").focus();
    }
    box.scrollIntoView({ block: "nearest" });
  }

  function followUpChanged(ev) {
    hideMessage($("wrap-follow-up-error"));
    if (ev && ev.target && ev.target.removeAttribute) ev.target.removeAttribute("aria-invalid");
    if (S.selected === null) return;
    const key = String(S.selected);
    const c = Object.assign({}, S.details.get(key) || {}, S.contacts.get(key) || {});
    renderFollowUp(key, c);
  }

  /* ------------------------------------------------------------ repeat callers */
  /* A strip on the open contact says whether this person has reached the line before (by
   * keyed hash, never by number): "第 3 次联系 · 上次风险：高 · 随访个案 F-7K3Q". The history
   * of their earlier wrap-ups opens on request (Alt+Y); every opening is recorded. */

  const MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const DOT = " · ";

  function formatDay(iso) {
    const ms = I.parseTime(iso);
    if (Number.isNaN(ms)) return "–";
    const d = new Date(ms);
    return I.t("console.caller.date", {
      month: d.getMonth() + 1, day: d.getDate(), monthName: MONTHS_EN[d.getMonth()]
    });
  }

  const callerLoads = new Set();

  /* Once per contact: who the person is does not change while they are being served. */
  async function loadCaller(key) {
    key = String(key);
    if (S.callers.has(key) || callerLoads.has(key)) return;
    callerLoads.add(key);
    const r = await api("GET", "/console/api/contacts/" + encodeURIComponent(key) + "/caller");
    callerLoads.delete(key);
    if (r.ok && r.data && typeof r.data.earlier_contacts === "number") {
      S.callers.set(key, r.data);
    } else {
      S.callers.delete(key); /* not mine to look at (any more): show nothing rather than guess */
    }
    if (sameId(S.selected, key)) renderCaller(key);
  }

  function renderCaller(key) {
    const strip = $("caller-strip");
    const info = S.callers.get(key);
    if (!info) {
      strip.hidden = true;
      return;
    }
    strip.hidden = false;
    const earlier = info.earlier_contacts || 0;
    strip.classList.toggle("is-repeat", earlier > 0);
    const text = $("caller-strip-text");
    if (earlier > 0) {
      let line = I.t("console.caller.repeat", { n: earlier + 1 });
      if (info.last_risk) {
        line += DOT + I.t("console.caller.last", {
          risk: I.t("risk." + info.last_risk), date: formatDay(info.last_at)
        });
      }
      I.setText(text, line);
    } else {
      I.set(text, "console.caller.first");
    }
    const cases = [];
    for (const cs of Array.isArray(info.open_cases) ? info.open_cases : []) {
      if (!cs || cs.id === undefined || cs.id === null) continue;
      const item = make("span", "caller-case");
      item.appendChild(document.createTextNode(DOT + I.t("console.caller.case") + " "));
      const link = make("a", "caller-case-link", cs.pseudonym || "#" + cs.id);
      link.href = "/followups/" + encodeURIComponent(cs.id);
      item.appendChild(link);
      const extra = [];
      if (cs.next_due_at) extra.push(I.t("console.caller.case_due", { date: formatDay(cs.next_due_at) }));
      if (cs.owner) extra.push(I.t("console.caller.case_owner", { owner: cs.owner }));
      if (extra.length) item.appendChild(document.createTextNode(" " + extra.join(" ")));
      cases.push(item);
    }
    $("caller-cases").replaceChildren(...cases);
    $("history-open").hidden = earlier === 0;
    $("history-open-hint").hidden = earlier === 0;
  }

  async function openHistory() {
    if (S.selected === null || S.busy.history) return;
    const key = String(S.selected);
    const info = S.callers.get(key);
    if (!info || !(info.earlier_contacts > 0)) {
      notify(info ? "console.history.none" : "error.not_yours");
      return;
    }
    if (S.history && S.history.key === key) {
      $("history").focus();
      return;
    }
    const err = $("history-error");
    hideMessage(err);
    S.busy.history = true;
    $("history-open").setAttribute("aria-busy", "true");
    const r = await api("POST", "/console/api/contacts/" + encodeURIComponent(key) + "/history");
    S.busy.history = false;
    $("history-open").removeAttribute("aria-busy");
    if (r.ok && r.data && Array.isArray(r.data.earlier_contacts)) {
      S.history = { key, data: r.data, openedAt: new Date(now()).toISOString() };
      if (sameId(S.selected, key)) {
        renderHistory(key);
        $("history").focus();
      } else {
        S.history = null;
      }
    } else if (sameId(S.selected, key)) {
      showError(err, r.data, false);
    }
  }

  function closeHistory() {
    S.history = null;
    if (S.selected !== null) renderHistory(String(S.selected));
    $("history-open").focus();
  }

  function optionName(list, id) {
    const opt = findOption(list, id);
    return opt ? I.pick(opt) : String(id);
  }

  function historyItem(e) {
    const li = make("li", "history-item risk-row-" + (RISK_ORDER.includes(e.risk) ? e.risk : "none"));
    li.dataset.id = String(e.id);
    const head = make("p", "history-line history-title");
    const title = make("strong");
    I.set(title, "console.contact.title", { id: e.id });
    head.appendChild(title);
    head.appendChild(channelTag(e.channel));
    const when = make("time", "time", I.formatTime(e.started_at));
    if (e.started_at) when.setAttribute("datetime", e.started_at);
    head.appendChild(when);
    /* plain text: the panel is rebuilt on a language switch (see I.onChange) */
    const risk = make("span", "history-risk", I.t("console.history.risk", { risk: "" }));
    risk.appendChild(riskBadge(e.risk));
    head.appendChild(risk);
    li.appendChild(head);
    const w = e.wrap_up;
    if (!w) {
      const none = make("p", "history-line hint");
      I.set(none, "console.history.no_wrap_up", { state: I.t("state." + e.state) });
      li.appendChild(none);
      return li;
    }
    const facts = make("p", "history-line");
    facts.textContent = [
      I.t("console.history.category", { name: optionName("categories", w.category) }),
      I.t("console.history.outcome", { name: optionName("outcomes", w.outcome) }),
      I.t("console.history.referral", { name: optionName("referrals", w.referral) })
    ].join(DOT);
    li.appendChild(facts);
    const fu = make("p", "history-line");
    if (w.follow_up_wanted === true) fu.textContent = I.t("console.history.fu_yes");
    else if (w.follow_up_reason) {
      fu.textContent = I.t("console.history.fu_no", {
        reason: optionName("follow_up_reasons", w.follow_up_reason)
      });
    } else fu.textContent = I.t("console.history.fu_no_plain");
    li.appendChild(fu);
    const summary = make("p", "history-line history-summary");
    const label = make("span", "history-summary-label", I.t("console.history.summary"));
    summary.appendChild(label);
    summary.appendChild(make("span", "text", w.summary ? w.summary : I.t("console.history.no_summary")));
    li.appendChild(summary);
    return li;
  }

  function renderHistory(key) {
    const panel = $("history");
    const open = Boolean(S.history && S.history.key === key);
    panel.hidden = !open;
    $("history-open").setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) {
      $("history-list").replaceChildren(); /* closed: no personal text stays in the page */
      I.setText($("history-recorded"), "");
      return;
    }
    const data = S.history.data;
    I.set($("history-recorded"), "console.history.recorded", { time: I.formatTime(S.history.openedAt) });
    const list = Array.isArray(data.earlier_contacts) ? data.earlier_contacts : [];
    const items = list.map(historyItem);
    if (!items.length) {
      const li = make("li", "empty");
      I.set(li, "console.history.none");
      items.push(li);
    }
    $("history-list").replaceChildren(...items);
    const more = $("history-more");
    const total = typeof data.total === "number" ? data.total : list.length;
    more.hidden = total <= list.length;
    if (!more.hidden) I.set(more, "console.history.more", { shown: list.length, total });
  }

  /* ------------------------------------------------- risk assessment, protocol */

  const QUESTIONS = ["wish_dead", "suicidal_thoughts", "method", "intent", "plan"];
  const PROTOCOL_STEPS = ["location_asked", "supervisor_alerted", "emergency_services",
    "dispatch_requested", "help_arrived"];
  const riskForms = { prefilled: null, protocolOpen: new Set(), busy: false };

  function riskRank(risk) {
    const i = RISK_ORDER.indexOf(risk);
    return i < 0 ? -1 : RISK_ORDER.length - 1 - i; /* none 0 … imminent 4 */
  }

  /* A level as a badge with text; an assessed "none" reads "无风险", not "未评估". */
  function levelBadge(level) {
    const badge = riskBadge(level);
    if (level === "none") I.set(badge, "assess.level.none");
    return badge;
  }

  function setRadio(name, value) {
    for (const input of document.querySelectorAll('#assessment-form input[name="' + name + '"]')) {
      input.checked = input.value === value;
    }
  }

  function prefillAssessment(key, d) {
    const a = d && d.assessment;
    const stamp = key + "|" + (a && a.at ? a.at : "");
    if (riskForms.prefilled === stamp) return;
    riskForms.prefilled = stamp;
    $("assessment-form").reset();
    hideMessage($("assessment-error"));
    $("assessment-reason").removeAttribute("aria-invalid");
    if (!a) return;
    const answers = a.answers || {};
    for (const q of QUESTIONS) {
      if (typeof answers[q] === "boolean") setRadio(q, answers[q] ? "yes" : "no");
    }
    if (answers.behaviour) setRadio("behaviour", answers.behaviour);
    const factors = Array.isArray(a.protective_factors) ? a.protective_factors : [];
    for (const box of document.querySelectorAll('#assessment-form input[name="protective_factors"]')) {
      box.checked = factors.includes(box.value);
    }
    $("safety-plan").value = a.safety_plan || "";
  }

  function renderAssessmentResult(d) {
    const out = $("assessment-result");
    const a = d && d.assessment;
    if (!a || !a.level) {
      out.hidden = true;
      out.replaceChildren();
      return;
    }
    const label = make("strong");
    I.set(label, "assess.result");
    const when = make("span", "hint");
    I.set(when, "assess.result_at", { time: I.formatTime(a.at) });
    out.replaceChildren(label, document.createTextNode(" "), levelBadge(a.level),
      document.createTextNode(" "), when);
    out.hidden = false;
  }

  function renderRiskForms(key, c, d, observing) {
    const mine = !observing && S.contacts.has(key);
    const state = c.state || "";
    const canAssess = mine && (state === "active" || state === "wrap_up") && Boolean(d);
    const section = $("assessment");
    section.hidden = !canAssess;
    if (canAssess) {
      prefillAssessment(key, d);
      renderAssessmentResult(d);
    }

    const canProtocol = mine && (LIVE_STATES.has(state) || state === "wrap_up") && Boolean(d);
    const imminent = c.risk === "imminent";
    const open = canProtocol && (imminent || riskForms.protocolOpen.has(key));
    const toggle = $("protocol-show");
    toggle.hidden = !canProtocol || imminent;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    I.set(toggle, open ? "protocol.hide" : "protocol.show");
    const wasHidden = $("protocol").hidden;
    $("protocol").hidden = !open;
    if (!open) return;
    if (wasHidden) {
      $("protocol-note").value = "";
      $("protocol-service").value = "";
      hideMessage($("protocol-error"));
    }
    renderProtocolSteps(d, imminent);
  }

  function renderProtocolSteps(d, imminent) {
    const records = d && Array.isArray(d.protocol) ? d.protocol : [];
    const latest = new Map();
    for (const r of records) if (r && r.step) latest.set(r.step, r);
    const items = PROTOCOL_STEPS.map((step) => {
      const r = latest.get(step);
      const done = Boolean(r && r.done);
      const li = make("li", "protocol-step" + (done ? " is-done" : ""));
      li.dataset.step = step;
      li.dataset.done = done ? "true" : "false";
      const name = make("span", "protocol-step-name");
      I.set(name, "protocol.step." + step);
      li.appendChild(name);
      const status = make("span", "protocol-status");
      status.id = "protocol-status-" + step;
      if (done && r.service && I.has("protocol.service." + r.service)) {
        I.set(status, "protocol.done_service", {
          time: I.formatTime(r.at), service: I.t("protocol.service." + r.service)
        });
      } else if (done) {
        I.set(status, "protocol.done_at", { time: I.formatTime(r.at) });
      } else if (step === "supervisor_alerted") {
        I.set(status, imminent ? "protocol.auto" : "protocol.auto_pending");
        if (imminent) li.classList.add("is-done");
      } else {
        I.set(status, "protocol.pending");
      }
      li.appendChild(status);
      if (done && r.note) li.appendChild(make("span", "protocol-note-text", r.note));
      if (step !== "supervisor_alerted") {
        const btn = make("button", "btn btn-secondary btn-small");
        btn.type = "button";
        btn.id = "protocol-" + step;
        btn.dataset.step = step;
        I.set(btn, "protocol.record");
        btn.setAttribute("aria-describedby", name.id = "protocol-name-" + step);
        li.appendChild(btn);
      }
      return li;
    });
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.id : "";
    $("protocol-steps").replaceChildren(...items);
    if (focused && focused.startsWith("protocol-") && $(focused)) $(focused).focus();
  }

  /* The new detail from an assessment or protocol answer: everything that shows the risk. */
  function applyRiskDetail(data) {
    mergeDetail(data);
    const summary = summaryOf(data);
    if (S.floor && Array.isArray(S.floor.active)) {
      for (const row of S.floor.active) if (sameId(row.id, data.id)) row.risk = data.risk;
      renderFloor();
    }
    upsertSummary(summary, { silent: true });
    renderConversation();
  }

  async function submitAssessment(ev) {
    ev.preventDefault();
    if (riskForms.busy || S.selected === null || S.observing) return;
    const key = String(S.selected);
    const err = $("assessment-error");
    hideMessage(err);
    const reasonBox = $("assessment-reason");
    reasonBox.removeAttribute("aria-invalid");
    const body = {};
    const names = QUESTIONS.concat(["behaviour"]);
    for (let i = 0; i < names.length; i++) {
      const picked = document.querySelector('#assessment-form input[name="' + names[i] + '"]:checked');
      if (!picked) {
        I.set(err, "assess.unanswered", { n: i + 1 });
        err.hidden = false;
        document.querySelector('#assessment-form input[name="' + names[i] + '"]').focus();
        return;
      }
      body[names[i]] = names[i] === "behaviour" ? picked.value : picked.value === "yes";
    }
    body.protective_factors = Array.from(
      document.querySelectorAll('#assessment-form input[name="protective_factors"]:checked')
    ).map((x) => x.value);
    body.safety_plan = $("safety-plan").value.trim();
    body.reason = reasonBox.value.trim();
    riskForms.busy = true;
    $("assessment-submit").setAttribute("aria-busy", "true");
    const r = await api("POST", "/console/api/contacts/" + encodeURIComponent(key) + "/assessment", body);
    riskForms.busy = false;
    $("assessment-submit").removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.id !== undefined) {
      reasonBox.value = "";
      riskForms.prefilled = null;
      applyRiskDetail(r.data);
      $("assessment-result").focus();
      return;
    }
    const data = r.data || {};
    showError(err, data, false);
    if (data.error === "reason_required" || data.field === "reason") {
      reasonBox.setAttribute("aria-invalid", "true");
      reasonBox.focus();
    } else if (data.field === "safety_plan") {
      $("safety-plan").focus();
    }
  }

  async function recordStep(step) {
    if (riskForms.busy || S.selected === null || S.observing) return;
    const key = String(S.selected);
    const err = $("protocol-error");
    hideMessage(err);
    const body = { step };
    const note = $("protocol-note").value.trim();
    if (note) body.note = note;
    if (step === "emergency_services") {
      const service = $("protocol-service").value;
      if (!service) {
        I.set(err, "protocol.choose_service");
        err.hidden = false;
        $("protocol-service").focus();
        return;
      }
      body.service = service;
      if (service === "none" && !note) {
        I.set(err, "protocol.reason_required");
        err.hidden = false;
        $("protocol-note").focus();
        return;
      }
    }
    riskForms.busy = true;
    const r = await api("POST", "/console/api/contacts/" + encodeURIComponent(key) + "/protocol", body);
    riskForms.busy = false;
    if (r.ok && r.data && r.data.id !== undefined) {
      $("protocol-note").value = "";
      if (step === "emergency_services") $("protocol-service").value = "";
      applyRiskDetail(r.data);
      return;
    }
    const data = r.data || {};
    if (data.error === "reason_required") I.set(err, "protocol.reason_required");
    else showError(err, data, false);
    err.hidden = false;
    if (data.error === "reason_required" || data.field === "note") $("protocol-note").focus();
  }

  function toggleProtocol() {
    if (S.selected === null) return;
    const key = String(S.selected);
    if (riskForms.protocolOpen.has(key)) riskForms.protocolOpen.delete(key);
    else riskForms.protocolOpen.add(key);
    renderConversation();
    if (!$("protocol").hidden) $("protocol").focus();
  }

  /* ------------------------------------------------------------ surge mode */

  /* The live incident ({incident_id, affected_min_risk}) or null; from the state and the
   * socket's `surge` frames. While it is on, the holder may tag a contact as affected. */
  let surgeNow = null;
  let tagging = false;

  /* "⚑ 事件": a contact tagged with an incident (text, never colour alone). */
  function incidentTag(incidentId) {
    const tag = make("span", "flag flag-incident");
    const glyph = make("span", "incident-glyph", "⚑ ");
    glyph.setAttribute("aria-hidden", "true");
    const word = make("span");
    I.set(word, "console.incident.tag");
    tag.append(glyph, word);
    tag.title = I.t("console.incident.tag_title", { id: incidentId });
    return tag;
  }

  /* Supervisors: the district early warnings still open, as the server words them in each
   * language; marked seen on the statistics page, which the banner links to. */
  function renderWarnings() {
    const w = S.warnings;
    const texts = w ? (w[I.lang] || w["zh-CN"] || []) : [];
    $("warning-text").textContent = texts.join("；");
    $("warning-banner").hidden = texts.length === 0;
  }

  function applySurge(surge) {
    surgeNow = surge || null;
    if (S.selected !== null) renderConversation();
  }

  function renderIncident(key, c, observing) {
    const tag = $("contact-incident");
    if (c.incident_id) {
      tag.replaceChildren(incidentTag(c.incident_id));
      tag.title = I.t("console.incident.tag_title", { id: c.incident_id });
    }
    tag.hidden = !c.incident_id;
    const held = c.state === "offered" || c.state === "active" || c.state === "wrap_up";
    const btn = $("contact-affected");
    btn.hidden = !(surgeNow && held && !c.incident_id && !observing && S.contacts.has(key));
    if (btn.hidden) hideMessage($("affected-error"));
  }

  async function tagAffected() {
    if (tagging || S.selected === null || S.observing) return;
    const key = String(S.selected);
    const err = $("affected-error");
    hideMessage(err);
    tagging = true;
    const btn = $("contact-affected");
    btn.setAttribute("aria-busy", "true");
    const r = await api("POST", "/console/api/contacts/" + encodeURIComponent(key) + "/affected");
    tagging = false;
    btn.removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.id !== undefined) {
      mergeDetail(r.data);
      upsertSummary(summaryOf(r.data), { silent: true });
      renderMyContacts();
      renderConversation();
      $("contact-incident").focus();
      return;
    }
    if (r.data && r.data.error === "no_surge") applySurge(null);
    showError(err, r.data || {}, false);
  }

  /* A `contact` frame for a contact I hold: did its risk go up from what this page had? */
  let riskRise = null;

  function checkRiskRise(c) {
    if (!c || c.id === undefined || c.id === null || !c.risk) return;
    if (riskForms.busy && sameId(c.id, S.selected) && c.risk !== "imminent") return; /* my own assessment */
    const key = String(c.id);
    const old = S.contacts.get(key);
    if (!old || !old.risk || !LIVE_STATES.has(c.state || old.state)) return;
    if (Object.prototype.hasOwnProperty.call(c, "counsellor_id") && !sameId(c.counsellor_id, myId())) return;
    if (riskRank(c.risk) <= riskRank(old.risk)) return;
    riskRise = { id: c.id, risk: c.risk };
    renderRiskRise();
    if (c.risk === "imminent") {
      riskForms.protocolOpen.add(key);
      if (!sameId(S.selected, key)) selectContact(key);
      setTimeout(() => {
        if (!$("protocol").hidden) $("protocol").scrollIntoView({ block: "nearest" });
      }, 0);
    }
  }

  function renderRiskRise() {
    const banner = $("risk-rise");
    if (!riskRise) {
      banner.hidden = true;
      return;
    }
    I.set($("risk-rise-text"), "console.risk_rise.text", {
      id: riskRise.id, level: I.t("risk." + riskRise.risk)
    });
    banner.hidden = false;
  }

  /* Supervisors: a counsellor is with someone in danger now; stays until acknowledged. */
  const imminentAlerts = [];

  function showImminent(contact) {
    if (!contact || !isSupervisor()) return;
    if (!imminentAlerts.some((c) => sameId(c.id, contact.id))) imminentAlerts.push(contact);
    renderImminent();
  }

  function renderImminent() {
    const banner = $("imminent-banner");
    if (!imminentAlerts.length) {
      banner.hidden = true;
      return;
    }
    const last = imminentAlerts[imminentAlerts.length - 1];
    $("imminent-text").textContent = I.t("console.imminent.text", { id: last.id }) +
      (imminentAlerts.length > 1 ? " (+" + (imminentAlerts.length - 1) + ")" : "");
    banner.hidden = false;
  }

  $("imminent-ack").addEventListener("click", () => {
    imminentAlerts.length = 0;
    renderImminent();
  });
  $("risk-rise-dismiss").addEventListener("click", () => {
    riskRise = null;
    renderRiskRise();
  });
  $("assessment-form").addEventListener("submit", submitAssessment);
  $("protocol-show").addEventListener("click", toggleProtocol);
  $("protocol-steps").addEventListener("click", (ev) => {
    const btn = ev.target && ev.target.closest ? ev.target.closest("button[data-step]") : null;
    if (btn) recordStep(btn.dataset.step);
  });

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

  /* ------------------------------------------------------- dispatch request */

  /* "请求调度": an inline form in the open conversation, pre-filled with the contact's
   * district and current risk. The answer (the dispatch's code and state) stays on the
   * contact; a counsellor does not see the coordinators' board, so nothing is re-fetched. */
  const dispatchUi = { open: new Set(), results: new Map(), busy: false, filledFor: null };

  function fillDispatchDistricts() {
    const select = $("dispatch-district");
    const list = (S.options && Array.isArray(S.options.districts)) ? S.options.districts : [];
    if (select.options.length === list.length + 1) return;
    const first = select.options[0];
    select.replaceChildren(first, ...list.map((d) => {
      const opt = make("option");
      opt.value = d.id;
      I.setName(opt, d);
      return opt;
    }));
  }

  function prefillDispatch(key, c) {
    fillDispatchDistricts();
    const district = $("dispatch-district");
    district.value = c.district || "";
    if (district.value !== (c.district || "")) district.value = "";
    $("dispatch-risk").value = RISK_ORDER.includes(c.risk) ? c.risk : "high";
    $("dispatch-summary").value = "";
    hideMessage($("dispatch-error"));
    dispatchUi.filledFor = key;
  }

  function renderDispatchRequest(key, c, observing) {
    const state = c.state || "";
    const can = !observing && S.contacts.has(key) && (LIVE_STATES.has(state) || state === "wrap_up");
    const btn = $("dispatch-open");
    btn.hidden = !can;
    const open = can && dispatchUi.open.has(key);
    btn.setAttribute("aria-expanded", open ? "true" : "false");
    const form = $("dispatch-request");
    if (open && (form.hidden || dispatchUi.filledFor !== key)) prefillDispatch(key, c);
    form.hidden = !open;
    const result = $("dispatch-result");
    const view = dispatchUi.results.get(key);
    result.hidden = !view;
    if (!view) return;
    const place = view.district_id ? findOption("districts", view.district_id) : null;
    const names = [];
    for (const p of view.pages || []) {
      if (p.member && p.member.name && !names.includes(p.member.name)) names.push(p.member.name);
    }
    const line = make("span");
    I.set(line, "console.dispatch.sent", {
      code: view.code,
      state: I.t("board.state." + view.state),
      place: place ? I.pick(place) : I.t("console.dispatch.city_team")
    });
    const parts = [line];
    if (names.length) {
      const paged = make("span", "dispatch-request-paged");
      I.set(paged, "console.dispatch.pages", { names: names.join("、") });
      parts.push(document.createTextNode(" "), paged);
    }
    result.replaceChildren(...parts);
  }

  function toggleDispatch() {
    if (S.selected === null) return;
    const key = String(S.selected);
    if (dispatchUi.open.has(key)) dispatchUi.open.delete(key);
    else dispatchUi.open.add(key);
    renderConversation();
    if (!$("dispatch-request").hidden) $("dispatch-summary").focus();
    else $("dispatch-open").focus();
  }

  async function submitDispatch(ev) {
    if (ev) ev.preventDefault();
    if (dispatchUi.busy || S.selected === null || S.observing) return;
    const key = String(S.selected);
    const err = $("dispatch-error");
    hideMessage(err);
    const district = $("dispatch-district").value;
    const body = {
      contact_id: Number(key),
      risk: $("dispatch-risk").value,
      summary: $("dispatch-summary").value.trim(),
      /* "not sure" goes to the city team rather than to the contact's recorded district */
      district_id: district || null,
      team_id: district ? null : "city"
    };
    dispatchUi.busy = true;
    $("dispatch-submit").setAttribute("aria-busy", "true");
    const r = await api("POST", "/dispatch/api/dispatches", body);
    dispatchUi.busy = false;
    $("dispatch-submit").removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.id !== undefined) {
      dispatchUi.results.set(key, r.data);
      dispatchUi.open.delete(key);
      renderConversation();
      if (sameId(S.selected, key)) $("dispatch-result").focus();
      return;
    }
    const data = r.data || {};
    if (data.error && I.has("board.error." + data.error)) I.set(err, "board.error." + data.error);
    else if (data.field && I.has("board.error.field." + data.field)) I.set(err, "board.error.field." + data.field);
    else showError(err, data, false);
    err.hidden = false;
    const target = { district_id: "dispatch-district", risk: "dispatch-risk", summary: "dispatch-summary" }[data.field];
    if (target) $(target).focus();
  }

  /* ----------------------------------------------------------------- state */

  /* `framesBefore`: how many queue frames had arrived when the state was asked for. A queue
   * frame that arrived meanwhile is at least as new as the state's queue (the socket sends one
   * after every change), so the state's queue must not replace it: equal server times (a
   * frozen test clock) could not tell them apart. */
  function applyState(d, framesBefore) {
    const stamp = setServerTime(d.server_time);
    if (d.me) S.me = d.me;
    renderMe();

    const framesMeanwhile = typeof framesBefore === "number" && S.queueFrames !== framesBefore;
    if (Array.isArray(d.queue) && !framesMeanwhile && (Number.isNaN(stamp) || stamp >= S.queueStamp)) {
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
          S.optedOut.delete(key);
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
    if (Object.prototype.hasOwnProperty.call(d, "surge")) surgeNow = d.surge || null;
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
    const framesBefore = S.queueFrames;
    const r = await api("GET", "/console/api/state");
    if (r.ok && r.data) applyState(r.data, framesBefore);
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

  const consoleSocket = liveSocket(S, {
    path: "/console/ws",
    onFrame: handleFrame,
    onUp() {
      $("connection-banner").hidden = true;
      loadState(); /* resync: frames may have been missed before or between connections */
    },
    onDown(attempts) {
      I.set($("connection-text"), "console.connection.lost", { n: Math.max(1, attempts) });
      $("connection-banner").hidden = false;
    }
  });

  /* Wait alarms (supervisors): a banner that stays until acknowledged, and a tone. */
  const alarms = [];

  function showAlarm(f) {
    if (!f || !f.contact) return;
    alarms.push(f);
    renderAlarm();
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx) {
        const ctx = new Ctx();
        const tone = ctx.createOscillator();
        const gain = ctx.createGain();
        tone.frequency.value = 880;
        gain.gain.value = 0.2;
        tone.connect(gain).connect(ctx.destination);
        tone.start();
        tone.stop(ctx.currentTime + 0.6);
      }
    } catch (_e) {
      /* no sound available: the banner still shows */
    }
  }

  function renderAlarm() {
    const banner = $("alarm-banner");
    if (!alarms.length) {
      banner.hidden = true;
      return;
    }
    const f = alarms[alarms.length - 1];
    $("alarm-text").textContent = I.t("console.alarm.text", {
      id: f.contact.id,
      risk: I.t("risk." + f.risk),
      waited: f.waited_seconds,
      target: f.target_seconds,
    }) + (alarms.length > 1 ? " (+" + (alarms.length - 1) + ")" : "");
    banner.hidden = false;
  }

  $("alarm-ack").addEventListener("click", () => {
    alarms.length = 0;
    renderAlarm();
  });

  /* ------------------------------------------------------------ follow-ups */

  /* Follow-up of people at high risk (docs/followups-api.md) belongs to dispatch, which the
   * console's server code may not import; so the page itself reads the follow-up API and
   * opens the follow-up socket (/api/followups/ws) beside its own. The socket already
   * addresses each alarm: an overdue case's owner stage to its counsellor, the supervisor
   * stage, flagged cases and referrals to supervisors. Counsellors and supervisors spend
   * their shift here, so an alarm shows in this page's alarm area: a banner that stays
   * until acknowledged (button or Alt+K), never a sound, never moving the focus away from
   * a conversation. Follow-up pages open in a new tab: leaving the console would take the
   * counsellor offline and hand their conversations back to the queue. */
  const FOLLOWUP_ROLES = new Set(["counsellor", "supervisor"]);
  const FU_REFRESH_MS = 2 * 60 * 1000; /* due dates pass with the clock, not only with events */
  const FU_SETTLE_MS = 200; /* several frames of one change: one fetch */
  const FU_SHOWN_ALARMS = 5;
  const FU_KEPT_ALARMS = 50;
  const MINUTE = 60 * 1000;
  const HOUR = 60 * MINUTE;
  const FU = {
    counts: null, /* the last counts read: {overdue, due_today, upcoming} */
    stale: false, /* the last read failed: the counts shown may be old */
    loading: false,
    again: false,
    settle: null,
    alarms: [] /* newest first */
  };

  /* Live once the server says hello: subscribed, so nothing from there on is missed. */
  const followupSocket = liveSocket(S, {
    path: "/api/followups/ws",
    enabled: followupViewer,
    upOn: (f) => f.type === "hello",
    onFrame: handleFollowupFrame,
    onDown: renderFollowupLink
  });

  function followupViewer() {
    return FOLLOWUP_ROLES.has((S.me && S.me.role) || PAGE_ROLE);
  }

  /* A supervisor answers for the whole line, so their counts are of every open case; a
   * counsellor's are of the cases they own. */
  function followupScope() {
    return isSupervisor() ? "all" : "mine";
  }

  function renderFollowupLink() {
    const link = $("followups-link");
    const c = FU.counts;
    const overdue = c && typeof c.overdue === "number" ? c.overdue : null;
    const today = c && typeof c.due_today === "number" ? c.due_today : null;
    const overdueNode = $("followups-overdue");
    I.set(overdueNode, "console.fu.overdue", { n: overdue === null ? "–" : overdue });
    overdueNode.dataset.count = overdue === null ? "" : String(overdue);
    overdueNode.classList.toggle("is-overdue", overdue !== null && overdue > 0);
    const todayNode = $("followups-today");
    I.set(todayNode, "console.fu.today", { n: today === null ? "–" : today });
    todayNode.dataset.count = today === null ? "" : String(today);
    todayNode.classList.toggle("is-due", today !== null && today > 0);
    link.dataset.live = followupSocket.live ? "true" : "false";
    const status = $("followups-status");
    if (!followupSocket.live && followupSocket.attempts > 0) {
      I.set(status, "console.fu.reconnecting");
      status.hidden = false;
    } else if (FU.stale) {
      I.set(status, "console.fu.stale");
      status.hidden = false;
    } else {
      status.hidden = true;
    }
  }

  /* The counts are read without the console's 401 handling: a background refresh must never
   * send the page to the login form while a counsellor is writing to someone. An expired
   * session shows as "not updated"; the counsellor's next action logs them in again. */
  async function loadFollowupCounts() {
    if (!followupViewer()) return;
    if (FU.loading) {
      FU.again = true; /* a change arrived while reading: read once more afterwards */
      return;
    }
    FU.loading = true;
    let data = null;
    try {
      const res = await fetch("/api/followups?scope=" + followupScope(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      });
      if (res.ok) data = await res.json();
    } catch (_e) {
      data = null;
    }
    FU.loading = false;
    if (data && data.counts && typeof data.counts.overdue === "number") {
      FU.counts = data.counts;
      FU.stale = false;
      if (data.now) setServerTime(data.now);
    } else {
      FU.stale = true;
    }
    renderFollowupLink();
    renderFollowupAlarms();
    if (FU.again) {
      FU.again = false;
      loadFollowupCounts();
    }
  }

  function refreshFollowupsSoon() {
    clearTimeout(FU.settle);
    FU.settle = setTimeout(loadFollowupCounts, FU_SETTLE_MS);
  }

  function lateText(ms) {
    if (!Number.isFinite(ms)) return "–";
    const abs = Math.max(0, ms);
    if (abs < HOUR) return I.t("console.fu.late.min", { n: Math.max(1, Math.round(abs / MINUTE)) });
    if (abs < 48 * HOUR) return I.t("console.fu.late.hour", { n: Math.round(abs / HOUR) });
    return I.t("console.fu.late.day", { n: Math.round(abs / (24 * HOUR)) });
  }

  function followupOwner(owner) {
    if (!owner) return "–";
    if (owner.kind === "team") return I.pick({ name_zh: owner.name_zh, name_en: owner.name_en, id: owner.id });
    if (owner.kind === "user") {
      if (sameId(owner.id, myId())) return I.t("console.fu.owner.me");
      if (!owner.label) return I.t("console.fu.owner.gone", { id: owner.id });
      return owner.role && I.has("role." + owner.role)
        ? I.t("board.with_role", { name: owner.label, role: I.t("role." + owner.role) })
        : owner.label;
    }
    return owner.label || "–";
  }

  /* The alarm's words; `{p}` is left in place for the link to the case. */
  function followupAlarmWords(f) {
    const risk = I.has("board.risk." + f.risk) ? I.t("board.risk." + f.risk) : String(f.risk || "–");
    const owner = followupOwner(f.owner);
    const due = I.parseTime(f.due_at);
    const at = I.parseTime(f.at);
    const late = lateText(Math.max(now(), Number.isNaN(at) ? -Infinity : at) - due);
    const base = "console.fu.alarm.";
    if (f.kind === "flagged") return I.t(base + "flagged", { n: f.failed_streak, owner });
    if (f.kind === "referral_flagged") return I.t(base + "referral_flagged", { grade: f.grade, owner });
    if (f.stage === "supervisor") return I.t(base + "overdue_supervisor", { risk, late, owner });
    if (f.owner && f.owner.kind === "team") return I.t(base + "overdue_team", { owner, late });
    if (f.due_kind === "review") return I.t(base + "review_owner", { risk, late });
    return I.t(base + "overdue_owner", { risk, late });
  }

  function followupAlarmItem(f) {
    const li = make("li", "followup-alarm followup-alarm-" + (f.kind || "overdue"));
    li.dataset.caseId = String(f.case_id);
    li.dataset.stage = String(f.stage || "");
    const parts = followupAlarmWords(f).split("{p}");
    const link = make("a", "followup-alarm-case", f.pseudonym || "#" + f.case_id);
    link.href = "/followups/" + encodeURIComponent(f.case_id);
    link.target = "_blank";
    link.rel = "noopener";
    li.append(parts[0], link, parts.slice(1).join(""));
    return li;
  }

  function renderFollowupAlarms() {
    const banner = $("followup-alarm-banner");
    if (!FU.alarms.length) {
      banner.hidden = true;
      $("followup-alarm-list").replaceChildren();
      delete $("followup-alarm-list").dataset.words;
      return;
    }
    const items = FU.alarms.slice(0, FU_SHOWN_ALARMS).map(followupAlarmItem);
    const more = FU.alarms.length - FU_SHOWN_ALARMS;
    if (more > 0) {
      const li = make("li", "followup-alarm followup-alarm-more");
      const link = make("a", null, I.t("console.fu.alarm.more", { n: more }));
      link.href = "/followups";
      link.target = "_blank";
      link.rel = "noopener";
      li.appendChild(link);
      items.push(li);
    }
    const list = $("followup-alarm-list");
    const words = items.map((li) => li.textContent).join("\n");
    /* unchanged words are not rewritten, so a screen reader does not announce them again */
    if (banner.hidden || list.dataset.words !== words) {
      list.replaceChildren(...items);
      list.dataset.words = words;
    }
    banner.hidden = false; /* role="alert" announces it; the focus stays where it is */
  }

  function addFollowupAlarm(f) {
    if (f.case_id === undefined || f.case_id === null) return;
    const key = (a) => a.case_id + ":" + a.kind + ":" + a.stage;
    FU.alarms = [f, ...FU.alarms.filter((a) => key(a) !== key(f))].slice(0, FU_KEPT_ALARMS);
    renderFollowupAlarms();
  }

  function dismissFollowupAlarms() {
    const banner = $("followup-alarm-banner");
    const hadFocus = banner.contains(document.activeElement);
    FU.alarms = [];
    renderFollowupAlarms();
    /* acknowledged with the button: give the focus back to the work, not to the page's top */
    if (hadFocus) {
      if (S.selected === null) $("take-next").focus();
      else $("conversation-pane").focus();
    }
  }

  function handleFollowupFrame(f) {
    if (f.type === "hello") {
      if (f.now) setServerTime(f.now);
      renderFollowupLink(); /* followupSocket is live now */
      loadFollowupCounts(); /* whatever changed while the socket was away */
    } else if (f.type === "changed") {
      /* the undecided list (case_id null, a contact's event) is not counted here */
      if (f.case_id !== null && f.case_id !== undefined) refreshFollowupsSoon();
      else if (f.kind === "resync") refreshFollowupsSoon();
    } else if (f.type === "alarm") {
      addFollowupAlarm(f);
      refreshFollowupsSoon();
    }
  }

  $("followup-alarm-ack").addEventListener("click", dismissFollowupAlarms);

  function handleFrame(f) {
    switch (f.type) {
      case "alarm":
        showAlarm(f);
        break;
      case "urgent":
        showUrgent(f.contact);
        break;
      case "imminent":
        showImminent(f.contact);
        break;
      case "queue": {
        const stamp = setServerTime(f.server_time);
        if (!Number.isNaN(stamp)) S.queueStamp = Math.max(S.queueStamp, stamp);
        S.queueFrames += 1;
        S.queue = Array.isArray(f.queue) ? f.queue : [];
        renderQueue();
        renderUrgent();
        for (const q of S.queue) {
          if (q && S.contacts.has(String(q.id))) checkRequeued(q.id);
        }
        break;
      }
      case "message":
        addMessage(f.contact_id, f.message);
        break;
      case "contact":
        if (f.contact) {
          checkRiskRise(f.contact);
          upsertSummary(f.contact);
        }
        break;
      case "me":
        /* my presence changed on the server (the socket opening makes me available) */
        if (f.me) {
          S.me = Object.assign({}, S.me || {}, f.me);
          renderMe();
        }
        break;
      case "surge":
        applySurge(f.surge);
        break;
      case "warnings":
        S.warnings = f;
        renderWarnings();
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
  $("reply").addEventListener("input", updateCounter);
  $("note-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    addNote();
  });
  $("note").addEventListener("keydown", (ev) => enterSends(ev, addNote, true));
  $("end-conversation").addEventListener("click", () => askEnd(false));
  $("end-conversation-cancel").addEventListener("click", cancelEnd);
  $("end-conversation-confirm").addEventListener("click", confirmEnd);
  $("end-confirm-box").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      cancelEnd();
    }
  });
  $("wrap-up").addEventListener("submit", submitWrapUp);
  $("wrap-follow-up").addEventListener("change", followUpChanged);
  $("wrap-follow-up-phone").addEventListener("input", () => hideMessage($("wrap-follow-up-error")));
  $("history-open").addEventListener("click", openHistory);
  $("history-close").addEventListener("click", closeHistory);
  $("history").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      closeHistory();
    }
  });
  $("wrap-up").addEventListener("change", (ev) => {
    if (ev.target && ev.target.value) ev.target.removeAttribute("aria-invalid");
  });
  $("console-notice-dismiss").addEventListener("click", dismissNotice);
  $("voice-banner-dismiss").addEventListener("click", () => {
    $("voice-banner").hidden = true;
  });
  $("incoming-answer").addEventListener("click", answerIncoming);
  $("incoming-decline").addEventListener("click", declineIncoming);
  $("call-mute").addEventListener("click", toggleMute);
  $("reconnect-now").addEventListener("click", consoleSocket.reconnectNow);
  $("dispatch-open").addEventListener("click", toggleDispatch);
  $("contact-affected").addEventListener("click", tagAffected);
  $("dispatch-cancel").addEventListener("click", toggleDispatch);
  $("dispatch-request").addEventListener("submit", submitDispatch);
  $("dispatch-summary").addEventListener("keydown", (ev) => enterSends(ev, submitDispatch, true));
  $("dispatch-request").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      toggleDispatch();
    }
  });

  document.addEventListener("keydown", (ev) => {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    const k = ev.key ? ev.key.toLowerCase() : "";
    if (ev.code === "KeyN" || k === "n") {
      ev.preventDefault();
      takeNext();
    } else if (ev.code === "KeyH" || k === "h") {
      ev.preventDefault();
      hangUpShortcut();
    } else if (ev.code === "KeyY" || k === "y") {
      ev.preventDefault();
      openHistory();
    } else if ((ev.code === "KeyK" || k === "k") && FU.alarms.length) {
      ev.preventDefault();
      dismissFollowupAlarms();
    }
  });

  /* a tab in the background runs its timers late: catch up when it is looked at again */
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && followupSocket.socket) loadFollowupCounts();
  });

  I.onChange(() => {
    updateTitle();
    fillFollowUpOwners();
    /* names in tables follow data-name-*; rebuild the pieces assembled from several strings */
    renderQueue();
    renderMyContacts();
    renderFloor();
    if (S.selected !== null) renderNotes(S.details.get(String(S.selected)));
    if (S.selected !== null) renderConversation();
    renderRiskRise();
    renderImminent();
    renderFollowupLink();
    renderFollowupAlarms();
    renderWarnings();
  });

  renderMe();
  renderQueue();
  renderMyContacts();
  renderConversation();
  renderFloor();
  renderFollowupLink();
  setInterval(tick, 1000);
  setInterval(() => {
    loadFollowupCounts();
    renderFollowupAlarms(); /* "overdue by …" grows with the clock */
  }, FU_REFRESH_MS);

  loadOptions();
  loadState().then(consoleSocket.connect, consoleSocket.connect);
  followupSocket.connect();
  startVoice().catch((err) => showVoiceError(err));
})();
