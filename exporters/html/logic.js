'use strict';
/* logic.js - the dashboard's pure logic: formatting of figures, table
 * sorting, filtering and paging, the timeline's scales, the flame graph's
 * tree and layout, the task tree's order, the leak classes' order and
 * filter. Nothing here touches the page or the report's data block:
 * dashboard.js (which follows this file in the page's one script) draws
 * with it, and tests/web/logic.test.js runs it under node --test. */
const MSLogic = (function () {

/* ---- formatting ------------------------------------------------------------ */
const isNum = v => typeof v === 'number' && isFinite(v);
/* 1234567 -> "1,234,567" */
function int(v) { return isNum(v) ? Math.round(v).toLocaleString('en-US') : 'not measured'; }
/* bytes in binary units: 1536 -> "1.5 KiB" */
function human(v) {
  if (!isNum(v)) return 'not measured';
  const a = Math.abs(v), u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  if (a < 1024) return Math.round(v) + ' B';
  let i = 0, x = a;
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return (v < 0 ? '-' : '') + parseFloat(x.toFixed(x < 10 ? 2 : 1)) + ' ' + u[i];
}
/* nanoseconds: 1500 -> "1.5 µs" */
function dur(ns) {
  if (!isNum(ns)) return 'not measured';
  const f = (x, d) => parseFloat(x.toFixed(d));
  if (ns < 1e3) return Math.round(ns) + ' ns';
  if (ns < 1e6) return f(ns / 1e3, 1) + ' \u00b5s';
  if (ns < 1e9) return f(ns / 1e6, ns < 1e7 ? 2 : 1) + ' ms';
  return f(ns / 1e9, ns < 1e10 ? 3 : 1) + ' s';
}
/* a fraction as a percentage: 0.1234 -> "12.3%" */
const pct = x => isNum(x) ? (100 * x).toFixed(1) + '%' : 'not measured';
/* a path's last component */
const base = p => p == null ? null : String(p).replace(/^.*\//, '');
const str = (v, none) => v != null && v !== '' ? String(v) : none;

/* ---- tables ---------------------------------------------------------------- */
/* rows sorted by get (dir 1 ascending, -1 descending), ties by row id */
function sortRows(rows, get, dir) {
  return rows.slice().sort((a, b) => { const x = get(a), y = get(b);
    return (x < y ? -1 : x > y ? 1 : 0) * dir || (a.id || 0) - (b.id || 0); });
}
/* the rows whose search text holds q (trimmed, any case); all for an empty q */
function filterRows(rows, search, q) {
  q = q.trim().toLowerCase();
  return q ? rows.filter(r => search(r).indexOf(q) >= 0) : rows;
}
/* a click on column i: the same column flips, a new one starts descending
 * for numbers and ascending for text */
function nextSort(col, dir, i, num) { return { col: i, dir: col === i ? -dir : (num ? -1 : 1) }; }
/* page (clamped) of n rows, size a page: its bounds [start, end) */
function pageOf(n, page, size) {
  const pages = Math.max(1, Math.ceil(n / size));
  page = Math.min(Math.max(page, 0), pages - 1);
  return { page: page, pages: pages, start: page * size, end: Math.min(n, page * size + size) };
}
/* "Rows 1–100 of 250 (filtered from 900)" */
function rowsInfo(start, shown, n, total) {
  return n ? 'Rows ' + int(start + 1) + '\u2013' + int(start + shown) + ' of ' + int(n) +
    (n !== total ? ' (filtered from ' + int(total) + ')' : '') : '';
}

/* ---- the timeline's scales ------------------------------------------------- */
/* a round step (1, 2 or 5 times a power of ten) cutting span in about n */
function niceStep(span, n) {
  const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
  return p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10);
}
/* a step of 1, 2 or 5 (or 10, 20, 50...) KiB, MiB... so labels stay round */
function niceBytes(raw) {
  const u = Math.pow(1024, Math.max(0, Math.floor(Math.log(Math.max(raw, 1)) / Math.log(1024))));
  const n = niceStep(raw / u, 1);
  return n > 512 ? 1024 * u : n * u;
}
/* the samples to draw for [v0, v1]: indexes lo..hi, one either side */
function visibleRange(P, v0, v1) {
  let lo = 0;
  while (lo < P.length - 1 && P[lo + 1][0] < v0) lo++;
  let hi = lo;
  while (hi < P.length - 1 && P[hi][0] < v1) hi++;
  return [lo, hi];
}
/* the largest value (at least 1) and the smallest positive one (Infinity if
 * none) of columns keys over samples lo..hi; null values do not count */
function extent(P, lo, hi, keys) {
  let ymax = 1, ymin = Infinity;
  keys.forEach(k => { for (let i = lo; i <= hi; i++) if (isNum(P[i][k])) {
    ymax = Math.max(ymax, P[i][k]); if (P[i][k] > 0) ymin = Math.min(ymin, P[i][k]); } });
  return { ymin: ymin, ymax: ymax };
}
/* The y axis for values up to ymax on [top, top + height], bottom up: y(v)
 * and the ticks. Linear: from 0 by a round byte step, the top a little
 * above ymax; log: powers of two from ymin's, at most about 7 ticks. */
function yScale(ymin, ymax, log, top, height) {
  const ticks = [];
  let y;
  if (log) {
    const a = Math.floor(Math.log2(ymin < Infinity ? ymin : 1)), b = Math.max(a + 1, Math.ceil(Math.log2(ymax)));
    const st = Math.max(1, Math.ceil((b - a) / 6));
    y = v => top + height - (Math.log2(Math.max(v, Math.pow(2, a))) - a) / (b - a) * height;
    for (let e = a; e <= b; e += st) ticks.push(Math.pow(2, e));
  } else {
    const step = niceBytes(ymax / 5), max = Math.ceil(ymax * 1.04 / step) * step;
    y = v => top + height - v / max * height;
    for (let v = 0; v <= max + 1e-9; v += step) ticks.push(v);
  }
  return { y: y, ticks: ticks };
}
/* the x axis: time t0..t1 (ns) on [left, left + width] */
function xScale(t0, t1, left, width) { return t => left + (t - t0) / (t1 - t0) * width; }
/* times of the time axis's ticks over [v0, v1]: round milliseconds, about 8 */
function timeTicks(v0, v1) {
  const ts = niceStep((v1 - v0) / 1e6, 8) * 1e6, out = [];
  for (let t = Math.ceil(v0 / ts) * ts; t <= v1; t += ts) out.push(t);
  return out;
}
/* the index in lo..hi of the sample nearest to time t (the later on a tie) */
function nearest(P, lo, hi, t) {
  let i = lo;
  while (i < hi && Math.abs(P[i + 1][0] - t) <= Math.abs(P[i][0] - t)) i++;
  return i;
}
/* the range [v0, v1] zoomed by factor f around t, kept inside [T0, T1] and
 * at least 1 µs wide */
function zoomAt(v0, v1, T0, T1, t, f) {
  const a = Math.max(T0, t - (t - v0) * f);
  let b = Math.min(T1, t + (v1 - t) * f);
  if (b - a < 1e3) b = a + 1e3;
  return [a, b];
}

/* ---- the flame graph ------------------------------------------------------- */
/* Sites' stacks (innermost frame first) merged into one tree, outermost at
 * the root, by keyOf(frame); each node's v is the sum of its sites'
 * s[weight] (sites with none are left out). */
function flameTree(sites, weight, keyOf, nameOf) {
  const root = { name: 'all sites', fi: -1, v: 0, kids: new Map(), depth: 0 };
  sites.forEach(s => {
    const w = s[weight];
    if (!(w > 0)) return;
    root.v += w;
    let n = root;
    for (let k = s.frames.length - 1; k >= 0; k--) {
      const fi = s.frames[k], key = keyOf(fi);
      let c = n.kids.get(key);
      if (!c) { c = { name: nameOf(fi), fi: fi, v: 0, kids: new Map(), parent: n }; n.kids.set(key, c); }
      c.v += w; n = c;
    }
  });
  return root;
}
/* The rectangles [node, x, depth] of the tree under z drawn width pixels
 * wide, breadth first, children by weight left to right; a child under a
 * pixel, or past max rectangles, is not drawn but counted in hidden. */
function flameLayout(z, width, max) {
  const sc = width / z.v, q = [[z, 0, 0]], rects = [];
  let hidden = 0, depth = 0;
  for (let qi = 0; qi < q.length; qi++) {
    const [n, x, d] = q[qi];
    if (rects.length >= max) { hidden++; continue; }
    rects.push([n, x, d]); depth = Math.max(depth, d);
    let cx = x;
    [...n.kids.values()].sort((a, b) => b.v - a.v).forEach(c => {
      const w = c.v * sc; if (w >= 1) q.push([c, cx, d + 1]); else hidden++; cx += w; });
  }
  return { rects: rects, hidden: hidden, depth: depth, scale: sc };
}
/* a stable number from a string, for a frame's colour */
function hue(s) { let x = 0; for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) | 0; return Math.abs(x); }
/* a warm colour of its own for each function name */
function flameColor(name) {
  const x = hue(name);
  return 'hsl(' + (x % 40 + 8) + ',' + (72 + x % 18) + '%,' + (66 + x % 12) + '%)';
}
/* name cut to fit a frame w pixels wide (about 6.6 a character), or null
 * when under 3 characters fit */
function fitLabel(name, w) {
  const chars = Math.floor((w - 6) / 6.6);
  if (chars < 3) return null;
  return name.length > chars ? name.slice(0, chars - 1) + '\u2026' : name;
}

/* ---- tasks ------------------------------------------------------------------- */
const TK = { id: 0, parent: 1, name: 2, ended: 3, threads: 4, begin: 5, end: 6, allocs: 7, frees: 8, bytes: 9, freed: 10, live: 11, peak: 12 };
/* Tasks in tree order, each child after its parent at depth + 1, siblings
 * in report order; a task whose parent is not in the list is a root, and
 * one left over (a cycle) comes last at depth 0. */
function taskRows(tasks) {
  const byId = new Map(), kids = new Map(), out = [], seen = new Set();
  tasks.forEach(t => byId.set(t[TK.id], t));
  tasks.forEach(t => { const p = byId.has(t[TK.parent]) ? t[TK.parent] : 0;
    if (!kids.has(p)) kids.set(p, []); kids.get(p).push(t); });
  const stack = (kids.get(0) || []).slice().reverse().map(t => [t, 0]);
  while (stack.length) {
    const [t, d] = stack.pop();
    if (seen.has(t)) continue;
    seen.add(t); out.push({ t: t, depth: d, id: out.length });
    (kids.get(t[TK.id]) || []).slice().reverse().forEach(c => stack.push([c, d + 1]));
  }
  tasks.forEach(t => { if (!seen.has(t)) out.push({ t: t, depth: 0, id: out.length }); });
  return out;
}

/* ---- leak classes ------------------------------------------------------------ */
/* the classes by reachability, the most severe first, as the data block
 * orders them ([blocks, bytes] each, or null: not measured) */
const LEAK_CLASSES = ['definitely_lost', 'indirectly_lost', 'possibly_lost', 'still_reachable'];
const leakLabel = c => LEAK_CLASSES[c].replace('_', ' ');
/* a site's class: the most severe one holding any of its blocks; -1 when
 * not measured or none */
function leakClass(cls) {
  if (!cls) return -1;
  for (let c = 0; c < cls.length; c++) if (cls[c][0] > 0) return c;
  return -1;
}
/* the sort key of the leaks table: the most severe class first, then more
 * bytes first; not measured sorts by bytes alone (keys ascend) */
function leakKey(cls, bytes) {
  const c = leakClass(cls), b = Math.min(Math.max(bytes, 0), 2 ** 48 - 1);
  return (c < 0 ? LEAK_CLASSES.length : c) * 2 ** 48 + (2 ** 48 - 1 - b);
}
/* is a site shown when the classes on[c] are chosen? One with a block in
 * a chosen class is; all are when the classes were not measured */
function leakShown(cls, on) {
  if (!cls) return true;
  return cls.some((x, c) => on[c] && x[0] > 0);
}

/* ---- histograms ---------------------------------------------------------------- */
/* buckets [lo, hi, count] without the empty ones at either end */
function trim(list) {
  let a = 0, b = list.length - 1;
  while (a <= b && !list[a][2]) a++;
  while (b >= a && !list[b][2]) b--;
  return list.slice(a, b + 1);
}
/* a size bucket [lo, hi] (bytes, hi inclusive) as a label */
const sizeLabel = b => b[0] === b[1] ? human(b[0]) : human(b[0]) + ' \u2013 ' + human(b[1] + 1);
/* a lifetime bucket [lo, hi] (ms, hi exclusive, null for no bound) as a label */
const lifeLabel = b => b[1] == null ? '\u2265 ' + dur(b[0] * 1e6) : b[0] === 0 ? '< 1 ms' : b[0] + ' \u2013 ' + b[1] + ' ms';

return { isNum, int, human, dur, pct, base, str, sortRows, filterRows, nextSort, pageOf, rowsInfo,
  niceStep, niceBytes, visibleRange, extent, yScale, xScale, timeTicks, nearest, zoomAt,
  flameTree, flameLayout, hue, flameColor, fitLabel, TK, taskRows, trim, sizeLabel, lifeLabel,
  LEAK_CLASSES, leakLabel, leakClass, leakKey, leakShown };
})();
if (typeof module === 'object' && module) module.exports = MSLogic;
