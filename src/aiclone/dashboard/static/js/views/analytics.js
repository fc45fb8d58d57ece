// @ts-check
// Analytics: one bar chart per metric over the zero-filled buckets of GET /api/analytics/summary,
// with totals, trends against the previous period and the prospect funnel; and exports through
// POST /api/analytics/export.
//
// Periods: the fixed ranges of `time_range` (24 hours by hour, 7 and 30 days by day, 13 weeks by
// ISO week, 12 months by month), each ending with the bucket that holds "now", or a custom range
// of local dates (`start`/`end`, "to" inclusive; the server picks hour, day or week buckets from
// its length), all in the browser's time zone (`tz`). The dates are checked by the server only,
// so every mistake (from after to, more than 366 days) comes back as its 422, shown as is, with
// the dates kept. The export accepts any `[start, end)` of up to 366 days; its form offers the
// charts' period (a custom range included) or its own dates.
//
// Live: events that move a counter (prospect added or updated, task completed, outreach sent,
// content published, automation triggered) and `reset` refetch the summary, debounced, so a
// burst of events is one request. Responses older than the latest request are dropped.

import { busy, errorBox, field, formValues, h, replace, select, stateLine } from "../dom.js";
import { bucketLabel, layoutBars, renderBarChart } from "../chart.js";
import { dateTime, debounce, number, percentChange } from "../format.js";

const REFRESH_DEBOUNCE_MS = 1200;

export const RANGES = [
  ["day", "Last 24 hours · by hour"],
  ["week", "Last 7 days · by day"],
  ["month", "Last 30 days · by day"],
  ["quarter", "Last 13 weeks (≈ 90 days) · by week"],
  ["year", "Last 12 months · by month"],
  ["custom", "Custom range…"],
];

export const CUSTOM = "custom";

const CUSTOM_DEFAULT_DAYS = 30;

const PERIOD_WORDS = { day: "24 hours", week: "7 days", month: "30 days", quarter: "13 weeks", year: "12 months" };

export const METRIC_NAMES = {
  prospects_analyzed: "Prospects added",
  research_tasks_completed: "Research tasks completed",
  outreach_sent: "Outreach sent",
  meetings_booked: "Meetings booked",
  content_published: "Content published",
  automations_triggered: "Automations triggered",
  webhook_deliveries_succeeded: "Webhook deliveries succeeded",
  webhook_deliveries_failed: "Webhook deliveries failed",
};

const STAGE_NAMES = { added: "Added", approved: "Approved", contacted: "Contacted", meeting_booked: "Meeting booked" };

const DATA_TYPES = [
  ["prospects", "Prospects"],
  ["activities", "Activity"],
  ["research_tasks", "Research tasks"],
  ["outreach", "Outreach"],
  ["content", "Content"],
  ["webhook_deliveries", "Webhook deliveries"],
  ["all", "Everything"],
];

const FORMATS = [
  ["csv", "CSV"],
  ["json", "JSON"],
  ["ndjson", "NDJSON"],
  ["xlsx", "Excel (XLSX)"],
];

// Event types whose persisted events move a summary counter.
const COUNTED_EVENTS = [
  "prospect_added",
  "prospect_updated",
  "task_completed",
  "outreach_sent",
  "content_published",
  "automation_triggered",
];

const TREND_ARROWS = { up: "▲", down: "▼", stable: "▶" };

export function metricName(key) {
  return METRIC_NAMES[key] ?? String(key).replaceAll("_", " ");
}

/** "▲ +25%" / "▼ −10%" / "▲ new" (nothing before) / "▶ 0%"; and a sentence for screen readers. */
export function trendText(metric) {
  const arrow = TREND_ARROWS[metric.trend] ?? "";
  const change =
    metric.change_percent === null || metric.change_percent === undefined
      ? metric.total > 0 ? "new" : "no change"
      : percentChange(metric.change_percent / 100);
  const words = { up: "Up", down: "Down", stable: "Stable" }[metric.trend] ?? "";
  const spoken =
    metric.change_percent === null || metric.change_percent === undefined
      ? `${words}: nothing in the previous period`
      : `${words} ${change} on the previous period`;
  return { short: `${arrow} ${change}`, spoken };
}

