'use strict';
/* logic.test.js - the dashboard's pure logic (exporters/html/logic.js) under
 * node --test, without a browser; tests/integration/dashboard_logic.sh runs
 * it in make check. The page as a person sees it is report_html.sh's. */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const SRC = path.join(__dirname, '..', '..', 'exporters', 'html');
const L = require(path.join(SRC, 'logic.js'));

test('int: thousands separated, rounded, "not measured" for no number', () => {
  assert.equal(L.int(0), '0');
  assert.equal(L.int(1234567), '1,234,567');
  assert.equal(L.int(-4096), '-4,096');
  assert.equal(L.int(2.5), '3');
  for (const v of [null, undefined, NaN, Infinity, '12'])
    assert.equal(L.int(v), 'not measured');
});

test('human: bytes in binary units', () => {
  assert.equal(L.human(0), '0 B');
  assert.equal(L.human(1023), '1023 B');
  assert.equal(L.human(1024), '1 KiB');
  assert.equal(L.human(1536), '1.5 KiB');
  assert.equal(L.human(1024 * 1.234), '1.23 KiB');      /* two decimals under 10 */
  assert.equal(L.human(12.34 * 1024), '12.3 KiB');      /* one from 10 up */
  assert.equal(L.human(5 * 1024 * 1024), '5 MiB');
  assert.equal(L.human(3 * 2 ** 40), '3 TiB');
  assert.equal(L.human(2 ** 60), '1024 PiB');           /* no unit past PiB */
  assert.equal(L.human(-2048), '-2 KiB');
  assert.equal(L.human(-100), '-100 B');
  assert.equal(L.human(null), 'not measured');
  assert.equal(L.human(NaN), 'not measured');
});

test('dur: nanoseconds to the unit that reads best', () => {
  assert.equal(L.dur(0), '0 ns');
  assert.equal(L.dur(999), '999 ns');
  assert.equal(L.dur(1500), '1.5 \u00b5s');
  assert.equal(L.dur(999949), '999.9 \u00b5s');
  assert.equal(L.dur(2.5e6), '2.5 ms');
  assert.equal(L.dur(1.234e6), '1.23 ms');               /* two decimals under 10 ms */
  assert.equal(L.dur(12.34e6), '12.3 ms');
  assert.equal(L.dur(1.5e9), '1.5 s');
  assert.equal(L.dur(1.2345e9), '1.234 s');              /* three under 10 s */
  assert.equal(L.dur(12e9), '12 s');
  assert.equal(L.dur(undefined), 'not measured');
});

test('pct, base, str', () => {
  assert.equal(L.pct(0.1234), '12.3%');
  assert.equal(L.pct(1), '100.0%');
  assert.equal(L.pct(null), 'not measured');
  assert.equal(L.base('/usr/lib/libc.so.6'), 'libc.so.6');
  assert.equal(L.base('prog'), 'prog');
  assert.equal(L.base(null), null);
  assert.equal(L.str('', '(unnamed)'), '(unnamed)');
  assert.equal(L.str(null, '?'), '?');
  assert.equal(L.str(0, '?'), '0');
});

const rows = [{ id: 1, v: 5, n: 'beta' }, { id: 2, v: 9, n: 'Alpha' }, { id: 3, v: 5, n: 'gamma' },
  { id: 4, v: 1, n: 'alphabet' }];

test('sortRows: by a column either way, ties by id, the input left alone', () => {
  const ids = r => r.map(x => x.id);
  assert.deepEqual(ids(L.sortRows(rows, r => r.v, -1)), [2, 1, 3, 4]);
  assert.deepEqual(ids(L.sortRows(rows, r => r.v, 1)), [4, 1, 3, 2]);
  assert.deepEqual(ids(L.sortRows(rows, r => r.n.toLowerCase(), 1)), [2, 4, 1, 3]);
  assert.deepEqual(ids(rows), [1, 2, 3, 4]);
});

