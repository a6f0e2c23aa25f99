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

  const state = { next: null, queue: null, busy: false, poll: null };

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
  function profile() {
    try { return JSON.parse(sessionStorage.getItem(PROFILE) || "{}"); } catch (e) { return {}; }
  }

  function list(text) {
    return String(text || "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  }

  async function signIn(event) {
    event.preventDefault();
    const key = $("key").value.trim();
    if (!key) { say("Enter your agent API key.", "error"); $("key").focus(); return; }
    const p = {
      agent_name: $("agent-name").value.trim() || null,
      team: $("team").value.trim() || null,
      skills: list($("skills").value),
      backup_skills: list($("backup-skills").value),
    };
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(PROFILE, JSON.stringify(p));
    $("key").value = "";
    await run(async () => {
      await loadQueue();
      showWorkspace();
      say("", "info");
    });
    if (!$("workspace").hidden) $("take-next").focus();
  }

  function signOut(refused) {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(OPEN_CASE);
    clearInterval(state.poll);
    state.next = null;
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
    who.textContent = (p.agent_name || "Agent") + (p.team ? " \u00b7 team " + p.team : "") +
      (p.skills && p.skills.length ? " \u00b7 skills " + p.skills.join(", ") : " \u00b7 all skills");
    clearInterval(state.poll);
    state.poll = setInterval(() => {
      if (!state.busy && !document.hidden) loadQueue().catch(() => {});
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

  function drawQueue(q) {
    $("queue-count").textContent = "(" + q.n_waiting + " waiting" +
      (q.n_callbacks_due ? ", " + q.n_callbacks_due + " callbacks due" : "") + ")";
    $("queue-stats").textContent = q.n_agents + " agent(s) active; about " +
      duration(q.handle_seconds) + " per case.";
    const body = $("queue-table").tBodies[0];
    body.replaceChildren(...q.entries.map((e) => el("tr",
      { "data-entry": e.entry_id, class: e.callback_due ? "due" : "" },
      el("td", { text: e.position }),
      el("td", { class: "num", text: money(e.value_at_risk) }),
      el("td", {}, duration(e.waited_seconds),
        e.callback_due ? el("span", { class: "tag due", text: "callback due" }) : null),
      el("td", { text: e.channel }),
      el("td", {}, label(e.issue_type),
        e.note ? el("span", { class: "tag note", title: e.note,
          text: "handover" + (e.from_agent ? " from " + e.from_agent : "") }) : null),
    )));
    if (!q.entries.length)
      body.replaceChildren(el("tr", {}, el("td", { colSpan: 5, class: "hint", text: "Nobody is waiting." })));
    $("callbacks").replaceChildren(...(q.callbacks.length ? q.callbacks.map((e) => el("li", {},
      el("strong", { text: when(e.due_at) }), " ", e.channel, " \u00b7 ", label(e.issue_type),
      " \u00b7 ", money(e.value_at_risk) + " at risk", e.note ? el("span", { class: "hint", text: " " + e.note }) : null,
    )) : [el("li", { class: "hint", text: "None scheduled." })]));
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
    $("budget-text").textContent = money(left) + " left of " + money(amount) +
      (b.reserved > 0 ? " (" + money(b.reserved) + " held)" : "") + (b.team ? "" : " \u00b7 company budget");
  }

  // ------------------------------------------------------------------ take next
  async function takeNext() {
    performance.clearMarks();
    performance.mark("take-next");
    document.body.dataset.caseReady = "";
    const p = profile();
    const out = await api("POST", "/v1/queue/next", {
      team: p.team || null,
      skills: p.skills && p.skills.length ? p.skills : null,
      backup_skills: p.backup_skills || [],
      agent_name: p.agent_name || null,
    });
    drawBudget(out.budget);
    if (!out.entry) {
      say(out.n_waiting ? "Nothing you can serve yet: " + out.n_waiting +
        " waiting for other skills." : "Nobody is waiting.", "info");
      await loadQueue();
      return;
    }
    state.next = out;
    sessionStorage.setItem(OPEN_CASE, out.entry.entry_id);
    drawCase(out);
    say("", "info");
    // ready once the drawn case has been painted: the frame after the next one starts
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    performance.mark("case-ready");
    document.body.dataset.caseReady = out.entry.entry_id;
    $("case").focus({ preventScroll: true });
    loadQueue().catch(() => {});
  }

  /** After a reload: the case this agent had open, as it was (nothing reserved again). */
  async function resume() {
    const id = sessionStorage.getItem(OPEN_CASE);
    if (!id) return;
    try {
      const out = await api("GET", "/v1/queue/" + encodeURIComponent(id));
      state.next = out;
      drawCase(out);
      document.body.dataset.caseReady = out.entry.entry_id;
    } catch (err) {
      sessionStorage.removeItem(OPEN_CASE);  // settled or taken back meanwhile
      if (!(err instanceof ApiError) || ![404, 409].includes(err.status)) throw err;
    }
  }

  // ------------------------------------------------------------------ case view
  function highlight(text, said) {
    // what the customer said (issue 12 adds `customer_said`): strings, {text}, or {start, end}
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

  function timeline(out) {
    // past complaints (trained history and live contacts of other cases), then this case:
    // its earlier contacts with what was offered or given, and its handovers
    const rec = out.recommendation;
    const kase = rec.case || null;
    const caseId = kase ? kase.case_id : null;
    const items = [];
    for (const h of (rec.customer && rec.customer.recent) || []) {
      if (caseId && h.case_id === caseId) continue;
      items.push({
        at: h.opened_at,
        node: el("li", { class: "past" },
          el("time", { text: when(h.opened_at) }), el("span", { class: "chan", text: h.channel || "" }),
          el("span", {}, label(h.issue_type) + ": " + (h.resolution_label || label(h.resolution) || "open") +
            (h.compensation ? ", " + money(h.compensation, true) + " given" : "") +
            (h.satisfaction !== null && h.satisfaction !== undefined ? ", rated " + Math.round(h.satisfaction) + "/10" : ", not rated")),
        ),
      });
    }
    if (kase) {
      const offers = {};
      for (const o of kase.offers || []) (offers[o.contact_id] = offers[o.contact_id] || []).push(o);
      for (const c of kase.contacts || []) {
        const given = (offers[c.contact_id] || []).map((o) => o.resolution_label + " " + o.status +
          (o.compensation ? " (" + money(o.compensation, true) + ")" : "") + (o.agent ? " by " + o.agent : ""));
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
        text: " (held " + money(kase.compensation_held, true) + ", given " + money(kase.compensation_given, true) + ")" }) : null,
    )] : [];
    return head.length || items.length ? [...head, ...items.map((i) => i.node)]
      : [el("li", { class: "hint", text: "First contact: nothing earlier on record." })];
  }

  function cardsOf(rec) {
    const first = rec.recommended;
    const rest = rec.candidates.filter((c) => c.resolution !== first.resolution);
    return [first, ...rest].slice(0, 3);
  }

  function card(c, i, rec) {
    const isRec = i === 0;
    const ex = rec.explanation || {};
    const reasons = isRec ? ex.reasons || [] : (c.resolution === ex.runner_up ? ex.against || [] : []);
    const sat = c.expected_satisfaction;
    return el("article", { class: "card" + (isRec ? " rec" : ""), "aria-labelledby": "card-" + i, "data-resolution": c.resolution },
      el("h4", { id: "card-" + i }, (i + 1) + ". " + c.label, isRec ? el("span", { class: "tag rec", text: "recommended" }) : null),
      el("dl", {},
        el("dt", { text: "Expected satisfaction" }), el("dd", { text: sat === null || sat === undefined ? "unknown" : Number(sat).toFixed(1) + " / 10" }),
        el("dt", { text: "Churn risk" }), el("dd", { text: pct(c.churn_probability) }),
        el("dt", { text: "Net value" }), el("dd", { text: money(c.net_value) }),
        el("dt", { text: "Compensation" }), el("dd", { class: "comp", text: money(c.compensation, true) }),
        el("dt", { text: "Fits budget" }), el("dd", { class: c.fits_budget ? "ok" : "bad", text: c.fits_budget ? "yes" : "no" }),
      ),
      el("button", { type: "button", class: isRec ? "primary accept" : "accept", "data-index": i,
        "aria-keyshortcuts": isRec ? "a" : null, onclick: () => acceptCard(i) },
        isRec ? "Accept" : "Give this instead", isRec ? el("kbd", { text: "A" }) : null),
      c.thin_evidence ? el("p", { class: "warn", role: "note", text: "Thin evidence: rarely given to complaints like this, so the estimate is uncertain." }) : null,
      reasons.length ? el("ul", { class: "reasons", "aria-label": "Reasons" },
        reasons.slice(0, 3).map((r) => el("li", { text: r.text }))) : null,
    );
  }

  function drawCase(out) {
    const rec = out.recommendation;
    const e = out.entry;
    $("case-empty").hidden = true;
    $("case-body").hidden = false;
    for (const id of ["override-form", "handover-form", "callback-form"]) $(id).hidden = true;
    $("greeting").textContent = (rec.customer && rec.customer.greeting) || "New customer.";
    $("case-facts").replaceChildren(
      el("span", {}, "Customer ", el("strong", { text: e.customer_id })),
      el("span", { text: "via " + e.channel }),
      el("span", { text: label(e.issue_type) + ", severity " + e.severity + "/5" }),
      el("span", { text: money(e.value_at_risk) + " at risk" }),
      el("span", { text: "waited " + duration(e.waited_seconds) }),
    );
    const text = e.complaint_text || "";
    $("complaint-text").replaceChildren(...(text ? highlight(text, rec.customer_said) :
      [el("span", { class: "hint", text: "No words recorded for this contact." })]));
    const note = $("handover-note");
    note.hidden = !e.note;
    note.textContent = e.note ? "Handover note" + (e.from_agent ? " from " + e.from_agent : "") + ": " + e.note : "";
    $("timeline").replaceChildren(...timeline(out));
    const summary = (rec.explanation && rec.explanation.summary) || "";
    $("summary").textContent = summary;
    $("summary").title = summary;
    $("cards").replaceChildren(...cardsOf(rec).map((c, i) => card(c, i, rec)));
    $("override-resolution").replaceChildren(...rec.candidates.map((c) =>
      el("option", { value: c.resolution, text: c.label + " (" + money(c.compensation, true) + ")" })));
    $("handover-note-text").value = (rec.handover && rec.handover.summary) || "";
    $("callback-slot").replaceChildren(...(out.callback_slots || []).map((s) =>
      el("option", { value: s.start, "data-end": s.end, text: when(s.start) + " \u2013 " + new Date(s.end).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }) })));
  }

  function closeCase(message) {
    state.next = null;
    sessionStorage.removeItem(OPEN_CASE);
    $("case-body").hidden = true;
    $("case-empty").hidden = false;
    document.body.dataset.caseReady = "";
    say(message, "info");
    loadQueue().catch(() => {});
    $("take-next").focus();
  }

  function current() {
    if (!state.next || !state.next.entry) { say("No case open: take the next one first (N).", "warn"); return null; }
    return state.next;
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

  function acceptCard(i) {
    const cur = current();
    if (!cur) return;
    const c = cardsOf(cur.recommendation)[i];
    if (i === 0) {
      settle({ action: "accepted" }, (out) => "Given: " + c.label + " (" + money(out.decision.final_compensation || 0, true) + ").");
      return;
    }
    openPanel("override-form");
    $("override-resolution").value = c.resolution;
    $("override-code").focus();
  }

  function openPanel(id) {
    if (!current()) return;
    for (const p of ["override-form", "handover-form", "callback-form"]) $(p).hidden = p !== id;
    const first = $(id).querySelector("select, textarea, input");
    if (first) first.focus();
  }

  // ------------------------------------------------------------------ wiring
  function wire() {
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", () => signOut(false));
    $("take-next").addEventListener("click", () => run(takeNext));
    $("override").addEventListener("click", () => openPanel("override-form"));
    $("handover").addEventListener("click", () => openPanel("handover-form"));
    $("callback").addEventListener("click", () => openPanel("callback-form"));
    $("decline").addEventListener("click", () => settle({ action: "declined", reason: "declined by the customer" }, () => "Declined: nothing given."));
    for (const b of document.querySelectorAll("[data-close]"))
      b.addEventListener("click", () => { b.closest("form").hidden = true; });
    $("override-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const code = $("override-code").value;
      const detail = $("override-text").value.trim();
      const res = $("override-resolution");
      settle({ action: "override", resolution: res.value, reason: code + (detail ? ": " + detail : "") },
        (out) => "Given instead: " + res.options[res.selectedIndex].text + ".");
    });
    $("handover-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const cur = current();
      const note = $("handover-note-text").value.trim();
      if (!cur) return;
      if (!note) { say("Write a note for the next agent.", "error"); return; }
      run(async () => {
        const out = await api("POST", "/v1/queue/" + cur.entry.entry_id + "/handover", {
          team: $("handover-team").value.trim() || null,
          channel: $("handover-channel").value || null,
          note,
        });
        closeCase("Handed over" + (out.entry.team ? " to team " + out.entry.team : "") + ".");
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
      if (ev.ctrlKey || ev.metaKey || ev.altKey || $("workspace").hidden) return;
      const t = ev.target;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
        if (ev.key === "Escape") t.closest("form.panel") && (t.closest("form.panel").hidden = true);
        return;
      }
      const k = ev.key.toLowerCase();
      const acts = {
        n: () => run(takeNext), a: () => acceptCard(0), o: () => openPanel("override-form"),
        h: () => openPanel("handover-form"), c: () => openPanel("callback-form"),
        d: () => $("decline").click(),
      };
      if (acts[k]) { ev.preventDefault(); acts[k](); }
      if (ev.key === "Escape") for (const p of document.querySelectorAll("form.panel")) p.hidden = true;
    });
    if (sessionStorage.getItem(KEY)) {
      run(async () => {
        await loadQueue();
        showWorkspace();
        await resume();
      });
    } else {
      $("key").focus();
    }
  }

  wire();
})();
