/* Crisis coordinators' board (/dispatch). Contract: docs/dispatch-api.md.
 *
 * Built for a tired person at 3 a.m.: every dispatch is a card whose state is a large word
 * (not a colour alone), its timers run every second, and every action is a button or a form
 * field reachable by Tab and Enter. Cards are built once and then updated in place, so a
 * live update never throws away what the coordinator is typing or where the focus is.
 */
"use strict";

(() => {
  const I = window.I18n;
  const $ = (id) => document.getElementById(id);

  const { meta, make, hideMessage, liveSocket } = window.StaffPage;
  const SUMMARY_MAX = 500;
  const MAX_NOTICES = 5;
  const RISKS = ["imminent", "high", "moderate", "low", "none"];
  const OPEN_STATES = new Set(["requested", "paging", "accepted", "en_route", "on_scene"]);
  const AWAITING = new Set(["requested", "paging"]);
  const ACCEPTED_STATES = new Set(["accepted", "en_route", "on_scene"]);
  const LOUD_NOTICES = new Set(["alarm", "exhausted"]);

  const S = {
    offset: 0, /* server clock minus browser clock, ms */
    teams: [],
    districts: [],
    outcomes: [],
    dispatches: new Map(), /* id -> dispatch view */
    cards: new Map(), /* id -> card elements */
    notices: [],
    leaving: false,
    busy: new Set()
  };

  /* ---------------------------------------------------------------- helpers */

  const { now, setServerTime } = window.StaffPage.clock(S);
  const { toLogin, api } = window.StaffPage.session(S);

  function button(className, key, onClick) {
    const btn = make("button", "btn " + className);
    btn.type = "button";
    if (key) I.set(btn, key);
    if (onClick) btn.addEventListener("click", onClick);
    return btn;
  }

  /* An API error in `target`: our words for the code (or the field) when we have them. */
  function showError(target, data) {
    const code = data && data.error;
    const field = data && data.field;
    if (code && I.has("board.error." + code)) I.set(target, "board.error." + code);
    else if (field && I.has("board.error.field." + field)) I.set(target, "board.error.field." + field);
    else if (code && I.has("error." + code)) I.set(target, "error." + code);
    else if (data && data.message) I.setText(target, data.message);
    else I.set(target, "error.generic");
    target.hidden = false;
  }

  function teamOf(id) {
    return S.teams.find((t) => t.id === id) || null;
  }

  function districtOf(id) {
    return S.districts.find((d) => d.id === id) || null;
  }

  function teamName(id) {
    const team = teamOf(id);
    return team ? I.pick(team) : id || "–";
  }

  function setTeamName(node, id) {
    const team = teamOf(id);
    if (team) I.setName(node, team);
    else I.setText(node, id || "–");
  }

  function setDistrictName(node, id) {
    const district = districtOf(id);
    if (district) I.setName(node, district);
    else if (id) I.setText(node, id);
    else I.set(node, "board.district.none");
  }

  function memberText(member) {
    if (!member) return I.t("board.nobody");
    const role = member.role && I.has("board.member_role." + member.role)
      ? I.t("board.member_role." + member.role) : member.role || "";
    return role ? I.t("board.with_role", { name: member.name, role }) : member.name;
  }

  function memberName(member) {
    return member ? member.name : I.t("board.nobody");
  }

  /* Who did something: a staff name, the responder, the system, the provider. */
  function actorText(view, actor) {
    const names = (view && view.actor_names) || {};
    if (names[actor]) {
      const who = names[actor];
      const role = I.has("role." + who.role) ? I.t("role." + who.role) : who.role;
      return I.t("board.with_role", { name: who.name, role });
    }
    if (actor && I.has("board.actor." + actor)) return I.t("board.actor." + actor);
    return actor || "–";
  }

  function riskBadge(risk, node) {
    const badge = node || make("span");
    const r = RISKS.includes(risk) ? risk : "none";
    badge.className = "risk risk-" + r;
    I.set(badge, "board.risk." + r);
    return badge;
  }

  /* ----------------------------------------------------------------- timers */

  function countdown(ms) {
    return I.formatDuration(Math.max(0, ms));
  }

  function tick() {
    const t = now();
    for (const node of document.querySelectorAll("[data-since]")) {
      node.textContent = I.formatDuration(t - I.parseTime(node.dataset.since));
    }
    for (const node of document.querySelectorAll("[data-until]")) {
      const left = I.parseTime(node.dataset.until) - t;
      node.textContent = left > 0 ? countdown(left) : I.t("board.escalating_now");
      node.classList.toggle("is-due", left <= 30000);
    }
    const clock = $("board-clock");
    const d = new Date(t);
    clock.textContent = String(d.getHours()).padStart(2, "0") + ":" +
      String(d.getMinutes()).padStart(2, "0") + ":" + String(d.getSeconds()).padStart(2, "0");
  }

  /* ---------------------------------------------------------------- on call */

  function renderOnCall() {
    const rows = S.teams.map((team) => {
      const tr = make("tr", "oncall-row oncall-" + team.kind);
      tr.dataset.team = team.id;
      const name = make("th");
      name.scope = "row";
      I.setName(name, team);
      if (team.gaps && team.gaps.length) {
        const gap = make("span", "oncall-gap");
        I.set(gap, "board.oncall.gap", { start: I.formatTime(team.gaps[0].start) });
        name.appendChild(document.createElement("br"));
        name.appendChild(gap);
      }
      const primary = make("td", "oncall-primary");
      const current = team.on_call || {};
      if (current.primary) primary.textContent = memberText(current.primary);
      else {
        primary.classList.add("oncall-none");
        I.set(primary, "board.oncall.nobody");
      }
      const secondary = make("td", "oncall-secondary");
      if (current.secondary) secondary.textContent = memberText(current.secondary);
      else {
        secondary.classList.add("oncall-none");
        I.set(secondary, "board.oncall.nobody");
      }
      const next = make("td", "oncall-next");
      if (team.next) {
        I.set(next, "board.oncall.next_at", {
          time: I.formatTime(team.next.at),
          primary: memberName(team.next.primary),
          secondary: memberName(team.next.secondary)
        });
      } else {
        I.set(next, "board.oncall.no_change");
      }
      const action = make("td");
      if (team.kind !== "supervisors") {
        const btn = button("btn-secondary btn-small", null, () => startFor(team));
        I.set(btn, "board.oncall.dispatch", { team: I.pick(team) });
        btn.dataset.team = team.id;
        action.appendChild(btn);
      }
      tr.append(name, primary, secondary, next, action);
      return tr;
    });
    const focused = document.activeElement;
    const focusedTeam = focused && focused.closest && focused.closest("#oncall-body") ?
      focused.dataset.team : null;
    $("oncall-body").replaceChildren(...rows);
    if (focusedTeam) {
      const again = document.querySelector('#oncall-body button[data-team="' + focusedTeam + '"]');
      if (again) again.focus({ preventScroll: true });
    }
  }

  /* "派遣此队": the new-dispatch form, for this team, with the cursor in the summary. */
  function startFor(team) {
    if (team.district_id) $("nd-district").value = team.district_id;
    $("nd-team").value = team.district_id ? "" : team.id;
    $("nd-summary").focus();
    $("new-dispatch").scrollIntoView({ block: "nearest" });
  }

  /* ------------------------------------------------------------ new dispatch */

  function fillSelect(select, items, label) {
    const keep = select.value;
    const first = select.options[0];
    const options = items.map((item) => {
      const opt = make("option");
      opt.value = item.id;
      opt.dataset.nameZh = item.name_zh || "";
      opt.dataset.nameEn = item.name_en || "";
      opt.textContent = label ? label(item) : I.pick(item);
      return opt;
    });
    select.replaceChildren(first, ...options);
    select.value = keep;
    if (select.value !== keep) select.value = "";
  }

  function renderForm() {
    fillSelect($("nd-district"), S.districts);
    fillSelect($("nd-team"), S.teams.filter((t) => t.kind !== "supervisors"));
  }

  function updateCounter() {
    const n = Array.from($("nd-summary").value).length;
    const counter = $("nd-summary-count");
    counter.textContent = n + " / " + SUMMARY_MAX;
    counter.classList.toggle("over", n > SUMMARY_MAX);
  }

  async function submitNew(ev) {
    if (ev) ev.preventDefault();
    if (S.busy.has("new")) return;
    const error = $("nd-error");
    hideMessage(error);
    const district = $("nd-district").value;
    const team = $("nd-team").value;
    if (!district && !team) {
      I.set(error, "board.new.need_place");
      error.hidden = false;
      $("nd-district").focus();
      return;
    }
    const body = {
      district_id: district || null,
      team_id: team || null,
      risk: $("nd-risk").value,
      summary: $("nd-summary").value.trim()
    };
    S.busy.add("new");
    const btn = $("nd-submit");
    btn.setAttribute("aria-busy", "true");
    const r = await api("POST", "/dispatch/api/dispatches", body);
    S.busy.delete("new");
    btn.removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.id !== undefined) {
      $("nd-summary").value = "";
      $("nd-team").value = "";
      updateCounter();
      upsert(r.data);
      const card = S.cards.get(String(r.data.id));
      if (card) {
        card.root.focus({ preventScroll: true });
        card.root.scrollIntoView({ block: "nearest" });
      }
    } else {
      showError(error, r.data);
      const field = r.data && r.data.field;
      const target = { district_id: "nd-district", team_id: "nd-team", risk: "nd-risk", summary: "nd-summary" }[field];
      if (target) $(target).focus();
    }
  }

  /* -------------------------------------------------------------- dispatches */

  function rank(view) {
    if (view.state === "resolved" || view.state === "cancelled") return 5;
    if (view.exhausted) return 0;
    if (AWAITING.has(view.state) && view.alarm) return 1;
    if (AWAITING.has(view.state)) return 2;
    return 3;
  }

  function sorted() {
    return Array.from(S.dispatches.values()).sort((a, b) => {
      const byRank = rank(a) - rank(b);
      if (byRank) return byRank;
      return I.parseTime(b.requested_at) - I.parseTime(a.requested_at);
    });
  }

  function upsert(view) {
    if (!view || view.id === undefined) return;
    const old = S.dispatches.get(String(view.id));
    /* frames and answers may cross: never let an older view replace a newer one */
    if (old && (old.timeline || []).length > (view.timeline || []).length) return;
    S.dispatches.set(String(view.id), view);
    renderDispatches();
  }

  function renderDispatches() {
    const list = $("dispatch-list");
    const views = sorted();
    const seen = new Set();
    const focused = document.activeElement;
    const order = [];
    for (const view of views) {
      const key = String(view.id);
      seen.add(key);
      let card = S.cards.get(key);
      if (!card) {
        card = buildCard(key);
        S.cards.set(key, card);
      }
      updateCard(card, view);
      order.push(card.root);
    }
    for (const [key, card] of S.cards) {
      if (!seen.has(key)) {
        card.root.remove();
        S.cards.delete(key);
      }
    }
    const current = Array.from(list.children);
    if (current.length !== order.length || current.some((node, i) => node !== order[i])) {
      list.replaceChildren(...order);
      /* moving a card blurs what had focus inside it: put the focus back */
      if (focused && focused !== document.activeElement && document.contains(focused)) {
        focused.focus({ preventScroll: true });
      }
    }
    const open = views.filter((v) => OPEN_STATES.has(v.state)).length;
    $("open-count").textContent = String(open);
    $("dispatches-empty").hidden = views.length > 0;
    updateTitle(views);
  }

  function updateTitle(views) {
    const waiting = views.filter((v) => AWAITING.has(v.state)).length;
    document.title = (waiting ? "(" + waiting + ") " : "") + I.t("board.title");
  }

  function fact(dl, key) {
    const dt = make("dt");
    I.set(dt, key);
    const dd = make("dd");
    dl.append(dt, dd);
    return dd;
  }

  function labelled(labelKey, control, id) {
    const wrap = make("span", "field-inline");
    const label = make("label");
    label.htmlFor = id;
    control.id = id;
    I.set(label, labelKey);
    wrap.append(label, control);
    return wrap;
  }

  /* A card's skeleton: built once per dispatch; `updateCard` fills it on every change. */
  function buildCard(key) {
    const c = { key };
    const root = make("article", "dispatch-card");
    root.tabIndex = -1;
    root.id = "dispatch-" + key;
    root.dataset.id = key;
    root.setAttribute("aria-labelledby", "dispatch-" + key + "-title dispatch-" + key + "-state");
    c.root = root;

    const head = make("div", "dispatch-head");
    c.title = make("h3", "dispatch-title");
    c.title.id = "dispatch-" + key + "-title";
    c.state = make("strong", "dispatch-state");
    c.state.id = "dispatch-" + key + "-state";
    c.risk = make("span", "risk");
    c.kind = make("span", "dispatch-kind");
    c.flag = make("strong", "dispatch-flag");
    c.flag.setAttribute("role", "status");
    head.append(c.title, c.state, c.risk, c.kind, c.flag);

    const dl = make("dl", "dispatch-facts");
    c.team = fact(dl, "board.card.team");
    c.district = fact(dl, "board.card.district");
    c.requested = fact(dl, "board.card.requested");
    c.elapsed = make("span", "ticker dispatch-elapsed");
    fact(dl, "board.card.elapsed").appendChild(c.elapsed);
    c.nextWrap = fact(dl, "board.card.next_step");
    c.nextWrap.classList.add("dispatch-next");
    c.next = make("span", "ticker dispatch-countdown");
    c.nextStep = make("span", "dispatch-step");
    c.nextWrap.append(c.next, document.createTextNode(" "), c.nextStep);
    c.acceptedDd = fact(dl, "board.card.accepted");
    c.acceptedDd.classList.add("dispatch-accepted");
    c.outcomeDd = fact(dl, "board.card.outcome");
    c.contactDd = fact(dl, "board.card.contact");

    c.summary = make("p", "dispatch-summary");

    /* the paging log */
    const pagesHead = make("h4");
    I.set(pagesHead, "board.pages.heading");
    const table = make("table", "table page-log");
    const thead = make("thead");
    const hr = make("tr");
    for (const k of ["time", "member", "channel", "step", "status", "response"]) {
      const th = make("th");
      th.scope = "col";
      I.set(th, "board.pages." + k);
      hr.appendChild(th);
    }
    thead.appendChild(hr);
    c.pages = make("tbody");
    table.append(thead, c.pages);
    const tableWrap = make("div", "table-wrap");
    tableWrap.appendChild(table);
    c.noPages = make("p", "empty");
    I.set(c.noPages, "board.pages.none");
    c.responses = make("ul", "dispatch-responses");

    /* actions: always on the card, never behind hover */
    c.actions = make("div", "dispatch-actions");
    c.error = make("p", "inline-message");
    c.error.setAttribute("role", "alert");
    c.error.hidden = true;

    c.ackForm = make("form", "action-row ack-form");
    c.ackForm.noValidate = true;
    const ackHeading = make("strong", "action-label");
    I.set(ackHeading, "board.ack.heading");
    c.ackMember = make("select");
    c.ackEta = make("input");
    c.ackEta.type = "number";
    c.ackEta.min = "1";
    c.ackEta.max = "600";
    c.ackEta.inputMode = "numeric";
    c.ackEta.className = "eta-input";
    c.ackSubmit = make("button", "btn btn-primary");
    c.ackSubmit.type = "submit";
    I.set(c.ackSubmit, "board.ack.submit");
    c.ackForm.append(ackHeading,
      labelled("board.ack.member", c.ackMember, "ack-member-" + key),
      labelled("board.ack.eta", c.ackEta, "ack-eta-" + key), c.ackSubmit);
    c.ackForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      acknowledge(c);
    });

    c.pageForm = make("form", "action-row page-form");
    c.pageForm.noValidate = true;
    const pageHeading = make("strong", "action-label");
    I.set(pageHeading, "board.page.heading");
    c.pageMember = make("select");
    c.pageSubmit = make("button", "btn btn-secondary");
    c.pageSubmit.type = "submit";
    I.set(c.pageSubmit, "board.page.submit");
    c.pageForm.append(pageHeading, labelled("board.page.member", c.pageMember, "page-member-" + key),
      c.pageSubmit);
    c.pageForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      pageNow(c);
    });

    c.progress = make("div", "action-row progress-row");
    c.enRoute = button("btn-secondary", "board.progress.en_route", () => setState(c, "en_route"));
    c.onScene = button("btn-secondary", "board.progress.on_scene", () => setState(c, "on_scene"));
    c.disclose = button("btn-secondary", "board.disclose.submit", () => disclose(c));
    c.progress.append(c.enRoute, c.onScene, c.disclose);

    c.resolveForm = make("form", "action-row resolve-form");
    c.resolveForm.noValidate = true;
    c.outcome = make("select");
    c.resolveSubmit = make("button", "btn btn-primary");
    c.resolveSubmit.type = "submit";
    I.set(c.resolveSubmit, "board.resolve.submit");
    c.resolveForm.append(labelled("board.resolve.outcome", c.outcome, "outcome-" + key),
      c.resolveSubmit);
    c.resolveForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      resolve(c);
    });

    c.cancelRow = make("div", "action-row cancel-row");
    c.cancelOpen = button("btn-danger", "board.cancel.open", () => {
      c.cancelBox.hidden = false;
      c.cancelOpen.setAttribute("aria-expanded", "true");
      c.cancelReason.focus();
    });
    c.cancelOpen.setAttribute("aria-expanded", "false");
    c.cancelBox = make("form", "confirm-box cancel-box");
    c.cancelBox.noValidate = true;
    c.cancelBox.hidden = true;
    c.cancelReason = make("input");
    c.cancelReason.type = "text";
    c.cancelReason.maxLength = 200;
    c.cancelReason.autocomplete = "off";
    const cancelActions = make("span", "confirm-actions");
    const cancelConfirm = make("button", "btn btn-danger");
    cancelConfirm.type = "submit";
    I.set(cancelConfirm, "board.cancel.confirm");
    const cancelBack = button("btn-secondary", "board.cancel.back", () => closeCancel(c));
    cancelActions.append(cancelConfirm, cancelBack);
    c.cancelBox.append(labelled("board.cancel.reason", c.cancelReason, "cancel-reason-" + key),
      cancelActions);
    c.cancelBox.addEventListener("submit", (ev) => {
      ev.preventDefault();
      cancel(c);
    });
    c.cancelBox.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        closeCancel(c);
      }
    });
    c.cancelRow.append(c.cancelOpen, c.cancelBox);

    c.actions.append(c.error, c.ackForm, c.pageForm, c.progress, c.resolveForm, c.cancelRow);

    /* the timeline: a click (or Enter) away, never a hover */
    c.timelineBox = make("details", "dispatch-timeline");
    c.timelineSummary = make("summary");
    c.timeline = make("ol", "timeline");
    c.timelineBox.append(c.timelineSummary, c.timeline);

    root.append(head, dl, c.summary, c.actions, pagesHead, tableWrap, c.noPages, c.responses,
      c.timelineBox);
    return c;
  }

  function closeCancel(c) {
    c.cancelBox.hidden = true;
    c.cancelOpen.setAttribute("aria-expanded", "false");
    c.cancelOpen.focus();
  }

  /* Options of a member <select>: the people paged first, then each team's members. */
  function memberOptions(select, view, withPlaceholder) {
    const groups = [];
    const seen = new Set();
    const paged = [];
    for (const p of view.pages || []) {
      const k = p.team_id + "/" + (p.member && p.member.id);
      if (p.member && !seen.has(k)) {
        seen.add(k);
        paged.push({ team: p.team_id, member: p.member });
      }
    }
    if (paged.length) groups.push({ key: "board.members.paged", items: paged });
    for (const teamId of [view.team_id, "city"]) {
      const team = teamOf(teamId);
      if (!team || groups.some((g) => g.teamId === teamId)) continue;
      const items = (team.members || []).filter((m) => !seen.has(teamId + "/" + m.id))
        .map((m) => ({ team: teamId, member: m }));
      for (const it of items) seen.add(teamId + "/" + it.member.id);
      if (items.length) groups.push({ teamId, team, items });
    }
    const signature = I.lang + "|" + groups.map((g) =>
      (g.teamId || g.key) + ":" + g.items.map((i) => i.team + "/" + i.member.id).join(",")).join(";");
    if (select.dataset.signature === signature) return;
    select.dataset.signature = signature;
    const keep = select.value;
    const nodes = [];
    if (withPlaceholder) {
      const opt = make("option", null, I.t("board.members.choose"));
      opt.value = "";
      nodes.push(opt);
    }
    for (const g of groups) {
      const og = make("optgroup");
      og.label = g.key ? I.t(g.key) : I.pick(g.team);
      for (const it of g.items) {
        const opt = make("option", null, memberText(it.member) +
          (g.key ? " · " + teamName(it.team) : ""));
        opt.value = it.team + "/" + it.member.id;
        og.appendChild(opt);
      }
      nodes.push(og);
    }
    select.replaceChildren(...nodes);
    select.value = keep;
    if (select.value !== keep) select.selectedIndex = 0;
  }

  function outcomeOptions(select) {
    const signature = I.lang + "|" + S.outcomes.map((o) => o.id).join(",");
    if (select.dataset.signature === signature) return;
    select.dataset.signature = signature;
    const keep = select.value;
    const first = make("option", null, I.t("board.resolve.choose"));
    first.value = "";
    select.replaceChildren(first, ...S.outcomes.map((o) => {
      const opt = make("option", null, I.pick(o));
      opt.value = o.id;
      return opt;
    }));
    select.value = keep;
  }

  function updateCard(c, view) {
    const state = view.state;
    const open = OPEN_STATES.has(state);
    const awaiting = AWAITING.has(state);
    const accepted = ACCEPTED_STATES.has(state);
    c.root.dataset.state = state;
    c.root.classList.toggle("is-closed", !open);
    c.root.classList.toggle("is-alarm", open && awaiting && (view.alarm || view.exhausted));

    I.set(c.title, "board.card.title", { code: view.code });
    c.state.dataset.state = state;
    I.set(c.state, "board.state." + state);
    riskBadge(view.risk, c.risk);
    if (view.kind === "wait_alarm") I.set(c.kind, "board.kind.wait_alarm");
    else I.setText(c.kind, "");
    c.kind.hidden = view.kind !== "wait_alarm";
    if (awaiting && view.exhausted) I.set(c.flag, "board.flag.exhausted");
    else if (awaiting && view.alarm) I.set(c.flag, "board.flag.alarm");
    else I.setText(c.flag, "");
    c.flag.hidden = !(awaiting && (view.alarm || view.exhausted));

    setTeamName(c.team, view.team_id);
    setDistrictName(c.district, view.district_id);
    I.set(c.requested, "board.card.requested_by", {
      who: actorText(view, view.requested_by), time: I.formatTime(view.requested_at)
    });
    if (open) {
      c.elapsed.dataset.since = view.requested_at;
    } else {
      delete c.elapsed.dataset.since;
      c.elapsed.textContent = I.formatDuration(I.parseTime(view.closed_at) - I.parseTime(view.requested_at));
    }

    const nextRow = c.nextWrap.previousElementSibling;
    const showNext = awaiting && Boolean(view.next_step_at) && !view.exhausted;
    c.nextWrap.hidden = nextRow.hidden = !(awaiting);
    if (showNext) {
      c.next.dataset.until = view.next_step_at;
      c.next.hidden = false;
    } else {
      delete c.next.dataset.until;
      c.next.hidden = true;
    }
    if (awaiting && view.exhausted) I.set(c.nextStep, "board.card.exhausted_hint");
    else if (awaiting && view.step_index >= 0) {
      I.set(c.nextStep, "board.card.step", { n: view.step_index + 1, total: view.total_steps });
    } else I.set(c.nextStep, "board.card.not_started");

    const acc = view.accepted;
    c.acceptedDd.hidden = c.acceptedDd.previousElementSibling.hidden = !acc;
    if (acc) {
      const via = I.has("board.via." + acc.via) ? I.t("board.via." + acc.via) : acc.via || "";
      const eta = acc.eta_minutes ? I.t("board.card.eta", { n: acc.eta_minutes }) : "";
      const behalf = acc.actor && acc.actor !== "responder" ?
        I.t("board.card.on_behalf", { who: actorText(view, acc.actor) }) : "";
      I.set(c.acceptedDd, "board.card.accepted_by", {
        who: memberText(acc.member), team: teamName(acc.team_id), time: I.formatTime(acc.at),
        via, eta, behalf
      });
    }
    const outcome = S.outcomes.find((o) => o.id === view.outcome);
    c.outcomeDd.hidden = c.outcomeDd.previousElementSibling.hidden = !view.outcome && state !== "cancelled";
    if (outcome) I.setName(c.outcomeDd, outcome);
    else if (state === "cancelled") {
      I.set(c.outcomeDd, "board.card.cancelled", { reason: view.cancel_reason || "" });
    } else I.setText(c.outcomeDd, view.outcome || "");
    c.contactDd.hidden = c.contactDd.previousElementSibling.hidden = view.contact_id === null ||
      view.contact_id === undefined;
    if (view.contact_id !== null && view.contact_id !== undefined) {
      I.set(c.contactDd, view.number_disclosed ? "board.card.contact_disclosed" : "board.card.contact_id",
        { id: view.contact_id });
    }
    if (view.summary) I.setText(c.summary, view.summary);
    else I.set(c.summary, "board.card.no_summary");
    c.summary.classList.toggle("is-empty", !view.summary);

    renderPages(c, view);
    renderResponses(c, view);
    renderTimeline(c, view);

    c.actions.hidden = !open;
    c.ackForm.hidden = !awaiting;
    c.pageForm.hidden = !awaiting;
    c.progress.hidden = !accepted;
    c.enRoute.hidden = state !== "accepted";
    c.onScene.hidden = !(state === "accepted" || state === "en_route");
    c.disclose.hidden = !(accepted && view.contact_id !== null && view.contact_id !== undefined &&
      !view.number_disclosed);
    c.resolveForm.hidden = !accepted;
    if (awaiting) {
      memberOptions(c.ackMember, view, true);
      memberOptions(c.pageMember, view, true);
    }
    if (accepted) outcomeOptions(c.outcome);
    if (!open && !c.error.hidden) hideMessage(c.error);
  }

  function pageStatus(p) {
    if (p.state === "failed") {
      const reason = p.error && I.has("board.page_error." + p.error) ? p.error :
        (p.error && p.error.startsWith("provider") ? "provider" : "other");
      return I.t("board.page_failed." + (p.channel === "voice" ? "voice" : "sms"),
        { reason: I.t("board.page_error." + reason) });
    }
    const state = I.has("board.page_state." + p.state) ? I.t("board.page_state." + p.state) : p.state;
    if (p.state === "sent" && p.delivery) {
      const key = "board.delivery." + p.delivery;
      return state + " · " + (I.has(key) ? I.t(key) : p.delivery);
    }
    return state;
  }

  function renderPages(c, view) {
    const pages = (view.pages || []).slice().sort((a, b) => a.id - b.id);
    c.noPages.hidden = pages.length > 0;
    c.pages.parentNode.parentNode.hidden = pages.length === 0;
    const rows = pages.map((p) => {
      const tr = make("tr", "page-row page-" + p.state);
      tr.dataset.page = String(p.id);
      tr.append(
        make("td", "col-time", I.formatTime(p.sent_at || p.created_at)),
        make("td", null, memberText(p.member) + (p.team_id !== view.team_id ? " · " + teamName(p.team_id) : "")),
        make("td", null, I.t("board.channel." + (p.channel === "voice" ? "voice" : "sms"))),
        make("td", "col-num", String(p.step_index + 1)),
        make("td", "page-status" + (p.state === "failed" ? " is-failed" : ""), pageStatus(p)),
        make("td", "page-response", p.response && I.has("board.response." + p.response) ?
          I.t("board.response." + p.response) + (p.responded_at ? " " + I.formatTime(p.responded_at) : "") :
          (p.response || "–"))
      );
      return tr;
    });
    c.pages.replaceChildren(...rows);
  }

  function renderResponses(c, view) {
    const items = (view.responses || []).filter((r) => r.response === "declined" || r.reason).map((r) => {
      const li = make("li", "response-" + r.response);
      const via = I.has("board.via." + r.via) ? I.t("board.via." + r.via) : r.via;
      I.set(li, "board.response_line." + (r.response === "declined" ? "declined" : "other"), {
        who: memberText(r.member), time: I.formatTime(r.at), via,
        reason: r.reason ? I.t("board.response_line.reason", { reason: r.reason }) : ""
      });
      return li;
    });
    c.responses.replaceChildren(...items);
    c.responses.hidden = items.length === 0;
  }

  function timelineText(view, e) {
    const d = e.data || {};
    const team = (id) => teamName(id);
    const member = (teamId, memberId) => {
      const t = teamOf(teamId);
      const m = t && (t.members || []).find((x) => x.id === memberId);
      return m ? m.name : memberId || "–";
    };
    const key = "board.event." + e.kind.replace("dispatch.", "");
    const params = {
      step: d.step !== undefined ? Number(d.step) + 1 : "",
      team: d.team ? team(d.team) : "",
      member: d.member ? member(d.team, d.member) : "",
      reason: e.kind === "dispatch.cancelled" ? view.cancel_reason || "" : "",
      status: d.status || "",
      error: d.error && I.has("board.page_error." + d.error) ? I.t("board.page_error." + d.error) : d.error || "",
      channel: d.channel ? I.t("board.channel." + (d.channel === "voice" ? "voice" : "sms")) : "",
      outcome: d.outcome ? I.pick(S.outcomes.find((o) => o.id === d.outcome)) || d.outcome : "",
      eta: d.eta_minutes ? I.t("board.card.eta", { n: d.eta_minutes }) : "",
      names: Array.isArray(d.recipients) ? d.recipients.map((r) => member(r.team, r.member)).join("、") : "",
      behalf: d.on_behalf ? I.t("board.event.on_behalf") : ""
    };
    return I.has(key) ? I.t(key, params) : e.kind;
  }

  function renderTimeline(c, view) {
    const events = view.timeline || [];
    I.set(c.timelineSummary, "board.timeline.heading", { n: events.length });
    const items = events.map((e) => {
      const li = make("li");
      const time = make("span", "col-time", I.formatTime(e.at));
      const text = make("span", "timeline-text", timelineText(view, e));
      const who = make("span", "timeline-actor", actorText(view, e.actor));
      li.append(time, document.createTextNode(" "), text, document.createTextNode(" · "), who);
      return li;
    });
    c.timeline.replaceChildren(...items);
  }

  /* ----------------------------------------------------------------- actions */

  async function act(c, path, body, focusAfter) {
    if (S.busy.has(c.key)) return null;
    S.busy.add(c.key);
    c.root.setAttribute("aria-busy", "true");
    hideMessage(c.error);
    const r = await api("POST", "/dispatch/api/dispatches/" + c.key + "/" + path, body);
    S.busy.delete(c.key);
    c.root.removeAttribute("aria-busy");
    if (r.ok && r.data && r.data.id !== undefined) {
      upsert(r.data);
      if (focusAfter) focusAfter();
      return r.data;
    }
    showError(c.error, r.data);
    return null;
  }

  function splitMember(value) {
    const at = value.indexOf("/");
    return at < 0 ? null : { team_id: value.slice(0, at), member_id: value.slice(at + 1) };
  }

  function acknowledge(c) {
    const who = splitMember(c.ackMember.value);
    if (!who) {
      I.set(c.error, "board.members.need");
      c.error.hidden = false;
      c.ackMember.focus();
      return;
    }
    const eta = c.ackEta.value.trim();
    act(c, "acknowledge", Object.assign(who, { eta_minutes: eta ? Number(eta) : null }),
      () => c.root.focus({ preventScroll: true }));
  }

  function pageNow(c) {
    const who = splitMember(c.pageMember.value);
    if (!who) {
      I.set(c.error, "board.members.need");
      c.error.hidden = false;
      c.pageMember.focus();
      return;
    }
    act(c, "page", who);
  }

  function setState(c, state) {
    act(c, "state", { state }, () => {
      const next = state === "en_route" ? c.onScene : c.outcome;
      if (next && !next.hidden) next.focus();
    });
  }

  function resolve(c) {
    if (!c.outcome.value) {
      I.set(c.error, "board.resolve.need");
      c.error.hidden = false;
      c.outcome.focus();
      return;
    }
    act(c, "resolve", { outcome: c.outcome.value }, () => c.root.focus({ preventScroll: true }));
  }

  function cancel(c) {
    const reason = c.cancelReason.value.trim();
    if (!reason) {
      I.set(c.error, "board.error.field.reason");
      c.error.hidden = false;
      c.cancelReason.focus();
      return;
    }
    act(c, "cancel", { reason }, () => {
      c.cancelBox.hidden = true;
      c.root.focus({ preventScroll: true });
    });
  }

  function disclose(c) {
    act(c, "disclose", {});
  }

  /* ---------------------------------------------------------------- notices */

  function noticeText(f) {
    const params = {
      code: f.code,
      team: teamName(f.team_id),
      risk: I.t("board.risk." + (RISKS.includes(f.risk) ? f.risk : "none")),
      who: f.member ? memberName(f.member) : "",
      step: f.step !== null && f.step !== undefined ? Number(f.step) + 1 : "",
      behalf: f.on_behalf ? I.t("board.notify.on_behalf") : ""
    };
    let key = "board.notify." + f.kind;
    if (f.kind === "page" && f.step) key = "board.notify.escalated";
    if (f.kind === "page" && f.dispatch_kind === "wait_alarm" && !f.step) key = "board.notify.wait_alarm";
    return I.t(key, params);
  }

  function showNotice(f) {
    if (!f || !f.kind) return;
    S.notices.unshift(f);
    S.notices.length = Math.min(S.notices.length, MAX_NOTICES);
    renderNotices();
    desktopNotice(f);
  }

  function renderNotices() {
    const banner = $("notify-banner");
    if (!S.notices.length) {
      banner.hidden = true;
      return;
    }
    const loud = S.notices.some((f) => LOUD_NOTICES.has(f.kind));
    banner.classList.toggle("banner-alarm", loud);
    banner.classList.toggle("banner-info", !loud);
    const items = S.notices.map((f) => {
      const li = make("li", "board-notice notice-" + f.kind);
      li.append(make("span", "col-time", I.formatTime(f.at)), document.createTextNode(" "));
      const link = make("a", null, noticeText(f));
      link.href = "#dispatch-" + f.dispatch_id;
      link.addEventListener("click", (ev) => {
        const card = S.cards.get(String(f.dispatch_id));
        if (!card) return;
        ev.preventDefault();
        card.root.focus();
        card.root.scrollIntoView({ block: "nearest" });
      });
      li.appendChild(link);
      return li;
    });
    $("notify-list").replaceChildren(...items);
    banner.hidden = false;
  }

  function dismissNotices() {
    S.notices.length = 0;
    renderNotices();
  }

  function desktopNotice(f) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const n = new Notification(I.t("board.title"), {
        body: noticeText(f),
        tag: "dispatch-" + f.dispatch_id + "-" + f.kind + "-" + (f.step || 0),
        requireInteraction: LOUD_NOTICES.has(f.kind)
      });
      n.onclick = () => {
        window.focus();
        const card = S.cards.get(String(f.dispatch_id));
        if (card) card.root.focus();
      };
    } catch (_e) {
      /* some browsers only allow notifications from a service worker: the banner still shows */
    }
  }

  function renderNotifyControls() {
    const btn = $("notify-enable");
    const state = $("notify-state");
    if (!("Notification" in window)) {
      btn.hidden = true;
      I.set(state, "board.notify.unsupported");
      state.hidden = false;
      return;
    }
    btn.hidden = Notification.permission !== "default";
    state.hidden = Notification.permission === "default";
    I.set(state, Notification.permission === "granted" ? "board.notify.on" : "board.notify.blocked");
  }

  async function enableNotifications() {
    try {
      await Notification.requestPermission();
    } catch (_e) {
      /* older browsers take a callback; the state below is read again either way */
    }
    renderNotifyControls();
  }

  /* ------------------------------------------------------------------- board */

  function applyBoard(b) {
    if (!b) return;
    setServerTime(b.now);
    S.teams = Array.isArray(b.teams) ? b.teams : [];
    S.districts = Array.isArray(b.districts) ? b.districts : [];
    S.outcomes = Array.isArray(b.outcomes) ? b.outcomes : [];
    const fresh = new Map();
    for (const d of b.dispatches || []) {
      if (!d || d.id === undefined) continue;
      const old = S.dispatches.get(String(d.id));
      /* an action's answer may be newer than a board built a moment before it */
      const older = old && (old.timeline || []).length > (d.timeline || []).length;
      fresh.set(String(d.id), older ? old : d);
    }
    /* a dispatch the board no longer lists has been closed for over a day */
    S.dispatches = fresh;
    renderForm();
    renderOnCall();
    renderDispatches();
    tick();
  }

  async function loadBoard() {
    const r = await api("GET", "/dispatch/api/board");
    if (r.ok) applyBoard(r.data);
  }

  /* --------------------------------------------------------------- websocket */

  const boardSocket = liveSocket(S, {
    path: "/dispatch/ws",
    onFrame: handleFrame, /* the first frame is the whole board again */
    onUp() {
      $("connection-banner").hidden = true;
    },
    onDown() {
      $("connection-banner").hidden = false;
    }
  });

  function handleFrame(f) {
    switch (f.type) {
      case "board":
        applyBoard(f);
        break;
      case "dispatch":
        upsert(f.dispatch);
        break;
      case "notify":
        showNotice(f);
        break;
      default:
        break;
    }
  }

  /* ------------------------------------------------------------------ wiring */

  function focusFirstDispatch() {
    const first = $("dispatch-list").firstElementChild;
    if (first) first.focus();
    else $("dispatches").focus();
  }

  function focusNew() {
    $("nd-district").focus();
    $("new-dispatch").scrollIntoView({ block: "nearest" });
  }

  $("dispatch-form").addEventListener("submit", submitNew);
  $("nd-summary").addEventListener("input", updateCounter);
  $("nd-summary").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter" || ev.shiftKey || ev.altKey || ev.isComposing || ev.keyCode === 229) return;
    ev.preventDefault();
    submitNew();
  });
  $("notify-dismiss").addEventListener("click", dismissNotices);
  $("notify-enable").addEventListener("click", enableNotifications);
  $("reconnect-now").addEventListener("click", boardSocket.reconnectNow);
  $("go-new").addEventListener("click", focusNew);
  $("go-dispatches").addEventListener("click", focusFirstDispatch);
  $("go-oncall").addEventListener("click", () => $("oncall").focus());

  document.addEventListener("keydown", (ev) => {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    const k = ev.key ? ev.key.toLowerCase() : "";
    if (ev.code === "KeyN" || k === "n") {
      ev.preventDefault();
      focusNew();
    } else if (ev.code === "KeyD" || k === "d") {
      ev.preventDefault();
      focusFirstDispatch();
    } else if (ev.code === "KeyO" || k === "o") {
      ev.preventDefault();
      $("oncall").focus();
    } else if (ev.code === "KeyK" || k === "k") {
      ev.preventDefault();
      dismissNotices();
    }
  });

  I.onChange(() => {
    for (const select of document.querySelectorAll("select[data-signature]")) delete select.dataset.signature;
    renderForm();
    renderOnCall();
    for (const [key, card] of S.cards) {
      const view = S.dispatches.get(key);
      if (view) updateCard(card, view);
    }
    updateTitle(Array.from(S.dispatches.values()));
    renderNotices();
    renderNotifyControls();
  });

  $("console-link").hidden = meta("user-role") !== "supervisor"; /* supervisors use both pages */
  renderNotifyControls();
  updateCounter();
  setInterval(tick, 1000);
  tick();
  loadBoard().then(boardSocket.connect, boardSocket.connect);
})();