test('filterRows: trimmed, any case, all rows for an empty query', () => {
  const s = r => r.n.toLowerCase();
  assert.deepEqual(L.filterRows(rows, s, '  ALPHA ').map(r => r.id), [2, 4]);
  assert.deepEqual(L.filterRows(rows, s, 'zzz'), []);
  assert.equal(L.filterRows(rows, s, '   '), rows);
});

test('nextSort: a new column starts descending for numbers, ascending for text; the same flips', () => {
  assert.deepEqual(L.nextSort(-1, -1, 2, 1), { col: 2, dir: -1 });
  assert.deepEqual(L.nextSort(2, -1, 0, 0), { col: 0, dir: 1 });
  assert.deepEqual(L.nextSort(2, -1, 2, 1), { col: 2, dir: 1 });
  assert.deepEqual(L.nextSort(0, 1, 0, 0), { col: 0, dir: -1 });
});

test('pageOf and rowsInfo: pages of 100, clamped', () => {
  assert.deepEqual(L.pageOf(250, 0, 100), { page: 0, pages: 3, start: 0, end: 100 });
  assert.deepEqual(L.pageOf(250, 2, 100), { page: 2, pages: 3, start: 200, end: 250 });
  assert.deepEqual(L.pageOf(250, 7, 100), { page: 2, pages: 3, start: 200, end: 250 });
  assert.deepEqual(L.pageOf(250, -1, 100), { page: 0, pages: 3, start: 0, end: 100 });
  assert.deepEqual(L.pageOf(0, 3, 100), { page: 0, pages: 1, start: 0, end: 0 });
  assert.equal(L.rowsInfo(200, 50, 250, 250), 'Rows 201\u2013250 of 250');
  assert.equal(L.rowsInfo(0, 100, 1500, 20000), 'Rows 1\u2013100 of 1,500 (filtered from 20,000)');
  assert.equal(L.rowsInfo(0, 0, 0, 9), '');
});

test('niceStep and niceBytes: round steps', () => {
  assert.equal(L.niceStep(100, 8), 20);      /* 12.5 -> 20 */
  assert.equal(L.niceStep(80, 8), 10);
  assert.equal(L.niceStep(30, 8), 5);        /* 3.75 -> 5 */
  assert.equal(L.niceStep(0.15, 1), 0.2);
  assert.equal(L.niceBytes(200), 200);
  assert.equal(L.niceBytes(3000), 5 * 1024);                 /* 2.9 KiB -> 5 KiB */
  assert.equal(L.niceBytes(1.5 * 1024 * 1024), 2 * 1024 * 1024);
  assert.equal(L.niceBytes(700 * 1024), 1024 * 1024);        /* past 512 KiB: 1 MiB */
  assert.equal(L.niceBytes(0.2), 0.2);
});

/* samples [t, heap, rss, ...] as in the data block's timeline */
const P = [[0, 100, 4096], [1e6, 300, null], [2e6, 200, 8192], [3e6, 0, 8192], [4e6, 50, 2048]];

test('visibleRange, extent and nearest over the samples', () => {
  assert.deepEqual(L.visibleRange(P, 0, 4e6), [0, 4]);
  assert.deepEqual(L.visibleRange(P, 1.5e6, 2.5e6), [1, 3]);   /* one sample either side */
  assert.deepEqual(L.visibleRange(P, 5e6, 6e6), [4, 4]);
  assert.deepEqual(L.extent(P, 0, 4, [1]), { ymin: 50, ymax: 300 });
  assert.deepEqual(L.extent(P, 0, 4, [1, 2]), { ymin: 50, ymax: 8192 });
  assert.deepEqual(L.extent(P, 1, 1, [2]), { ymin: Infinity, ymax: 1 });   /* null only */
  assert.equal(L.nearest(P, 0, 4, 1.4e6), 1);
  assert.equal(L.nearest(P, 0, 4, 1.5e6), 2);                 /* a tie: the later */
  assert.equal(L.nearest(P, 1, 3, 9e6), 3);
});

