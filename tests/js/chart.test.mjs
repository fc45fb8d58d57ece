// Unit tests of the chart layout (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  bucketLabel,
  compactNumber,
  layoutBars,
  localParts,
  niceStep,
  niceTicks,
} from "../../src/aiclone/dashboard/static/js/chart.js";

const points = (values) => values.map((value, i) => ({ value, label: `b${i}`, title: `bucket ${i}` }));

test("nice steps are 1, 2 or 5 times a power of ten, and never below 1", () => {
  assert.equal(niceStep(0), 1);
  assert.equal(niceStep(0.3), 1);
  assert.equal(niceStep(1), 1);
  assert.equal(niceStep(1.2), 2);
  assert.equal(niceStep(3), 5);
  assert.equal(niceStep(7), 10);
  assert.equal(niceStep(10), 10);
  assert.equal(niceStep(11), 20);
  assert.equal(niceStep(450), 500);
  assert.equal(niceStep(2.5e11), 5e11);
});

test("ticks start at zero, end at or above the maximum, and are evenly spaced", () => {
  assert.deepEqual(niceTicks(0), { step: 1, top: 1, ticks: [0, 1] });
  assert.deepEqual(niceTicks(1), { step: 1, top: 1, ticks: [0, 1] });
  assert.deepEqual(niceTicks(3), { step: 1, top: 3, ticks: [0, 1, 2, 3] });
  assert.deepEqual(niceTicks(5), { step: 2, top: 6, ticks: [0, 2, 4, 6] });
  assert.deepEqual(niceTicks(100), { step: 50, top: 100, ticks: [0, 50, 100] });
  assert.deepEqual(niceTicks(101), { step: 50, top: 150, ticks: [0, 50, 100, 150] });
  for (const max of [2, 7, 13, 99, 1234, 98765, 3e9, 7.7e14]) {
    const { step, top, ticks } = niceTicks(max);
    assert.equal(ticks[0], 0);
    assert.ok(top >= max, `top ${top} < max ${max}`);
    assert.ok(top - step < max, `one step too many for ${max}`);
    assert.ok(ticks.length >= 2 && ticks.length <= 6, `${ticks.length} ticks for ${max}`);
    assert.equal(ticks.at(-1), top);
  }
  assert.deepEqual(niceTicks(Number.NaN), { step: 1, top: 1, ticks: [0, 1] });
});

test("compact numbers keep axis labels short", () => {
  assert.equal(compactNumber(0), "0");
  assert.equal(compactNumber(950), "950");
  assert.equal(compactNumber(1200), "1.2k");
  assert.equal(compactNumber(150_000), "150k");
  assert.equal(compactNumber(3_400_000), "3.4M");
  assert.equal(compactNumber(2e12), "2T");
  assert.equal(compactNumber(Infinity), "—");
});

test("one bar per bucket; the tallest bar is the largest value and fills the plot", () => {
  const layout = layoutBars(points([0, 2, 5, 1, 0, 0, 3]));
  assert.equal(layout.bars.length, 7);
  assert.equal(layout.total, 11);
  assert.equal(layout.max, 5);
  assert.equal(layout.top, 6);
  const tallest = layout.bars.reduce((a, b) => (b.height > a.height ? b : a));
  assert.equal(tallest.index, 2);
  assert.equal(tallest.title, "bucket 2");
  const baseline = layout.plot.y + layout.plot.height;
  for (const bar of layout.bars) {
    // Every bar stands on the baseline, inside the plot, left to right without overlap.
    assert.ok(Math.abs(bar.y + bar.height - baseline) < 0.02);
    assert.ok(bar.x >= layout.plot.x && bar.x + bar.width <= layout.plot.x + layout.plot.width + 0.01);
    assert.ok(bar.height >= 0);
  }
  for (let i = 1; i < layout.bars.length; i++) {
    assert.ok(layout.bars[i].x >= layout.bars[i - 1].x + layout.bars[i - 1].width);
  }
  // Heights are proportional to values.
  assert.ok(Math.abs(layout.bars[1].height / layout.bars[2].height - 2 / 5) < 0.01);
  assert.equal(layout.bars[0].height, 0);
  // Ticks go bottom (0, at the baseline) to top (the plot's top edge).
  assert.equal(layout.ticks[0].y, baseline);
  assert.equal(layout.ticks.at(-1).y, layout.plot.y);
});

