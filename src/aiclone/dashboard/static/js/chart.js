// @ts-check
// A small bar chart in SVG, in two steps:
//
// * `layoutBars(points, size)` is pure: it turns `[{ value, label, title }]` into numbers only —
//   the plot area, one rectangle per point, the y-axis ticks (0, then "nice" steps of 1, 2 or 5
//   times a power of ten) and the x-axis labels that fit. Unit-tested with node (tests/js/).
// * `renderBarChart(layout, { summary })` turns that description into SVG elements with `s()`.
//
// The drawing has a fixed viewBox and scales to the width of its container; the viewBox is
// small (320 wide), so on a phone one SVG unit is about one CSS pixel and the text stays readable.
// Every bar carries a <title> (bucket and value) for hover and screen readers, and the whole
// chart is `role="img"` with an aria-label summarising the series.

import { s } from "./dom.js";

export const DEFAULT_SIZE = Object.freeze({ width: 320, height: 160 });
// Approximate width of one character of the 10-unit axis font, for fitting labels.
const CHAR_WIDTH = 6;
const FONT_SIZE = 10;
const TOP = 8;
const BOTTOM = 20;
const RIGHT = 4;
const MAX_BAR_WIDTH = 36;

const round2 = (value) => Math.round(value * 100) / 100;