test('yScale linear: from 0 by a round step, the top above the maximum', () => {
  const s = L.yScale(50, 1000, false, 10, 200);
  assert.deepEqual(s.ticks, [0, 200, 400, 600, 800, 1000, 1200]);
  assert.equal(s.y(0), 210);
  assert.equal(s.y(1200), 10);
  assert.equal(s.y(600), 110);
  const k = L.yScale(1, 10 * 1024 * 1024, false, 0, 100);
  assert.ok(k.ticks.every(t => t % (1024 * 1024) === 0), 'MiB steps: ' + k.ticks);
});

test('yScale log: powers of two, at most 7 ticks, small values at the bottom', () => {
  const s = L.yScale(100, 5e6, true, 0, 300);
  assert.ok(s.ticks.length <= 7 && s.ticks.length >= 2, String(s.ticks));
  assert.equal(s.ticks[0], 64);
  s.ticks.forEach(t => assert.equal(Math.log2(t) % 1, 0));
  assert.equal(s.y(64), 300);
  assert.equal(s.y(1), 300);                 /* under the first tick: clamped */
  assert.ok(s.y(1e6) < s.y(1e3) && s.y(1e3) < s.y(100));
  const none = L.yScale(Infinity, 1, true, 0, 100);   /* nothing positive */
  assert.deepEqual(none.ticks, [1, 2]);
});

test('xScale and timeTicks: time on the x axis', () => {
  const X = L.xScale(1e6, 3e6, 74, 800);
  assert.equal(X(1e6), 74);
  assert.equal(X(3e6), 874);
  assert.equal(X(2e6), 474);
  assert.deepEqual(L.timeTicks(0, 1e9), [0, 2e8, 4e8, 6e8, 8e8, 1e9]);
  assert.deepEqual(L.timeTicks(3.3e6, 4.9e6), [3.4e6, 3.6e6, 3.8e6, 4e6, 4.2e6, 4.4e6, 4.6e6, 4.8e6].map(x => Math.round(x)));
  assert.deepEqual(L.timeTicks(3.3e6, 7.9e6), [4e6, 5e6, 6e6, 7e6]);
});

test('zoomAt: around the pointer, inside the data, at least 1 us', () => {
  assert.deepEqual(L.zoomAt(0, 1000e3, 0, 1000e3, 500e3, 0.8), [100e3, 900e3]);
  assert.deepEqual(L.zoomAt(100e3, 900e3, 0, 1000e3, 500e3, 1.25), [0, 1000e3]);
  assert.deepEqual(L.zoomAt(0, 1000e3, 0, 1000e3, 0, 0.5), [0, 500e3]);
  assert.deepEqual(L.zoomAt(5000, 5500, 0, 1e6, 5200, 0.8), [5040, 6040]);
});

/* frames: index -> name; sites list their frames innermost first */
const names = ['malloc', 'leaf_a', 'leaf_b', 'mid', 'main', 'other'];
const sites = [
  { id: 1, frames: [0, 1, 3, 4], lbytes: 600, bytes: 1000 },
  { id: 2, frames: [0, 2, 3, 4], lbytes: 300, bytes: 300 },
  { id: 3, frames: [5, 4], lbytes: 100, bytes: 100 },
  { id: 4, frames: [1, 4], lbytes: 0, bytes: 50 },
];
const tree = w => L.flameTree(sites, w, fi => names[fi], fi => names[fi]);

test('flameTree: stacks merged by function, outermost at the root', () => {
  const t = tree('lbytes');
  assert.equal(t.v, 1000);
  assert.deepEqual([...t.kids.keys()], ['main']);
  const main = t.kids.get('main');
  assert.equal(main.v, 1000);
  assert.equal(main.parent, t);
  assert.deepEqual([...main.kids.keys()], ['mid', 'other']);   /* site 4 has no live bytes */
  const mid = main.kids.get('mid');
  assert.equal(mid.v, 900);
  assert.equal(mid.kids.get('leaf_a').v, 600);
  assert.equal(mid.kids.get('leaf_a').kids.get('malloc').v, 600);
  assert.equal(tree('bytes').kids.get('main').kids.get('leaf_a').v, 50);
});