test("all-zero data draws flat bars on a 0..1 axis", () => {
  const layout = layoutBars(points(new Array(24).fill(0)));
  assert.equal(layout.bars.length, 24);
  assert.equal(layout.total, 0);
  assert.deepEqual(layout.ticks.map((tick) => tick.value), [0, 1]);
  assert.ok(layout.bars.every((bar) => bar.height === 0 && Number.isFinite(bar.y)));
  // Zero bars still have a hover column.
  assert.ok(layout.bars.every((bar) => bar.slotWidth > 0));
});

test("one bucket is one bar of bounded width, centred", () => {
  const layout = layoutBars(points([4]));
  assert.equal(layout.bars.length, 1);
  const [bar] = layout.bars;
  assert.ok(bar.width <= 36);
  const centre = bar.x + bar.width / 2;
  assert.ok(Math.abs(centre - (layout.plot.x + layout.plot.width / 2)) < 0.02);
  assert.equal(bar.y, layout.plot.y);
  assert.equal(layout.labels.length, 1);
});

test("huge numbers fit: compact tick labels, a wider left margin, finite coordinates", () => {
  const small = layoutBars(points([1, 2, 3]));
  const huge = layoutBars(points([1e12, 4.5e12, 2e11]));
  assert.ok(huge.ticks.every((tick) => tick.text.length <= 4), JSON.stringify(huge.ticks));
  assert.ok(huge.plot.x > small.plot.x);
  assert.ok(huge.plot.x < huge.width / 4);
  for (const bar of huge.bars) {
    for (const key of ["x", "y", "width", "height"]) assert.ok(Number.isFinite(bar[key]));
  }
  assert.equal(huge.bars[1].y, huge.plot.y + huge.plot.height - huge.bars[1].height);
});

test("x labels thin out so they never overlap", () => {
  const values = new Array(30).fill(1);
  const layout = layoutBars(values.map((value, i) => ({ value, label: `${i + 1} Nov` })));
  assert.ok(layout.labels.length < 30);
  assert.ok(layout.labels.length >= 3);
  assert.equal(layout.labels[0].index, 0);
  for (let i = 1; i < layout.labels.length; i++) {
    const gap = layout.labels[i].x - layout.labels[i - 1].x;
    assert.ok(gap >= "30 Nov".length * 6, `labels ${i - 1} and ${i} are ${gap} apart`);
  }
  // A week of days fits every label.
  assert.equal(layoutBars(points(new Array(7).fill(1))).labels.length, 7);
});

test("negative, missing and non-numeric values count as zero", () => {
  const layout = layoutBars([{ value: -3 }, { value: null }, { value: "x" }, { value: 2 }]);
  assert.deepEqual(layout.bars.map((bar) => bar.value), [0, 0, 0, 2]);
  assert.equal(layout.total, 2);
  assert.equal(layoutBars([]).bars.length, 0);
});

test("bucket labels read the server's local time as written, whatever the browser's zone", () => {
  assert.deepEqual(localParts("2026-03-29T03:00:00+02:00"), {
    year: 2026, month: 3, day: 29, hour: 3, minute: 0, weekday: 0,
  });
  assert.equal(localParts("nonsense"), null);
  assert.deepEqual(bucketLabel("2026-11-03T14:00:00+01:00", "hour"), { short: "14:00", long: "Tue 3 Nov 2026, 14:00" });
  assert.deepEqual(bucketLabel("2026-11-03T00:00:00+01:00", "day"), { short: "3 Nov", long: "Tue 3 Nov 2026" });
  assert.deepEqual(bucketLabel("2026-11-02T00:00:00+01:00", "week"), { short: "2 Nov", long: "Week of Mon 2 Nov 2026" });
  assert.deepEqual(bucketLabel("2026-11-01T00:00:00-05:00", "month"), { short: "Nov", long: "Nov 2026" });
  assert.deepEqual(bucketLabel("2026-11-01T05:45:00+05:45", "hour").short, "05:45");
});