/** The smallest step of 1, 2 or 5 × 10^k (at least 1: counts are whole) that is ≥ `raw`. */
export function niceStep(raw) {
  if (!(raw > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) {
    const step = factor * power;
    // Tolerance for float error at huge magnitudes (raw slightly above an exact step).
    if (step >= raw * (1 - 1e-12)) return step;
  }
  return 10 * power;
}

/** Axis ticks from 0 to a "nice" top ≥ max, about `target` steps; all-zero data gets 0..1. */
export function niceTicks(max, target = 4) {
  const top0 = Number.isFinite(max) && max > 0 ? max : 0;
  if (top0 === 0) return { step: 1, top: 1, ticks: [0, 1] };
  const step = niceStep(top0 / target);
  const top = Math.ceil(top0 / step - 1e-9) * step;
  const ticks = [];
  for (let i = 0; i * step <= top + step / 2; i++) ticks.push(i * step);
  return { step, top, ticks };
}

/** 950 → "950", 1200 → "1.2k", 3400000 → "3.4M", 2e12 → "2T". */
export function compactNumber(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return "—";
  const abs = Math.abs(n);
  /** @type {[number, string][]} */
  const sizes = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
  for (const [size, suffix] of sizes) {
    if (abs >= size) {
      const scaled = n / size;
      const text = abs / size >= 100 ? String(Math.round(scaled)) : String(Math.round(scaled * 10) / 10);
      return `${text}${suffix}`;
    }
  }
  return String(Math.round(n * 10) / 10);
}

/**
 * The geometry of a bar chart. `points`: `[{ value, label?, title? }]` (label: short, for the
 * axis; title: long, for the tooltip). Returns numbers only:
 * `{ width, height, plot: {x, y, width, height}, max, top, total, bars, ticks, labels }`.
 */
export function layoutBars(points, size = DEFAULT_SIZE) {
  const width = size.width ?? DEFAULT_SIZE.width;
  const height = size.height ?? DEFAULT_SIZE.height;
  const values = points.map((point) => {
    const value = Number(point.value);
    return Number.isFinite(value) && value > 0 ? value : 0;
  });
  const max = values.length ? Math.max(...values) : 0;
  const total = values.reduce((sum, value) => sum + value, 0);
  const { top, ticks } = niceTicks(max);
  const tickTexts = ticks.map(compactNumber);
  const left = Math.max(...tickTexts.map((text) => text.length)) * CHAR_WIDTH + 8;
  const plot = { x: left, y: TOP, width: width - left - RIGHT, height: height - TOP - BOTTOM };
  const baseline = plot.y + plot.height;
  const n = Math.max(values.length, 1);
  const slot = plot.width / n;
  const barWidth = Math.max(1, Math.min(MAX_BAR_WIDTH, slot * 0.72));

  const bars = values.map((value, index) => {
    const barHeight = (value / top) * plot.height;
    return {
      index,
      value,
      label: points[index].label ?? "",
      title: points[index].title ?? points[index].label ?? "",
      x: round2(plot.x + index * slot + (slot - barWidth) / 2),
      y: round2(baseline - barHeight),
      width: round2(barWidth),
      height: round2(barHeight),
      // The whole column, so a zero bar can still be hovered.
      slotX: round2(plot.x + index * slot),
      slotWidth: round2(slot),
    };
  });

  const yTicks = ticks.map((value, index) => ({
    value,
    text: tickTexts[index],
    y: round2(baseline - (value / top) * plot.height),
  }));

  // X labels: every k-th bucket so that the widest label fits in its share of the axis.
  const widest = Math.max(1, ...points.map((point) => String(point.label ?? "").length));
  const room = widest * CHAR_WIDTH + 6;
  const every = Math.max(1, Math.ceil(room / slot));
  const labels = [];
  for (let index = 0; index < values.length; index += every) {
    const text = String(points[index].label ?? "");
    if (text) labels.push({ index, text, x: round2(plot.x + (index + 0.5) * slot), y: height - 6 });
  }

  return { width, height, plot, max, top, total, bars, ticks: yTicks, labels };
}

/** The SVG of a layout. `summary` becomes the aria-label (what a screen reader announces). */
export function renderBarChart(layout, { summary = "", className = "chart" } = {}) {
  const { plot } = layout;
  const baseline = plot.y + plot.height;
  return s(
    "svg",
    {
      class: className,
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      preserveAspectRatio: "xMidYMid meet",
      role: "img",
      "aria-label": summary,
      focusable: "false",
    },
    s(
      "g",
      { class: "chart-grid", "aria-hidden": "true" },
      layout.ticks.map((tick) =>
        s(
          "g",
          { class: "chart-tick" },
          s("line", { x1: plot.x, x2: plot.x + plot.width, y1: tick.y, y2: tick.y }),
          s("text", { x: plot.x - 4, y: tick.y, "text-anchor": "end", "dominant-baseline": "middle", "font-size": FONT_SIZE }, tick.text),
        ),
      ),
    ),
    s(
      "g",
      { class: "chart-bars" },
      layout.bars.map((bar) =>
        s(
          "g",
          { class: "chart-bar", "data-index": bar.index, "data-value": bar.value },
          s("title", {}, `${bar.title}: ${bar.value.toLocaleString("en-US")}`),
          s("rect", { class: "bar-hit", x: bar.slotX, y: plot.y, width: bar.slotWidth, height: plot.height }),
          s("rect", { class: "bar", x: bar.x, y: bar.y, width: bar.width, height: bar.height, rx: Math.min(2, bar.width / 4) }),
        ),
      ),
    ),
    s("line", { class: "chart-axis", x1: plot.x, x2: plot.x + plot.width, y1: baseline, y2: baseline, "aria-hidden": "true" }),
    s(
      "g",
      { class: "chart-labels", "aria-hidden": "true" },
      layout.labels.map((label) =>
        s("text", { x: label.x, y: label.y, "text-anchor": "middle", "font-size": FONT_SIZE }, label.text),
      ),
    ),
  );
}

// ---------------------------------------------------------------- bucket labels

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/**
 * Reads the wall-clock parts of an ISO time with an offset ("2026-03-29T03:00:00+02:00") as
 * written — the server already converted it to the requested zone, so no Date conversion (which
 * would use the browser's zone) is involved.
 */
export function localParts(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(String(iso));
  if (!match) return null;
  const [year, month, day, hour, minute] = match.slice(1).map(Number);
  // The weekday of a calendar date does not depend on the zone.
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return { year, month, day, hour, minute, weekday };
}

const pad = (value) => String(value).padStart(2, "0");

/** `{ short, long }` labels of a bucket starting at local time `iso`, for a bucket `unit`. */
export function bucketLabel(iso, unit) {
  const p = localParts(iso);
  if (!p) return { short: String(iso), long: String(iso) };
  const date = `${p.day} ${MONTHS[p.month - 1]} ${p.year}`;
  switch (unit) {
    case "hour":
      return { short: `${pad(p.hour)}:${pad(p.minute)}`, long: `${WEEKDAYS[p.weekday]} ${date}, ${pad(p.hour)}:${pad(p.minute)}` };
    case "day":
      return { short: `${p.day} ${MONTHS[p.month - 1]}`, long: `${WEEKDAYS[p.weekday]} ${date}` };
    case "week":
      return { short: `${p.day} ${MONTHS[p.month - 1]}`, long: `Week of ${WEEKDAYS[p.weekday]} ${date}` };
    case "month":
      return { short: MONTHS[p.month - 1], long: `${MONTHS[p.month - 1]} ${p.year}` };
    default:
      return { short: date, long: date };
  }
}