test('flameLayout: widths by weight, heaviest left, narrow frames hidden', () => {
  const t = tree('lbytes');
  const r = L.flameLayout(t, 1000, 3000);
  assert.equal(r.scale, 1);
  assert.equal(r.depth, 4);
  assert.equal(r.hidden, 0);
  const at = name => r.rects.filter(x => x[0].name === name).map(x => [x[1], x[2]]);
  assert.deepEqual(at('all sites'), [[0, 0]]);
  assert.deepEqual(at('main'), [[0, 1]]);
  assert.deepEqual(at('mid'), [[0, 2]]);
  assert.deepEqual(at('other'), [[900, 2]]);
  assert.deepEqual(at('leaf_a'), [[0, 3]]);
  assert.deepEqual(at('leaf_b'), [[600, 3]]);
  /* breadth first: each row after the one above */
  const depths = r.rects.map(x => x[2]);
  assert.deepEqual(depths, depths.slice().sort((a, b) => a - b));
  /* at 4 px for 1000 bytes, "other" (0.4 px) is left out */
  const small = L.flameLayout(t, 4, 3000);
  assert.equal(small.hidden, 1);
  assert.ok(!small.rects.some(x => x[0].name === 'other'));
  /* at most max rectangles; those queued past it counted (their children never queued) */
  const few = L.flameLayout(t, 1000, 3);
  assert.deepEqual(few.rects.map(x => x[0].name), ['all sites', 'main', 'mid']);
  assert.equal(few.hidden, 3);
  /* zoomed into a node: it spans the whole width */
  const z = L.flameLayout(t.kids.get('main').kids.get('mid'), 900, 3000);
  assert.deepEqual(z.rects[0].slice(1), [0, 0]);
  assert.equal(z.scale, 1);
});

test('fitLabel, hue and flameColor', () => {
  assert.equal(fitLabelOf('main', 10), null);
  assert.equal(fitLabelOf('main', 40), 'main');
  assert.equal(fitLabelOf('a_long_function_name', 50), 'a_lon\u2026');
  assert.equal(L.hue('main'), L.hue('main'));
  assert.notEqual(L.hue('main'), L.hue('mian'));
  assert.ok(L.hue('x'.repeat(200)) >= 0);
  assert.match(L.flameColor('main'), /^hsl\((\d+),(\d+)%,(\d+)%\)$/);
  const [, h, s, l] = L.flameColor('operator new').match(/(\d+),(\d+)%,(\d+)%/).map(Number);
  assert.ok(h >= 8 && h < 48 && s >= 72 && s < 90 && l >= 66 && l < 78);
});
function fitLabelOf(n, w) { return L.fitLabel(n, w); }

