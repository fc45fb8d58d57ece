// @ts-check
// The Research view's rendering: the page's layout and its form, a task's list item and its
// detail (progress, the answer as it is written, the insight and its sources). Builders take
// the data and the handlers to call; they make no requests.

import { errorBox, field, h, isSafeUrl, replace, select, stateLine } from "../../dom.js";
import { dateTime, relativeTime } from "../../format.js";
import { ENGINES, PRIORITIES, STATUSES, canCancel, canRetry, researchFieldOf, shownProgress, urlLines } from "./state.js";

/** @param {string} status */
function statusPill(status) {
  return h("span", { class: ["pill", status], dataset: { status } }, status);
}

/**
 * @param {string | null | undefined} url
 * @param {string} [label]
 */
function safeLink(url, label) {
  if (!url) return null;
  if (!isSafeUrl(url)) return h("span", { class: "unsafe-url" }, label || url);
  return h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, label || url);
}

/**
 * @param {string} title
 * @param {string[] | undefined} items
 * @param {string} id
 */
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
/**
 * @param {string} text
 * @param {string | undefined} kind
 */
function writingView(text, kind) {
  return h(
    "section",
    { class: "insight insight-writing", id: "research-writing", "aria-live": "polite" },
    h("h3", {}, (kind ?? "research") === "research" ? "Writing the insight…" : "Writing the draft…"),
    h("pre", { class: "draft-stream", id: "research-stream" }, text),
  );
}

/** The form of a new task, with an error line under each field the API names. */
function researchForm() {
  const title = h("input", { name: "title", id: "research-title", required: true, maxlength: 200, autocomplete: "off" });
  const urls = h("textarea", { name: "input_source", id: "research-urls", rows: 4, placeholder: "https://example.com/about", required: true });
  const priority = select("priority", PRIORITIES, "medium");
  priority.id = "research-priority";
  const prospect = select("prospect_id", [["", "None"]], "");
  prospect.id = "research-prospect";
  const engine = select("engine", ENGINES, "web");
  engine.id = "research-engine";
  /** @type {Record<string, HTMLElement>} */
  const messages = {};
  /** @type {Record<string, HTMLElement>} */
  const controls = { title, input_source: urls, priority, prospect_id: prospect, engine };
  /** @param {string} name @param {string} label @param {string} [hint] */
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
  /** @param {any} error the API's answer, or null to clear */
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
  return { form, prospect, showErrors };
}

/**
 * The page, drawn into `root`; returns the elements the view updates.
 * @param {HTMLElement} root
 */
export function layout(root) {
  const { form, prospect, showErrors } = researchForm();
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
  return { form, prospect, showErrors, listEl, listState, more, filter, detail };
}

/** @typedef {ReturnType<typeof layout>} ResearchUi */

/**
 * @typedef {object} TaskHandlers
 * @property {(task: any, action: "cancel" | "retry") => void} act
 * @property {(id: string) => void} show
 */

/**
 * Cancel and retry (when the task allows them), and "Details" in the list.
 * @param {any} task
 * @param {"list" | "detail"} where
 * @param {TaskHandlers} handlers
 */
function actionButtons(task, where, handlers) {
  const buttons = [];
  if (canCancel(task)) {
    const cancel = h("button", { type: "button", class: "small danger", dataset: { action: "cancel" }, "aria-label": `Cancel ${task.title}` }, "Cancel");
    cancel.addEventListener("click", () => {
      cancel.disabled = true;
      handlers.act(task, "cancel");
    });
    buttons.push(cancel);
  }
  if (canRetry(task)) {
    const retry = h("button", { type: "button", class: "small", dataset: { action: "retry" }, "aria-label": `Retry ${task.title}` }, "Retry");
    retry.addEventListener("click", () => {
      retry.disabled = true;
      handlers.act(task, "retry");
    });
    buttons.push(retry);
  }
  if (where === "list") {
    const open = h("button", { type: "button", class: "small ghost", dataset: { action: "open" }, "aria-label": `Show ${task.title}` }, "Details");
    open.addEventListener("click", () => handlers.show(task.id));
    buttons.unshift(open);
  }
  return buttons;
}

/** @param {any} task */
function progressBar(task) {
  const value = shownProgress(task);
  return h("progress", { max: 100, value, "aria-label": `Progress of ${task.title}` }, `${value}%`);
}

/**
 * A task's item in the list.
 * @param {any} task
 * @param {boolean} isOpen it is the task shown in the detail
 * @param {TaskHandlers} handlers
 */
export function taskItem(task, isOpen, handlers) {
  const value = shownProgress(task);
  return h(
    "li",
    { class: ["task", isOpen ? "is-open" : null], dataset: { id: task.id, status: task.status, progress: value } },
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
    h("div", { class: "row-actions" }, actionButtons(task, "list", handlers)),
  );
}

/**
 * The detail of the open task (or a hint to pick one).
 * @param {HTMLElement} detail
 * @param {any} task
 * @param {TaskHandlers} handlers
 */
export function renderDetail(detail, task, handlers) {
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
      h("div", { class: "actions" }, actionButtons(task, "detail", handlers)),
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
}
