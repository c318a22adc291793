/* What every staff page (console, dispatch board) needs the same way: reading the page's
 * meta tags, building nodes, the server clock, and JSON calls that carry the CSRF token and
 * send an expired session to the login page. One copy, so a fix to the API call (say, how
 * a 401 is handled) reaches every page at once.
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

  window.StaffPage = { meta, make, hideMessage, clock, session };
})();