test('taskRows: the task tree in order, orphans at the top, cycles kept', () => {
  const T = (id, parent, name) => { const t = []; t[L.TK.id] = id; t[L.TK.parent] = parent; t[L.TK.name] = name; return t; };
  const tasks = [T(1, 0, 'a'), T(2, 1, 'a.1'), T(3, 0, 'b'), T(4, 2, 'a.1.x'), T(5, 1, 'a.2'), T(6, 99, 'orphan'),
    T(7, 8, 'c1'), T(8, 7, 'c2')];
  const out = L.taskRows(tasks);
  assert.deepEqual(out.map(r => [r.t[L.TK.name], r.depth]),
    [['a', 0], ['a.1', 1], ['a.1.x', 2], ['a.2', 1], ['b', 0], ['orphan', 0], ['c1', 0], ['c2', 0]]);
  assert.deepEqual(out.map(r => r.id), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(L.taskRows([]), []);
});

test('trim, sizeLabel and lifeLabel: the histograms', () => {
  assert.deepEqual(L.trim([[0, 0, 0], [1, 1, 3], [2, 3, 0], [4, 7, 2], [8, 15, 0]]),
    [[1, 1, 3], [2, 3, 0], [4, 7, 2]]);
  assert.deepEqual(L.trim([[0, 0, 0]]), []);
  assert.equal(L.sizeLabel([0, 0]), '0 B');
  assert.equal(L.sizeLabel([512, 1023]), '512 B \u2013 1 KiB');
  assert.equal(L.lifeLabel([0, 1]), '< 1 ms');
  assert.equal(L.lifeLabel([2, 4]), '2 \u2013 4 ms');
  assert.equal(L.lifeLabel([1024, null]), '\u2265 1.024 s');
});

test('leak classes: a site\u2019s class, the order of the leaks table (definitely lost first), the class filter', () => {
  const C = (d, i, p, r) => [[d, d * 10], [i, i * 10], [p, p * 10], [r, r * 10]];
  assert.deepEqual(L.LEAK_CLASSES, ['definitely_lost', 'indirectly_lost', 'possibly_lost', 'still_reachable']);
  assert.equal(L.leakLabel(0), 'definitely lost');
  assert.equal(L.leakLabel(3), 'still reachable');
  assert.equal(L.leakClass(C(0, 0, 0, 2)), 3);
  assert.equal(L.leakClass(C(1, 9, 0, 2)), 0);                  /* the most severe it holds */
  assert.equal(L.leakClass(C(0, 0, 1, 0)), 2);
  assert.equal(L.leakClass(null), -1);                           /* not measured */
  assert.equal(L.leakClass(C(0, 0, 0, 0)), -1);
  /* sorted ascending by key: definitely lost first, then indirectly, possibly,
   * still reachable, not measured; within a class more bytes first */
  const rows = [
    { id: 1, c: C(0, 0, 0, 1), b: 9e9 }, { id: 2, c: C(1, 0, 0, 0), b: 10 },
    { id: 3, c: C(0, 0, 1, 0), b: 5 }, { id: 4, c: C(2, 0, 0, 0), b: 3000 },
    { id: 5, c: null, b: 1e12 }, { id: 6, c: C(0, 9, 0, 0), b: 1 }, { id: 7, c: C(0, 0, 0, 1), b: 2 ** 60 }];
  const order = L.sortRows(rows, r => L.leakKey(r.c, r.b), 1).map(r => r.id);
  assert.deepEqual(order, [4, 2, 6, 3, 7, 1, 5]);
  /* the filter: a site shows when it holds a block of a chosen class */
  const on = [true, false, false, false];
  assert.deepEqual(rows.filter(r => L.leakShown(r.c, on)).map(r => r.id), [2, 4, 5]);  /* 5: not measured, kept */
  assert.equal(L.leakShown(C(1, 0, 0, 3), [false, false, false, true]), true);
  assert.equal(L.leakShown(C(1, 0, 0, 3), [false, true, true, false]), false);
  assert.equal(L.leakShown(C(0, 0, 0, 0), [true, true, true, true]), false);
});

test('the page script: logic.js then dashboard.js parse as one script, one global', () => {
  const mk = fs.readFileSync(path.join(__dirname, '..', '..', 'GNUmakefile'), 'utf8');
  const files = mk.match(/^HTML_JS\s*:=\s*(.*)$/m)[1].trim().split(/\s+/);
  assert.deepEqual(files.map(f => path.basename(f)), ['logic.js', 'dashboard.js']);
  const code = files.map(f => fs.readFileSync(path.join(__dirname, '..', '..', f), 'utf8')).join('');
  assert.doesNotThrow(() => new vm.Script(code, { filename: 'page.js' }));
  /* logic.js alone, as a browser runs it (no module): defines MSLogic, touches nothing */
  const ctx = vm.createContext({});
  vm.runInContext(fs.readFileSync(path.join(SRC, 'logic.js'), 'utf8') + ';this.L = MSLogic;', ctx);
  assert.equal(ctx.L.human(1536), '1.5 KiB');
  assert.deepEqual(Object.keys(ctx).sort(), ['L']);
});
