// The Directory Sync page (CONTRACTS section 7). Reads `token` and `tenant` from the URL
// fragment, keeps the token in this tab only, and calls the provisioning API with it.
// Everything the API returns is tenant data: it is rendered with DOM text nodes only.
"use strict";

(function () {
  const STORE_KEY = "dirsync-console";
  const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
  // A list longer than this gets a search box.
  const SEARCH_FROM = 8;
  const POLL_MS = 1000;

  const $ = (id) => document.getElementById(id);

  // --- the token: fragment first, else this tab's session (a reload) ---------------------
  function readCredentials() {
    const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
    let token = fragment.get("token");
    let tenant = fragment.get("tenant");
    if (token && tenant) {
      try {
        sessionStorage.setItem(STORE_KEY, JSON.stringify({ token, tenant }));
      } catch (e) {
        // Storage off: the page works until it is reloaded.
      }
      // The token leaves the address bar (and so history, bookmarks and screen shares).
      history.replaceState(null, "", location.pathname + location.search);
    } else {
      try {
        const kept = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
        if (kept) {
          token = kept.token;
          tenant = kept.tenant;
        }
      } catch (e) {
        token = null;
      }
    }
    if (!token || !tenant) {
      return { error: "Open this page with its link: /console#token=...&tenant=... (dirsync-local prints one)." };
    }
    if (!TENANT_PATTERN.test(tenant)) {
      return { error: "The tenant in the link is not a valid tenant id." };
    }
    return { token, tenant };
  }

  const credentials = readCredentials();

  // --- the API ---------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body) {
      const message = body && typeof body.message === "string" && body.message
        ? body.message
        : "The API answered " + status + ".";
      super(message);
      this.status = status;
      this.body = body || {};
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + credentials.token, Accept: "application/json" };
    const init = { method, headers, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch("/v1/tenants/" + encodeURIComponent(credentials.tenant) + path, init);
    } catch (e) {
      throw new ApiError(0, { message: "Cannot reach the API: " + e.message });
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!response.ok) {
      throw new ApiError(response.status, data);
    }
    return data;
  }

  // --- small DOM helpers -----------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function setText(id, text) {
    $(id).textContent = text;
  }

  function showError(error) {
    const box = $("error");
    box.replaceChildren();
    box.append(el("strong", {}, "Error: "), error.message || String(error));
    const details = error.body && Array.isArray(error.body.details) ? error.body.details : [];
    if (details.length) {
      const list = el("ul", {});
      for (const d of details) list.append(el("li", {}, (d.field ? d.field + ": " : "") + (d.message || "")));
      box.append(list);
    }
    box.hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").replaceChildren();
  }

  function notice(text) {
    const box = $("notice");
    box.textContent = text;
    box.hidden = !text;
  }

  // Runs `action` with `button` disabled; an API error shows as its message.
  async function busy(button, action) {
    button.disabled = true;
    clearError();
    try {
      await action();
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
      // The card's buttons follow the tenant's state again.
      renderStatus();
    }
  }

  // --- words -----------------------------------------------------------------------------
  const number = new Intl.NumberFormat();
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

  function humanize(code) {
    const text = String(code || "").replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  const PROVIDERS = { ldap: "LDAP", azure: "Microsoft Entra ID", okta: "Okta", ldif: "LDIF export", scim: "SCIM" };
  const REMOVAL_CAUSES = {
    deleted: "deleted in the directory",
    disabled: "disabled in the directory",
    expired: "expired in the directory",
    out_of_scope: "out of scope",
    disconnect: "the directory is disconnected",
  };

  function localTime(iso) {
    const date = new Date(iso);
    return isNaN(date) ? String(iso) : date.toLocaleString();
  }

  function ago(iso) {
    const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
    if (isNaN(seconds)) return "";
    const steps = [[60, "second"], [3600, "minute"], [86400, "hour"], [Infinity, "day"]];
    const sizes = { second: 1, minute: 60, hour: 3600, day: 86400 };
    for (const [limit, unit] of steps) {
      if (Math.abs(seconds) < limit) {
        return relative.format(Math.round(seconds / sizes[unit]), unit);
      }
    }
    return "";
  }

  function when(iso) {
    return localTime(iso) + " (" + ago(iso) + ")";
  }

  function countsList(counts, into) {
    into.replaceChildren();
    for (const key of ["new", "updated", "removed", "skipped", "conflicts", "unchanged"]) {
      const value = counts && typeof counts[key] === "number" ? counts[key] : 0;
      into.append(el("li", { "data-count": key }, el("b", {}, number.format(value)), " " + key));
    }
  }

  // --- status card -----------------------------------------------------------------------
  let status = null;

  async function loadStatus() {
    $("status").setAttribute("aria-busy", "true");
    try {
      status = await api("GET", "/sync/status");
      renderStatus();
    } finally {
      $("status").setAttribute("aria-busy", "false");
    }
  }

  function renderStatus() {
    if (!status) return;
    const state = $("state");
    state.textContent = humanize(status.state);
    state.className = "badge " + status.state;
    setText("provider", status.provider ? PROVIDERS[status.provider] || humanize(status.provider) : "Not configured");
    setText("server", status.server || "—");
    const synced = number.format(status.synced_extensions || 0);
    setText("synced", status.record_limit
      ? synced + " of " + number.format(status.record_limit) + " (record limit)"
      : synced);
    const last = status.last_sync;
    if (last) {
      setText("last-sync", when(last.finished_at || last.started_at));
      setText("last-result", last.summary + (last.error ? " — " + last.error : ""));
      const names = $("last-names");
      names.replaceChildren();
      for (const [key, label] of [["new", "New"], ["updated", "Updated"], ["removed", "Removed"]]) {
        if (Array.isArray(last[key]) && last[key].length) {
          names.append(el("li", {}, label + ": " + last[key].join(", ")));
        }
      }
    } else {
      setText("last-sync", "Never");
      setText("last-result", "—");
      $("last-names").replaceChildren();
    }
    setText("next-sync", status.next_sync_at ? when(status.next_sync_at)
      : status.state === "active" ? "Not scheduled" : "None while " + status.state);
    const held = last && last.outcome === "held";
    $("held").hidden = !held;
    if (held) {
      setText("held-text", "The last run is held by the deletion guard: its removals wait for your approval. ");
    }
    const pause = $("pause");
    pause.textContent = status.state === "paused" ? "Resume" : "Pause";
    pause.disabled = status.state === "disconnected";
    $("sync").disabled = status.state !== "active" || running;
  }

  // --- a run going -----------------------------------------------------------------------
  let running = false;

  async function follow(runId, title) {
    running = true;
    $("sync").disabled = true;
    const panel = $("run");
    panel.hidden = false;
    setText("run-title", title + ": running");
    setText("run-line", "Starting…");
    try {
      for (;;) {
        const run = await api("GET", "/sync/runs/" + encodeURIComponent(runId));
        countsList(run.counts, $("run-counts"));
        if (run.outcome !== "running") {
          setText("run-title", title + ": finished");
          setText("run-line", humanize(run.outcome) + ": " + run.summary + (run.error ? " — " + run.error : ""));
          break;
        }
        setText("run-line", "Running: " + run.summary);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      running = false;
      await Promise.allSettled([loadStatus(), loadHistory()]);
      renderStatus();
    }
  }

  async function synchronize() {
    let started;
    try {
      started = await api("POST", "/sync");
    } catch (error) {
      // One is running already: follow it rather than fail.
      if (error.status === 409 && error.body.run_id) {
        notice(error.message);
        return follow(error.body.run_id, "Synchronization");
      }
      throw error;
    }
    notice("");
    await follow(started.run_id, "Synchronization");
  }

  // --- plans: preview and run detail ----------------------------------------------------
  function changeLines(changes) {
    const lines = [];
    for (const [field, pair] of Object.entries(changes || {})) {
      const [oldValue, newValue] = Array.isArray(pair) ? pair : [null, pair];
      const show = (v) => (v === null || v === undefined || v === "" ? "(empty)" : String(v));
      lines.push(el("span", { class: "change" }, humanize(field) + ": ",
        el("span", { class: "old" }, show(oldValue)), " → ", el("span", { class: "new" }, show(newValue))));
    }
    return lines;
  }

  // The groups of a plan: [key, title, items, how one item reads].
  function planGroups(plan) {
    const people = [
      ["creates", "New extensions", plan.creates, (c) => [c.name,
        el("span", { class: "why" }, " — " + [c.number, c.email].filter(Boolean).join(", "))]],
      ["updates", "Updates", plan.updates, (u) => [u.name + (u.adopt ? " (adopted by email)" : ""),
        ...changeLines(u.changes)]],
      ["removes", plan.removals_held ? "Removals (held for approval)" : "Removals", plan.removes,
        (r) => [r.name, el("span", { class: "why" }, " — " + r.action + ": " +
          (REMOVAL_CAUSES[r.reason] || humanize(r.reason).toLowerCase()))]],
      ["skipped", "Skipped", plan.skipped, (s) => [s.name,
        el("span", { class: "why" }, " — " + humanize(s.reason).toLowerCase())]],
      ["conflicts", "Conflicts", plan.conflicts, (c) => [c.name,
        el("span", { class: "why" }, " — " + humanize(c.reason).toLowerCase() +
          (c.holder_extension_id ? ", held by extension " + c.holder_extension_id : ""))]],
    ];
    const objects = [["organizations", "organizations"], ["extension_groups", "extension groups"]];
    for (const [key, label] of objects) {
      const part = plan[key];
      if (!part) continue;
      const name = (o) => [o.name];
      people.push(
        [key + "-creates", "New " + label, part.creates, name],
        [key + "-updates", "Updated " + label, part.updates, name],
        [key + "-removes", "Removed " + label, part.removes, (o) => [o.name,
          el("span", { class: "why" }, " — " + humanize(o.action))]],
        [key + "-skipped", "Skipped " + label, part.skipped, (o) => [o.name,
          el("span", { class: "why" }, " — " + humanize(o.reason).toLowerCase())]],
        [key + "-conflicts", "Conflicts of " + label, part.conflicts, (o) => [o.name,
          el("span", { class: "why" }, " — " + humanize(o.reason).toLowerCase() +
            (o.holder_id ? ", held by " + o.holder_id : ""))]],
      );
    }
    return people.filter(([, , items]) => Array.isArray(items) && items.length);
  }

  function renderPlan(plan, into) {
    into.replaceChildren();
    const groups = planGroups(plan);
    if (!groups.length) {
      into.append(el("p", { class: "muted" }, "Nothing would change."));
    }
    for (const [key, title, items, render] of groups) {
      const list = el("ul", { class: "items" });
      for (const item of items) {
        list.append(el("li", {}, ...render(item)));
      }
      const details = el("details", { class: "group", "data-group": key, open: "" },
        el("summary", {}, title + " (" + number.format(items.length) + ")"));
      if (items.length > SEARCH_FROM) {
        const search = el("input", { type: "search", placeholder: "Search " + title.toLowerCase(),
          "aria-label": "Search " + title.toLowerCase() });
        search.addEventListener("input", () => {
          const needle = search.value.trim().toLowerCase();
          for (const li of list.children) {
            li.hidden = needle !== "" && !li.textContent.toLowerCase().includes(needle);
          }
        });
        details.append(search);
      }
      details.append(list);
      into.append(details);
    }
    if (typeof plan.unchanged === "number") {
      into.append(el("p", { class: "muted" }, number.format(plan.unchanged) + " unchanged."));
    }
  }

  async function preview() {
    const panel = $("preview-result");
    setText("preview-line", "Reading the directory and the PBX…");
    $("preview-plan").replaceChildren();
    panel.hidden = false;
    try {
      const plan = await api("POST", "/sync/preview");
      setText("preview-line", "A sync now would do: " + plan.summary);
      renderPlan(plan, $("preview-plan"));
    } catch (error) {
      setText("preview-line", "No preview.");
      throw error;
    }
  }

  // --- connection test -------------------------------------------------------------------
  async function testConnection() {
    const panel = $("test-result");
    setText("test-line", "Testing…");
    $("test-checks").replaceChildren();
    $("test-sample").replaceChildren();
    panel.hidden = false;
    const report = await api("POST", "/directory/test");
    setText("test-line", report.ok ? "The connection works." : "The connection does not work.");
    for (const check of report.checks || []) {
      $("test-checks").append(el("li", { "data-check": check.name },
        el("span", { class: "mark " + (check.ok ? "ok" : "bad") }, check.ok ? "✓" : "✗"),
        el("strong", {}, humanize(check.name)), " ",
        el("span", { class: "muted" }, "(" + check.ms + " ms) "), check.message));
    }
    const sample = report.sample || [];
    if (sample.length) {
      const names = sample.map((u) => [u.first_name, u.last_name].filter(Boolean).join(" ") || u.email || u.object_id);
      $("test-sample").append(el("p", { class: "muted" }, "Sample: " + names.join(", ")));
    }
  }

  // --- pause and resume ------------------------------------------------------------------
  async function pauseOrResume() {
    if (!status) return;
    if (status.state === "paused") {
      await api("POST", "/directory/resume");
      notice("Synchronization resumed.");
    } else {
      await api("POST", "/directory/pause", { delete_extensions: false });
      notice("Synchronization paused: no scheduled or manual run until you resume.");
    }
    await loadStatus();
  }

  // --- history ---------------------------------------------------------------------------
  let nextCursor = null;

  async function loadHistory(more) {
    const query = more && nextCursor ? "?limit=20&cursor=" + encodeURIComponent(nextCursor) : "?limit=20";
    const page = await api("GET", "/sync/runs" + query);
    const list = $("runs");
    if (!more) list.replaceChildren();
    for (const run of page.runs || []) {
      list.append(runItem(run));
    }
    if (!list.children.length) {
      list.append(el("li", { class: "muted" }, "No run yet."));
    }
    nextCursor = page.next_cursor || null;
    $("history-more").hidden = !nextCursor;
  }

  function runItem(run) {
    const detail = el("div", { class: "run-detail", id: "run-" + run.run_id });
    detail.hidden = true;
    const row = el("button", { type: "button", class: "run-row", "aria-expanded": "false",
      "aria-controls": detail.id, "data-run": run.run_id },
      el("span", { class: "badge " + run.outcome }, humanize(run.outcome)),
      el("span", {}, run.summary),
      el("span", { class: "when" }, humanize(run.trigger) + " · " + when(run.started_at)));
    row.addEventListener("click", () => busy(row, async () => {
      const open = row.getAttribute("aria-expanded") === "true";
      if (open) {
        row.setAttribute("aria-expanded", "false");
        detail.hidden = true;
        return;
      }
      await renderRun(run.run_id, detail);
      row.setAttribute("aria-expanded", "true");
      detail.hidden = false;
    }));
    return el("li", {}, row, detail);
  }

  async function renderRun(runId, into) {
    const run = await api("GET", "/sync/runs/" + encodeURIComponent(runId));
    into.replaceChildren();
    const facts = el("dl", { class: "facts" },
      el("dt", {}, "Started"), el("dd", {}, when(run.started_at)),
      el("dt", {}, "Finished"), el("dd", {}, run.finished_at ? when(run.finished_at) : "Not yet"),
      el("dt", {}, "Trigger"), el("dd", {}, humanize(run.trigger)),
      el("dt", {}, "Result"), el("dd", {}, run.summary));
    into.append(facts);
    const counts = el("ul", { class: "counts" });
    countsList(run.counts, counts);
    into.append(counts);
    if (run.error) into.append(el("p", { class: "error" }, run.error));
    if (run.approved_by) {
      into.append(el("p", { class: "muted" }, "Approved: run " + run.approved_by + " applies these removals."));
    }
    if (run.outcome === "held" && !run.approved_by) {
      into.append(approveBox(run));
    }
    const holder = (id) => (id ? ", held by " + id : "");
    const problems = [
      ...(run.errors || []).map((e) => [e.name, humanize(e.kind) + " failed: " + e.message]),
      ...(run.apply_conflicts || []).map((c) => [c.name,
        humanize(c.reason).toLowerCase() + holder(c.holder_extension_id && "extension " + c.holder_extension_id)]),
      ...(run.object_conflicts || []).map((c) => [c.name, humanize(c.reason).toLowerCase() + holder(c.holder_id)]),
    ];
    if (problems.length) {
      const list = el("ul", { class: "items" });
      for (const [name, why] of problems) {
        list.append(el("li", {}, name, el("span", { class: "why" }, " — " + why)));
      }
      into.append(el("h3", {}, "Errors and conflicts while applying (" + problems.length + ")"), list);
    }
    if (run.plan) {
      into.append(el("h3", {}, "What the run planned"));
      const plan = el("div", {});
      renderPlan(run.plan, plan);
      into.append(plan);
    }
  }

  function approveBox(run) {
    const removals = run.plan && Array.isArray(run.plan.removes) ? run.plan.removes.length : 0;
    const box = el("div", { class: "approve warning" },
      "The deletion guard held this run: " + removals + (removals === 1 ? " removal waits" : " removals wait") +
      " for approval.");
    const approve = el("button", { type: "button", class: "danger", "data-action": "approve" },
      "Approve " + removals + (removals === 1 ? " removal" : " removals"));
    const confirm = el("div", { class: "confirm", hidden: "" },
      el("span", {}, "Apply " + removals + (removals === 1 ? " removal" : " removals") +
        " now? Their extensions are removed on the PBX."));
    const yes = el("button", { type: "button", class: "danger", "data-action": "confirm-approve" }, "Yes, apply them");
    const no = el("button", { type: "button" }, "Cancel");
    confirm.append(yes, no);
    approve.addEventListener("click", () => {
      confirm.hidden = false;
      approve.hidden = true;
      yes.focus();
    });
    no.addEventListener("click", () => {
      confirm.hidden = true;
      approve.hidden = false;
      approve.focus();
    });
    yes.addEventListener("click", () => busy(yes, async () => {
      const started = await api("POST", "/sync/runs/" + encodeURIComponent(run.run_id) + "/approve");
      box.replaceChildren(el("span", {}, "Approved: the removals are being applied."));
      await follow(started.run_id, "Approved removals");
    }));
    box.append(el("div", {}, approve), confirm);
    return box;
  }

  // Opens the held run of the status card in the history.
  async function openHeld() {
    const runId = status && status.last_sync && status.last_sync.run_id;
    if (!runId) return;
    const row = document.querySelector('.run-row[data-run="' + CSS.escape(runId) + '"]');
    if (row) {
      if (row.getAttribute("aria-expanded") !== "true") row.click();
      row.scrollIntoView({ block: "start" });
      row.focus();
    }
  }

  // --- start -----------------------------------------------------------------------------
  function start() {
    // A new link pasted into this tab changes only the fragment: read it as a fresh start.
    window.addEventListener("hashchange", () => {
      if (new URLSearchParams(location.hash.replace(/^#/, "")).has("token")) location.reload();
    });
    if (credentials.error) {
      showError(new Error(credentials.error));
      for (const button of document.querySelectorAll("button")) button.disabled = true;
      $("status").setAttribute("aria-busy", "false");
      return;
    }
    setText("tenant", "Tenant " + credentials.tenant);
    $("sync").addEventListener("click", (e) => busy(e.currentTarget, synchronize));
    $("preview").addEventListener("click", (e) => busy(e.currentTarget, preview));
    $("test").addEventListener("click", (e) => busy(e.currentTarget, testConnection));
    $("pause").addEventListener("click", (e) => busy(e.currentTarget, pauseOrResume));
    $("held-open").addEventListener("click", (e) => busy(e.currentTarget, openHeld));
    $("history-refresh").addEventListener("click", (e) => busy(e.currentTarget, () => loadHistory(false)));
    $("history-more").addEventListener("click", (e) => busy(e.currentTarget, () => loadHistory(true)));
    Promise.all([loadStatus(), loadHistory(false)]).catch(showError);
    // "12 minutes ago" stays true while the page is open.
    setInterval(renderStatus, 30000);
  }

  start();
})();
