'use strict';
/* dashboard.js - the HTML report's script: reads the data block and draws
 * every panel, with the pure logic of logic.js (which comes first in the
 * page's script). */
(function () {
const { isNum, int, human, dur, pct, base, str, sortRows, filterRows, nextSort, pageOf, rowsInfo,
  niceBytes, visibleRange, extent, yScale, xScale, timeTicks, nearest, zoomAt,
  flameTree, flameLayout, flameColor, fitLabel, TK, taskRows, trim, sizeLabel, lifeLabel,
  LEAK_CLASSES, leakLabel, leakClass, leakKey, leakShown } = MSLogic;
/* Every string that came from the traced program reaches the page as a
 * text node or an attribute set with setAttribute, never as markup. */
const PAGE = 100, FLAME_MAX = 3000, ROW_H = 18;
/* the SVG namespace as the HTML parser names it: the file holds no URL */
const SVGNS = (() => { const d = document.createElement('div');
  d.innerHTML = '<svg></svg>'; return d.firstChild.namespaceURI; })();
const S = { id: 0, allocs: 1, bytes: 2, frees: 3, freed: 4, lblocks: 5, lbytes: 6,
  temps: 7, first: 8, frames: 9, life: 10, classes: 11, supp: 12 };
const F = { func: 0, file: 1, line: 2, mod: 3, addr: 4 };
const COLORS = { heap: '#2f6fde', rss: '#e07b24', res: '#2a9d6f' };
let D, EST, tip, app, toc, sites, frameKeys;

function add(e, ...ks) {
  ks.forEach(k => {
    if (k == null || k === false) return;
    if (Array.isArray(k)) k.forEach(c => add(e, c));
    else e.appendChild(typeof k === 'object' ? k : document.createTextNode(String(k)));
  });
}
function attrs(e, a) {
  for (const n in a || {}) {
    const v = a[n];
    if (v == null) continue;
    if (n === 'on') for (const ev in v) e.addEventListener(ev, v[ev], ev === 'wheel' ? { passive: false } : false);
    else if (n === 'cls') e.setAttribute('class', v);
    else e.setAttribute(n, v);
  }
  return e;
}
function h(tag, a, ...kids) { const e = attrs(document.createElement(tag), a); add(e, kids); return e; }
function sv(tag, a, ...kids) { const e = attrs(document.createElementNS(SVGNS, tag), a); add(e, kids); return e; }
function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }

const NM = () => h('span', { cls: 'nm' }, 'not measured');
const est = s => EST ? '\u2248 ' + s : s;
const mval = (v, f) => isNum(v) ? f(v) : NM();

function showTip(ev, lines) {
  clear(tip);
  lines.forEach((l, i) => add(tip, [i ? h('br') : null, i === 0 ? h('b', null, l) : l]));
  tip.style.display = 'block';
  const w = tip.offsetWidth, x = ev.clientX + 14;
  tip.style.left = Math.max(4, x + w > innerWidth ? ev.clientX - w - 14 : x) + 'px';
  tip.style.top = (ev.clientY + 14) + 'px';
}
const hideTip = () => { tip.style.display = 'none'; };

/* ---- frames and sites ---------------------------------------------------- */
function frame(fi) { return D.frames[fi] || [null, null, 0, null, '?']; }
function moduleOf(f) { const m = f[F.mod]; return typeof m === 'number' ? D.modules[m] : m; }
function fname(fi) {
  const f = frame(fi);
  return f[F.func] != null ? f[F.func] : f[F.addr] + (moduleOf(f) ? ' in ' + base(moduleOf(f)) : '');
}
function floc(fi) {
  const f = frame(fi);
  if (f[F.file] != null) return f[F.file] + (f[F.line] > 0 ? ':' + f[F.line] : '');
  return moduleOf(f) != null ? base(moduleOf(f)) : '';
}
function siteObj(a) {
  const fr = a[S.frames], m = Math.min(a[S.first], Math.max(fr.length - 1, 0));
  return { id: a[S.id], allocs: a[S.allocs], bytes: a[S.bytes], frees: a[S.frees],
    freed: a[S.freed], lblocks: a[S.lblocks], lbytes: a[S.lbytes], temps: a[S.temps],
    frames: fr, life: a[S.life], classes: a[S.classes] || null, supp: a[S.supp] === 1, top: fr.length ? fr[m] : -1, key: null };
}
const siteFn = s => s.top < 0 ? '(no frames)' : fname(s.top);
const siteLoc = s => s.top < 0 ? '' : floc(s.top);
function siteKey(s) {
  if (s.key == null)
    s.key = s.frames.map(fi => fname(fi) + ' ' + floc(fi) + ' ' + (moduleOf(frame(fi)) || ''))
      .join('\n').toLowerCase();
  return s.key;
}
function stackList(frames) {
  if (!frames.length) return h('div', { cls: 'empty' }, 'No frames were recorded.');
  return h('ol', { cls: 'stack' }, frames.map((fi, i) => h('li', null,
    h('span', { cls: 'i' }, '#' + i), h('span', { cls: 'fn' }, fname(fi)), '  ',
    h('span', { cls: 'loc' }, floc(fi)))));
}
function fnCell(s) { return [h('div', { cls: 'fn' }, siteFn(s)), h('div', { cls: 'loc' }, siteLoc(s))]; }

/* ---- tables: sortable, searchable, 100 rows a page ---------------------- */
function table(o) {
  const wrap = h('div'), body = h('tbody'), info = h('span'), open = new Set();
  let rows = o.rows, page = 0, col = o.sort != null ? o.sort : -1, dir = o.dir || -1, timer = 0, query = '';
  const prev = h('button', { on: { click: () => { page--; draw(); } } }, '\u2039 Previous');
  const next = h('button', { on: { click: () => { page++; draw(); } } }, 'Next \u203a');
  const heads = o.cols.map((c, i) => h('th', { cls: (c.num ? 'num ' : '') + (c.get && o.sortable !== false ? 'sort' : ''),
    on: { click: () => { if (!c.get || o.sortable === false) return;
      ({ col, dir } = nextSort(col, dir, i, c.num)); page = 0; order(); draw(); } } }, c.label));
  function order() { if (col >= 0) rows = sortRows(rows, o.cols[col].get, dir); }
  /* the rows o.keep keeps (all without it) that hold the search text */
  function filter(q) { query = q; const kept = o.keep ? o.rows.filter(o.keep) : o.rows;
    rows = o.search ? filterRows(kept, o.search, query) : kept; page = 0; order(); draw(); }
  function draw() {
    clear(body);
    const pg = pageOf(rows.length, page, PAGE), pages = pg.pages;
    page = pg.page;
    const part = rows.slice(pg.start, pg.end);
    heads.forEach((th, i) => { th.textContent = o.cols[i].label + (i === col ? (dir < 0 ? ' \u25be' : ' \u25b4') : ''); });
    if (!part.length) body.appendChild(h('tr', null, h('td', { colspan: o.cols.length, cls: 'empty' }, o.empty || 'None.')));
    part.forEach(r => {
      const tr = h('tr', { cls: o.detail ? 'click' : null }, o.cols.map(c => h('td', { cls: c.num ? 'num' : null }, c.cell(r))));
      body.appendChild(tr);
      if (o.detail) {
        const show = () => { const d = h('tr', { cls: 'detail' }, h('td', { colspan: o.cols.length }, o.detail(r)));
          tr.after(d); return d; };
        let d = open.has(r) ? show() : null;
        tr.addEventListener('click', () => { if (d) { d.remove(); d = null; open.delete(r); } else { d = show(); open.add(r); } });
      }
    });
    info.textContent = rowsInfo(pg.start, part.length, rows.length, o.rows.length);
    prev.disabled = page === 0; next.disabled = page >= pages - 1;
  }
  if (o.search) {
    const box = h('input', { type: 'search', placeholder: o.placeholder || 'Search',
      on: { input: () => { clearTimeout(timer); timer = setTimeout(() => filter(box.value), 150); } } });
    add(wrap, h('div', { cls: 'tools' }, box, o.tools || null));
  } else if (o.tools) add(wrap, h('div', { cls: 'tools' }, o.tools));
  add(wrap, [h('div', { cls: 'tbl-wrap' }, h('table', { cls: 't' }, h('thead', null, h('tr', null, heads)), body)),
    h('div', { cls: 'pager' }, prev, next, info)]);
  wrap.refilter = () => filter(query);
  filter('');
  return wrap;
}

/* ---- layout --------------------------------------------------------------- */
function panel(id, title, note) {
  const s = h('section', { cls: 'panel', id: id }, h('h2', null, title), note ? h('p', { cls: 'note' }, note) : null);
  app.appendChild(s);
  toc.appendChild(h('a', { href: '#' + id }, title));
  return s;
}
function card(k, v, s) { return h('div', { cls: 'card' }, h('div', { cls: 'k' }, k), h('div', { cls: 'v' }, v), h('div', { cls: 's' }, s)); }
function kv(pairs) { return h('div', { cls: 'kv' }, pairs.map(p => [h('div', { cls: 'k' }, p[0]), h('div', { cls: 'v' }, p[1])])); }
function bytesFull(v) { return isNum(v) ? human(v) + (Math.abs(v) >= 1024 ? ' (' + int(v) + ' B)' : '') : NM(); }

function header() {
  const hd = document.getElementById('hdr'), sm = D.summary;
  add(hd, h('h1', null, h('span', { cls: 'brand' }, 'memscope'), D.program != null ? D.program : '(unknown program)'));
  const chip = (k, v) => h('span', { cls: 'chip' }, k + ' ', h('b', null, v));
  const start = new Date(Math.floor(D.start_unix_ns / 1e6));
  add(hd, h('div', { cls: 'meta' }, chip('pid', String(D.pid)),
    chip('mode', EST ? 'sampled, 1 per ' + int(D.sample_interval) + ' B' : 'exact'),
    chip('trigger', (D.trigger || '?') + (D.snapshot ? ' #' + D.snapshot : '')),
    chip('duration', dur(D.duration_ns)), chip('started', start.toISOString().replace('T', ' ').replace(/\..*/, ' UTC')),
    chip('stack depth', String(D.stack_depth)), chip('bytes', D.byte_basis || '?'), chip('sites', int(D.sites.length)),
    chip('stacks', int(sm.stacks))));
  if (EST) app.appendChild(h('div', { cls: 'banner' }, 'Sampled mode: one allocation is recorded per ' +
    int(D.sample_interval) + ' bytes on average. Totals are exact counts; per-site, leak and flame graph figures are estimates (marked \u2248).'));
  const nerr = D.heap_errors.length + D.dropped_heap_errors;
  if (nerr) app.appendChild(h('div', { cls: 'banner err' }, int(nerr) + (nerr === 1 ? ' heap error was' : ' heap errors were') +
    ' found (double, invalid, interior or mismatched frees): see ', h('a', { href: '#heaperrors' }, 'Heap errors'), '.'));
  const lost = sm.dropped_events + sm.untracked_frees + sm.dropped_tasks;
  if (lost) app.appendChild(h('div', { cls: 'banner' }, 'Some records were lost: ' + int(sm.dropped_events) + ' dropped events, ' +
    int(sm.untracked_frees) + ' untracked frees, ' + int(sm.dropped_tasks) + ' dropped tasks.'));
}

function overview() {
  const s = D.summary, je = D.je, leakSites = sites.filter(x => x.lblocks > 0).length;
  const atExit = D.trigger === 'exit';
  const frag = isNum(je.active) && je.active > 0 && isNum(je.allocated) ? 1 - je.allocated / je.active : null;
  toc.appendChild(h('a', { href: '#cards' }, 'Overview'));
  app.appendChild(h('div', { cls: 'cards', id: 'cards' },
    card('Live heap', human(s.live_bytes), int(s.live_bytes) + ' bytes in ' + int(s.live_blocks) + ' blocks'),
    card('Peak live heap', human(s.peak_live_bytes), int(s.peak_live_bytes) + ' bytes'),
    card('Allocations', int(s.allocs), int(s.frees) + ' frees \u00b7 ' + int(s.reallocs) + ' reallocs'),
    card('Allocated', human(s.bytes_allocated), int(s.bytes_allocated) + ' bytes \u00b7 ' + human(s.bytes_freed) + ' freed'),
    card(atExit ? 'Leaked at exit' : 'Live at this report', int(s.live_blocks) + ' blocks', human(s.live_bytes) + ' in ' + int(leakSites) + ' sites'),
    card('Resident set', mval(s.rss, human), isNum(s.peak_rss) ? 'peak ' + human(s.peak_rss) : h('span', null, 'peak ', NM())),
    card('Fragmentation', isNum(frag) ? pct(frag) : NM(), '1 \u2212 allocated / active (jemalloc)'),
    card('Threads \u00b7 tasks', int(D.threads.length) + ' \u00b7 ' + int(D.tasks.length), int(D.vars.length) + (D.vars.length === 1 ? ' named variable' : ' named variables')),
    card('Sites', int(D.sites.length), int(s.stacks) + ' distinct call stacks'),
    card('Tracer overhead', human(s.tracer_overhead_bytes), s.tracked_blocks ? (s.table_bytes / s.tracked_blocks).toFixed(1) +
      ' table bytes per tracked block' : h('span', null, 'per block: ', NM()))));
}

/* ---- memory over time ---------------------------------------------------- */
function memory() {
  const sec = panel('memory', 'Memory over time', 'Heap live bytes (the tracer\u2019s count), resident set size (from /proc) and ' +
    'jemalloc resident bytes, sampled every ' + dur(D.timeline.interval_ns) + '. Drag to zoom into a range, use the wheel to zoom ' +
    'around the pointer, double-click to reset; hover for values. A log scale shows the heap next to the much larger RSS. ' +
    'The dashed line marks when the report was taken: samples after it saw the report being written.');
  const P = D.timeline.points;
  if (!P.length) { add(sec, h('div', { cls: 'empty' }, 'Memory over time: not measured (the timeline was off: ' +
    'MEMSCOPE_INTERVAL_MS=0 or test mode).')); return; }
  const ser = [{ k: 1, name: 'Heap live', c: COLORS.heap, on: true }, { k: 2, name: 'RSS', c: COLORS.rss, on: true },
    { k: 3, name: 'jemalloc resident', c: COLORS.res, on: true }];
  const T0 = P[0][0], T1 = Math.max(P[P.length - 1][0], T0 + 1);
  let v0 = T0, v1 = T1, drag = null, logY = false;
  const box = h('div', { cls: 'chart' }), reset = h('button', { on: { click: () => { v0 = T0; v1 = T1; draw(); } } }, 'Reset zoom');
  add(sec, h('div', { cls: 'tools' }, h('div', { cls: 'legend' }, ser.map(s => h('label', null,
    h('input', { type: 'checkbox', checked: '', on: { change: e => { s.on = e.target.checked; draw(); } } }),
    h('span', { cls: 'sw' }, ''), s.name))), h('label', null, h('input', { type: 'checkbox',
    on: { change: e => { logY = e.target.checked; draw(); } } }), ' Log scale'), reset), box);
  sec.querySelectorAll('.legend .sw').forEach((e, i) => { e.style.background = ser[i].c; });
  const M = { l: 74, r: 16, t: 12, b: 30 }, H = 300;
  function draw() {
    clear(box);
    const W = Math.max(box.clientWidth || 900, 300), iw = W - M.l - M.r, ih = H - M.t - M.b;
    const [lo, hi] = visibleRange(P, v0, v1);
    const ex = extent(P, lo, hi, ser.filter(s => s.on).map(s => s.k));
    const { y: Y, ticks } = yScale(ex.ymin, ex.ymax, logY, M.t, ih);
    const X = xScale(v0, v1, M.l, iw);
    const svg = sv('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
    ticks.forEach(y => add(svg, [sv('line', { x1: M.l, x2: W - M.r, y1: Y(y), y2: Y(y), cls: 'grid' }),
      sv('text', { x: M.l - 6, y: Y(y) + 4, 'text-anchor': 'end', cls: 'axis' }, human(y))]));
    timeTicks(v0, v1).forEach(t =>
      add(svg, [sv('line', { x1: X(t), x2: X(t), y1: M.t, y2: M.t + ih, cls: 'grid' }),
        sv('text', { x: X(t), y: H - 10, 'text-anchor': 'middle', cls: 'axis' }, dur(t))]));
    const g = sv('g', { 'clip-path': null });
    ser.forEach(s => {
      if (!s.on) return;
      let pts = [];
      const flush = () => { if (pts.length) add(g, sv('polyline', { points: pts.join(' '), fill: 'none', stroke: s.c,
        'stroke-width': 1.8, 'stroke-linejoin': 'round' })); pts = []; };
      for (let i = lo; i <= hi; i++) {
        const v = P[i][s.k];
        if (!isNum(v)) { flush(); continue; }
        pts.push(X(Math.min(Math.max(P[i][0], v0), v1)).toFixed(1) + ',' + Y(v).toFixed(1));
        if (hi === lo) add(g, sv('circle', { cx: X(P[i][0]), cy: Y(v), r: 3, fill: s.c }));
      }
      flush();
    });
    add(svg, [g, sv('line', { x1: M.l, x2: W - M.r, y1: M.t + ih, y2: M.t + ih, stroke: '#98a2b3' })]);
    /* the moment the report was taken: later samples saw the export itself */
    if (D.duration_ns >= v0 && D.duration_ns <= v1)
      add(svg, [sv('line', { x1: X(D.duration_ns), x2: X(D.duration_ns), y1: M.t, y2: M.t + ih, stroke: '#b54708', 'stroke-dasharray': '5 4' }),
        sv('text', { x: X(D.duration_ns) + 4, y: M.t + 11, cls: 'axis' }, 'report taken')]);
    const cross = sv('line', { y1: M.t, y2: M.t + ih, stroke: '#18202f', 'stroke-dasharray': '3 3', visibility: 'hidden' });
    const sel = sv('rect', { y: M.t, height: ih, fill: 'rgba(47,111,222,.12)', visibility: 'hidden' });
    const hit = sv('rect', { x: M.l, y: M.t, width: iw, height: ih, fill: 'transparent' });
    add(svg, [cross, sel, hit]);
    const tAt = ev => v0 + (ev.clientX - svg.getBoundingClientRect().left - M.l) / iw * (v1 - v0);
    attrs(hit, { on: {
      mousemove: ev => {
        const t = tAt(ev);
        if (drag != null) { const a = X(Math.min(drag, t)), b = X(Math.max(drag, t));
          attrs(sel, { x: Math.max(a, M.l), width: Math.max(0, Math.min(b, W - M.r) - Math.max(a, M.l)), visibility: 'visible' }); }
        const i = nearest(P, lo, hi, t);
        attrs(cross, { x1: X(P[i][0]), x2: X(P[i][0]), visibility: 'visible' });
        showTip(ev, ['t = ' + dur(P[i][0])].concat(ser.map(s => s.name + ': ' +
          (isNum(P[i][s.k]) ? human(P[i][s.k]) + ' (' + int(P[i][s.k]) + ' B)' : 'not measured'))));
      },
      mouseleave: () => { hideTip(); attrs(cross, { visibility: 'hidden' }); },
      mousedown: ev => { drag = tAt(ev); ev.preventDefault(); },
      mouseup: ev => { const t = tAt(ev), a = Math.min(drag, t), b = Math.max(drag, t);
        drag = null; if (X(b) - X(a) > 4) { v0 = Math.max(T0, a); v1 = Math.min(T1, b); } draw(); },
      dblclick: () => { v0 = T0; v1 = T1; draw(); },
      wheel: ev => { ev.preventDefault();
        [v0, v1] = zoomAt(v0, v1, T0, T1, tAt(ev), ev.deltaY < 0 ? 0.8 : 1.25); draw(); } } });
    box.appendChild(svg);
  }
  draw();
  let rt = 0; addEventListener('resize', () => { clearTimeout(rt); rt = setTimeout(draw, 120); });
}

/* ---- threads, tasks, variables --------------------------------------------- */
const TH = { id: 0, tid: 1, name: 2, exited: 3, allocs: 4, frees: 5, reallocs: 6, bytes: 7, freed: 8, live: 9 };
function threads() {
  const sec = panel('threads', 'Threads', 'Each thread\u2019s exact counters; live bytes are what it allocated minus what it freed ' +
    '(negative when it freed blocks made by other threads).');
  const n = r => h('span', null, String(r[TH.name] != null && r[TH.name] !== '' ? r[TH.name] : '(unnamed)'));
  add(sec, table({ rows: D.threads, sort: 0, dir: 1, empty: 'No thread was recorded.',
    search: r => String(r[TH.name]).toLowerCase() + ' ' + r[TH.tid], placeholder: 'Search threads',
    cols: [{ label: '#', num: 1, get: r => r[TH.id], cell: r => String(r[TH.id]) },
      { label: 'Thread', get: r => String(r[TH.name]), cell: n },
      { label: 'TID', num: 1, get: r => r[TH.tid], cell: r => String(r[TH.tid]) },
      { label: 'State', get: r => r[TH.exited], cell: r => h('span', { cls: 'badge ' + (r[TH.exited] ? '' : 'running') }, r[TH.exited] ? 'exited' : 'running') },
      { label: 'Allocs', num: 1, get: r => r[TH.allocs], cell: r => int(r[TH.allocs]) },
      { label: 'Frees', num: 1, get: r => r[TH.frees], cell: r => int(r[TH.frees]) },
      { label: 'Reallocs', num: 1, get: r => r[TH.reallocs], cell: r => int(r[TH.reallocs]) },
      { label: 'Allocated B', num: 1, get: r => r[TH.bytes], cell: r => int(r[TH.bytes]) },
      { label: 'Freed B', num: 1, get: r => r[TH.freed], cell: r => int(r[TH.freed]) },
      { label: 'Live B', num: 1, get: r => r[TH.live], cell: r => int(r[TH.live]) }] }));
}

function tasks() {
  const sec = panel('tasks', 'Tasks', 'Tasks the program began (memscope_task_begin), as a tree by parent; memory is what the task\u2019s ' +
    'allocations hold now (live) and held at most (peak).' + (D.summary.dropped_tasks ? ' ' + int(D.summary.dropped_tasks) +
    ' tasks were dropped over the task limit.' : ''));
  const rows = taskRows(D.tasks);
  const peak = D.tasks.reduce((m, t) => Math.max(m, t[TK.peak]), 1);
  const name = r => h('span', { style: null, cls: 'tname' }, r.depth ? '\u2514 ' : '', r.t[TK.name] != null && r.t[TK.name] !== '' ? r.t[TK.name] : '(unnamed)');
  const el = table({ rows: rows, sortable: false, empty: 'None: the program began no task.',
    search: r => String(r.t[TK.name]).toLowerCase(), placeholder: 'Search tasks',
    cols: [{ label: 'Task', cell: r => { const e = name(r); e.style.paddingLeft = (r.depth * 18) + 'px'; e.style.display = 'inline-block'; return e; } },
      { label: 'State', cell: r => h('span', { cls: 'badge ' + (r.t[TK.ended] ? '' : 'running') }, r.t[TK.ended] ? 'ended' : 'running') },
      { label: 'Ran', num: 1, cell: r => r.t[TK.ended] ? dur(r.t[TK.end] - r.t[TK.begin]) : 'still running' },
      { label: 'Live B', num: 1, cell: r => int(r.t[TK.live]) },
      { label: 'Peak B', num: 1, cell: r => int(r.t[TK.peak]) },
      { label: '', cell: r => { const i = h('i'); i.style.width = (100 * Math.max(0, r.t[TK.peak]) / peak) + '%'; return h('div', { cls: 'bar' }, i); } },
      { label: 'Allocs', num: 1, cell: r => int(r.t[TK.allocs]) },
      { label: 'Allocated B', num: 1, cell: r => int(r.t[TK.bytes]) },
      { label: 'Frees', num: 1, cell: r => int(r.t[TK.frees]) },
      { label: 'Threads entered', num: 1, cell: r => int(r.t[TK.threads]) }] });
  add(sec, el);
}

const V = { id: 0, name: 1, type: 2, status: 3, addr: 4, size: 5, elem: 6, count: 7, value: 8, file: 9, line: 10, func: 11,
  thread: 12, task: 13, site: 14, created: 15, freed: 16, owned: 17, owners: 18, dropped: 19 };
function owners(r) {
  const o = r[V.owners];
  if (!o.length) return h('span', { cls: 'nm' }, r[V.owned] ? 'none recorded' : 'not owned');
  return [o.map((x, i) => [i ? ' \u2192 ' : '', h('span', { cls: 'fn' }, str(x[0], '(unnamed)')),
    h('span', { cls: 'loc' }, ' @' + dur(x[1]))]), r[V.dropped] ? ' (+' + int(r[V.dropped]) + ' not kept)' : ''];
}
function variables() {
  const sec = panel('variables', 'Variables', 'Blocks and values the program named (MEMSCOPE_TRACK_VAR and friends), with their ' +
    'status at the time of the report and, for owned ones, the history of their owners (time since start).');
  add(sec, table({ rows: D.vars, sort: 0, dir: 1, empty: 'None: the program named no variable.', placeholder: 'Search variables',
    search: r => [r[V.name], r[V.type], r[V.func], r[V.file], r[V.status]].map(x => str(x, '')).join(' ').toLowerCase(),
    cols: [{ label: 'Name', get: r => str(r[V.name], ''), cell: r => h('span', { cls: 'fn' }, str(r[V.name], '(unnamed)')) },
      { label: 'Type', get: r => str(r[V.type], ''), cell: r => h('span', { cls: 'fn nw' }, str(r[V.type], '')) },
      { label: 'Status', get: r => r[V.status], cell: r => h('span', { cls: 'badge ' + str(r[V.status], '') }, str(r[V.status], '?')) },
      { label: 'Size B', num: 1, get: r => r[V.size], cell: r => r[V.value] != null ? h('span', { cls: 'fn' }, '= ' + r[V.value]) : int(r[V.size]) },
      { label: 'Made in', get: r => str(r[V.func], ''), cell: r => [h('div', { cls: 'fn' }, str(r[V.func], '?')),
        h('div', { cls: 'loc' }, str(r[V.file], '') + (r[V.line] > 0 ? ':' + r[V.line] : ''))] },
      { label: 'Thread', num: 1, get: r => r[V.thread], cell: r => String(r[V.thread]) },
      { label: 'Task', num: 1, get: r => r[V.task], cell: r => r[V.task] ? String(r[V.task]) : '\u2013' },
      { label: 'Created', num: 1, get: r => r[V.created], cell: r => dur(r[V.created]) },
      { label: 'Freed', num: 1, get: r => r[V.freed] || 0, cell: r => r[V.freed] != null ? dur(r[V.freed]) : '\u2013' },
      { label: 'Owners', cell: owners }] }));
}

/* ---- sites ---------------------------------------------------------------- */
function lifeText(life) {
  const parts = [];
  life.forEach((c, b) => { if (c) parts.push(D.life_hist[b][0] + (D.life_hist[b][1] != null ? '\u2013' + D.life_hist[b][1] : '+') + ' ms: ' + int(c)); });
  return parts.length ? 'Lifetimes of freed blocks: ' + parts.join(', ') : 'No freed block from this site.';
}
function siteDetail(s) {
  return h('div', null, stackList(s.frames), h('div', { cls: 'loc' }, 'Site ' + s.id + '. ' + lifeText(s.life)));
}
function sitesPanel() {
  const sec = panel('sites', 'Allocation sites', 'One row per distinct call stack; the function shown is the first frame that is not ' +
    'an allocator wrapper. Click a row for its whole stack.' + (EST ? ' Figures are estimates from samples.' : ''));
  add(sec, table({ rows: sites, sort: 2, dir: -1, placeholder: 'Search function, file or module in any frame',
    search: siteKey, detail: siteDetail, empty: 'No site matches.',
    cols: [{ label: 'Function', get: s => siteFn(s).toLowerCase(), cell: fnCell },
      { label: 'Site', num: 1, get: s => s.id, cell: s => String(s.id) },
      { label: 'Live B', num: 1, get: s => s.lbytes, cell: s => est(int(s.lbytes)) },
      { label: 'Live blocks', num: 1, get: s => s.lblocks, cell: s => est(int(s.lblocks)) },
      { label: 'Allocated B', num: 1, get: s => s.bytes, cell: s => est(int(s.bytes)) },
      { label: 'Allocs', num: 1, get: s => s.allocs, cell: s => est(int(s.allocs)) },
      { label: 'Frees', num: 1, get: s => s.frees, cell: s => est(int(s.frees)) },
      { label: 'Temporaries', num: 1, get: s => s.temps, cell: s => int(s.temps) }] }));
}

function flame() {
  const sec = panel('flame', 'Flame graph', 'Call stacks of all sites merged by function, outermost at the top; a frame\u2019s width is ' +
    'its share of the chosen measure. Click a frame to zoom into it, click the top bar to zoom out. Frames narrower than a pixel are ' +
    'left out, and at most ' + int(FLAME_MAX) + ' are drawn.' + (EST ? ' Figures are estimates.' : ''));
  const trees = {}, box = h('div', { cls: 'flame' }), crumb = h('span', { cls: 'loc' });
  let weight = 'lbytes', zoom = null;
  const btn = (w, label) => h('button', { cls: w === weight ? 'on' : '', on: { click: e => { weight = w; zoom = null;
    sec.querySelectorAll('.tools button.m').forEach(b => b.classList.remove('on')); e.target.classList.add('on'); draw(); } } }, label);
  const bl = btn('lbytes', 'Live bytes'), ba = btn('bytes', 'Allocated bytes');
  bl.classList.add('m'); ba.classList.add('m');
  add(sec, h('div', { cls: 'tools' }, bl, ba, h('button', { on: { click: () => { zoom = null; draw(); } } }, 'Reset zoom'), crumb), box);
  function draw() {
    clear(box);
    const root = trees[weight] || (trees[weight] = flameTree(sites, weight, fi => frameKeys[fi], fname));
    if (!root.v) { add(box, h('div', { cls: 'empty' }, weight === 'lbytes' ? 'No live bytes at the time of the report.' : 'No allocation was recorded.')); crumb.textContent = ''; return; }
    const z = zoom || root, W = Math.max(box.clientWidth || 1000, 300), sc = W / z.v;
    const chain = []; for (let n = z; n; n = n.parent) chain.unshift(n);
    crumb.textContent = chain.length > 1 ? 'Zoomed into ' + z.name : '';
    const { rects, hidden, depth } = flameLayout(z, W, FLAME_MAX);
    const svg = sv('svg', { width: W, height: (depth + 1) * ROW_H + 2, viewBox: '0 0 ' + W + ' ' + ((depth + 1) * ROW_H + 2) });
    rects.forEach(([n, x, d]) => {
      const w = n.v * sc, y = d * ROW_H, f = n.fi >= 0 ? frame(n.fi) : null;
      const col = n === z && chain.length > 1 ? '#c9d3e3' : !f ? '#d5dbe6' : f[F.func] == null ? '#cfd4dc' :
        flameColor(n.name);
      const r = sv('rect', { x: x.toFixed(2), y: y, width: Math.max(w - 0.4, 0.6).toFixed(2), height: ROW_H - 1, rx: 2, fill: col });
      const pv = z.v ? n.v / z.v : 0, rv = root.v ? n.v / root.v : 0;
      attrs(r, { on: { mousemove: ev => showTip(ev, [n.name, n.fi >= 0 ? floc(n.fi) : 'all sites', est(human(n.v) + ' (' + int(n.v) + ' B)') +
        ', ' + pct(rv) + ' of all' + (z !== root ? ', ' + pct(pv) + ' of the zoomed frame' : '')]), mouseleave: hideTip,
        click: () => { hideTip(); zoom = n === z ? (z.parent || null) : n; if (zoom === root) zoom = null; draw(); } } });
      svg.appendChild(r);
      const label = fitLabel(n.name, w);
      if (label != null) svg.appendChild(sv('text', { x: x + 4, y: y + ROW_H - 5 }, label));
    });
    box.appendChild(svg);
    if (hidden) add(box, h('div', { cls: 'loc' }, int(hidden) + ' frames too narrow or over the limit are not drawn.'));
  }
  draw();
  let rt = 0; addEventListener('resize', () => { clearTimeout(rt); rt = setTimeout(draw, 120); });
}

/* ---- leaks ------------------------------------------------------------------ */
/* Why the classes are missing, as the markdown says it. */
function leakWhy() {
  return EST ? 'sampled mode: the table holds only sampled blocks' : D.trigger === 'exit' ? 'MEMSCOPE_LEAK_CHECK=0' :
    'not asked for in this report (memscope snapshot --leaks, MEMSCOPE_EXPORT_LEAKS)';
}
/* The classes chosen at load: #leaks=definitely_lost,possibly_lost in the
 * page's address; all of them otherwise. */
function leakChosen() {
  const m = /(?:^#|&)leaks=([^&]*)/.exec(location.hash || '');
  if (!m) return LEAK_CLASSES.map(() => true);
  const want = decodeURIComponent(m[1]).split(',');
  return LEAK_CLASSES.map(c => want.indexOf(c) >= 0);
}
function classCell(s) {
  const c = s.classes;
  if (!c) return NM();
  return c.map((x, k) => x[0] > 0 ? h('span', { cls: 'badge lc' + k, title: int(x[0]) + ' blocks, ' + human(x[1]) },
    leakLabel(k) + ' ' + int(x[0])) : null).filter(e => e);
}
function leaksPanel() {
  const atExit = D.trigger === 'exit', sm = D.summary, lc = sm.leak_classes;
  const sec = panel('leaks', 'Leaks', (atExit ? 'Blocks still live when the program exited, by site, with the variables that name ' +
    'them. Click a row for its stack.' : 'Blocks live when this report was taken (trigger: ' + (D.trigger || '?') + '): the program ' +
    'was still running, so a block is a leak only if it stays live until exit.') + (lc ? ' Each block is classed by ' +
    'reachability, as memcheck does: definitely lost (no pointer to it anywhere), indirectly lost (pointed to only from lost ' +
    'blocks), possibly lost (only pointers into its interior), still reachable; the most severe come first.' : ''));
  const byVar = new Map();
  D.vars.forEach(v => { if (v[V.addr] != null && v[V.status] !== 'freed') {
    if (!byVar.has(v[V.site])) byVar.set(v[V.site], []); byVar.get(v[V.site]).push(v); } });
  const rows = sites.filter(s => s.lblocks > 0 && !s.supp);
  const total = rows.reduce((a, s) => a + s.lbytes, 0);
  add(sec, h('p', null, int(sm.live_blocks) + ' blocks, ' + human(sm.live_bytes) + ' (' + int(sm.live_bytes) +
    ' bytes), in ' + int(rows.length + (sm.suppressed ? sm.suppressed[1] : 0)) + ' sites' +
    (EST ? '; per-site figures are estimates summing to \u2248 ' + human(total) : '') + '.'));
  /* [file, sites, blocks, bytes, [[pattern, sites, blocks, bytes]...]] */
  const sp = sm.suppressed;
  if (sp) add(sec, h('p', { id: 'leak-suppressed' }, 'Suppressed by ' + int(sp[4].length) + (sp[4].length === 1 ? ' pattern' : ' patterns') +
    ' of ', h('span', { cls: 'fn' }, sp[0]), ': ' + int(sp[2]) + (sp[2] === 1 ? ' block, ' : ' blocks, ') + human(sp[3]) + ', in ' +
    int(sp[1]) + (sp[1] === 1 ? ' site' : ' sites') + ', left out of this table and of the classes' +
    (sp[1] ? ' (' : '.'), sp[4].filter(x => x[1] > 0).map((x, i) => [i ? ', ' : '', h('span', { cls: 'fn' }, x[0]), ' ' + int(x[2])]),
    sp[1] ? ').' : ''));
  const on = leakChosen();
  let tools = null, tbl = null;
  if (lc) {
    tools = h('span', { cls: 'legend', id: 'leak-filter' }, LEAK_CLASSES.map((c, k) => h('label', null,
      h('input', { type: 'checkbox', 'data-class': c, checked: on[k] ? '' : null,
        on: { change: e => { on[k] = e.target.checked; tbl.refilter(); } } }),
      h('span', { cls: 'badge lc' + k }, leakLabel(k)), ' ' + int(lc[k][0]) + (lc[k][0] === 1 ? ' block, ' : ' blocks, ') + human(lc[k][1]))));
  } else {
    add(sec, h('p', { cls: 'note' }, 'Leak classes (definitely lost, indirectly lost, possibly lost, still reachable): ',
      NM(), ' (' + leakWhy() + ').'));
  }
  const vnames = s => (byVar.get(s.id) || []).map(v => str(v[V.name], '(unnamed)'));
  tbl = table({ rows: rows, sort: 0, dir: 1, detail: siteDetail, placeholder: 'Search leaks', empty: lc ? 'No live block in the chosen classes.' : 'No live block.',
    search: s => siteKey(s) + ' ' + vnames(s).join(' ').toLowerCase(), keep: s => leakShown(s.classes, on), tools: tools,
    cols: [{ label: 'Class', get: s => leakKey(s.classes, s.lbytes), cell: classCell },
      { label: 'Live B', num: 1, get: s => s.lbytes, cell: s => est(int(s.lbytes)) },
      { label: 'Blocks', num: 1, get: s => s.lblocks, cell: s => est(int(s.lblocks)) },
      { label: 'Function', get: s => siteFn(s).toLowerCase(), cell: fnCell },
      { label: 'Variables', get: s => vnames(s).length, cell: s => vnames(s).map((n, i) => [i ? ', ' : '', h('span', { cls: 'fn' }, n)]) },
      { label: 'Site', num: 1, get: s => s.id, cell: s => String(s.id) }] });
  add(sec, tbl);
}

/* ---- heap errors ---------------------------------------------------------- */
const HE = { kind: 0, addr: 1, block: 2, size: 3, akind: 4, fkind: 5, thread: 6, t: 7, ffirst: 8, free: 9, afirst: 10, alloc: 11 };
function heapErrors() {
  const sec = panel('heaperrors', 'Heap errors', 'Frees the heap refused: a block freed twice (double_free), a pointer it never ' +
    'returned (invalid_free) or one inside a block (interior_free), and a free that does not match the allocation ' +
    '(mismatched_free: delete of malloc, free of new[]...). Click a row for the stacks of the free and of the allocation.');
  const rows = D.heap_errors.map((e, i) => ({ e: e, id: i + 1 }));
  if (D.dropped_heap_errors) add(sec, h('p', null, int(rows.length + D.dropped_heap_errors) + ' found; the first ' +
    int(rows.length) + ' were kept.'));
  const top = (list, k) => list.length ? list[Math.min(k, list.length - 1)] : -1;
  const at = (list, k) => { const fi = top(list, k);
    return fi < 0 ? h('span', { cls: 'nm' }, 'no stack') : [h('div', { cls: 'fn' }, fname(fi)), h('div', { cls: 'loc' }, floc(fi))]; };
  add(sec, table({ rows: rows, sort: 5, dir: 1, empty: 'None found.', placeholder: 'Search heap errors',
    search: r => [r.e[HE.kind], r.e[HE.addr], r.e[HE.akind], r.e[HE.fkind]].concat(r.e[HE.free].map(fname)).join(' ').toLowerCase(),
    detail: r => h('div', { cls: 'row2' }, h('div', null, h('h3', null, 'Free'), stackList(r.e[HE.free])),
      h('div', null, h('h3', null, 'Allocation'), stackList(r.e[HE.alloc]))),
    cols: [{ label: 'Kind', get: r => str(r.e[HE.kind], ''), cell: r => h('span', { cls: 'badge leaked' }, str(r.e[HE.kind], '?')) },
      { label: 'Address', get: r => r.e[HE.addr], cell: r => h('span', { cls: 'fn nw' }, r.e[HE.addr]) },
      { label: 'Block', get: r => r.e[HE.size], cell: r => r.e[HE.block] ? [h('div', { cls: 'fn nw' }, r.e[HE.block]), h('div', { cls: 'loc' },
        int(r.e[HE.size]) + ' B')] : h('span', { cls: 'nm' }, 'unknown') },
      { label: 'Allocated / freed with', get: r => str(r.e[HE.akind], '') + str(r.e[HE.fkind], ''),
        cell: r => str(r.e[HE.akind], '?') + ' / ' + str(r.e[HE.fkind], '?') },
      { label: 'Thread', num: 1, get: r => r.e[HE.thread], cell: r => String(r.e[HE.thread]) },
      { label: 'At', num: 1, get: r => r.e[HE.t], cell: r => dur(r.e[HE.t]) },
      { label: 'Free in', get: r => top(r.e[HE.free], r.e[HE.ffirst]), cell: r => at(r.e[HE.free], r.e[HE.ffirst]) },
      { label: 'Allocated in', get: r => top(r.e[HE.alloc], r.e[HE.afirst]), cell: r => at(r.e[HE.alloc], r.e[HE.afirst]) }] }));
}

/* ---- histograms, allocator, overhead --------------------------------------- */
function bars(title, rows) {
  const max = rows.reduce((m, r) => Math.max(m, r[1]), 1);
  const g = h('div', { cls: 'hist' }, h('h3', null, title));
  if (!rows.length) { add(g, h('div', { cls: 'empty' }, 'No data.')); return g; }
  rows.forEach(r => { const i = h('i'); i.style.width = (100 * r[1] / max) + '%';
    add(g, h('div', { cls: 'hrow' }, h('span', { cls: 'hl' }, r[0]), h('div', { cls: 'bar' }, i), h('span', { cls: 'hc' }, int(r[1])))); });
  return g;
}
function histograms() {
  const sec = panel('histograms', 'Sizes and lifetimes', 'Requested sizes of all allocations (log\u2082 buckets), and how long freed ' +
    'blocks lived (from allocation to free, on a 1 ms clock). A bar counts from its first bound up to, not including, its second.');
  const size = trim(D.size_hist).map(b => [sizeLabel(b), b[2]]);
  const life = trim(D.life_hist).map(b => [lifeLabel(b), b[2]]);
  add(sec, h('div', { cls: 'row2' }, bars('Allocation sizes', size), bars('Lifetimes of freed blocks', life)));
}
function allocator() {
  const je = D.je, s = D.summary;
  const sec = panel('allocator', 'Allocator and overhead', 'jemalloc\u2019s own statistics at the time of the report: allocated ' +
    '(in live blocks), active (in pages holding them), resident, mapped, retained. Fragmentation is 1 \u2212 allocated / active.');
  const frag = isNum(je.active) && je.active > 0 && isNum(je.allocated) ? 1 - je.allocated / je.active : null;
  const left = h('div', null, h('h3', null, 'jemalloc'), kv([['Allocated', bytesFull(je.allocated)], ['Active', bytesFull(je.active)],
    ['Fragmentation', isNum(frag) ? pct(frag) : NM()], ['Resident', bytesFull(je.resident)], ['Mapped', bytesFull(je.mapped)],
    ['Retained', bytesFull(je.retained)]]));
  if (isNum(frag) && isNum(je.resident) && je.resident > 0) {
    const seg = (v, c, label) => { const i = h('i', { title: label }); i.style.width = (100 * Math.max(0, v) / je.resident) + '%'; i.style.background = c; return i; };
    add(left, [h('div', { cls: 'fragbar' }, seg(je.allocated, '#2f6fde', 'allocated'), seg(je.active - je.allocated, '#e07b24', 'active, not allocated'),
      seg(je.resident - je.active, '#c5cdda', 'resident, not active')),
      h('div', { cls: 'loc' }, 'Of resident memory: allocated (blue), active but not allocated (orange), resident but not active (grey).')]);
  }
  const right = h('div', null, h('h3', null, 'Tracer'), kv([['Tracer memory', bytesFull(s.tracer_overhead_bytes)],
    ['Side table', bytesFull(s.table_bytes)], ['Tracked blocks', int(s.tracked_blocks)],
    ['Table bytes per block', s.tracked_blocks ? (s.table_bytes / s.tracked_blocks).toFixed(1) : NM()],
    ['Resident set', bytesFull(s.rss)], ['Peak resident set', bytesFull(s.peak_rss)]]));
  add(sec, h('div', { cls: 'row2' }, left, right));
}

function main() {
  D = JSON.parse(document.getElementById('ms-data').textContent);
  EST = !!D.estimated;
  app = document.getElementById('app'); toc = document.getElementById('toc');
  tip = document.body.appendChild(h('div', { cls: 'tip' }));
  sites = D.sites.map(siteObj);
  frameKeys = D.frames.map((f, i) => f[F.func] != null ? f[F.func] : fname(i));
  header(); overview(); memory(); leaksPanel(); heapErrors(); sitesPanel(); flame(); threads(); tasks(); variables(); histograms(); allocator();
  if (document.getElementById('summary')) {
    toc.appendChild(h('a', { href: '#summary' }, 'Summary'));
    app.appendChild(document.getElementById('summary'));
  }
}
try {
  main();
  document.documentElement.setAttribute('data-rendered', 'ok');
} catch (e) {
  document.documentElement.setAttribute('data-rendered', 'error');
  const b = h('div', { cls: 'banner err' }, 'This report could not be shown completely: ' + (e && e.message));
  (document.getElementById('app') || document.body).prepend(b);
  throw e;
}
})();
