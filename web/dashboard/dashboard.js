// The pytrigger dashboard: fetches GET /v1/report for this page's ?site=KEY
// (?token=TOKEN, if given, goes along as a Bearer header; ?since, ?until and
// ?weights pass through) and draws, per privacy mode with reports: the alerts,
// per trigger its funnel (exposure → gate → fire → goal) and its decision-latency
// histogram, per experiment the lift of each arm over the control with its
// 95 % interval — plots by the vendored uPlot (window.uPlot).
//
// It must never build HTML from strings (elements and textContent only),
// run inline code (the page's CSP is script-src 'self'), or send anything
// anywhere but that one GET to its own origin. A figure withheld by the
// 50-report floor is shown as "withheld (n reports)", never as a number.
(() => {
  'use strict';

  const FUNNEL = ['exposure', 'gate', 'fire', 'goal'];
  const MODES = {unlinkable: 'Mode unlinkable (exact counts)', ldp: 'Mode ldp (debiased randomized response)'};
  const COLORS = {bar: '#3b5bdb', barFill: 'rgba(59, 91, 219, 0.35)', whisker: '#1d2433',
    budget: '#e8590c', zero: '#8a93a6', good: '#2b8a3e', bad: '#c92a2a'};

  // -- DOM helpers: elements and text only ---------------------------------
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const withheld = (f) => f !== null && typeof f === 'object' && f.withheld === true;
  const released = (f) => f !== null && typeof f === 'object' && typeof f.estimate === 'number';
  const pct = (x) => (100 * x).toFixed(1) + ' %';
  const num = (x) => (Number.isInteger(x) || Math.abs(x) >= 100
    ? Math.round(x).toLocaleString('en') : x.toFixed(1));
  const signedPct = (x) => (x >= 0 ? '+' : '') + (100 * x).toFixed(1) + ' %';
  /** A figure as text: "12.3 % [10.1 %, 14.6 %]", "withheld (n reports)", or "n/a". */
  const figureText = (f, fmt = pct) => {
    if (withheld(f)) return `withheld (${f.reports} reports)`;
    if (!released(f)) return 'n/a';
    if (f.low === f.high) return fmt(f.estimate);
    return `${fmt(f.estimate)} [${fmt(f.low)}, ${fmt(f.high)}]`;
  };
  const row = (table, label, value, className) => {
    const tr = el('tr', className);
    tr.append(el('th', '', label), el('td', '', value));
    table.append(tr);
    return tr;
  };
  const note = (parent, text, className = 'note') => parent.appendChild(el('p', className, text));
  /** A placeholder where a plot would be: its figure is withheld or missing. */
  const placeholder = (parent, kind, text) => {
    const box = el('div', 'chart placeholder', text);
    box.dataset.chart = kind;
    box.dataset.withheld = 'true';
    parent.append(box);
    return box;
  };

  // -- plots ------------------------------------------------------------------
  /** A y range holding 0 and every given value, with a margin. */
  const spread = (values) => {
    const finite = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
    const low = Math.min(0, ...finite);
    const high = Math.max(0, ...finite);
    const pad = (high - low) * 0.08 || 1;
    return [low < 0 ? low - pad : 0, high + pad];
  };
  /** Draw vertical whiskers [low, high] at each x, and optional extras. */
  const whiskerHook = (lows, highs) => (u) => {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = COLORS.whisker;
    ctx.lineWidth = Math.max(1, devicePixelRatio);
    const cap = 6 * devicePixelRatio;
    for (let i = 0; i < lows.length; i++) {
      if (lows[i] === null || highs[i] === null) continue;
      const x = u.valToPos(i, 'x', true);
      const y1 = u.valToPos(lows[i], 'y', true);
      const y2 = u.valToPos(highs[i], 'y', true);
      ctx.beginPath();
      ctx.moveTo(x, y1); ctx.lineTo(x, y2);
      ctx.moveTo(x - cap, y1); ctx.lineTo(x + cap, y1);
      ctx.moveTo(x - cap, y2); ctx.lineTo(x + cap, y2);
      ctx.stroke();
    }
    ctx.restore();
  };
  /** A vertical line at x = at (in x-scale units), labelled. */
  const verticalHook = (at, color, label) => (u) => {
    const ctx = u.ctx;
    const x = u.valToPos(at, 'x', true);
    ctx.save();
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.fillText(label, x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
    ctx.restore();
  };
  /** A horizontal line at y = at. */
  const horizontalHook = (at, color) => (u) => {
    const ctx = u.ctx;
    const y = u.valToPos(at, 'y', true);
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
    ctx.restore();
  };

  /**
   * A bar chart (one bar per label) with optional whiskers; null values draw
   * no bar. `yFormat` formats the y axis, `yRange` fixes it ([min, max]).
   */
  const barChart = (parent, kind, {labels, values, lows, highs, yFormat, yRange, hooks = [], title}) => {
    const box = el('div', 'chart');
    box.dataset.chart = kind;
    parent.append(box); // attached first: its width is the layout's
    const width = Math.max(240, Math.min(720, box.clientWidth || 420));
    const xs = labels.map((_, i) => i);
    const drawHooks = [...hooks];
    if (lows && highs) drawHooks.unshift(whiskerHook(lows, highs));
    const opts = {
      title,
      width,
      height: 220,
      legend: {show: false},
      cursor: {show: false},
      select: {show: false},
      scales: {
        x: {time: false, range: [-0.5, labels.length - 0.5]},
        y: {range: yRange ? () => yRange : () => spread([...values, ...(lows || []), ...(highs || [])])},
      },
      axes: [
        {splits: () => xs, values: (u, splits) => splits.map((i) => labels[i] ?? ''), gap: 4,
         size: 40, font: '11px system-ui, sans-serif', grid: {show: false}},
        {values: (u, splits) => splits.map(yFormat), size: 64, font: '11px system-ui, sans-serif'},
      ],
      series: [
        {},
        {label: kind, stroke: COLORS.bar, fill: COLORS.barFill, width: 1,
         paths: window.uPlot.paths.bars({size: [0.7, 80]}), points: {show: false}},
      ],
      hooks: {draw: drawHooks},
    };
    // eslint-disable-next-line no-new
    new window.uPlot(opts, [xs, values], box);
    return box;
  };

  // -- sections ---------------------------------------------------------------
  /** A bucket by its lower edge, compact: 0, 1, 2, … 512, 1k, 2k, 4k+. */
  const bucketLabel = ([low, high]) => {
    const text = low >= 1024 ? `${low / 1024}k` : String(low);
    return high === null ? text + '+' : text;
  };
  /** Where `ms` falls on the bucket axis (bar i spans i ± 0.5). */
  const bucketPosition = (buckets, ms) => {
    for (let i = 0; i < buckets.length; i++) {
      const [low, high] = buckets[i];
      if (high === null || ms < high) return i - 0.5 + (high === null ? 0.5 : (ms - low) / (high - low));
    }
    return buckets.length - 1;
  };

  const triggerCard = (parent, trigger, report, health) => {
    const card = el('article', 'card trigger');
    parent.append(card);
    card.dataset.trigger = trigger.trigger;
    card.append(el('h4', '', trigger.trigger));
    const table = el('table', 'figures');
    row(table, 'reports carrying it', trigger.reports.toLocaleString('en'));
    row(table, 'fires per hour', figureText(trigger.fires_per_hour, num));
    row(table, 'gate confirmation', trigger.gate_confirmation === null ? 'no gate' : figureText(trigger.gate_confirmation));
    const dismissals = row(table, 'dismissal rate', figureText(trigger.dismissal_rate));
    if (released(trigger.dismissal_rate)) {
      dismissals.classList.add(trigger.dismissal_rate.estimate < health.dismissal_target ? 'ok' : 'over');
    }
    const latency = trigger.latency;
    if (latency && !withheld(latency)) {
      const r = row(table, 'latency p50 / p99', `${num(latency.p50_ms)} / ${num(latency.p99_ms)} ms (budget ${latency.budget_ms} ms)`);
      r.classList.add(latency.within_budget ? 'ok' : 'over');
    } else {
      row(table, 'latency p50 / p99', latency ? figureText(latency) : 'no samples');
    }
    const facts = el('div', 'facts');
    facts.append(table);
    card.append(facts);

    const funnel = FUNNEL.map((name) => trigger.funnel[name]);
    const funnelBox = el('figure', 'plot');
    funnelBox.append(el('figcaption', '', 'Funnel: share of reports'));
    const latencyBox = el('figure', 'plot');
    card.append(funnelBox, latencyBox); // both laid out before either is drawn
    if (funnel.every(withheld)) {
      placeholder(funnelBox, 'funnel', figureText(funnel[0]));
    } else {
      barChart(funnelBox, 'funnel', {
        labels: FUNNEL,
        values: funnel.map((f) => (released(f) ? f.estimate : null)),
        lows: funnel.map((f) => (released(f) ? f.low : null)),
        highs: funnel.map((f) => (released(f) ? f.high : null)),
        yFormat: (v) => (100 * v).toFixed(0) + ' %',
        yRange: [0, 1],
      });
      funnel.forEach((f, i) => { if (withheld(f)) note(funnelBox, `${FUNNEL[i]}: ${figureText(f)}`, 'withheld'); });
    }

    const of = latency && latency.of === 'session_medians' ? 'sessions (median latency)' : 'decisions';
    latencyBox.append(el('figcaption', '', `Latency: share of ${of} per bucket (ms, from)`));
    if (!latency || withheld(latency)) {
      placeholder(latencyBox, 'latency', latency ? figureText(latency) : 'no latency samples');
    } else {
      const buckets = report.latency_buckets_ms;
      barChart(latencyBox, 'latency', {
        labels: buckets.map(bucketLabel),
        values: latency.histogram,
        yFormat: (v) => (100 * v).toFixed(0) + ' %',
        hooks: [verticalHook(bucketPosition(buckets, latency.budget_ms), COLORS.budget, `${latency.budget_ms} ms`)],
      });
    }
    return card;
  };

  const experimentCard = (parent, experiment) => {
    const card = el('article', 'card experiment');
    parent.append(card);
    card.dataset.trigger = experiment.trigger;
    card.append(el('h4', '', `${experiment.trigger}: ${experiment.arms.map((a) => a.arm).join(' vs ')}`));
    const table = el('table', 'arms');
    const head = el('tr');
    for (const h of ['arm', 'exposures', 'conversions', 'conversion rate']) head.append(el('th', '', h));
    table.append(head);
    for (const arm of experiment.arms) {
      const tr = el('tr');
      tr.append(
        el('th', '', arm.arm + (arm.arm === experiment.control ? ' (control)' : '')),
        el('td', '', figureText(arm.exposures, num)),
        el('td', '', figureText(arm.conversions, num)),
        el('td', '', arm.conversion_rate === null ? 'n/a' : figureText(arm.conversion_rate)),
      );
      table.append(tr);
    }
    card.append(table);
    const facts = el('table', 'figures');
    for (const c of experiment.comparisons) {
      row(facts, `lift ${c.arm} vs ${c.control}`, c.lift === null ? 'n/a' : figureText(c.lift, signedPct));
      const p = c.always_valid_p;
      row(facts, `mSPRT p (this look)`, p === null ? 'n/a' : withheld(p) ? figureText(p) : p.p.toPrecision(3));
    }
    const srm = experiment.srm;
    if (srm) {
      const text = withheld(srm) ? figureText(srm)
        : `p = ${srm.p.toPrecision(3)} against ${srm.expected.map((w) => pct(w)).join(' / ')}${srm.srm ? ': MISMATCH' : ''}`;
      const r = row(facts, 'sample ratio', text);
      if (released(srm) || typeof srm.p === 'number') r.classList.add(srm.srm ? 'over' : 'ok');
    }
    card.append(facts);

    const liftBox = el('figure', 'plot');
    liftBox.append(el('figcaption', '', 'Relative lift over the control, 95 % interval'));
    card.append(liftBox);
    const lifts = experiment.comparisons.map((c) => c.lift);
    if (lifts.length === 0 || !lifts.some(released)) {
      const first = lifts.find(withheld);
      placeholder(liftBox, 'lift', first ? figureText(first) : 'no lift to show (one arm, or no conversions)');
    } else {
      barChart(liftBox, 'lift', {
        labels: experiment.comparisons.map((c) => `${c.arm} vs ${c.control}`),
        values: lifts.map((f) => (released(f) ? f.estimate : null)),
        lows: lifts.map((f) => (released(f) ? f.low : null)),
        highs: lifts.map((f) => (released(f) ? f.high : null)),
        yFormat: (v) => signedPct(v),
        hooks: [horizontalHook(0, COLORS.zero)],
      });
      lifts.forEach((f, i) => {
        if (withheld(f)) note(liftBox, `${experiment.comparisons[i].arm}: ${figureText(f)}`, 'withheld');
      });
    }
    return card;
  };

  const modeSection = (parent, mode, report) => {
    const health = report.health[mode];
    const experiments = report.experiments[mode];
    const section = el('section', 'mode');
    parent.append(section);
    section.dataset.mode = mode;
    section.append(el('h2', '', MODES[mode]));
    const span = health.hours ? `, over ${health.hours} report hours` : '';
    note(section, `${health.reports.toLocaleString('en')} reports${span}.`);

    section.append(el('h3', '', 'Triggers'));
    const triggers = el('div', 'stack');
    section.append(triggers);
    for (const trigger of health.triggers) triggerCard(triggers, trigger, report, report.health);
    if (health.withheld_triggers > 0) {
      note(section, `withheld: ${health.withheld_triggers} trigger(s) carried by fewer than ${report.min_reports} reports`, 'withheld');
    }
    if (health.triggers.length === 0 && health.withheld_triggers === 0) note(section, 'No trigger yet.');

    section.append(el('h3', '', 'Experiments'));
    const grid = el('div', 'grid');
    section.append(grid);
    for (const experiment of experiments.experiments) experimentCard(grid, experiment);
    if (experiments.withheld_arms > 0) {
      note(section, `withheld: ${experiments.withheld_arms} arm(s) carried by fewer than ${report.min_reports} reports`, 'withheld');
    }
    if (experiments.experiments.length === 0) note(section, 'No experiment with enough reports.');
    return section;
  };

  const alertList = (report) => {
    const list = document.getElementById('alert-list');
    let count = 0;
    for (const mode of Object.keys(MODES)) {
      for (const trigger of report.health[mode].triggers) {
        for (const alert of trigger.alerts) {
          const item = el('li', 'alert');
          item.dataset.alert = alert.alert;
          item.dataset.trigger = trigger.trigger;
          item.append(el('b', '', `${trigger.trigger} · ${alert.alert}`), el('span', '', ` ${alert.message} (${mode})`));
          list.append(item);
          count += 1;
        }
      }
      for (const experiment of report.experiments[mode].experiments) {
        if (experiment.srm && experiment.srm.srm === true) {
          const item = el('li', 'alert');
          item.dataset.alert = 'srm';
          item.dataset.trigger = experiment.trigger;
          item.append(el('b', '', `${experiment.trigger} · sample ratio mismatch`),
            el('span', '', ` p = ${experiment.srm.p.toPrecision(3)} (${mode})`));
          list.append(item);
          count += 1;
        }
      }
    }
    if (count === 0) list.append(el('li', 'none', 'No alerts.'));
  };

  const main = async () => {
    const status = document.getElementById('status');
    const params = new URLSearchParams(location.search);
    const site = params.get('site') || '';
    document.getElementById('site').textContent = site;
    const query = new URLSearchParams({site});
    for (const name of ['since', 'until', 'weights']) if (params.has(name)) query.set(name, params.get(name));
    const token = params.get('token');
    try {
      const response = await fetch('/v1/report?' + query, {
        headers: token ? {Authorization: 'Bearer ' + token} : {},
        cache: 'no-store',
        credentials: 'omit',
      });
      if (!response.ok) throw new Error(`GET /v1/report answered ${response.status}`);
      const report = await response.json();
      alertList(report);
      const modes = document.getElementById('modes');
      for (const mode of Object.keys(MODES)) {
        if (report.health[mode].reports > 0) modeSection(modes, mode, report);
      }
      if (!modes.childElementCount) note(modes, 'No reports yet.');
      status.textContent = `Report of ${new Date().toLocaleString('en')}`;
      document.body.dataset.state = 'ready';
    } catch (error) {
      status.textContent = `Could not load the report: ${error.message}`;
      document.body.dataset.state = 'error';
    }
  };

  main();
})();
