/* What every staff page (console, dispatch board, follow-ups) needs the same way: reading
 * the page's meta tags, building nodes, the server clock, JSON calls that carry the CSRF
 * token and send an expired session to the login page, and live sockets that reconnect by
 * themselves. One copy, so a fix to the API call (say, how a 401 is handled) or to the
 * reconnecting reaches every page at once.
 */
"use strict";

(() => {
  const I = window.I18n;

  function meta(name) {
    const m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute("content") || "" : "";
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function hideMessage(target) {
    target.hidden = true;
    I.setText(target, "");
  }

  /* A page's own strings (`table[lang][key]`, zh-CN the fallback) as tr(key, params), with
   * {name} placeholders filled from params; an unknown key shows as itself. */
  function translator(table) {
    return function tr(key, params) {
      const strings = table[I.lang] || table["zh-CN"];
      let s = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : table["zh-CN"][key];
      if (s === undefined) return key;
      if (params) {
        s = s.replace(/\{(\w+)\}/g, (whole, name) =>
          params[name] === undefined || params[name] === null ? whole : String(params[name]));
      }
      return s;
    };
  }

  /* A page's own strings, bound to elements by a data attribute of its own (`data-<name>`,
   * with `data-<name>-params` and `data-<name>-aria-label`), so that a language switch
   * says them again: { tr, has, say(el, key, params), apply(root) }. */
  function pageStrings(table, name) {
    const tr = translator(table);
    const has = (key) => Object.prototype.hasOwnProperty.call(table["zh-CN"], key);
    const paramsKey = name + "Params";
    const ariaKey = name + "AriaLabel";
    function say(el, key, params) {
      if (!el) return el;
      delete el.dataset.i18n; // our string now, not the shared one
      el.dataset[name] = key;
      if (params) el.dataset[paramsKey] = JSON.stringify(params);
      else delete el.dataset[paramsKey];
      el.textContent = tr(key, params);
      return el;
    }
    function apply(root) {
      const scope = root || document;
      for (const el of scope.querySelectorAll("[data-" + name + "]")) {
        let params = null;
        if (el.dataset[paramsKey]) {
          try {
            params = JSON.parse(el.dataset[paramsKey]);
          } catch (_e) {
            params = null;
          }
        }
        el.textContent = tr(el.dataset[name], params);
      }
      for (const el of scope.querySelectorAll("[data-" + name + "-aria-label]")) {
        el.setAttribute("aria-label", tr(el.dataset[ariaKey]));
      }
    }
    return { tr, has, say, apply };
  }

  /* The server's clock, kept as an offset in the page's state `S` (S.offset, ms). */
  function clock(S) {
    return {
      now() {
        return Date.now() + S.offset;
      },
      setServerTime(iso) {
        const ms = I.parseTime(iso);
        if (!Number.isNaN(ms)) S.offset = ms - Date.now();
        return ms;
      }
    };
  }

  /* JSON calls for the page whose state `S` carries `leaving` (set while going away). */
  function session(S) {
    const csrf = meta("csrf-token");

    function toLogin() {
      if (S.leaving) return;
      S.leaving = true;
      location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
    }

    async function api(method, path, body) {
      const opts = {
        method,
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRF-Token": csrf
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

    return { toLogin, api };
  }

  const MAX_BACKOFF_MS = 30000;

  /* A websocket to this server (`opts.path`) that keeps itself connected, for the page whose
   * state `S` carries `leaving` (shared with session(): a page on its way to the login form
   * does not reconnect).
   *
   * A lost connection is retried after about 1, 2, 4 … seconds, at most 30, each ±25 % so
   * that every console of a floor does not come back in the same instant. Before each wait
   * `opts.onDown(attempts)` shows the page's "reconnecting" state; once the connection is up
   * again `opts.onUp()` clears it and re-reads what the page shows, since frames sent while
   * it was away are lost. The connection is up when the socket opens or, with `opts.upOn`,
   * at the first frame that function accepts (the server's greeting): a socket accepted and
   * then dropped before it is subscribed keeps backing off. A refused handshake (an expired
   * session answers 401) is a close like any other; the page's own API calls take the person
   * to the login form. Each frame that is a JSON object goes to `opts.onFrame(frame)`.
   * `opts.enabled()`, when given, says whether this page wants the socket at all.
   *
   * Back online, or shown again from the back-forward cache, it reconnects at once. The page
   * calls `connect()` once to start and wires its "retry now" button to `reconnectNow()`;
   * `socket` (null while there is none), `attempts` and `live` are there to be read. */
  function liveSocket(S, opts) {
    const state = {
      socket: null,
      attempts: 0,
      live: false, /* up, and not closed since */
      connect,
      reconnectNow
    };
    let timer = null;

    function scheduleReconnect() {
      clearTimeout(timer);
      const base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, state.attempts));
      state.attempts += 1;
      if (opts.onDown) opts.onDown(state.attempts);
      timer = setTimeout(connect, Math.round(base * (0.75 + Math.random() * 0.5)));
    }

    function up() {
      state.attempts = 0;
      state.live = true;
      if (opts.onUp) opts.onUp();
    }

    function connect() {
      clearTimeout(timer);
      timer = null;
      if (S.leaving || (opts.enabled && !opts.enabled())) return;
      const current = state.socket;
      if (current && (current.readyState === WebSocket.OPEN || current.readyState === WebSocket.CONNECTING)) return;
      let sock;
      try {
        sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + opts.path);
      } catch (_e) {
        scheduleReconnect();
        return;
      }
      state.socket = sock;
      /* events of a socket this page has since replaced are ignored */
      sock.addEventListener("open", () => {
        if (sock === state.socket && !opts.upOn) up();
      });
      sock.addEventListener("message", (ev) => {
        if (sock !== state.socket) return;
        let f;
        try {
          f = JSON.parse(ev.data);
        } catch (_e) {
          return;
        }
        if (!f || typeof f !== "object") return;
        if (opts.upOn && opts.upOn(f)) up();
        opts.onFrame(f);
      });
      sock.addEventListener("close", () => {
        if (sock !== state.socket) return;
        state.socket = null;
        state.live = false;
        if (!S.leaving) scheduleReconnect();
      });
    }

    function reconnectNow() {
      state.attempts = 0;
      const old = state.socket;
      if (old) {
        state.socket = null;
        state.live = false;
        try {
          old.close();
        } catch (_e) {
          /* ignore */
        }
      }
      connect();
    }

    window.addEventListener("online", () => {
      if (!state.socket) reconnectNow();
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
    return state;
  }

  window.StaffPage = {
    meta, make, hideMessage, translator, pageStrings, clock, session, liveSocket
  };
})();
