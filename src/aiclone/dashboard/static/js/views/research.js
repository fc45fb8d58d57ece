// @ts-check
// Research: queue a task on the web engine, follow it live, cancel or retry it, read its insight.
//
// The list is loaded from /api/research-tasks, then kept current from the stream:
// persisted `task_update` events are state changes (queued, running, done, failed, cancelled)
// and always apply; ephemeral `task_update` ticks only move the progress bar of a task that is
// running its current attempt, and never backwards (a tick may reach us after the state change
// that ended the run). `research_completed` carries the insight of a finished task. A task
// queued elsewhere is fetched and put at the top. A `reset` frame reloads everything.

import { busy, errorBox, field, formValues, h, isSafeUrl, replace, select, stateLine } from "../dom.js";
import { joinText } from "../drafting.js";
import { dateTime, relativeTime } from "../format.js";

const PAGE = 20;
const PRIORITIES = [
  ["high", "High"],
  ["medium", "Medium"],
  ["low", "Low"],
];
const STATUSES = ["queued", "running", "done", "failed", "cancelled"];
const FORM_FIELDS = ["title", "input_source", "priority", "prospect_id", "engine"];
const ENGINES = [
  ["web", "Web pages (cue phrases)"],
  ["llm", "Language model"],
];
const TERMINAL = new Set(["done", "failed", "cancelled"]);

// ------------------------------------------------------------------ pure logic (unit-tested)