/** The browser's IANA zone, or UTC when the browser does not tell. */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** A `yyyy-mm-dd` date input's value → the instant of that local midnight (plus `days`), ISO UTC. */
export function localMidnight(value, days = 0) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(value));
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + days);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The local calendar date of `date` (default: today) plus `days`, as `yyyy-mm-dd`. */
export function localDate(days = 0, date = new Date()) {
  const day = new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(day.getFullYear(), 4)}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

/** The summary's query for the period form: a preset `time_range`, or the custom `start`/`end`. */
export function summaryQuery({ range, from, to }, tz) {
  if (range === CUSTOM) return { start: from ?? "", end: to ?? "", tz };
  return { time_range: range, tz };
}

/** Identifies what a query (or a summary answering it) shows, to tell a redraw from a new range. */
export function periodKey(query) {
  return query.time_range ?? `${CUSTOM}:${query.start ?? ""}:${query.end ?? ""}`;
}

export function summaryKey(summary) {
  return summary.time_range ?? `${CUSTOM}:${summary.custom_range?.start ?? ""}:${summary.custom_range?.end ?? ""}`;
}

/** The status line's words for the period of a summary. */
/**
 * @param {any} summary
 * @param {(value: string) => string} [formatTime]
 */
export function periodText(summary, formatTime = String) {
  const custom = summary.custom_range;
  if (!summary.time_range && custom) {
    return `${custom.start} – ${custom.end} (by ${summary.bucket})`;
  }
  return `${PERIOD_WORDS[summary.time_range] ?? summary.time_range}: ${formatTime(summary.period.start)} – now`;
}

function metricCard(key, metric, unit) {
  const points = metric.buckets.map((bucket) => {
    const label = bucketLabel(bucket.local_start, unit);
    return { value: bucket.count, label: label.short, title: label.long };
  });
  const layout = layoutBars(points);
  const name = metricName(key);
  const peak = layout.bars.reduce((best, bar) => (bar.value > (best?.value ?? 0) ? bar : best), null);
  const summary =
    `${name}: ${number(metric.total)} in ${points.length} ${unit} buckets` +
    (peak ? `, most on ${peak.title} (${number(peak.value)})` : ", none in any bucket");
  const trend = trendText(metric);
  return h(
    "article",
    { class: "metric-card", dataset: { metric: key, total: metric.total, buckets: points.length } },
    h("h3", {}, name),
    h(
      "p",
      { class: "metric-figures" },
      h("span", { class: "metric-total" }, number(metric.total)),
      h("span", { class: ["metric-trend", `trend-${metric.trend}`], dataset: { trend: metric.trend }, title: trend.spoken }, trend.short),
      h("span", { class: "visually-hidden" }, ` (${trend.spoken})`),
    ),
    h(
      "p",
      { class: "metric-sub muted" },
      `Previous period ${number(metric.previous_total)} · average ${number(metric.average, 2)} per ${unit}`,
    ),
    renderBarChart(layout, { summary }),
  );
}

function funnelPanel(funnel) {
  const first = funnel.stages[0]?.count ?? 0;
  return h(
    "section",
    { class: "panel", id: "analytics-funnel", "aria-labelledby": "funnel-title" },
    h(
      "header",
      { class: "panel-head" },
      h("h2", { id: "funnel-title" }, "Prospect funnel"),
      h("span", { class: "muted" }, `Overall conversion ${funnel.overall_conversion_percent === null ? "—" : `${number(funnel.overall_conversion_percent, 1)}%`}`),
    ),
    h("p", { class: "hint" }, "Of the prospects added in this period: how many reached each stage so far."),
    h(
      "ol",
      { class: "funnel" },
      funnel.stages.map((stage, index) =>
        h(
          "li",
          { class: "funnel-stage", dataset: { stage: stage.stage, count: stage.count } },
          h("span", { class: "funnel-name" }, STAGE_NAMES[stage.stage] ?? String(stage.stage).replaceAll("_", " ")),
          h("progress", { max: Math.max(first, 1), value: Math.min(stage.count, Math.max(first, 1)), "aria-hidden": "true" }),
          h("span", { class: "funnel-count" }, number(stage.count)),
          h(
            "span",
            { class: "funnel-rate muted" },
            index === 0 ? "" : stage.conversion_percent === null ? "—" : `${number(stage.conversion_percent, 1)}% of previous`,
          ),
        ),
      ),
    ),
  );
}

