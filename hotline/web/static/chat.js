/* The person's side of the web chat (/chat). Contract: docs/web-api.md. */
"use strict";

(() => {
  const I = window.I18n;
  const TOKEN_KEY = "hotline.chat.token";
  /* A random identity kept across conversations, so a returning person's chats are linked
   * (the server keeps only its keyed hash). Made once; never sent anywhere but the start. */
  const IDENTITY_KEY = "hotline.chatIdentity";
  const IDENTITY_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
  const MAX_BACKOFF_MS = 30000;
  /* Starting while the hotline cannot keep the start (its store or a gateway does not answer,
   * or the network failed): the person stays on the waiting screen and the same start is sent
   * again after the server's Retry-After (else 5 s), a little longer each time, at most 30 s. */
  const START_RETRY_MS = 5000;
  const START_RETRY_MAX_MS = 30000;
  const $ = (id) => document.getElementById(id);

  const el = {
    intro: $("intro"),
    startForm: $("start-form"),
    district: $("district"),
    start: $("start"),
    chat: $("chat"),
    status: $("status"),
    statusHint: $("status-hint"),
    connection: $("connection"),
    messages: $("messages"),
    noticeSlot: $("notice-slot"),
    notice: $("notice"),
    composer: $("composer"),
    input: $("message-input"),
    counter: $("char-counter"),
    send: $("send"),
    end: $("end"),
    endBox: $("end-confirm-box"),
    endConfirm: $("end-confirm"),
    endCancel: $("end-cancel"),
    ended: $("ended"),
    endedText: $("ended-text"),
    newChat: $("new-chat"),
    surgeAnnouncement: $("surge-announcement"),
    surgeQuestion: $("surge-question"),
    surgeQuestionText: $("surge-question-text"),
    waiting: $("waiting"),
    waitingTitle: $("waiting-title"),
    waitingRetry: $("waiting-retry"),
    waitingCancel: $("waiting-cancel")
  };

  let maxChars = 2000;
  let token = null;
  let memoryToken = null; /* used when localStorage is unavailable */
  let ws = null;
  let attempts = 0;
  let reconnectTimer = null;
  let finished = false;
  let starting = false;
  let endRequested = false;
  /* The text of the message just sent: the input is cleared only when the server echoes it,
   * so an error frame (too_fast, too_long) never loses what the person typed. */
  let pending = null;
  let pendingRaw = null;
  /* Surge mode: a mass incident is live and the start form asks whether it affected them. */
  let surgeActive = false;
  /* The waiting screen: which start is current (a cancelled one's late answer is ignored),
   * the timers of the next try and of its countdown, and the delay used last. */
  let waitingActive = false;
  let startRound = 0;
  let startTimer = null;
  let countdownTimer = null;
  let startDelay = 0;
  let retryNow = null;

  /* ---- storage ---- */

  function loadToken() {
    try {
      return window.localStorage.getItem(TOKEN_KEY) || memoryToken;
    } catch (_e) {
      return memoryToken;
    }
  }

  function saveToken(value) {
    memoryToken = value;
    try {
      window.localStorage.setItem(TOKEN_KEY, value);
    } catch (_e) {
      /* private mode: the conversation survives reconnects but not a reload */
    }
  }

  function forgetToken() {
    memoryToken = null;
    token = null;
    try {
      window.localStorage.removeItem(TOKEN_KEY);
    } catch (_e) {
      /* nothing stored */
    }
  }

  /* The browser's chat identity: 32 random bytes as base64url, made on the first chat and
   * kept in localStorage. Without storage there is nothing to link by: null. */
  function chatIdentity() {
    try {
      const kept = window.localStorage.getItem(IDENTITY_KEY);
      if (kept && IDENTITY_PATTERN.test(kept)) return kept;
      const bytes = new Uint8Array(32);
      window.crypto.getRandomValues(bytes);
      let binary = "";
      for (const b of bytes) binary += String.fromCharCode(b);
      const made = window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      window.localStorage.setItem(IDENTITY_KEY, made);
      return window.localStorage.getItem(IDENTITY_KEY) === made ? made : null;
    } catch (_e) {
      return null; /* private mode or no crypto: the chat starts all the same */
    }
  }

  /* ---- small helpers ---- */

  function charCount(text) {
    return Array.from(text).length; /* code points, as the server counts them */
  }

  function errorKey(code) {
    return code && I.has("error." + code) ? "error." + code : null;
  }

  function showNotice(key, params) {
    I.set(el.notice, key, params);
    el.notice.hidden = false;
  }

  function showNoticeText(text) {
    I.setText(el.notice, text);
    el.notice.hidden = false;
  }

  function showError(data) {
    const key = errorKey(data && (data.error || data.code));
    if (key) showNotice(key);
    else if (data && data.message) showNoticeText(data.message);
    else showNotice("error.generic");
  }

  function hideNotice() {
    el.notice.hidden = true;
    I.setText(el.notice, "");
  }

  function placeNotice(inChat) {
    const target = inChat ? el.noticeSlot : null;
    if (target) {
      if (el.notice.parentNode !== target) target.appendChild(el.notice);
    } else if (el.notice.previousElementSibling !== el.intro) {
      el.intro.after(el.notice);
    }
  }

  function nearBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  function scrollToBottom(box) {
    box.scrollTop = box.scrollHeight;
  }

  /* ---- views ---- */

  function showIntro() {
    el.chat.hidden = true;
    el.waiting.hidden = true;
    el.intro.hidden = false;
    placeNotice(false);
    starting = false;
    el.start.disabled = false;
    I.set(el.start, "chat.start");
  }

  function showChat() {
    el.intro.hidden = true;
    el.waiting.hidden = true;
    el.chat.hidden = false;
    el.composer.hidden = false;
    el.endBox.hidden = true;
    el.ended.hidden = true;
    el.end.disabled = false;
    el.endConfirm.disabled = false;
    placeNotice(true);
  }

  function setStatus(key, params) {
    I.set(el.status, key, params);
  }

  function renderStatus(frame) {
    const state = frame.state;
    if (state === "queued") {
      const pos = typeof frame.position === "number" ? frame.position : null;
      const mins = typeof frame.wait_minutes === "number" && frame.wait_minutes >= 1
        ? Math.round(frame.wait_minutes) : null;
      /* position 1 = first in line, i.e. nobody ahead */
      const ahead = pos === null ? null : Math.max(0, pos - 1);
      if (ahead === null) setStatus("chat.status.queued_plain");
      else if (ahead === 0) {
        if (mins === null) setStatus("chat.status.queued_next_soon");
        else setStatus("chat.status.queued_next", { minutes: mins });
      } else if (mins === null) setStatus("chat.status.queued_no_estimate", { ahead });
      else setStatus("chat.status.queued", { ahead, minutes: mins });
      el.statusHint.hidden = false;
    } else if (state === "offered") {
      setStatus("chat.status.offered");
      el.statusHint.hidden = false;
    } else if (state === "active") {
      setStatus("chat.status.active");
      el.statusHint.hidden = true;
    } else {
      el.statusHint.hidden = true;
    }
  }

  function buildMessage(m) {
    const fromCaller = m.from === "caller";
    const item = document.createElement("div");
    item.className = "message " + (fromCaller ? "from-caller" : "from-counsellor");
    if (m.id !== undefined && m.id !== null) item.dataset.id = String(m.id);

    const meta = document.createElement("div");
    meta.className = "meta";
    const who = document.createElement("span");
    who.className = "who";
    I.set(who, fromCaller ? "chat.you" : "chat.counsellor");
    meta.appendChild(who);
    const time = document.createElement("time");
    time.className = "time";
    if (m.at) time.setAttribute("datetime", m.at);
    time.textContent = I.formatTime(m.at);
    meta.appendChild(time);

    const text = document.createElement("p");
    text.className = "text";
    text.textContent = m.text === undefined || m.text === null ? "" : String(m.text);

    item.appendChild(meta);
    item.appendChild(text);
    return item;
  }

  function hasMessage(id) {
    if (id === undefined || id === null) return false;
    for (const node of el.messages.children) {
      if (node.dataset.id === String(id)) return true;
    }
    return false;
  }

  function appendMessage(m) {
    if (!m || hasMessage(m.id)) return;
    const stick = nearBottom(el.messages) || m.from === "caller";
    el.messages.appendChild(buildMessage(m));
    if (stick) scrollToBottom(el.messages);
  }

  function renderHistory(list) {
    const frag = document.createDocumentFragment();
    for (const m of Array.isArray(list) ? list : []) frag.appendChild(buildMessage(m));
    el.messages.replaceChildren(frag);
    scrollToBottom(el.messages);
  }

  function updateCounter() {
    const n = charCount(el.input.value);
    const over = n - maxChars;
    if (over > 0) I.set(el.counter, "chat.counter.over", { n, max: maxChars, over });
    else I.set(el.counter, "chat.counter", { n, max: maxChars });
    el.counter.classList.toggle("over", over > 0);
    el.counter.classList.toggle("near", over <= 0 && n >= maxChars * 0.9);
    el.input.setAttribute("aria-invalid", over > 0 ? "true" : "false");
  }

  /* The server echoed one of the person's messages: clear it from the box if it is the one
   * we sent (and the person has not typed something else meanwhile). */
  function settlePending(text) {
    if (pending === null || typeof text !== "string") return;
    if (text.trim() !== pending) return;
    const value = el.input.value;
    if (value.trim() === pending) el.input.value = "";
    else if (pendingRaw && value.startsWith(pendingRaw)) {
      el.input.value = value.slice(pendingRaw.length).replace(/^\s+/, "");
    }
    pending = null;
    pendingRaw = null;
    updateCounter();
    hideNotice();
  }

  /* ---- websocket ---- */

  function socketUrl(forToken) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      "/chat/ws?token=" + encodeURIComponent(forToken === undefined ? token : forToken);
  }

  function scheduleReconnect() {
    if (finished || !token) return;
    clearTimeout(reconnectTimer);
    const base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, attempts));
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    attempts += 1;
    reconnectTimer = setTimeout(connect, delay);
  }

  function showConnectionLost() {
    el.connection.hidden = false;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (finished || !token) return;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) return;
    let sock;
    try {
      sock = new WebSocket(socketUrl());
    } catch (_e) {
      showConnectionLost();
      scheduleReconnect();
      return;
    }
    ws = sock;
    sock.addEventListener("message", (ev) => {
      if (sock !== ws) return;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (_e) {
        return;
      }
      if (frame && typeof frame === "object") handleFrame(frame);
    });
    sock.addEventListener("close", (ev) => {
      if (sock !== ws) return;
      ws = null;
      if (finished) return;
      if (ev.code === 4404) {
        expired();
        return;
      }
      showConnectionLost();
      scheduleReconnect();
    });
  }

  function sendFrame(obj) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(JSON.stringify(obj));
      return true;
    } catch (_e) {
      return false;
    }
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case "history":
        attempts = 0;
        el.connection.hidden = true;
        renderHistory(frame.messages);
        if (pending !== null && Array.isArray(frame.messages)) {
          const mine = frame.messages.filter((m) => m && m.from === "caller");
          const last = mine[mine.length - 1];
          if (last) settlePending(last.text);
        }
        if (el.status.dataset.i18n === "chat.status.connecting" ||
            el.status.dataset.i18n === "chat.status.resuming") {
          /* until a status frame says otherwise, guess from the history */
          const answered = Array.isArray(frame.messages) &&
            frame.messages.some((m) => m && m.from === "counsellor");
          setStatus(answered ? "chat.status.active" : "chat.status.queued_plain");
          el.statusHint.hidden = answered;
        }
        if (endRequested) sendFrame({ type: "end" });
        break;
      case "status":
        renderStatus(frame);
        break;
      case "message":
        if (frame.message) {
          appendMessage(frame.message);
          if (frame.message.from === "caller") settlePending(frame.message.text);
        }
        break;
      case "ended":
        onEnded(frame.by);
        break;
      case "error":
        onErrorFrame(frame);
        break;
      default:
        break;
    }
  }

  function onErrorFrame(frame) {
    pending = null;
    pendingRaw = null;
    el.endConfirm.disabled = false;
    if (frame.code === "ended") {
      onEnded(null);
      return;
    }
    showError({ error: frame.code, message: frame.message });
  }

  function onEnded(by) {
    const hadFocus = el.chat.contains(document.activeElement) &&
      (el.composer.contains(document.activeElement) || el.endBox.contains(document.activeElement));
    finished = true;
    endRequested = false;
    pending = null;
    pendingRaw = null;
    forgetToken();
    clearTimeout(reconnectTimer);
    const sock = ws;
    ws = null;
    if (sock) {
      try {
        sock.close(1000);
      } catch (_e) {
        /* already closing */
      }
    }
    el.connection.hidden = true;
    el.composer.hidden = true;
    el.endBox.hidden = true;
    el.statusHint.hidden = true;
    setStatus("chat.status.ended");
    let key = "chat.ended.other";
    if (by === "caller") key = "chat.ended.by_caller";
    else if (by === "counsellor") key = "chat.ended.by_counsellor";
    I.set(el.endedText, key);
    el.ended.hidden = false;
    if (hadFocus) el.newChat.focus();
  }

  /* The stored conversation is unknown or expired (socket closed 4404). */
  function expired() {
    finished = true;
    forgetToken();
    clearTimeout(reconnectTimer);
    el.messages.replaceChildren();
    el.connection.hidden = true;
    showIntro();
    showNotice("chat.expired");
  }

  /* ---- actions ---- */

  /* The optional screener: only answered questions are sent; none answered sends nothing. */
  function screenerAnswers() {
    const picked = (name) => {
      const input = document.querySelector('input[name="' + name + '"]:checked');
      return input ? input.value : null;
    };
    const yesNo = (v) => (v === null ? null : v === "yes");
    const answers = {
      wished_dead: yesNo(picked("wished_dead")),
      suicidal_thoughts: yesNo(picked("suicidal_thoughts")),
      acted: picked("acted"),
      safe_now: yesNo(picked("safe_now"))
    };
    const given = Object.keys(answers).filter((k) => answers[k] !== null);
    if (!given.length) return null;
    const out = {};
    for (const k of given) out[k] = answers[k];
    return out;
  }

  /* The surge question's answer: true only for an explicit "yes" while it is asked. */
  function affectedAnswer() {
    if (!surgeActive) return false;
    const picked = document.querySelector('input[name="affected"]:checked');
    return picked !== null && picked.value === "yes";
  }

  function startBody(district, screener) {
    const body = { district, lang: I.lang, affected: affectedAnswer() };
    if (screener) body.screener = screener;
    const identity = chatIdentity();
    if (identity) body.identity = identity;
    return body;
  }

  async function startChat(ev) {
    ev.preventDefault();
    if (starting) return;
    starting = true;
    hideNotice();
    el.start.disabled = true;
    I.set(el.start, "chat.starting");
    /* What the person entered is read once: every further try sends the same start. */
    const body = startBody(el.district.value || null, screenerAnswers());
    startRound += 1;
    startDelay = 0;
    await tryStart(startRound, body);
  }

  /* One try of the start request:
   *   { token }          started: on to the chat, as always
   *   { wait, afterMs }  nothing could be kept (503: the store or a gateway does not answer;
   *                      502/504 from the proxy; no answer at all): wait and send it again
   *   { error }          refused for a reason the person can act on: back to the form */
  async function postStart(body) {
    let res;
    try {
      res = await fetch("/chat/api/conversations", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body)
      });
    } catch (_e) {
      return { wait: true, afterMs: 0 };
    }
    let data = {};
    try {
      data = await res.json();
    } catch (_e) {
      data = {};
    }
    if (res.ok && data && data.token) return { token: String(data.token) };
    if (res.status === 502 || res.status === 503 || res.status === 504) {
      return { wait: true, afterMs: retryAfterMs(res) };
    }
    /* Retries from one address (a campus, a shared network) can reach the start limit:
     * while waiting that is one more reason to wait, never to send the person back. */
    if (res.status === 429 && waitingActive) return { wait: true, afterMs: START_RETRY_MAX_MS };
    return { error: data };
  }

  function retryAfterMs(res) {
    const seconds = Number.parseInt(res.headers.get("Retry-After") || "", 10);
    return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
  }

  async function tryStart(round, body) {
    startTimer = null;
    retryNow = null;
    body.lang = I.lang; /* switched while waiting: the conversation's language is the new one */
    if (waitingActive) {
      stopCountdown();
      I.set(el.waitingRetry, "chat.waiting.trying");
    }
    const result = await postStart(body);
    if (round !== startRound) {
      /* the person cancelled while this try was under way */
      if (result.token) discardStarted(result.token);
      return;
    }
    if (result.token) {
      stopWaiting();
      token = result.token;
      saveToken(token);
      begin("chat.status.connecting");
      el.input.focus();
      return;
    }
    if (result.wait) {
      waitThenRetry(round, body, result.afterMs);
      return;
    }
    stopWaiting();
    showIntro();
    showError(result.error);
  }

  function waitThenRetry(round, body, afterMs) {
    const grown = startDelay ? Math.round(startDelay * 1.5) : 0;
    startDelay = Math.min(START_RETRY_MAX_MS, Math.max(afterMs || START_RETRY_MS, grown));
    /* a little later at random, so pages waiting together do not all return at once */
    const delay = Math.min(START_RETRY_MAX_MS, Math.round(startDelay * (1 + Math.random() * 0.2)));
    showWaiting();
    countdown(delay);
    retryNow = () => tryStart(round, body);
    startTimer = setTimeout(retryNow, delay);
  }

  function showWaiting() {
    if (waitingActive) return;
    waitingActive = true;
    hideNotice();
    el.intro.hidden = true;
    el.chat.hidden = true;
    el.waiting.hidden = false;
    el.waitingTitle.focus();
  }

  function stopCountdown() {
    clearInterval(countdownTimer);
    countdownTimer = null;
  }

  function countdown(ms) {
    stopCountdown();
    const until = Date.now() + ms;
    const tick = () => {
      const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
      I.set(el.waitingRetry, "chat.waiting.next", { seconds });
    };
    tick();
    countdownTimer = setInterval(tick, 1000);
  }

  function stopWaiting() {
    waitingActive = false;
    clearTimeout(startTimer);
    startTimer = null;
    retryNow = null;
    stopCountdown();
    el.waiting.hidden = true;
  }

  /* Cancel: back to the form, with everything entered still in it. */
  function cancelWaiting() {
    if (!waitingActive) return;
    startRound += 1; /* a try under way is disowned (see discardStarted) */
    stopWaiting();
    showIntro();
    showNotice("chat.waiting.cancelled");
    el.start.focus();
  }

  /* A try that was under way when the person cancelled did start a conversation: nobody will
   * come back to it, so it is ended at once (abandoned by the person) rather than left in the
   * queue for a counsellor to find empty. */
  function discardStarted(lateToken) {
    let sock;
    try {
      sock = new WebSocket(socketUrl(lateToken));
    } catch (_e) {
      return;
    }
    const close = () => {
      try {
        sock.close(1000);
      } catch (_e) {
        /* already closing */
      }
    };
    sock.addEventListener("message", (ev) => {
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (_e) {
        return;
      }
      if (frame && frame.type === "history") sock.send(JSON.stringify({ type: "end" }));
      else if (frame && frame.type === "ended") close();
    });
    setTimeout(close, 15000);
  }

  function begin(statusKey) {
    finished = false;
    endRequested = false;
    attempts = 0;
    pending = null;
    pendingRaw = null;
    el.messages.replaceChildren();
    el.connection.hidden = true;
    el.statusHint.hidden = true;
    setStatus(statusKey);
    showChat();
    connect();
  }

  function sendMessage() {
    if (finished) return;
    const raw = el.input.value;
    const text = raw.trim();
    if (!text) {
      showNotice("error.empty");
      el.input.focus();
      return;
    }
    const n = charCount(text);
    if (n > maxChars) {
      showNotice("chat.too_long_local", { n, max: maxChars });
      el.input.focus();
      return;
    }
    if (!sendFrame({ type: "message", text })) {
      showNotice("chat.not_connected");
      showConnectionLost();
      if (!ws) connect();
      return;
    }
    pending = text;
    pendingRaw = raw;
    el.input.focus();
  }

  function askEnd() {
    if (finished) return;
    el.endBox.hidden = false;
    el.endCancel.focus();
  }

  function cancelEnd() {
    el.endBox.hidden = true;
    el.end.focus();
  }

  function confirmEnd() {
    if (finished) return;
    el.endConfirm.disabled = true;
    if (!sendFrame({ type: "end" })) {
      /* sent as soon as the connection is back */
      endRequested = true;
      showNotice("chat.not_connected");
      showConnectionLost();
      if (!ws) connect();
    }
  }

  function newConversation() {
    forgetToken();
    finished = false;
    el.messages.replaceChildren();
    el.input.value = "";
    updateCounter();
    hideNotice();
    el.ended.hidden = true;
    el.statusHint.hidden = true;
    setStatus("chat.status.connecting");
    showIntro();
    loadSurge();
    el.start.focus();
  }

  /* ---- surge mode ---- */

  /* Ask the server whether an incident is live, in the page's language. Without an answer
   * (network trouble) nothing is shown and the chat starts as on any day. */
  async function loadSurge() {
    let data = null;
    try {
      const res = await fetch("/chat/api/surge?lang=" + encodeURIComponent(I.lang), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      });
      if (res.ok) data = await res.json();
    } catch (_e) {
      data = null;
    }
    surgeActive = Boolean(data && data.active === true);
    if (surgeActive && data.announcement) I.setText(el.surgeAnnouncement, data.announcement);
    el.surgeAnnouncement.hidden = !(surgeActive && data.announcement);
    if (surgeActive && data.question) I.setText(el.surgeQuestionText, data.question);
    el.surgeQuestion.hidden = !(surgeActive && data.question);
    if (!surgeActive) {
      for (const input of el.surgeQuestion.querySelectorAll('input[name="affected"]')) {
        input.checked = false;
      }
    }
  }

  /* ---- options ---- */

  async function loadOptions() {
    let data = null;
    try {
      const res = await fetch("/chat/api/options", {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      });
      if (res.ok) data = await res.json();
    } catch (_e) {
      data = null;
    }
    if (!data) return;
    if (typeof data.max_message_chars === "number" && data.max_message_chars > 0) {
      maxChars = data.max_message_chars;
      updateCounter();
    }
    if (Array.isArray(data.districts)) {
      const keep = el.district.value;
      const first = el.district.options[0];
      el.district.replaceChildren(first);
      for (const d of data.districts) {
        if (!d || d.id === undefined || d.id === null) continue;
        const opt = document.createElement("option");
        opt.value = String(d.id);
        I.setName(opt, d);
        el.district.appendChild(opt);
      }
      el.district.value = keep;
    }
  }

  /* ---- wiring ---- */

  el.startForm.addEventListener("submit", startChat);
  el.composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    sendMessage();
  });
  el.input.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter" || ev.shiftKey || ev.altKey) return;
    if (ev.isComposing || ev.keyCode === 229) return; /* Chinese IME is choosing characters */
    ev.preventDefault();
    sendMessage();
  });
  el.input.addEventListener("input", updateCounter);
  el.end.addEventListener("click", askEnd);
  el.endCancel.addEventListener("click", cancelEnd);
  el.endConfirm.addEventListener("click", confirmEnd);
  el.endBox.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      cancelEnd();
    }
  });
  el.newChat.addEventListener("click", newConversation);
  el.waitingCancel.addEventListener("click", cancelWaiting);
  window.addEventListener("online", () => {
    if (waitingActive && retryNow) {
      /* the network is back: try the waiting start now rather than at the end of the wait */
      clearTimeout(startTimer);
      retryNow();
      return;
    }
    if (!finished && token && !ws) {
      attempts = 0;
      connect();
    }
  });

  I.onChange(() => {
    /* times use the same format in both languages; the rest re-translates itself */
    updateCounter();
    loadSurge(); /* the announcement and question come from the server in each language */
  });

  updateCounter();
  loadOptions();
  loadSurge();

  token = loadToken();
  if (token) {
    begin("chat.status.resuming");
  } else {
    showIntro();
  }
})();
