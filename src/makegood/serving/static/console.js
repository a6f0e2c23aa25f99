/* makegood console: plain JavaScript, no framework, no build step, nothing from outside.
 *
 * The agent's API key lives in sessionStorage (this tab only) and travels only as the
 * X-API-Key header of fetch() calls to this server. Everything is drawn with
 * textContent (never innerHTML with data), so complaint text cannot inject markup.
 */
"use strict";

(function () {
  const KEY = "makegood.key";
  const PROFILE = "makegood.agent";
  const OPEN_CASE = "makegood.case";  // the entry id of the case on screen (not a secret)
  const CURRENCY = document.body.dataset.currency || "USD";
  const SYMBOLS = { USD: "$", EUR: "\u20ac", GBP: "\u00a3" };
  const $ = (id) => document.getElementById(id);

  // seconds a decline or an override can be undone before it is sent
  const UNDO_SECONDS = Number(document.body.dataset.undoSeconds) || 10;

  const state = { next: null, queue: null, mine: [], pending: null, busy: false, poll: null };

  // ------------------------------------------------------------------ helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "title")
        node.setAttribute(k, v === true ? "" : String(v));
      else node[k] = v;
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function money(x, cents) {
    if (x === null || x === undefined) return "n/a";
    const sym = SYMBOLS[CURRENCY] || CURRENCY + " ";
    const v = Number(x);
    const s = Math.abs(v).toLocaleString("en-US", {
      minimumFractionDigits: cents ? 2 : 0, maximumFractionDigits: cents ? 2 : 0,
    });
    return (v < 0 ? "-" : "") + sym + s;
  }

  function pct(p) {
    return p === null || p === undefined ? "n/a" : (100 * p).toFixed(1) + "%";
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds || 0));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString("en-GB", {
      day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  function label(id) {
    return String(id || "").replaceAll("_", " ");
  }

  // ------------------------------------------------------------------ messages
  let sayTimer = null;
  function say(text, kind) {
    const box = $("message");
    box.textContent = text;
    box.className = "message " + (kind || "info");
    box.hidden = !text;
    clearTimeout(sayTimer);
    // a confirmation goes after a while; an error or a warning stays until the next action
    if (text && (kind || "info") === "info") sayTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  /** The API's answer in words an agent can act on. */
  function describe(status, body) {
    const detail = (body && body.detail) || "";
    const d = String(detail).toLowerCase();
    if (status === 0) return "Cannot reach the server: check the connection and try again.";
    if (status === 401) return "That key was refused: check it and sign in again.";
    if (status === 403) return "This key may not do that: " + detail;
    if (status === 404) return "Not found: it may have been handled already. " + detail;
    if (status === 409 && (d.includes("budget") || d.includes("above the")))
      return "Budget ran out: this resolution no longer fits the team's budget. " +
        "Choose a cheaper one (Override) or decline.";
    if (status === 409) return "Someone else has this case, or it is settled already: " + detail;
    if (status === 413) return "Too much text for one request.";
    if (status === 422) return "Please check the form: " + detail;
    if (status === 503) return "The service is unavailable for now (" + detail + "). Try again shortly.";
    return "The server could not do that (" + status + "). " + detail;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(describe(status, body));
      this.status = status;
      this.body = body;
    }
  }

  /** fetch() with the key header; retries "busy" answers (503) as the server asks. */
  async function api(method, path, body, attempt) {
    attempt = attempt || 0;
    const headers = { "X-API-Key": sessionStorage.getItem(KEY) || "" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit", cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, null);
    }
    let data = null;
    try { data = await res.json(); } catch (err) { data = null; }
    if (res.status === 503 && attempt < 3) {
      const wait = Math.min(Number(res.headers.get("Retry-After")) || 0.5 * (attempt + 1), 3);
      say("Ledger busy, retrying\u2026", "warn");
      await new Promise((r) => setTimeout(r, wait * 1000));
      return api(method, path, body, attempt + 1);
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  async function run(action) {
    if (state.busy) return;
    state.busy = true;
    document.body.classList.add("busy");
    try {
      await action();
    } catch (err) {
      say(err instanceof ApiError ? err.message : "Something went wrong: " + err.message, "error");
      if (err instanceof ApiError && err.status === 401) signOut(true);
    } finally {
      state.busy = false;
      document.body.classList.remove("busy");
    }
  }

  // ------------------------------------------------------------------ sign-in
  // Only the key is asked: the agent's name, team and skills are the key's, as the admin
  // configured them (GET /v1/queue/mine answers them with the agent's open cases).
  function profile() {
    try { return JSON.parse(sessionStorage.getItem(PROFILE) || "{}"); } catch (e) { return {}; }
  }

  function displayName(p) {
    return p.name || agentName(p.agent_id);
  }

  /** An agent as colleagues see them: the name, else "Agent" and the key's short id. */
  function agentName(who) {
    return String(who || "").startsWith("key:") ? "Agent " + String(who).slice(4) : String(who || "");
  }

  async function loadMine() {
    const out = await api("GET", "/v1/queue/mine");
    sessionStorage.setItem(PROFILE, JSON.stringify(out.agent));
    state.mine = out.entries;
    drawMine();
    return out;
  }

  async function signIn(event) {
    event.preventDefault();
    const key = $("key").value.trim();
    if (!key) { say("Enter your agent API key.", "error"); $("key").focus(); return; }
    sessionStorage.setItem(KEY, key);
    $("key").value = "";
    await run(async () => {
      await start();
      say("", "info");
    });
    if (!$("workspace").hidden) $("take-next").focus();
  }

  async function start() {
    await loadMine();
    await loadQueue();
    showWorkspace();
    await resume();
  }

  function signOut(refused) {
    flushPending();
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(PROFILE);
    sessionStorage.removeItem(OPEN_CASE);
    clearInterval(state.poll);
    state.next = null;
    state.mine = [];
    $("workspace").hidden = true;
    $("signin").hidden = false;
    $("signout").hidden = true;
    $("who").hidden = true;
    $("budget").hidden = true;
    if (!refused) say("Signed out.", "info");
    $("key").focus();
  }

  function showWorkspace() {
    const p = profile();
    $("signin").hidden = true;
    $("workspace").hidden = false;
    $("signout").hidden = false;
    const who = $("who");
    who.hidden = false;
    who.textContent = displayName(p) + (p.team ? " \u00b7 team " + p.team : "") +
      (p.skills && p.skills.length ? " \u00b7 skills " + p.skills.map(label).join(", ") : " \u00b7 all skills") +
      (p.backup_skills && p.backup_skills.length ? " (backup " + p.backup_skills.map(label).join(", ") + ")" : "") +
      (p.supervisor ? " \u00b7 supervisor" : "");
    clearInterval(state.poll);
    state.poll = setInterval(() => {
      if (!state.busy && !document.hidden) {
        loadQueue().catch(() => {});
        loadMine().catch(() => {});
      }
    }, 15000);
  }

  // ------------------------------------------------------------------ queue
  function teamQuery() {
    const t = profile().team;
    return t ? "?team=" + encodeURIComponent(t) : "";
  }

  async function loadQueue() {
    const q = await api("GET", "/v1/queue" + teamQuery());
    state.queue = q;
    drawQueue(q);
    drawBudget(q.budget);
    return q;
  }

  function whyFirst(e) {
    const w = e.why_first || {};
    return "Why first: " + money(w.value_at_risk) + " at risk (lifetime value \u00d7 chance they leave) + " +
      money(w.ageing) + " for waiting " + duration(w.waited_seconds) + " (" + money(w.ageing_per_minute) +
      " a minute) = priority " + money(w.priority) + ".";
  }

  function emotionTag(e) {
    if (!e.emotion) return null;
    return el("span", { class: "tag emo emo-" + e.emotion, title: e.emotion_from_text ? "read from their words" : "as recorded",
      text: e.emotion });
  }

  /** One queue row: who, how they feel, what they said, what is at stake and why first. */
  function entryRow(e, opts) {
    const o = opts || {};
    const tip = whyFirst(e);
    const row = el("tr", {
      "data-entry": e.entry_id, class: "open-row" + (e.callback_due ? " due" : "") + (o.mine ? " mine" : ""),
      tabIndex: 0, title: tip, "aria-label": "Open the case of customer " + e.customer_id,
    },
      el("td", { class: "pos", text: e.position || (e.status === "claimed" ? "\u2022" : "") }),
      el("td", { class: "who-cell" },
        el("div", { class: "row-top" },
          el("strong", { class: "cust", text: e.customer_id }), emotionTag(e),
          el("span", { class: "hint", text: " " + e.channel + " \u00b7 " + label(e.issue_type) }),
          e.callback_due ? el("span", { class: "tag due", text: "callback due" }) : null,
          e.note ? el("span", { class: "tag note", title: e.note,
            text: "handover" + (e.from_agent ? " from " + agentName(e.from_agent) : "") }) : null,
          e.status === "claimed" && !o.mine ? el("span", { class: "tag", text: "taken" + (e.agent_name ? " by " + agentName(e.agent_name) : "") }) : null,
        ),
        el("div", { class: "snippet", text: e.snippet ? "\u201c" + e.snippet + "\u201d" : "(no words recorded)" }),
      ),
      el("td", { class: "num" },
        el("div", { text: money(e.value_at_risk) }),
        el("div", { class: "hint" }, duration(e.waited_seconds),
          el("span", { class: "why-first", "aria-label": tip, "data-tip": tip, text: "why?" })),
      ),
    );
    row.addEventListener("click", () => openEntry(e));
    row.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") { ev.preventDefault(); ev.stopPropagation(); openEntry(e); }
    });
    return row;
  }

  function drawQueue(q) {
    $("queue-count").textContent = "(" + q.n_waiting + " waiting" +
      (q.n_callbacks_due ? ", " + q.n_callbacks_due + " callbacks due" : "") + ")";
    $("queue-stats").textContent = q.n_agents + " agent(s) active; about " +
      duration(q.handle_seconds) + " per case. A row opens its case.";
    const body = $("queue-table").tBodies[0];
    body.replaceChildren(...q.entries.map((e) => entryRow(e)));
    if (!q.entries.length)
      body.replaceChildren(el("tr", {}, el("td", { colSpan: 3, class: "hint", text: "Nobody is waiting." })));
    $("callbacks").replaceChildren(...(q.callbacks.length ? q.callbacks.map((e) => el("li", {},
      el("strong", { text: when(e.due_at) }), " ", e.customer_id, " \u00b7 ", e.channel, " \u00b7 ", label(e.issue_type),
      " \u00b7 ", money(e.value_at_risk) + " at risk", e.note ? el("span", { class: "hint", text: " " + e.note }) : null,
    )) : [el("li", { class: "hint", text: "None scheduled." })]));
  }

  function drawMine() {
    const pendingId = state.pending ? state.pending.entry.entry_id : null;
    const items = (state.mine || []).filter((e) => e.entry_id !== pendingId);
    const openId = state.next && state.next.entry ? state.next.entry.entry_id : null;
    $("mine-count").textContent = "(" + items.length + ")";
    $("mine-list").replaceChildren(...(items.length ? items.map((e) => {
      const li = el("li", { "data-entry": e.entry_id, class: e.entry_id === openId ? "on-screen" : "" },
        el("button", { type: "button", class: "link", onclick: () => openEntry(e) },
          el("strong", { text: e.customer_id }), " ", label(e.issue_type), " \u00b7 ", e.channel,
          e.note ? el("span", { class: "tag note", text: "handover" + (e.from_agent ? " from " + agentName(e.from_agent) : "") }) : null,
          e.entry_id === openId ? el("span", { class: "tag rec", text: "on screen" }) : null),
      );
      return li;
    }) : [el("li", { class: "hint", text: "None: take the next case." })]));
    if (!state.next) {
      $("case-empty-text").textContent = items.length
        ? "You hold " + items.length + " open case(s): open one from My open cases, or take the next (N)."
        : "Press N or Take next for the most urgent case you can serve.";
    }
  }

  function drawBudget(b) {
    const box = $("budget");
    if (!b) { box.hidden = true; return; }
    box.hidden = false;
    const meter = $("budget-meter");
    const amount = Math.max(b.amount, 0);
    const left = Math.max(b.remaining, 0);
    meter.setAttribute("aria-valuemax", String(amount));
    meter.setAttribute("aria-valuenow", String(left));
    meter.setAttribute("aria-valuetext", money(left) + " left of " + money(amount));
    meter.dataset.remaining = String(b.remaining);
    const share = (x) => (amount > 0 ? Math.min(100, (100 * x) / amount) : 0) + "%";
    meter.querySelector(".meter-left").style.width = share(left - b.reserved);
    meter.querySelector(".meter-held").style.width = share(b.reserved);
    // "available" is the one figure the cards' "within budget" is judged against
    const usable = b.available !== undefined && b.available !== null ? b.available : left - b.reserved;
    $("budget-text").textContent = money(usable) + " available of " + money(amount) +
      (b.reserved > 0 ? " (" + money(b.reserved) + " held)" : "") + (b.team ? "" : " \u00b7 company budget");
  }

  // ------------------------------------------------------------------ search
  let searchTimer = null;
  function onSearch() {
    clearTimeout(searchTimer);
    const text = $("customer-search").value.trim();
    const box = $("search-results");
    if (!text) { box.hidden = true; box.replaceChildren(); return; }
    searchTimer = setTimeout(() => {
      const team = profile().team;
      api("GET", "/v1/queue/search?customer=" + encodeURIComponent(text) + (team ? "&team=" + encodeURIComponent(team) : ""))
        .then((out) => {
          if ($("customer-search").value.trim() !== text) return;
          const table = el("table", { class: "queue-table", id: "search-table" },
            el("caption", { class: "hint", text: out.entries.length
              ? out.entries.length + " open contact(s) of customers matching \u201c" + text + "\u201d"
              : "No open contact of a customer matching \u201c" + text + "\u201d." }),
            el("tbody", {}, out.entries.map((e) => entryRow(e, { mine: e.status === "claimed" &&
              (state.mine || []).some((m) => m.entry_id === e.entry_id) }))));
          box.replaceChildren(table);
          box.hidden = false;
        })
        .catch((err) => say(err.message, "error"));
    }, 250);
  }

  // ------------------------------------------------------------------ taking a case
  /** Ask before leaving the case on screen: keep it (it stays in My open cases), put it
   * back in the queue, or stay. Resolves to false when the agent stays. */
  function confirmLeave(what) {
    if (!state.next || !state.next.entry) return Promise.resolve(true);
    const dlg = $("confirm-next");
    const e = state.next.entry;
    $("confirm-text").textContent = "Customer " + e.customer_id + " (" + label(e.issue_type) + ", " + e.channel +
      ") is on screen. " + what + "?";
    return new Promise((resolve) => {
      const done = (answer) => {
        for (const id of ["confirm-keep", "confirm-release", "confirm-cancel"]) $(id).onclick = null;
        dlg.onclose = null;
        if (dlg.open) dlg.close();
        resolve(answer);
      };
      $("confirm-keep").onclick = () => done(true);
      $("confirm-cancel").onclick = () => done(false);
      $("confirm-release").onclick = async () => {
        try {
          await api("POST", "/v1/queue/" + encodeURIComponent(e.entry_id) + "/release");
          closeCase("Put back in the queue: customer " + e.customer_id + ".", true);
          done(true);
        } catch (err) {
          say(err.message, "error");
          done(false);
        }
      };
      dlg.onclose = () => done(false);  // Escape
      dlg.showModal();
      $("confirm-keep").focus();
    });
  }

  function startMeasure() {
    performance.clearMarks();
    performance.mark("take-next");
    document.body.dataset.caseReady = "";
  }

  async function shown(out) {
    state.next = out;
    sessionStorage.setItem(OPEN_CASE, out.entry.entry_id);
    drawCase(out);
    drawMine();
    say("", "info");
    // ready once the drawn case has been painted: the frame after the next one starts
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    performance.mark("case-ready");
    document.body.dataset.caseReady = out.entry.entry_id;
    $("case").focus({ preventScroll: true });
    loadQueue().catch(() => {});
    loadMine().catch(() => {});
  }

  async function takeNext() {
    if (!(await confirmLeave("Take the next case"))) return;
    startMeasure();
    const p = profile();
    const out = await api("POST", "/v1/queue/next", {
      team: p.team || null,
      skills: p.skills && p.skills.length ? p.skills : null,
      backup_skills: p.backup_skills || [],
      agent_name: p.name || null,
    });
    drawBudget(out.budget);
    if (!out.entry) {
      say(out.n_waiting ? "Nothing you can serve yet: " + out.n_waiting +
        " waiting for other skills." : "Nobody is waiting.", "info");
      await loadQueue();
      return;
    }
    await shown(out);
  }

  /** A row clicked: the agent's own case comes back; another opens out of turn when the
   * key allows it (the API checks the skill or the supervisor role). */
  function openEntry(e) {
    if (state.next && state.next.entry && state.next.entry.entry_id === e.entry_id) {
      $("case").focus({ preventScroll: true });
      return;
    }
    run(async () => {
      if (!(await confirmLeave("Open customer " + e.customer_id + "'s case instead"))) return;
      startMeasure();
      const mine = (state.mine || []).some((m) => m.entry_id === e.entry_id);
      const p = profile();
      const out = mine
        ? await api("GET", "/v1/queue/" + encodeURIComponent(e.entry_id))
        : await api("POST", "/v1/queue/" + encodeURIComponent(e.entry_id) + "/open", {
          skills: p.skills && p.skills.length ? p.skills : null,
          backup_skills: p.backup_skills || [],
          agent_name: p.name || null,
        });
      drawBudget(out.budget);
      await shown(out);
    });
  }

  /** After a reload or a sign-in: the case this agent had on screen, as it was (nothing
   * reserved again). */
  async function resume() {
    const id = sessionStorage.getItem(OPEN_CASE);
    if (!id) return;
    if (!(state.mine || []).some((m) => m.entry_id === id)) { sessionStorage.removeItem(OPEN_CASE); return; }
    try {
      const out = await api("GET", "/v1/queue/" + encodeURIComponent(id));
      state.next = out;
      drawCase(out);
      drawMine();
      document.body.dataset.caseReady = out.entry.entry_id;
    } catch (err) {
      sessionStorage.removeItem(OPEN_CASE);  // settled or taken back meanwhile
      if (!(err instanceof ApiError) || ![404, 409].includes(err.status)) throw err;
    }
  }

  // ------------------------------------------------------------------ case view
  function highlight(text, said) {
    // what the customer said: strings, {text|quote}, or {start, end}
    const ranges = [];
    const lower = text.toLowerCase();
    for (const item of Array.isArray(said) ? said : []) {
      if (item && typeof item === "object" && Number.isInteger(item.start) && Number.isInteger(item.end)) {
        if (item.start >= 0 && item.end <= text.length && item.start < item.end) ranges.push([item.start, item.end]);
        continue;
      }
      const quote = String(typeof item === "object" && item ? item.text || item.quote || "" : item || "").trim();
      if (!quote) continue;
      let at = lower.indexOf(quote.toLowerCase());
      while (at >= 0) {
        ranges.push([at, at + quote.length]);
        at = lower.indexOf(quote.toLowerCase(), at + quote.length);
      }
    }
    ranges.sort((a, b) => a[0] - b[0]);
    const parts = [];
    let pos = 0;
    for (const [a, b] of ranges) {
      if (b <= pos) continue;
      const start = Math.max(a, pos);
      if (start > pos) parts.push(text.slice(pos, start));
      parts.push(el("mark", { text: text.slice(start, b) }));
      pos = b;
    }
    if (pos < text.length) parts.push(text.slice(pos));
    return parts;
  }

  /** An offer in words: held money is never called given. */
  function offerText(o) {
    const status = o.status === "given" ? "given" : o.status === "held" || o.status === "offered" ? "held, not given yet" : o.status;
    return (o.resolution_label || label(o.resolution)) + (o.compensation ? " " + money(o.compensation, true) : "") + " " + status +
      (o.agent ? " by " + agentName(o.agent) : "");
  }

  /** The same customer's other open contacts (the answer's `customer.open_contacts`: waiting
   * in the queue, or held/offered with their amount; else the open cases other than this one). */
  function otherOpen(rec) {
    const cust = rec.customer || {};
    const caseId = rec.case ? rec.case.case_id : null;
    if (Array.isArray(cust.open_contacts)) return cust.open_contacts.map((o) => ({
      channel: o.channel, at: o.opened_at, issue: o.issue_type, status: o.status,
      offers: o.resolution ? [{ resolution: o.resolution, resolution_label: o.resolution_label,
        compensation: o.held, status: o.status, agent: o.agent }] : [],
      held: o.held,
    }));
    return (cust.open_cases || []).filter((c) => c.case_id !== caseId).map((c) => ({
      channel: (c.contacts && c.contacts.length ? c.contacts[c.contacts.length - 1].channel : ""),
      at: c.opened_at, issue: c.issue_type, status: c.status, offers: c.offers || [], held: c.compensation_held,
    }));
  }

  function openCaseIds(rec) {
    return new Set(((rec.customer && rec.customer.open_cases) || []).map((c) => c.case_id));
  }

  function timeline(out) {
    // past complaints (trained history and live contacts of closed cases), then this case:
    // its earlier contacts with what was offered or given, and its handovers
    const rec = out.recommendation;
    const kase = rec.case || null;
    const caseId = kase ? kase.case_id : null;
    const open = openCaseIds(rec);
    const items = [];
    for (const h of (rec.customer && rec.customer.recent) || []) {
      if (caseId && h.case_id === caseId) continue;
      if (h.source === "live" && h.case_id && open.has(h.case_id)) continue;  // shown as "also open"
      items.push({
        at: h.opened_at,
        node: el("li", { class: "past" },
          el("time", { text: when(h.opened_at) }), el("span", { class: "chan", text: h.channel || "" }),
          el("span", {}, label(h.issue_type) + ": " + (h.resolution_label || label(h.resolution) || "open") +
            // a live contact's offer may still be only held: never call it given here
            (h.compensation ? ", " + money(h.compensation, true) + (h.source === "live" ? " offered" : " given") : "") +
            (h.satisfaction !== null && h.satisfaction !== undefined ? ", rated " + Math.round(h.satisfaction) + "/10" : ", not rated")),
        ),
      });
    }
    if (kase) {
      const offers = {};
      for (const o of kase.offers || []) (offers[o.contact_id] = offers[o.contact_id] || []).push(o);
      for (const c of kase.contacts || []) {
        const given = (offers[c.contact_id] || []).map(offerText);
        items.push({
          at: c.opened_at,
          node: el("li", { class: "case-contact" },
            el("time", { text: when(c.opened_at) }), el("span", { class: "chan", text: c.channel }),
            el("span", {}, "This case: " + (given.length ? given.join("; ") : "no offer yet") +
              (c.action ? " \u2014 " + c.action : "")),
            c.said ? el("p", { class: "said" }, el("span", { class: "clamp2", text: "\u201c" + c.said + "\u201d" })) : null,
            c.notes ? el("p", { class: "note" }, el("span", { class: "clamp2", text: "Notes: " + c.notes })) : null,
          ),
        });
      }
      for (const h of kase.handovers || []) {
        items.push({
          at: h.at,
          node: el("li", { class: "case-contact handover" },
            el("time", { text: when(h.at) }), el("span", { class: "chan", text: h.from_channel || "" }),
            el("span", {}, "Handed over" + (h.to_team ? " to team " + h.to_team : "") +
              (h.to_channel ? " on " + h.to_channel : "") + (h.next_step ? "; next step: " + h.next_step : "")),
            el("p", { class: "note", title: h.note }, el("span", { class: "clamp2", text: "Note: " + h.note })),
          ),
        });
      }
    }
    items.sort((a, b) => String(b.at).localeCompare(String(a.at)));
    const head = kase && !kase.new ? [el("li", { class: "case-sum" },
      el("strong", { text: "This case: " }), kase.summary || "",
      kase.compensation_held || kase.compensation_given ? el("span", { class: "hint",
        text: " (held, not given yet: " + money(kase.compensation_held, true) + "; given: " + money(kase.compensation_given, true) + ")" }) : null,
    )] : [];
    return head.length || items.length ? [...head, ...items.map((i) => i.node)]
      : [el("li", { class: "hint", text: "First contact: nothing earlier on record." })];
  }

  function cardsOf(rec) {
    const first = rec.recommended;
    const rest = rec.candidates.filter((c) => c.resolution !== first.resolution);
    return [first, ...rest].slice(0, 3);
  }

  function range(c) {
    const r = c.net_value_interval;
    return Array.isArray(r) && r.length === 2 ? money(r[0]) + "\u2013" + money(r[1]) : null;
  }

  function isCloseCall(rec) {
    const ex = rec.explanation || {};
    const flag = ex.close_call !== undefined ? ex.close_call : rec.close_call;
    return flag === true || (flag && typeof flag === "object");
  }

  function card(c, i, rec) {
    const isRec = i === 0;
    const ex = rec.explanation || {};
    const reasons = isRec ? ex.reasons || [] : (c.resolution === ex.runner_up ? ex.against || [] : []);
    const sat = c.expected_satisfaction;
    const r = range(c);
    return el("article", { class: "card" + (isRec ? " rec" : ""), "aria-labelledby": "card-" + i, "data-resolution": c.resolution },
      el("h4", { id: "card-" + i }, (i + 1) + ". " + c.label, isRec ? el("span", { class: "tag rec", text: "recommended" }) : null),
      el("dl", {},
        el("dt", { text: "Satisfaction expected" }), el("dd", { text: sat === null || sat === undefined ? "unknown" : Number(sat).toFixed(1) + " / 10" }),
        el("dt", { text: "Chance they leave" }), el("dd", { text: pct(c.churn_probability) }),
        el("dt", { text: "Net value" }), el("dd", { class: "net", title: r ? "likely between " + r : null },
          money(c.net_value), r && isCloseCall(rec) ? el("span", { class: "range", text: r }) : null),
        el("dt", { text: "Compensation" }), el("dd", { class: "comp", text: money(c.compensation, true) }),
        el("dt", { text: "Within budget" }), el("dd", { class: c.fits_budget ? "ok" : "bad", text: c.fits_budget ? "yes" : "no" }),
      ),
      el("button", { type: "button", class: isRec ? "primary accept" : "accept", "data-index": i,
        "aria-keyshortcuts": isRec ? "a" : null, onclick: () => acceptCard(i) },
        isRec ? "Accept" : "Give this instead", isRec ? el("kbd", { text: "A" }) : null),
      c.thin_evidence ? el("p", { class: "warn", role: "note", text: "Thin evidence: rarely given to complaints like this, so the estimate is uncertain." }) : null,
      reasons.length ? el("ul", { class: "reasons", "aria-label": "Reasons" },
        reasons.slice(0, 2).map((x) => el("li", { text: x.text }))) : null,
    );
  }

  function drawCloseCall(rec) {
    const box = $("close-call");
    const cards = cardsOf(rec);
    if (!isCloseCall(rec) || cards.length < 2) { box.hidden = true; return; }
    const [a, b] = cards;
    box.hidden = false;
    box.replaceChildren(el("strong", { text: "Close call: " }),
      a.label + " (net value " + (range(a) || money(a.net_value)) + ") and " + b.label + " (" +
      (range(b) || money(b.net_value)) + ") are within each other's range. Either is defensible: " +
      "let the customer's wish decide.");
  }

  function drawAlsoOpen(rec) {
    const box = $("also-open");
    const others = otherOpen(rec);
    if (!others.length) { box.hidden = true; box.replaceChildren(); return; }
    box.hidden = false;
    box.replaceChildren(el("strong", { text: "Also open for this customer: " }),
      ...others.map((o, k) => el("span", { class: "other" }, (k ? "; " : ""),
        (o.channel ? o.channel + " " : "") + (o.at ? when(o.at) + " " : "") + (o.issue ? label(o.issue) : "") +
        (o.offers.length ? " \u2014 " + o.offers.map(offerText).join(", ")
          : o.held ? " \u2014 " + money(o.held, true) + " held, not given yet" : " \u2014 waiting"))));
  }

  function drawCase(out) {
    const rec = out.recommendation;
    const e = out.entry;
    const ex = rec.explanation || {};
    $("case-empty").hidden = true;
    $("case-body").hidden = false;
    closePanels();
    $("say").textContent = ex.say || ex.summary || "";
    $("why").textContent = ex.why || "";
    $("why").title = ex.why || "";
    $("why").hidden = !ex.why;
    $("greeting").textContent = (rec.customer && rec.customer.greeting) || "New customer.";
    $("case-facts").replaceChildren(...[
      el("span", {}, "Customer ", el("strong", { text: e.customer_id })),
      el("span", { text: "via " + e.channel }),
      el("span", { text: label(e.issue_type) + ", severity " + e.severity + "/5" }),
      e.emotion ? el("span", { text: "feels " + e.emotion }) : null,
      el("span", { class: "var", title: "Value at risk: what we lose if they leave after only an apology (lifetime value \u00d7 chance they leave)" },
        money(e.value_at_risk) + " at risk"),
      el("span", { text: "waited " + duration(e.waited_seconds) }),
    ].filter(Boolean));
    drawCloseCall(rec);
    drawAlsoOpen(rec);
    const text = e.complaint_text || "";
    $("complaint-text").replaceChildren(...(text ? highlight(text, rec.customer_said) :
      [el("span", { class: "hint", text: "No words recorded for this contact." })]));
    const note = $("handover-note");
    note.hidden = !e.note;
    note.textContent = e.note ? "Handover note" + (e.from_agent ? " from " + agentName(e.from_agent) : "") + ": " + e.note : "";
    $("timeline").replaceChildren(...timeline(out));
    $("cards").replaceChildren(...cardsOf(rec).map((c, i) => card(c, i, rec)));
    $("override-resolution").replaceChildren(...rec.candidates.map((c) =>
      el("option", { value: c.resolution, text: c.label + " (" + money(c.compensation, true) + ")" })));
    $("handover-note-text").value = (rec.handover && rec.handover.summary) || "";
    $("wrapup-code").value = "";
    $("wrapup-note").value = "";
    if (!Array.isArray((rec.customer || {}).open_contacts)) moreOpen(out);
    $("callback-slot").replaceChildren(...(out.callback_slots || []).map((s) =>
      el("option", { value: s.start, "data-end": s.end, text: when(s.start) + " \u2013 " + new Date(s.end).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }) })));
  }

  /** Until the answer lists the customer's other open contacts itself, ask the customer
   * view for their open cases (after the case is painted, so taking a case stays fast). */
  function moreOpen(out) {
    const id = out.entry.customer_id;
    setTimeout(() => {
      api("GET", "/v1/customers/" + encodeURIComponent(id)).then((view) => {
        if (!state.next || state.next.entry.entry_id !== out.entry.entry_id) return;
        out.recommendation.customer.open_cases = view.open_cases || [];
        drawAlsoOpen(out.recommendation);
        $("timeline").replaceChildren(...timeline(out));
      }).catch(() => {});
    }, 0);
  }

  function closeCase(message, keepFocus) {
    state.next = null;
    sessionStorage.removeItem(OPEN_CASE);
    closePanels();
    $("case-body").hidden = true;
    $("case-empty").hidden = false;
    document.body.dataset.caseReady = "";
    if (message) say(message, "info");
    drawMine();
    loadQueue().catch(() => {});
    loadMine().catch(() => {});
    if (!keepFocus) $("take-next").focus();
  }

  function current() {
    if (!state.next || !state.next.entry) { say("No case open: take the next one first (N).", "warn"); return null; }
    return state.next;
  }

  function wrapUp(body) {
    const code = $("wrapup-code").value;
    const note = $("wrapup-note").value.trim();
    if (code) body.wrap_up_code = code;
    if (note) body.notes = body.notes ? body.notes + "; " + note : note;
    return body;
  }

  async function settle(body, done) {
    const cur = current();
    if (!cur) return;
    await run(async () => {
      const out = await api("POST", "/v1/queue/" + cur.entry.entry_id + "/decision", body);
      drawBudget(out.budget);
      closeCase(done(out));
    });
  }

  // ------------------------------------------------------------------ undo
  // A decline or an override is not sent at once: the case leaves the screen and the
  // decision waits UNDO_SECONDS, when Undo (or U) brings the case back untouched. Nothing
  // reaches the server before then; a page closed meanwhile sent nothing, and the case
  // is still the agent's (in My open cases).
  function deferred(body, words) {
    const cur = current();
    if (!cur) return;
    flushPending();
    const p = { entry: cur.entry, answer: cur, body, words, left: UNDO_SECONDS, timer: null, tick: null };
    state.pending = p;
    closeCase("", false);
    $("undo-text").textContent = words + ": sending in " + p.left + " s.";
    $("undo-bar").hidden = false;
    document.body.dataset.pending = cur.entry.entry_id;
    p.tick = setInterval(() => {
      p.left -= 1;
      if (p.left > 0) $("undo-text").textContent = words + ": sending in " + p.left + " s.";
    }, 1000);
    p.timer = setTimeout(() => send(p), UNDO_SECONDS * 1000);
  }

  function clearPending(p) {
    clearTimeout(p.timer);
    clearInterval(p.tick);
    if (state.pending === p) {
      state.pending = null;
      $("undo-bar").hidden = true;
      document.body.dataset.pending = "";
    }
  }

  async function send(p) {
    clearPending(p);
    try {
      const out = await api("POST", "/v1/queue/" + p.entry.entry_id + "/decision", p.body);
      drawBudget(out.budget);
      say(p.words + ": done.", "info");
    } catch (err) {
      say(p.words + " was not recorded: " + err.message, "error");
    }
    document.body.dataset.sent = p.entry.entry_id;
    loadMine().catch(() => {});
    loadQueue().catch(() => {});
  }

  function flushPending() {
    if (state.pending) send(state.pending);
  }

  function undo() {
    const p = state.pending;
    if (!p) return;
    clearPending(p);
    run(async () => {
      if (!(await confirmLeave("Bring back customer " + p.entry.customer_id + "'s case"))) {
        send(p);  // the agent stays on the other case: the decision goes now
        return;
      }
      state.next = p.answer;
      sessionStorage.setItem(OPEN_CASE, p.entry.entry_id);
      drawCase(p.answer);
      drawMine();
      document.body.dataset.caseReady = p.entry.entry_id;
      say("Undone: nothing was sent; the case is open again.", "info");
      $("case").focus({ preventScroll: true });
    });
  }

  function acceptCard(i) {
    const cur = current();
    if (!cur) return;
    const c = cardsOf(cur.recommendation)[i];
    if (i === 0) {
      settle(wrapUp({ action: "accepted" }), (out) => "Given: " + c.label + " (" + money(out.decision.final_compensation || 0, true) + ").");
      return;
    }
    openPanel("override-form");
    $("override-resolution").value = c.resolution;
    $("override-code").focus();
  }

  function closePanels() {
    for (const p of ["override-form", "handover-form", "callback-form"]) $(p).hidden = true;
  }

  function openPanel(id) {
    if (!current()) return;
    for (const p of ["override-form", "handover-form", "callback-form"]) $(p).hidden = p !== id;
    if (id === "handover-form") loadColleagues();
    const first = $(id).querySelector("select, textarea, input");
    if (first) first.focus();
  }

  async function loadColleagues() {
    const team = $("handover-team").value.trim() || profile().team || (state.next && state.next.entry.team) || "";
    const select = $("handover-to");
    const keep = select.value;
    try {
      const out = await api("GET", "/v1/queue/colleagues" + (team ? "?team=" + encodeURIComponent(team) : ""));
      select.replaceChildren(el("option", { value: "", text: "Anyone in the team's queue" }),
        ...out.colleagues.filter((c) => !c.you).map((c) => el("option", { value: c.agent_id,
          text: c.name || agentName(c.agent_id) })));
      select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
    } catch (err) {
      say(err.message, "error");
    }
  }

  // ------------------------------------------------------------------ wiring
  function wire() {
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", () => signOut(false));
    $("take-next").addEventListener("click", () => run(takeNext));
    $("override").addEventListener("click", () => openPanel("override-form"));
    $("handover").addEventListener("click", () => openPanel("handover-form"));
    $("callback").addEventListener("click", () => openPanel("callback-form"));
    $("undo").addEventListener("click", undo);
    $("customer-search").addEventListener("input", onSearch);
    $("handover-team").addEventListener("change", loadColleagues);
    $("decline").addEventListener("click", () => deferred(
      wrapUp({ action: "declined", reason: "declined by the customer" }), "Declined, nothing given"));
    for (const b of document.querySelectorAll("[data-close]"))
      b.addEventListener("click", () => { b.closest("form").hidden = true; });
    $("override-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const code = $("override-code").value;
      const detail = $("override-text").value.trim();
      const res = $("override-resolution");
      deferred(wrapUp({ action: "override", resolution: res.value, reason: code + (detail ? ": " + detail : "") }),
        "Given instead: " + res.options[res.selectedIndex].text);
    });
    $("handover-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const cur = current();
      const note = $("handover-note-text").value.trim();
      if (!cur) return;
      if (!note) { say("Write a note for the next agent.", "error"); return; }
      const to = $("handover-to");
      run(async () => {
        const out = await api("POST", "/v1/queue/" + cur.entry.entry_id + "/handover", {
          team: $("handover-team").value.trim() || null,
          to_agent: to.value || null,
          channel: $("handover-channel").value || null,
          note,
        });
        closeCase("Handed over" + (to.value ? " to " + to.options[to.selectedIndex].text : "") +
          (out.entry.team ? (to.value ? " (team " + out.entry.team + ")" : " to team " + out.entry.team) : "") + ".");
      });
    });
    $("callback-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const cur = current();
      const slot = $("callback-slot");
      if (!cur || !slot.value) return;
      run(async () => {
        await api("POST", "/v1/queue/" + cur.entry.entry_id + "/callback", {
          slot_start: slot.value,
          slot_end: slot.options[slot.selectedIndex].dataset.end || null,
          note: $("callback-note").value.trim() || null,
        });
        closeCase("Callback booked for " + when(slot.value) + ".");
      });
    });
    document.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || $("workspace").hidden || $("confirm-next").open) return;
      const t = ev.target;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
        if (ev.key === "Escape") t.closest("form.panel") && (t.closest("form.panel").hidden = true);
        return;
      }
      const k = ev.key.toLowerCase();
      const acts = {
        n: () => run(takeNext), a: () => acceptCard(0), o: () => openPanel("override-form"),
        h: () => openPanel("handover-form"), c: () => openPanel("callback-form"),
        d: () => $("decline").click(), u: () => undo(),
      };
      if (acts[k]) { ev.preventDefault(); acts[k](); }
      if (ev.key === "Escape") closePanels();
    });
    if (sessionStorage.getItem(KEY)) {
      run(start);
    } else {
      $("key").focus();
    }
  }

  wire();
})();