/**
 * What the view holds while it is mounted.
 * @typedef {object} AnalyticsView
 * @property {import("../api.js").Api} api
 * @property {(message: string, kind?: string) => void} toast
 * @property {boolean} alive false once the view is unmounted: late answers are dropped
 * @property {number} latest the latest load; older answers are dropped
 * @property {any} summary the summary shown
 */

/**
 * The export form: a data type, the charts' period or custom dates, one button per format.
 * @param {AnalyticsView} view
 */
function exportSection(view) {
  const dataType = select("data_type", DATA_TYPES, "prospects");
  const exportRange = select("range", [["period", "The charts' period"], ["custom", "Custom dates"]], "period");
  const fromInput = h("input", { type: "date", name: "from" });
  const toInput = h("input", { type: "date", name: "to" });
  const customFields = h("div", { class: "row", hidden: true, id: "export-custom" }, field("From", fromInput), field("To (inclusive)", toInput));
  const exportErrors = h("div", { id: "export-error" });
  const exportForm = h(
    "form",
    { class: "export-form", id: "analytics-export", "aria-labelledby": "export-title" },
    h("div", { class: "row" }, field("Data", dataType), field("Dates", exportRange)),
    customFields,
    exportErrors,
    h(
      "div",
      { class: "actions", role: "group", "aria-label": "Download as" },
      FORMATS.map(([value, label]) =>
        h("button", { type: "submit", name: "format", value, class: value === "csv" ? "primary" : "", dataset: { format: value } }, label),
      ),
    ),
  );
  exportRange.addEventListener("change", () => {
    const custom = exportRange.value === "custom";
    customFields.hidden = !custom;
    fromInput.required = custom;
    toInput.required = custom;
  });

  exportForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const format = /** @type {HTMLButtonElement | null} */ (event.submitter)?.value || "csv";
    const values = formValues(exportForm);
    replace(exportErrors);
    let start;
    let end;
    if (values.range === "custom") {
      start = localMidnight(values.from);
      // "To" is inclusive: the export's end is the midnight after it.
      end = localMidnight(values.to, 1);
    } else if (view.summary) {
      start = view.summary.period.start;
      end = view.summary.period.end;
    }
    if (!start || !end) {
      replace(exportErrors, errorBox({ title: "Choose the dates", detail: "Pick both dates, or wait for the charts' period to load." }));
      return;
    }
    try {
      const file = await busy(exportForm, () =>
        view.api.download("/api/analytics/export", null, `aiclone-${values.data_type}.${format}`, {
          method: "POST",
          json: { data_type: values.data_type, format, date_range: { start, end } },
        }),
      );
      if (view.alive) view.toast(`Downloaded ${file.name} (${number(file.size)} bytes).`, "success");
    } catch (error) {
      if (view.alive) replace(exportErrors, errorBox(error));
    }
  });
  return exportForm;
}