/** URLs typed one per line (blank lines and surrounding space dropped), joined for the API. */
export function urlLines(text) {
  return String(text ?? "")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

export const canCancel = (task) => task.status === "queued" || task.status === "running";
export const canRetry = (task) => task.status === "failed" || task.status === "cancelled";

/** The progress to show: a finished task is full, a queued one empty. */
export function shownProgress(task) {
  if (task.status === "done") return 100;
  if (task.status === "queued") return 0;
  return Math.max(0, Math.min(100, Number(task.progress) || 0));
}

/**
 * The task after a `task_update` (persisted or an ephemeral tick); returns the same object
 * when the update does not apply.
 */
export function applyTaskUpdate(task, update, ephemeral) {
  if (!task || !update) return task;
  const attempt = Number(update.attempts ?? 0);
  const current = Number(task.attempts ?? 0);
  if (ephemeral) {
    // A tick says "running attempt n at p%". It may overtake the persisted "running" change of
    // that attempt (then the task still looks queued, with attempts n-1), or trail the change
    // that ended the run, or come from an attempt before a retry: only the first case counts.
    if (update.status !== "running") return task;
    const sameRun = task.status === "running" && attempt === current;
    const newRun = (task.status === "queued" || task.status === "running") && attempt > current;
    if (!sameRun && !newRun) return task;
    // A tick with text (a language model writing) counts when its text is new, even at the same percent.
    const text = typeof update.text === "string" ? joinText(sameRun ? task.text : "", update.text, update.text_offset) : null;
    const newText = text !== null && text !== task.text;
    if (sameRun && Number(update.progress) < Number(task.progress)) return task;
    if (sameRun && Number(update.progress) === Number(task.progress) && !newText) return task;
    return {
      ...task,
      status: "running",
      attempts: attempt,
      progress: Math.max(Number(update.progress), sameRun ? Number(task.progress) : 0),
      detail: update.detail ?? task.detail,
      text: text ?? (newRun ? null : task.text),
    };
  }
  // Persisted changes arrive in order among themselves, but may trail a tick or a fresh read:
  // one from an earlier attempt, or "running" after the same attempt already ended, is stale.
  if (attempt < current) return task;
  if (update.status === "running" && TERMINAL.has(task.status) && attempt === current) return task;
  const next = {
    ...task,
    status: update.status,
    progress: Number(update.progress ?? task.progress),
    error: update.error ?? null,
    attempts: update.attempts ?? task.attempts,
    title: update.title ?? task.title,
    detail: update.detail ?? null,
  };
  if (update.status === "running" && task.status === "running" && attempt === current) {
    // The state change of a run whose ticks were already shown: keep the bar where it is.
    next.progress = Math.max(next.progress, Number(task.progress) || 0);
    next.detail = task.detail ?? next.detail;
  }
  if (update.status === "queued") {
    next.insight = null;
    next.completed_at = null;
    next.text = null;
  }
  return next;
}

/**
 * A task read from the API merged over what the page knows. Progress ticks are not stored, so
 * a read of a running task says 0%; and a read made just before a run started says queued.
 */
export function mergeTask(known, fresh) {
  if (!known) return fresh;
  const merged = { ...known, ...fresh };
  const attempt = Number(fresh.attempts ?? 0);
  const current = Number(known.attempts ?? 0);
  const sameRun = known.status === "running" && fresh.status === "running" && attempt === current;
  const runStarted = known.status === "running" && fresh.status === "queued" && current > attempt;
  if (sameRun || runStarted) {
    merged.status = known.status;
    merged.attempts = known.attempts;
    merged.progress = Math.max(Number(known.progress) || 0, Number(fresh.progress) || 0);
    merged.detail = known.detail;
  }
  return merged;
}

/**
 * A task from an API answer, merged over what the page knows, with the state changes that
 * arrived while the request was in flight (`entries` numbered `n` in arrival order, those with
 * `n > since`) applied again on top: the answer may predate them.
 */
export function settleTask(known, fresh, entries, since) {
  let task = mergeTask(known, fresh);
  if (since === null || since === undefined) return task;
  for (const { n, data } of entries ?? []) {
    if (n > since) task = applyTaskUpdate(task, data, false);
  }
  return task;
}

/** The form field an API error belongs to. */
export function researchFieldOf(path) {
  const name = String(path ?? "").split(/[.[]/)[0];
  return FORM_FIELDS.includes(name) ? name : null;
}

// ------------------------------------------------------------------ rendering

function statusPill(status) {
  return h("span", { class: ["pill", status], dataset: { status } }, status);
}

function safeLink(url, label) {
  if (!url) return null;
  if (!isSafeUrl(url)) return h("span", { class: "unsafe-url" }, label || url);
  return h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, label || url);
}

function list(title, items, id) {
  if (!items || !items.length) return null;
  return h("section", { class: "insight-part", id },
    h("h4", {}, title),
    h("ul", {}, items.map((item) => h("li", {}, item))));
}

function sourceItem(source) {
  return h(
    "li",
    { class: "insight-source", dataset: { status: source.status } },
    h("div", { class: "source-head" },
      statusPill(source.status === "ok" ? "done" : "failed"),
      safeLink(source.final_url || source.url, source.title || source.url),
      source.http_status ? h("span", { class: "muted" }, ` HTTP ${source.http_status}`) : null),
    source.title && source.title !== source.url ? h("p", { class: "source-url muted" }, source.url) : null,
    source.description ? h("p", {}, source.description) : null,
    source.headings?.length ? h("ul", { class: "source-headings" }, source.headings.slice(0, 12).map((text) => h("li", {}, text))) : null,
    source.error ? h("p", { class: "state-error" }, source.error) : null,
  );
}

function insightView(insight) {
  return h(
    "div",
    { class: "insight", id: "research-insight" },
    h("h3", {}, "Insight"),
    h("p", { class: "insight-summary" }, insight.summary),
    list("Key findings", insight.key_findings, "insight-findings"),
    list("Pain points", insight.pain_points, "insight-pains"),
    list("Opportunities", insight.opportunities, "insight-opportunities"),
    insight.suggested_outreach
      ? h("section", { class: "insight-part", id: "insight-outreach" }, h("h4", {}, "Suggested outreach"), h("p", {}, insight.suggested_outreach))
      : null,
    insight.sources?.length
      ? h("section", { class: "insight-part", id: "insight-sources" }, h("h4", {}, "Sources"), h("ul", { class: "sources" }, insight.sources.map(sourceItem)))
      : null,
  );
}

/** The answer as the language model writes it (text only; the structured insight follows). */
function writingView(text, kind) {
  return h(
    "section",
    { class: "insight insight-writing", id: "research-writing", "aria-live": "polite" },
    h("h3", {}, (kind ?? "research") === "research" ? "Writing the insight…" : "Writing the draft…"),
    h("pre", { class: "draft-stream", id: "research-stream" }, text),
  );
}

export default {
  id: "research",
  title: "Research",
  adminOnly: false,
  mount(root, { api, live, toast }) {
    let alive = true;
    const tasks = new Map(); // id -> task
    const nodes = new Map(); // id -> { li, progress, pct, pill, detail, actions }
    const fetching = new Set();
    // Ticks of tasks not in the list yet: a run can report progress before the response that
    // created the task (or the fetch of a task queued elsewhere) reaches this page.
    const earlyTicks = new Map();
    // The last state changes received per task, numbered in arrival order. An API answer (a
    // read, or the task a create/cancel/retry returns) may be older than changes that arrived
    // while it was in flight: those are applied again over it, in order; applyTaskUpdate drops
    // the ones the answer already includes.
    let received = 0;
    const recentUpdates = new Map(); // id -> [{ n, data }]
    const remember = (data) => {
      const updates = recentUpdates.get(data.task_id) ?? [];
      updates.push({ n: ++received, data });
      if (updates.length > 20) updates.shift();
      recentUpdates.delete(data.task_id);
      recentUpdates.set(data.task_id, updates);
      if (recentUpdates.size > 200) recentUpdates.delete(recentUpdates.keys().next().value);
    };
    let cursor = null;
    let statusFilter = "";
    let openId = null;

    // ---- the form
    const title = h("input", { name: "title", id: "research-title", required: true, maxlength: 200, autocomplete: "off" });
    const urls = h("textarea", { name: "input_source", id: "research-urls", rows: 4, placeholder: "https://example.com/about", required: true });
    const priority = select("priority", PRIORITIES, "medium");
    priority.id = "research-priority";
    const prospect = select("prospect_id", [["", "None"]], "");
    prospect.id = "research-prospect";
    const engine = select("engine", ENGINES, "web");
    engine.id = "research-engine";
    const messages = {};
    const controls = { title, input_source: urls, priority, prospect_id: prospect, engine };
    const withError = (name, label, hint) => {
      const message = h("small", { class: "field-error", id: `research-${name}-error`, hidden: true });
      messages[name] = message;
      controls[name].setAttribute("aria-describedby", message.id);
      const wrapper = field(label, controls[name], hint);
      wrapper.appendChild(message);
      return wrapper;
    };
    const formErrors = h("div", { class: "form-errors", "aria-live": "assertive" });
    const form = h(
      "form",
      { id: "research-form", class: "research-form", novalidate: true },
      formErrors,
      withError("title", "Title"),
      withError("input_source", "URLs", "One per line; the web engine reads each page."),
      h("div", { class: "row" }, withError("priority", "Priority"), withError("prospect_id", "Prospect (optional)")),
      withError("engine", "Engine", "The language model reads the pages and writes the insight."),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Start research")),
    );
    const showErrors = (error) => {
      for (const [name, message] of Object.entries(messages)) {
        message.hidden = true;
        message.textContent = "";
        controls[name].removeAttribute("aria-invalid");
      }
      replace(formErrors, error ? errorBox(error) : null);
      for (const item of error?.errors || []) {
        const name = researchFieldOf(item.field);
        if (!name) continue;
        messages[name].textContent = messages[name].textContent ? `${messages[name].textContent}; ${item.message}` : item.message;
        messages[name].hidden = false;
        controls[name].setAttribute("aria-invalid", "true");
      }
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = formValues(form);
      const body = {
        title: values.title, // the API trims, and names a blank title together with other errors
        input_source: urlLines(values.input_source).join("\n"),
        source_type: "urls",
        engine: values.engine || "web",
        priority: values.priority,
        prospect_id: values.prospect_id || null,
      };
      try {
        const since = received;
        const task = await busy(form, () => api.post("/api/research-tasks", body));
        showErrors(null);
        if (!alive) return;
        form.reset();
        upsert(task, { atTop: true, since });
        show(task.id);
        toast(`Research "${task.title}" queued.`, "success");
      } catch (error) {
        showErrors(error);
      }
    });

    // ---- the list and the detail
    const listEl = h("ul", { class: "tasks", id: "research-tasks", "aria-live": "polite" });
    const listState = h("div", { id: "research-state" }, stateLine("loading", "Loading research tasks…"));
    const more = h("button", { type: "button", class: "ghost", id: "research-more", hidden: true }, "Older tasks");
    const filter = select("status", [["", "All"], ...STATUSES.map((s) => [s, s])], "");
    filter.id = "research-filter-status";
    const detail = h("div", { id: "research-detail", "aria-live": "polite" }, stateLine("empty", "Pick a task to see its progress and insight."));

    replace(
      root,
      h("div", { class: "columns research-columns" },
        h("div", {},
          h("section", { class: "panel", "aria-labelledby": "research-new-title" },
            h("header", { class: "panel-head" }, h("h2", { id: "research-new-title" }, "New research")),
            form),
          h("section", { class: "panel", "aria-labelledby": "research-list-title" },
            h("header", { class: "panel-head" },
              h("h2", { id: "research-list-title" }, "Tasks"),
              h("div", { class: "inline-field" }, field("Status", filter))),
            listState, listEl, more)),
        h("section", { class: "panel research-detail-panel", "aria-labelledby": "research-detail-title" },
          h("header", { class: "panel-head" }, h("h2", { id: "research-detail-title" }, "Task")),
          detail)),
    );

    const act = async (task, action) => {
      try {
        const since = received;
        const updated = await api.post(`/api/research-tasks/${task.id}/${action}`);
        if (!alive) return;
        upsert({ ...updated, detail: null }, { since });
        toast(action === "cancel" ? `Cancelled "${updated.title}".` : `"${updated.title}" queued again.`, "success");
      } catch (error) {
        toast(`${error.title}${error.detail ? `: ${error.detail}` : ""}`, "error");
      }
    };
    const actionButtons = (task, where) => {
      const buttons = [];
      if (canCancel(task)) {
        const cancel = h("button", { type: "button", class: "small danger", dataset: { action: "cancel" }, "aria-label": `Cancel ${task.title}` }, "Cancel");
        cancel.addEventListener("click", () => {
          cancel.disabled = true;
          act(task, "cancel");
        });
        buttons.push(cancel);
      }
      if (canRetry(task)) {
        const retry = h("button", { type: "button", class: "small", dataset: { action: "retry" }, "aria-label": `Retry ${task.title}` }, "Retry");
        retry.addEventListener("click", () => {
          retry.disabled = true;
          act(task, "retry");
        });
        buttons.push(retry);
      }
      if (where === "list") {
        const open = h("button", { type: "button", class: "small ghost", dataset: { action: "open" }, "aria-label": `Show ${task.title}` }, "Details");
        open.addEventListener("click", () => show(task.id));
        buttons.unshift(open);
      }
      return buttons;
    };

    const progressBar = (task) => {
      const value = shownProgress(task);
      return h("progress", { max: 100, value, "aria-label": `Progress of ${task.title}` }, `${value}%`);
    };

    const taskItem = (task) => {
      const value = shownProgress(task);
      return h(
        "li",
        { class: ["task", openId === task.id ? "is-open" : null], dataset: { id: task.id, status: task.status, progress: value } },
        h("div", { class: "task-head" },
          h("strong", { class: "task-title" }, task.title),
          statusPill(task.status)),
        h("div", { class: "task-progress" }, progressBar(task), h("span", { class: "pct" }, `${value}%`)),
        task.detail || task.error
          ? h("p", { class: ["task-detail", task.error ? "state-error" : "muted"] }, task.error || task.detail)
          : null,
        h("div", { class: "task-meta muted" },
          `${task.priority ?? ""} priority · `,
          task.created_at ? h("time", { datetime: task.created_at, title: dateTime(task.created_at) }, relativeTime(task.created_at)) : null),
        h("div", { class: "row-actions" }, actionButtons(task, "list")),
      );
    };

    const renderDetail = () => {
      const task = openId ? tasks.get(openId) : null;
      if (!task) {
        replace(detail, stateLine("empty", "Pick a task to see its progress and insight."));
        return;
      }
      const value = shownProgress(task);
      const sources = urlLines(task.input_source ?? "");
      replace(
        detail,
        h("article", { class: "task-view", dataset: { id: task.id, status: task.status, progress: value } },
          h("h3", { class: "task-title" }, task.title),
          h("p", {}, statusPill(task.status), " ", h("span", { class: "muted" }, `attempt ${task.attempts ?? 0} · ${task.priority ?? ""} priority · ${task.engine ?? "web"} engine`)),
          h("div", { class: "task-progress" }, progressBar(task), h("span", { class: "pct" }, `${value}%`)),
          task.detail ? h("p", { class: "muted task-detail" }, task.detail) : null,
          task.status === "failed" && task.error
            ? h("div", { class: "error-box", role: "alert", id: "research-error" }, h("strong", {}, "The research failed. "), task.error)
            : null,
          h("div", { class: "actions" }, actionButtons(task, "detail")),
          sources.length
            ? h("details", { class: "task-inputs" }, h("summary", {}, `${sources.length} URL(s)`), h("ul", {}, sources.map((url) => h("li", {}, safeLink(url)))))
            : null,
          task.started_at ? h("p", { class: "muted" }, `Started ${dateTime(task.started_at)}`) : null,
          task.completed_at ? h("p", { class: "muted" }, `Finished ${dateTime(task.completed_at)}`) : null,
          task.status === "running" && task.text ? writingView(task.text, task.kind) : null,
          task.status === "done" && task.insight ? insightView(task.insight) : null,
          task.status === "done" && task.output_id && task.kind === "outreach_draft"
            ? h("p", {}, h("a", { href: `#/outreach/${task.output_id}`, id: "research-output" }, "Open the saved draft"))
            : null,
          task.status === "done" && !task.insight && (task.kind ?? "research") === "research" ? stateLine("loading", "Loading the insight…") : null,
        ),
      );
    };

    const showEmpty = () => {
      replace(listState, tasks.size ? null : stateLine("empty", statusFilter ? "No tasks with this status." : "No research yet. Give it a few URLs above."));
    };

    const upsert = (task, { atTop = false, since = null } = {}) => {
      const known = tasks.get(task.id);
      let merged = settleTask(known, task, recentUpdates.get(task.id), since);
      if (!known && earlyTicks.has(task.id)) {
        merged = applyTaskUpdate(merged, earlyTicks.get(task.id), true);
        earlyTicks.delete(task.id);
      }
      if (statusFilter && merged.status !== statusFilter && !known) return;
      tasks.set(task.id, merged);
      const li = taskItem(merged);
      const node = nodes.get(task.id);
      if (node) node.replaceWith(li);
      else if (atTop) listEl.prepend(li);
      else listEl.append(li);
      nodes.set(task.id, li);
      if (openId === task.id) renderDetail();
      showEmpty();
    };

    const show = async (id) => {
      openId = id;
      for (const [taskId, li] of nodes) li.classList.toggle("is-open", taskId === id);
      renderDetail();
      detail.scrollIntoView?.({ block: "nearest" });
      try {
        const since = received;
        const task = await api.get(`/api/research-tasks/${id}`);
        if (alive && openId === id) upsert(task, { since });
      } catch (error) {
        if (alive && openId === id) replace(detail, errorBox(error));
      }
    };

    const load = async (reset = false) => {
      if (reset) {
        cursor = null;
        tasks.clear();
        nodes.clear();
        replace(listEl);
      }
      try {
        const since = received;
        const page = await api.get("/api/research-tasks", { limit: PAGE, cursor, status: statusFilter || undefined });
        if (!alive) return;
        page.items.forEach((task) => upsert(task, { since }));
        cursor = page.next_cursor;
        more.hidden = !cursor;
        showEmpty();
        if (openId) renderDetail();
      } catch (error) {
        if (alive) replace(listState, errorBox(error));
      }
    };
    more.addEventListener("click", () => load());
    filter.addEventListener("change", () => {
      statusFilter = filter.value;
      load(true);
    });

    const loadProspects = async () => {
      try {
        const page = await api.get("/api/prospects", { sort: "name", order: "asc", limit: 200 });
        if (!alive) return;
        replace(prospect, h("option", { value: "" }, "None"), page.items.map((item) =>
          h("option", { value: item.id }, item.company ? `${item.name} (${item.company})` : item.name)));
      } catch {
        // The task can still be created without a prospect; the select keeps "None".
      }
    };

    // ---- live
    const fetchTask = async (id) => {
      if (fetching.has(id)) return;
      fetching.add(id);
      try {
        const since = received;
        const task = await api.get(`/api/research-tasks/${id}`);
        if (alive && !tasks.has(id)) upsert(task, { atTop: true, since });
      } catch {
        // Gone already (deleted with its user) or not ours: nothing to show.
      } finally {
        fetching.delete(id);
      }
    };
    const unsubscribe = [
      live.on("task_update", (event) => {
        const data = event.data;
        if (!data?.task_id) return;
        if (!event.ephemeral) remember(data);
        const task = tasks.get(data.task_id);
        if (!task) {
          if (event.ephemeral) {
            earlyTicks.set(data.task_id, data);
            if (earlyTicks.size > 50) earlyTicks.delete(earlyTicks.keys().next().value);
          } else fetchTask(data.task_id);
          return;
        }
        const next = applyTaskUpdate(task, data, event.ephemeral);
        if (next === task) return;
        tasks.set(task.id, next);
        upsert(next);
        // The insight comes with research_completed; an open task re-reads it in case that was missed.
        if (!event.ephemeral && next.status === "done" && openId === task.id) show(task.id);
      }),
      live.on("research_completed", (event) => {
        const data = event.data;
        if (event.ephemeral || !data?.task_id || !tasks.has(data.task_id)) return;
        upsert({ ...tasks.get(data.task_id), insight: data.insight });
      }),
      live.on("reset", () => load(true)),
    ];

    load();
    loadProspects();
    return () => {
      alive = false;
      unsubscribe.forEach((stop) => stop());
    };
  },
};