export default {
  id: "analytics",
  title: "Analytics",
  adminOnly: false,
  mount(root, { api, live, toast }) {
    const tz = browserZone();
    /** @type {AnalyticsView} */
    const view = { api, toast, alive: true, latest: 0, summary: null };

    // ------------------------------------------------------------ range form
    const rangeSelect = select("time_range", RANGES, "week");
    rangeSelect.id = "analytics-range-select";
    const refreshButton = h("button", { type: "submit", class: "ghost" }, "Refresh");
    const startInput = h("input", { type: "date", name: "start", id: "analytics-start" });
    const endInput = h("input", { type: "date", name: "end", id: "analytics-end" });
    const customRange = h(
      "div",
      { class: "row", id: "analytics-custom", hidden: true },
      field("From", startInput),
      field("To (inclusive)", endInput, "Up to 2 days by hour, 92 days by day, 366 days by week."),
    );
    const rangeForm = h(
      "form",
      { class: "panel range-form", id: "analytics-range", "aria-label": "Period" },
      h("div", { class: "row" }, field("Period", rangeSelect), h("div", { class: "actions" }, refreshButton)),
      customRange,
      h("small", { class: "hint", id: "analytics-zone" }, `Buckets follow your time zone, ${tz}; the one holding now is still filling.`),
    );
    const status = h("p", { class: "analytics-status muted", id: "analytics-status", role: "status", "aria-live": "polite" });
    const errors = h("div", { id: "analytics-error" });
    const hint = h("div", { id: "analytics-empty" });
    const cards = h("div", { class: "metric-grid", id: "analytics-metrics" }, stateLine("loading", "Loading analytics…"));
    const funnelSlot = h("div", {});

    replace(
      root,
      h("header", { class: "view-head" }, h("h1", {}, "Analytics")),
      rangeForm,
      status,
      errors,
      hint,
      cards,
      funnelSlot,
      h(
        "section",
        { class: "panel", "aria-labelledby": "export-title" },
        h("header", { class: "panel-head" }, h("h2", { id: "export-title" }, "Export")),
        h("p", { class: "hint" }, "Downloads the rows created in the period. Spreadsheet formulas in text are neutralised."),
        exportSection(view),
      ),
    );

    // ------------------------------------------------------------ loading
    const show = (data) => {
      view.summary = data;
      const entries = Object.entries(data.metrics);
      replace(cards, entries.map(([key, metric]) => metricCard(key, metric, data.bucket)));
      replace(funnelSlot, funnelPanel(data.funnel));
      const nothing = entries.every(([, metric]) => metric.total === 0 && metric.previous_total === 0);
      replace(
        hint,
        nothing
          ? stateLine("empty", "Nothing counted in this period yet. Add a prospect, run a research task or publish content, and these charts move as it happens.")
          : null,
      );
      cards.dataset.range = data.time_range ?? CUSTOM;
      cards.dataset.bucket = data.bucket;
      cards.dataset.period = summaryKey(data);
      status.textContent = `${periodText(data, dateTime)} · updated ${dateTime(data.as_of)}`;
    };

    const load = async ({ quiet = false } = {}) => {
      const ticket = ++view.latest;
      const query = summaryQuery({ range: rangeSelect.value, from: startInput.value, to: endInput.value }, tz);
      const key = periodKey(query);
      if (!quiet || !view.summary) {
        root.setAttribute("aria-busy", "true");
        if (!view.summary || summaryKey(view.summary) !== key) replace(cards, stateLine("loading", "Loading analytics…"));
      }
      status.dataset.state = "loading";
      try {
        const data = await api.get("/api/analytics/summary", query);
        if (!view.alive || ticket !== view.latest) return;
        replace(errors);
        show(data);
        status.dataset.state = "ready";
      } catch (error) {
        if (!view.alive || ticket !== view.latest) return;
        status.dataset.state = "error";
        replace(errors, errorBox(error));
        if (!view.summary || summaryKey(view.summary) !== key) {
          view.summary = null;
          replace(cards);
          replace(funnelSlot);
          replace(hint);
        }
      } finally {
        if (ticket === view.latest) root.removeAttribute("aria-busy");
      }
    };

    rangeSelect.addEventListener("change", () => {
      const custom = rangeSelect.value === CUSTOM;
      customRange.hidden = !custom;
      if (custom && !startInput.value && !endInput.value) {
        // A starting point the user can adjust: the last 30 days, today included.
        startInput.value = localDate(-(CUSTOM_DEFAULT_DAYS - 1));
        endInput.value = localDate();
      }
      load();
    });
    for (const input of [startInput, endInput]) {
      // "change" fires once a date is complete (typed or picked), not on every keystroke.
      input.addEventListener("change", () => {
        if (rangeSelect.value === CUSTOM) load();
      });
    }
    rangeForm.addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });

    // ------------------------------------------------------------ live
    const refresh = debounce(() => {
      if (view.alive) load({ quiet: true });
    }, REFRESH_DEBOUNCE_MS);
    const unsubscribe = [
      ...COUNTED_EVENTS.map((type) =>
        live.on(type, (event) => {
          if (!event.ephemeral) refresh();
        }),
      ),
      live.on("reset", refresh),
    ];

    load();
    return () => {
      view.alive = false;
      unsubscribe.forEach((stop) => stop());
    };
  },
};
