/*! pytrigger.js | MIT | readable source: pytrigger.src.js */
/* pytrigger.js — the pytrigger shim (a classic script). static/ serves it
 * minified by terser (build.py), with this source and a map beside it.
 *
 * What it does
 *  - Reads its own tag (data-config, data-mode, data-unit-id, data-consent…,
 *    DESIGN.md §2) and resolves the runtime relative to its own URL.
 *  - Attaches passive capture listeners as soon as it runs and turns DOM input
 *    into trace-format v1 events (DESIGN.md §3): key *classes*, pointer
 *    boundaries of the triggers' targets, page scroll samples, selection and
 *    visibility states. `t` is event.timeStamp, kept non-decreasing.
 *  - Buffers events until the engine is armed (2,000 at most: the oldest
 *    pointermove/scroll go first, discrete events never; drops are counted),
 *    holding element references only until the config is loaded (then only
 *    the target elements the pointer is in).
 *  - Does nothing per frame: listens to pointermove only while the engine
 *    can use a move, keeps the newest move and scroll for one 50 ms timer,
 *    and posts discrete events at the end of their task, one message a task.
 *  - Runs the engine in a module Web Worker (default), on the page
 *    (data-mode="main"), or next to PyScript (data-mode="pyscript"); applies
 *    its decisions (show / class / toast) and dispatches pytrigger:* events.
 *  - Uploads the engine's aggregate report (never an event) to data-collector,
 *    only with consent and never under Global Privacy Control / Do Not Track:
 *    written to localStorage before it is sent, sent every 5 minutes and at
 *    pagehide (sendBeacon, text/plain), retried with backoff and jitter, kept
 *    for the next page load for up to 24 h (DESIGN.md §7).
 *
 * What it must never do
 *  - block the main thread: no sync I/O, no Python here in worker mode, every
 *    listener passive and O(triggers);
 *  - read or keep what the visitor types or selects: a key is classified on
 *    the spot and only its class leaves the handler; input and selection
 *    events carry no value and no text;
 *  - build HTML from strings: toasts are DOM nodes filled with textContent;
 *  - throw into the page: any failure is one pytrigger:error event and a
 *    console.warn, then every listener is removed and the page goes on untouched;
 *  - store or send anything before consent, or anything but the report.
 */
(() => {
  'use strict';
  const win = window, doc = document, perf = performance;
  if (win.pytrigger) return; // loaded twice: the first one runs
  const T0 = perf.now();
  const script = doc.currentScript;
  const base = (script && script.src) || doc.baseURI;
  const attr = (name) => (script && script.getAttribute('data-' + name)) || null;
  const mode = attr('mode') || 'worker';
  const MAX_BUFFER = 2000;
  const BOOT_TIMEOUT_MS = mode === 'pyscript' ? 60000 : 25000;
  const CONTINUOUS = ['pointermove', 'scroll'];
  const NAV = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End',
    'PageUp', 'PageDown', 'Tab']);

  let phase = 'off'; // off → starting → ready | failed
  let triggers = null; // [{id, target}] once the config is loaded
  let buffer = []; // raw records (with element refs) or trace events, until ready
  const dropped = {};
  let lastT = 0;
  let port = null; // {post(text), close()}
  const listeners = [];
  let context = null, selected = false;
  let statsId = 0;
  const statsWaiting = new Map();
  const toasts = new Map();
  let bootTimer = 0;
  let rawConfig = null, configured = false;
  let bootSnapshot = null; // how the runtime started: restored, too slow, off… (worker.js)
  let bootSteps = null; // worker.js's step times, ms
  let resolveReady, rejectReady;
  const ready = new Promise((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });
  ready.catch(() => {}); // a failed start never becomes an unhandled rejection

  const stamp = (e) => {
    let t = e && e.timeStamp > 0 ? e.timeStamp : perf.now();
    if (t < lastT) t = lastT; // Chromium stamps focus events at dispatch
    return (lastT = t);
  };
  const dispatch = (name, detail) =>
    doc.dispatchEvent(new CustomEvent('pytrigger:' + name, { detail }));

  // ---------------------------------------------------------------- events
  // A trace event is built in the listener. Until the config is loaded, an
  // event that happened on an element is buffered as {ev, el} and its targets
  // resolved later.
  // Triggers' targets, one entry per distinct selector ({sel, ids}); with
  // several, `anyTarget` joins them: one closest() says "none". Ids come out in
  // trigger order (`rank`). `inside[i]`: the element of groups[i] the pointer
  // is in (its closest() at the last pointerover), or null.
  let groups = [], anyTarget = null, rank = null, inside = [], insideSome = false;
  const enteredAt = new Map(); // trigger id -> the time of its target's last pointerenter
  const inSomeTarget = (el) => !!(el && el.closest && groups.length && (!anyTarget || el.closest(anyTarget)));
  const inOrder = (ids) => (ids.length > 1 && groups.length > 1 ? ids.sort((a, b) => rank.get(a) - rank.get(b)) : ids);
  const NONE = []; // no targets (shared, never changed)
  // A group's own ids are in trigger order already: only an element in several
  // groups gets a new array, sorted
  const targetsOf = (el) => {
    if (!inSomeTarget(el)) return NONE;
    let ids = NONE, mixed = false;
    for (const g of groups) {
      if (!el.closest(g.sel)) continue;
      if (ids === NONE) ids = g.ids;
      else {
        if (!mixed) { ids = ids.slice(); mixed = true; }
        for (const id of g.ids) ids.push(id);
      }
    }
    return mixed ? inOrder(ids) : ids;
  };
  // Appends to `out` the trace events one DOM event makes once targets are known.
  const toTrace = (ev, el, out) => {
    const type = ev.type;
    if (type !== 'over' && type !== 'off') {
      if (el) {
        const ids = targetsOf(el);
        if (ids.length) ev.targets = ids;
      }
      out.push(ev);
      return;
    }
    // Pointer boundaries: only pointerover is listened to (it fires as often as
    // pointerout; the element left is the one the last pointerover entered), and
    // the document's pointerleave ('off'). A target's own boundary is crossed
    // when closest() changes: leaving a target for its child is no crossing;
    // for a nested element of the same selector it is a leave and an enter.
    const left = [], entered = [];
    const some = type === 'over' && (ev.some === undefined ? inSomeTarget(el) : ev.some);
    insideSome = false;
    for (let i = 0; i < groups.length; i++) {
      const now = some ? el.closest(groups[i].sel) : null;
      if (now !== inside[i]) {
        if (inside[i]) left.push(...groups[i].ids);
        if (now) entered.push(...groups[i].ids);
        inside[i] = now;
      }
      if (now) insideSome = true;
    }
    if (left.length) out.push({ t: ev.t, type: 'pointerleave', targets: inOrder(left) });
    if (entered.length) {
      for (const id of entered) enteredAt.set(id, ev.t); // for a leave's hold (below)
      out.push({ t: ev.t, type: 'pointerenter', targets: inOrder(entered) });
    }
    if (type === 'off' && ev.pointerType === 'mouse') {
      out.push({ t: ev.t, type: 'leave', x: ev.x, y: ev.y }); // left the document
    }
  };
  const resolveItem = (item, out) => {
    if (item.ev) toTrace(item.ev, item.el, out); else out.push(item);
  };

  // Outgoing messages wait for the end of the current task (a 0 ms timer: a
  // microtask would run between two listeners of one task), so the events of
  // one task (pointerdown + focus…) cross in one postMessage, which is what an
  // event costs most; their order with every other message is kept. An event
  // that ends what its task brings — a click (after its pointerup), an input
  // (after the key that typed it), a key that types nothing, a pointer
  // boundary, the pointer leaving the page, a scroll sample, the 50 ms batch
  // of moves and scrolls — is sent at its own microtask instead: those are the
  // events that decide at once; a 0 ms timer waits behind input handling and
  // rendering (about 4 ms here), and its task costs the page about what a post
  // does (BENCHMARKS.md, "what one postMessage costs"). A hidden page (whose
  // timers are throttled) sends at the microtask.
  //
  // Held boundaries (ready's `holds`, Engine.hold_needs()). A pointerenter whose
  // every trigger may wait is held, and so is the pointerleave after it while
  // the enter is still held: most crossings of a card decide nothing (the
  // dwell never reaches its threshold), so they wait for the next message the
  // page sends anyway. An enter still held when its hold runs out (its target's
  // smallest dwell threshold less a margin: the dwell may decide soon) is sent
  // then, and the leave after a sent enter goes at once, unless the dwell has
  // decided already (ready's `leaves`, Engine.leave_holds(): a leave after a
  // plain `dwell_ms` threshold only lowers a condition that has acted). At most
  // MAX_HELD events wait.

  let outgoing = [];
  let live = null; // the queued events message new events may join
  let sendTimer = 0;
  let urgent = false; // the event being delivered ends its task's events
  let micro = false; // a send is queued as a microtask
  const sendNow = () => {
    micro = false;
    if (sendTimer) { clearTimeout(sendTimer); sendTimer = 0; }
    const msgs = outgoing;
    outgoing = [];
    live = null;
    for (const msg of msgs) {
      if (!port) return;
      try { port.post(JSON.stringify(msg)); } catch (err) { fail('cannot reach the engine: ' + err.message); return; }
    }
  };
  const sendSoon = () => { if (!micro) { micro = true; queueMicrotask(sendNow); } };
  const send = (msg) => {
    if (held.length) {
      // held boundaries go first: in this message's events, or in one of their own
      const evs = takeHeld();
      if (msg.type === 'events') msg.events.unshift(...evs); else send({ type: 'events', events: evs });
    }
    const now = urgent || doc.visibilityState === 'hidden';
    if (!outgoing.length && !now) sendTimer = setTimeout(sendNow, 0);
    outgoing.push(msg);
    live = null;
    if (now) sendSoon();
  };

  // runs fn as an event that ends its task's events (above)
  const ending = (fn) => (a, b) => {
    urgent = true;
    try { fn(a, b); } finally { urgent = false; }
  };

  const MAX_HELD = 64;
  let holds = null; // trigger id -> ms an enter may wait (null: no limit)
  let leaves = {}; // trigger id -> the dwell (ms) after which a leave may wait (Engine.leave_holds())
  let held = [];
  const heldIn = new Map(); // id -> when its held enter must go (Infinity: no limit)
  let holdTimer = 0, holdDue = Infinity;
  const takeHeld = () => {
    const evs = held;
    held = [];
    heldIn.clear();
    clearTimeout(holdTimer);
    holdTimer = 0;
    holdDue = Infinity;
    return evs;
  };
  // whether held[from…] (one DOM event's boundaries) may all wait
  const mayHold = (from) => {
    for (let i = from; i < held.length; i++) {
      const ev = held[i], ids = ev.targets || NONE, enter = ev.type === 'pointerenter';
      if (!ids.length || (!enter && ev.type !== 'pointerleave')) return false;
      for (const id of ids) {
        if (enter) {
          const ms = holds[id];
          if (ms === undefined) return false;
          heldIn.set(id, ms === null ? Infinity : ev.t + ms);
        } else if (!heldIn.delete(id) && !(ev.t - enteredAt.get(id) > leaves[id])) return false;
      }
    }
    let due = Infinity; // when the first enter still held and inside must go
    for (const d of heldIn.values()) if (d < due) due = d;
    if (due !== holdDue) {
      clearTimeout(holdTimer);
      holdDue = due;
      holdTimer = due < Infinity ? setTimeout(holdRunOut, due - perf.now()) : 0;
    }
    return held.length <= MAX_HELD;
  };
  const holdRunOut = ending(() => { if (held.length) send({ type: 'events', events: takeHeld() }); });

  const deliver = (ev, el) => {
    if (phase === 'ready') {
      if (holds && !live && ev.type === 'over') {
        const n = held.length;
        toTrace(ev, el, held);
        if (held.length === n || mayHold(n)) return;
        send({ type: 'events', events: takeHeld() }); // these can't wait: all go now
        live = outgoing[outgoing.length - 1];
        return;
      }
      // trace events join the queued message (`live`), else start one
      const out = live ? live.events : [], n = out.length;
      toTrace(ev, el, out);
      if (out.length === n) return;
      if (live) { if (urgent) sendSoon(); return; }
      send({ type: 'events', events: out });
      live = outgoing[outgoing.length - 1];
      return;
    }
    if (!buffer) return;
    if (triggers) toTrace(ev, el, buffer); else buffer.push(el || ev.type === 'off' ? { ev, el } : ev);
    while (buffer.length > MAX_BUFFER) {
      const i = buffer.findIndex((r) => CONTINUOUS.includes(r.type));
      if (i < 0) break; // never drop a discrete event
      dropped[buffer[i].type] = (dropped[buffer[i].type] || 0) + 1;
      buffer.splice(i, 1);
    }
  };

  // Continuous input. Nothing is done per frame: the newest move and a note
  // that the page scrolled wait for one timer (BATCH_MS), and the scroll
  // position is read then. A scroll that comes BATCH_MS or more after the last
  // sample, with nothing waiting, is sampled at once, in its own event: a timer
  // task costs the page about as much as the post itself (BENCHMARKS.md), and
  // a wheel step is often the only scroll event of its burst. A discrete event
  // sends what waits first.
  const BATCH_MS = 50;
  let timer = 0;
  let move = null; // the newest pointermove not sent yet
  let scrolledAt = -1; // the time of the newest scroll not sent yet (-1: none)
  let sampledAt = -Infinity; // the time of the last scroll sample
  const sampleScroll = (t) => {
    sampledAt = t;
    deliver(scrollSample(t));
  };
  const takePending = () => {
    const m = move, s = scrolledAt;
    move = null;
    scrolledAt = -1;
    if (s >= 0 && wantScroll) sampleScroll(s);
    if (m) deliver(m);
  };
  const flush = ending(() => {
    clearTimeout(timer);
    timer = 0;
    takePending();
    const ctx = readContext(null);
    if (ctx) deliver(ctx);
  });
  const schedule = () => { if (!timer) timer = setTimeout(flush, BATCH_MS); };
  const discrete = (ev, el) => {
    if (move || scrolledAt >= 0) takePending();
    deliver(ev, el);
  };
  const discreteNow = ending(discrete);

  // Moves are listened to only while the engine can use one (ready's `moves`):
  // every move (`all`: idle_ms reads every input), else only the first move
  // with a pointer held down (`pressed`: dragging), the first after the
  // pointer left the document (`leave`: exit_intent) and the first while a
  // gate that moves confirm is open (`gates`). Before ready, every move counts.
  let moveAll = true, movePressed = false, moveLeave = false, moveGates = null;
  let downNoMove = false, leftNoMove = false; // a pointer went down / left, no move since
  const openGates = new Set();
  let wantScroll = true;
  let moveOff = null;
  const onMove = (e) => {
    const ev = { t: stamp(e), type: 'pointermove', x: e.clientX, y: e.clientY };
    downNoMove = leftNoMove = false;
    if (moveAll) { move = ev; schedule(); return; }
    discreteNow(ev); // the one move a need waited for, at once
    openGates.clear();
    updateMoves();
  };
  const updateMoves = () => {
    const want = moveAll || (movePressed && downNoMove) || (moveLeave && leftNoMove) ||
      openGates.size > 0;
    if (want && !moveOff && phase !== 'failed') moveOff = listen(doc, 'pointermove', onMove);
    else if (!want && moveOff) { moveOff(); moveOff = null; }
  };

  const scrollSample = (t) => ({
    t, type: 'scroll', scroll_y: win.scrollY, viewport_h: win.innerHeight,
    doc_h: Math.max(doc.documentElement.scrollHeight, win.innerHeight, 1),
  });
  const coarse = win.matchMedia ? win.matchMedia('(pointer: coarse)') : null;
  let pointerKind = coarse && coarse.matches ? 'touch' : 'mouse';
  const readContext = (e) => {
    const next = { pointer: pointerKind, viewport_w: win.innerWidth };
    if (context && context.pointer === next.pointer && context.viewport_w === next.viewport_w) return null;
    context = next;
    return { t: stamp(e), type: 'context', ...next };
  };
  const keyClass = (e) => {
    const k = e.key; // looked at here, never kept or sent
    if (!k || e.isComposing) return 'other';
    // one code point: most keys are one code unit, checked first
    const one = k.length === 1 || (k.length === 2 && k.codePointAt(0) > 0xffff);
    if (one) return e.ctrlKey || e.metaKey ? 'other' : 'char';
    if (k === 'Backspace' || k === 'Delete') return 'backspace';
    if (k === 'Enter') return 'enter';
    return NAV.has(k) ? 'nav' : 'other';
  };
  const NO_TEXT = new Set(['checkbox', 'radio', 'button', 'submit', 'reset', 'file', 'image',
    'range', 'color', 'hidden']);
  const typesInto = (el) => {
    if (!el) return false;
    const tag = el.tagName; // most keys go to a field: its tag first, then its state
    if (tag === 'INPUT' ? NO_TEXT.has(el.type) : tag !== 'TEXTAREA' && !el.isContentEditable) return false;
    return !el.readOnly && !el.disabled;
  };
  const isSelected = () => {
    const sel = win.getSelection && win.getSelection();
    if (sel && !sel.isCollapsed) return true;
    const el = doc.activeElement;
    try {
      return !!el && typeof el.selectionStart === 'number' && el.selectionStart !== el.selectionEnd;
    } catch (_) { return false; }
  };
  const pointer = (type) => (e) => discrete({ t: stamp(e), type, x: e.clientX, y: e.clientY }, e.target);
  const plain = (type) => (e) => discrete({ t: stamp(e), type }, e.target);
  const pointerdown = pointer('pointerdown');
  const pointerup = pointer('pointerup');

  const handlers = {
    // most boundaries are no target's: once the targets are known, a pointerover
    // outside every target, coming from outside every target, ends here
    pointerover: ending((e) => {
      const el = e.target;
      let some; // in some target (known once ready; toTrace works it out otherwise)
      if (phase === 'ready' && !(some = inSomeTarget(el)) && !insideSome) return;
      discrete({ t: stamp(e), type: 'over', some }, el);
    }),
    pointerdown: (e) => {
      if ((e.pointerType === 'mouse' || e.pointerType === 'touch' || e.pointerType === 'pen') &&
        e.pointerType !== pointerKind) {
        pointerKind = e.pointerType;
        const ctx = readContext(e);
        if (ctx) discrete(ctx);
      }
      pointerdown(e);
      downNoMove = true;
      if (movePressed) updateMoves();
    },
    pointerup: (e) => {
      pointerup(e);
      downNoMove = false;
      if (movePressed) updateMoves();
    },
    click: ending(pointer('click')),
    keydown: (e) => {
      const el = e.target, key = keyClass(e), ev = { t: stamp(e), type: 'keydown', key };
      // a key that types into a field is followed by its input event, in the same task
      if ((key === 'char' || key === 'backspace') && typesInto(el)) discrete(ev, el);
      else discreteNow(ev, el);
    },
    input: ending(plain('input')),
    focusin: plain('focus'),
    focusout: plain('blur'),
    dragstart: plain('dragstart'),
    dragend: plain('dragend'),
    compositionstart: plain('compositionstart'),
    compositionend: plain('compositionend'),
    selectionchange: (e) => {
      const now = isSelected();
      if (now !== selected) { selected = now; discrete({ t: stamp(e), type: 'selection', state: now }); }
    },
    visibilitychange: (e) => {
      const hidden = doc.visibilityState === 'hidden';
      discrete({ t: stamp(e), type: 'visibility', state: hidden ? 'hidden' : 'visible' });
      if (hidden) { sendNow(); flushBeacon(); } // a hidden page's timers are throttled
    },
  };
  // Listens (passive, capture unless told); returns the function that stops it.
  const listen = (target, type, fn, capture = true) => {
    const opts = { capture, passive: true };
    const safe = (e) => { try { fn(e); } catch (err) { fail('internal error: ' + err.message); } };
    target.addEventListener(type, safe, opts);
    const remove = () => target.removeEventListener(type, safe, opts);
    listeners.push(remove);
    return () => { // stops it now, and forgets it (moves are listened to on and off)
      remove();
      const i = listeners.indexOf(remove);
      if (i >= 0) listeners.splice(i, 1);
    };
  };
  // Toasts are placed again once the page has stopped scrolling (scrollend) or
  // resizing for PLACE_MS (placing reads layout: never per scroll event).
  const PLACE_MS = 150;
  let placeTimer = 0, movedAt = 0;
  const placeLater = () => {
    movedAt = perf.now();
    if (!placeTimer) placeTimer = setTimeout(placeWhenStill, PLACE_MS);
  };
  const SCROLLEND = 'onscrollend' in win;
  const placeNow = () => {
    for (const [id, el] of toasts) place(el, id);
    remeasure = false;
  };
  const placeWhenStill = () => {
    const wait = movedAt + PLACE_MS - perf.now();
    if (wait > 1) { placeTimer = setTimeout(placeWhenStill, wait); return; }
    placeTimer = 0;
    placeNow();
  };
  const unlisten = {}; // document listeners by type, for those the engine may not need
  const attach = () => {
    for (const type of Object.keys(handlers)) unlisten[type] = listen(doc, type, handlers[type]);
    // the pointer left the document (a capture listener would hear every element's leave)
    listen(doc.documentElement, 'pointerleave', ending((e) => {
      if (e.target !== doc.documentElement) return;
      discrete({ t: stamp(e), type: 'off', pointerType: e.pointerType, x: e.clientX, y: e.clientY });
      if (e.pointerType === 'mouse') { leftNoMove = true; if (moveLeave) updateMoves(); }
    }), false);
    updateMoves();
    listen(win, 'scroll', ending((e) => {
      if (e.target !== doc) return;
      if (toasts.size && !SCROLLEND) placeLater();
      if (!wantScroll) return;
      const t = stamp(e);
      if (!timer && t - sampledAt >= BATCH_MS) sampleScroll(t); // nothing waits: at once
      else { scrolledAt = t; schedule(); }
    }));
    // toasts are placed again once the page has stopped scrolling: scrollend where
    // the browser has it (no timer), else PLACE_MS after the last scroll event
    if (SCROLLEND) listen(win, 'scrollend', (e) => { if (e.target === doc && toasts.size) placeNow(); });
    listen(win, 'resize', () => { if (toasts.size) { remeasure = true; placeLater(); } schedule(); });
    listen(win, 'pagehide', flushBeacon);
    listen(win, 'online', resume);
    if (coarse) {
      listen(coarse, 'change', () => { pointerKind = coarse.matches ? 'touch' : 'mouse'; schedule(); });
    }
    // The first scroll position and context are read at the batch timer, as every later
    // one is: read here, before the page's first layout, they would force that layout into
    // this script's task (on a long page, a long task).
    scrolledAt = stamp(null);
    schedule();
  };

  // ---------------------------------------------------------------- actions
  const each = (sel, fn) => {
    try { doc.querySelectorAll(sel).forEach(fn); } catch (err) { console.warn('pytrigger: bad selector ' + sel); }
  };
  const apply = (action, d) => {
    if (!action) return;
    if (action.show) {
      each(action.show, (el) => {
        el.removeAttribute('hidden');
        if (el.hasAttribute('style') && el.style.display === 'none') el.style.display = '';
      });
    }
    if (action.class) each(action.class.on, (el) => el.classList.add(action.class.add));
    if (action.toast) toast(action.toast, d.trigger);
  };

  let sheet = null;
  let style = ''; // the toast's stylesheet, from ready (pytrigger/toast_style.py)
  const node = (tag, cls, text) => {
    const n = doc.createElement(tag);
    n.className = cls;
    if (text != null) n.textContent = String(text);
    return n;
  };
  const closeToast = (id) => {
    const box = toasts.get(id);
    if (box) { box.remove(); toasts.delete(id); }
  };
  const toast = (spec, id) => {
    if (!sheet && doc.adoptedStyleSheets) {
      try {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(style);
        doc.adoptedStyleSheets = [sheet, ...doc.adoptedStyleSheets];
      } catch (_) { sheet = {}; }
    }
    closeToast(id);
    const box = node('aside', 'pytrigger-toast');
    box.setAttribute('role', 'status');
    box.setAttribute('aria-live', 'polite');
    box.setAttribute('data-trigger', id);
    const close = node('button', 'pytrigger-toast-close', '\u00d7');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close');
    close.addEventListener('click', () => { closeToast(id); api.dismiss(id); });
    box.append(close, node('strong', 'pytrigger-toast-title', spec.title));
    if (spec.body) box.append(node('p', 'pytrigger-toast-body', spec.body));
    if (spec.cta) {
      const cta = node('button', 'pytrigger-toast-cta', spec.cta);
      cta.type = 'button';
      cta.addEventListener('click', () => { dispatch('cta', { trigger: id }); closeToast(id); });
      box.append(cta);
    }
    (doc.body || doc.documentElement).append(box);
    toasts.set(id, box);
    place(box, id);
  };
  // Puts a toast in the first viewport corner where it covers neither its
  // trigger's target nor another toast (else where it covers the least). The
  // corner is a class (the sheet's 1rem from two edges): the toast is measured
  // once, in the bottom-right corner (again only after a resize), and the other
  // corners are worked out from it; the class is written only when the corner
  // changes, so placing it again after a scroll forces no style or layout work.
  const CORNERS = [['bottom', 'right'], ['bottom', 'left'], ['top', 'right'], ['top', 'left']];
  const boxes = new WeakMap(); // toast → {at, r, mx, my}: its corner and bottom-right box
  let remeasure = false; // the viewport was resized since the toasts were measured
  const corner = (box, v, h) => {
    const m = boxes.get(box), at = v + h;
    if (m.at === at) return;
    m.at = at;
    box.className = `pytrigger-toast pytrigger-at-${v} pytrigger-at-${h}`;
  };
  const place = (box, id) => {
    const tr = triggers && triggers.find((x) => x.id === id);
    const avoid = [];
    if (tr && tr.target) each(tr.target, (n) => avoid.push(n.getBoundingClientRect()));
    for (const [other, box2] of toasts) if (other !== id) avoid.push(box2.getBoundingClientRect());
    let m = boxes.get(box);
    if (!m) boxes.set(box, (m = { at: '', r: null, mx: 0, my: 0 }));
    if (!avoid.length) { corner(box, 'bottom', 'right'); return; }
    if (!m.r || remeasure) {
      corner(box, 'bottom', 'right');
      const r = box.getBoundingClientRect(), root = doc.documentElement;
      m.r = { left: r.left, top: r.top, width: r.width, height: r.height };
      m.mx = Math.max(0, root.clientWidth - r.right);
      m.my = Math.max(0, root.clientHeight - r.bottom);
    }
    const r = m.r;
    let best = null;
    for (const [v, h] of CORNERS) {
      const left = h === 'right' ? r.left : m.mx, top = v === 'bottom' ? r.top : m.my;
      let overlap = 0;
      for (const a of avoid) {
        overlap += Math.max(0, Math.min(left + r.width, a.right) - Math.max(left, a.left)) *
          Math.max(0, Math.min(top + r.height, a.bottom) - Math.max(top, a.top));
      }
      if (!best || overlap < best[0]) best = [overlap, v, h];
      if (!overlap) break;
    }
    corner(box, best[1], best[2]);
  };

  // ---------------------------------------------------------------- consent & upload
  // Before consent nothing is written and nothing is sent: the only storage
  // read is the remembered consent itself. GPC / DNT turn sharing off whatever
  // the site says. The outbox (localStorage, with consent only) holds each
  // page session's newest report until a 2xx is seen, for up to 24 h.
  const KEY_CONSENT = 'pytrigger:consent', KEY_OUTBOX = 'pytrigger:outbox', KEY_STATE = 'pytrigger:state';
  const OUTBOX_MAX = 256 * 1024, OUTBOX_TTL = 24 * 3600e3, KEEPALIVE_MAX = 60 * 1024;
  const MAX_ATTEMPTS = 10, BACKOFF_MIN = 1000, BACKOFF_MAX = 60000;
  const SITE_RE = /^[A-Za-z0-9_-]{1,64}$/;
  const optOut = navigator.globalPrivacyControl === true || navigator.doNotTrack === '1' ||
    win.doNotTrack === '1';
  const collector = (() => {
    try { return attr('collector') ? new URL(attr('collector'), doc.baseURI).href : null; } catch (_) { return null; }
  })();
  const siteKey = attr('site');
  const every = Number(attr('report-interval')) > 0 ? Number(attr('report-interval')) : 300000;
  const storage = (() => { try { return win.localStorage; } catch (_) { return null; } })();
  const getItem = (key) => { try { return storage ? storage.getItem(key) : null; } catch (_) { return null; } };
  const setItem = (key, value) => { try { if (storage) storage.setItem(key, value); } catch (_) { /* full */ } };
  let consented = attr('consent') === 'granted' || getItem(KEY_CONSENT) === 'granted';
  const canShare = () => consented && !optOut && !!collector && SITE_RE.test(siteKey || '') &&
    phase !== 'failed';
  let latest = null; // this page session's newest report {id, seq, at, body}
  let beaconed = -1; // the seq last handed to sendBeacon
  const delivered = new Map(); // report id -> highest seq answered 2xx
  const jobs = new Map(); // report id -> {entry, attempts, timer, waiting}
  let periodic = 0;

  const outbox = {
    load() {
      try { const v = JSON.parse(getItem(KEY_OUTBOX) || '[]'); return Array.isArray(v) ? v : []; } catch (_) { return []; }
    },
    save(list) {
      let text = JSON.stringify(list);
      while (list.length && text.length > OUTBOX_MAX) { list.shift(); text = JSON.stringify(list); } // oldest go first
      if (!list.length) { try { storage && storage.removeItem(KEY_OUTBOX); } catch (_) { /* gone */ } } else setItem(KEY_OUTBOX, text);
    },
    put(entry) {
      const list = outbox.load().filter((e) => e && e.id !== entry.id);
      list.push(entry);
      outbox.save(list);
    },
    remove(id, seq) { outbox.save(outbox.load().filter((e) => e && !(e.id === id && e.seq <= seq))); },
  };
  const retryAfter = (value) => {
    if (!value) return 0;
    if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
    const at = Date.parse(value);
    return Number.isFinite(at) ? Math.max(0, at - Date.now()) : 0;
  };
  // text/plain: a CORS-simple request, no preflight; keepalive outlives the page
  const post = (body) => fetch(collector, {
    method: 'POST', body, headers: { 'Content-Type': 'text/plain' }, mode: 'cors',
    credentials: 'omit', keepalive: body.length < KEEPALIVE_MAX,
  });
  const attempt = (job) => {
    job.timer = 0;
    if (!canShare()) { jobs.delete(job.entry.id); return; }
    if (navigator.onLine === false) { job.waiting = true; return; } // resumed by 'online'
    const { id, seq, body } = job.entry;
    post(body).then((res) => {
      if (res.ok) {
        delivered.set(id, Math.max(seq, delivered.get(id) ?? -1));
        outbox.remove(id, seq);
        if (job.entry.seq > seq) { job.attempts = 0; attempt(job); } else jobs.delete(id);
      } else if (res.status === 408 || res.status === 429 || res.status >= 500) {
        retry(job, retryAfter(res.headers.get('Retry-After')));
      } else {
        outbox.remove(id, Infinity); // the collector will never take it
        jobs.delete(id);
      }
    }, () => retry(job, 0));
  };
  const retry = (job, wait) => {
    if (jobs.get(job.entry.id) !== job) return;
    job.attempts += 1;
    if (job.attempts >= MAX_ATTEMPTS) { jobs.delete(job.entry.id); return; } // the outbox keeps it
    const cap = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** (job.attempts - 1));
    const delay = Math.max(cap / 2 + Math.random() * (cap / 2), wait); // equal jitter
    job.timer = setTimeout(() => attempt(job), delay);
  };
  const upload = (entry) => {
    if (!canShare() || (delivered.get(entry.id) ?? -1) >= entry.seq) return;
    const job = jobs.get(entry.id);
    if (job) { if (entry.seq > job.entry.seq) job.entry = entry; return; } // in flight or waiting
    const fresh = { entry, attempts: 0, timer: 0, waiting: false };
    jobs.set(entry.id, fresh);
    attempt(fresh);
  };
  const resume = () => {
    for (const job of jobs.values()) if (job.waiting) { job.waiting = false; attempt(job); }
  };
  const resendOutbox = () => {
    if (!canShare()) return;
    for (const e of outbox.load()) {
      if (!e || typeof e.id !== 'string' || typeof e.body !== 'string') continue;
      if (Date.now() - e.at < OUTBOX_TTL) upload(e); else outbox.remove(e.id, Infinity);
    }
  };
  const keep = (entry) => {
    if (!canShare()) return;
    outbox.put(entry); // written before it is sent
    if (!periodic) periodic = setInterval(() => { if (latest) upload(latest); }, every);
  };
  const onReport = (report) => {
    latest = { id: report.report_id, seq: report.seq, at: Date.now(), body: JSON.stringify(report) };
    keep(latest);
  };
  // pagehide / hidden: the last chance. A beacon's fate is unknown, so the
  // outbox keeps the report and the next page load sends it again.
  const flushBeacon = () => {
    if (!latest || !canShare() || latest.seq <= beaconed) return;
    if ((delivered.get(latest.id) ?? -1) >= latest.seq) return;
    beaconed = latest.seq;
    let sent = false;
    try { sent = navigator.sendBeacon(collector, new Blob([latest.body], { type: 'text/plain' })); } catch (_) { sent = false; }
    if (!sent && latest.body.length < KEEPALIVE_MAX) post(latest.body).catch(() => {});
  };
  const forget = () => {
    for (const job of jobs.values()) clearTimeout(job.timer);
    jobs.clear();
    clearInterval(periodic);
    periodic = 0;
    if (!storage) return;
    try {
      for (let i = storage.length - 1; i >= 0; i--) {
        const key = storage.key(i);
        if (key && key.startsWith('pytrigger:')) storage.removeItem(key);
      }
    } catch (_) { /* storage gone */ }
  };
  const setConsent = (granted) => {
    if (granted) {
      consented = true;
      setItem(KEY_CONSENT, 'granted'); // remembered until revoked
      if (pendingUnit) { setItem(KEY_UNIT, pendingUnit); pendingUnit = null; }
      if (latest) keep(latest);
      resendOutbox();
    } else {
      consented = false;
      forget();
    }
  };

  // ---------------------------------------------------------------- engine
  const onEngine = (text) => {
    if (phase === 'failed') return;
    let msgs;
    try { msgs = JSON.parse(text); } catch (_) { return; }
    for (const m of msgs) {
      if (m.type === 'ready') onReady(m);
      else if (m.type === 'boot') {
        bootSnapshot = m.snapshot;
        bootSteps = { ...m.ms, begin: Math.round(m.at - perf.timeOrigin - T0) }; // begin: from this script's start
      }
      else if (m.type === 'decisions') {
        for (const d of m.decisions) decide(d, m.replayed);
      } else if (m.type === 'stats') {
        const w = statsWaiting.get(m.id);
        statsWaiting.delete(m.id);
        if (w) w[0](m.stats);
      } else if (m.type === 'report') onReport(m.report);
      else if (m.type === 'state') { if (consented) setItem(KEY_STATE, JSON.stringify(m.state)); }
      else if (m.type === 'error') fail(m.message, m.path);
      if (phase === 'failed') return;
    }
  };
  const decide = (d, replayed) => {
    const info = { trigger: d.trigger, variant: d.variant, segment: d.segment };
    if (moveGates && moveGates.has(d.trigger)) {
      if (d.kind === 'gate') openGates.add(d.trigger);
      else if (d.kind === 'fire' || d.kind === 'expire') openGates.delete(d.trigger);
      updateMoves();
    }
    if (d.kind === 'gate') {
      apply(d.action, d);
      dispatch('gate', info);
    } else if (d.kind === 'fire') {
      apply(d.action, d);
      const ms = perf.now() - d.t;
      dispatch('fire', { ...info, latencyMs: ms, replayed: !!replayed });
      send({ type: 'latency', trigger: d.trigger, variant: d.variant, ms, replayed: !!replayed });
    } else if (d.kind === 'expire') {
      dispatch('expire', { trigger: d.trigger });
    } else if (d.kind === 'suppressed') {
      dispatch('suppressed', { ...info, reason: d.reason });
    }
  };
  const onReady = (m) => {
    clearTimeout(bootTimer);
    flush(); // the waiting move and scroll join the buffer
    if (Array.isArray(m.continuous)) wantScroll = m.continuous.includes('scroll');
    const moves = m.moves || {}; // Engine.move_needs()
    moveAll = !!moves.all;
    movePressed = !!moves.pressed;
    moveLeave = !!moves.leave;
    moveGates = new Set(moves.gates || []);
    holds = m.holds && typeof m.holds === 'object' ? m.holds : null; // Engine.hold_needs()
    if (m.leaves && typeof m.leaves === 'object') leaves = m.leaves;
    if (typeof m.style === 'string') style = m.style;
    if (m.selection === false) unlisten.selectionchange(); // no trigger reads the selection
    const recs = [];
    for (const item of buffer) resolveItem(item, recs);
    buffer = null;
    phase = 'ready';
    updateMoves();
    // the replay goes first: anything the page does on pytrigger:ready comes after
    // it; a stats() call made during the boot splits it, to be answered in order
    let part = [];
    for (const r of recs) {
      if (r.type !== 'stats') { part.push(r); continue; }
      send({ type: 'events', replay: true, final: false, until: r.t, events: part });
      send({ type: 'stats', id: r.id });
      part = [];
    }
    send({ type: 'events', replay: true, events: part, dropped });
    dispatch('ready', {
      version: m.version, mode, bootMs: perf.now() - T0, snapshot: bootSnapshot, steps: bootSteps,
    });
    resolveReady({ version: m.version, mode });
  };
  // the visitor's local state (stored with consent only) and this page's device
  const localState = () => {
    let stored = null;
    if (consented) { try { stored = JSON.parse(getItem(KEY_STATE) || 'null'); } catch (_) { stored = null; } }
    const state = stored && typeof stored === 'object' && !Array.isArray(stored) ? stored : {};
    return { ...state, context: { pointer: pointerKind, viewport_w: win.innerWidth } };
  };
  // The unit experiments assign on: the site's own (data-unit-id), else a random
  // id — kept in localStorage with consent, so a visitor keeps their arm across
  // pages; in memory only without. Used by the engine, never sent.
  const KEY_UNIT = 'pytrigger:unit';
  const unitId = () => {
    if (attr('unit-id')) return attr('unit-id');
    const kept = consented ? getItem(KEY_UNIT) : null;
    if (kept && /^[0-9a-f-]{8,64}$/.test(kept)) return kept;
    const fresh = win.crypto && crypto.randomUUID ? crypto.randomUUID()
      : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    if (consented) setItem(KEY_UNIT, fresh); else pendingUnit = fresh;
    return fresh;
  };
  let pendingUnit = null; // written if consent comes later in this page
  const init = () => {
    const config = rawConfig;
    rawConfig = null; // the engine has it from here on: the page keeps only the targets
    send({
      type: 'init', config, timeOrigin: perf.timeOrigin, state: localState(),
      unitId: unitId(),
      site: siteKey, collector, consent: consented ? 'granted' : 'opt-in',
      consentScope: attr('consent-scope') || 'share', gpc: optOut,
    });
  };
  const workerURL = new URL('worker.js', base);
  const snapshotPolicy = attr('snapshot'); // auto (default), always, off: see worker.js
  if (snapshotPolicy === 'always' || snapshotPolicy === 'off') workerURL.search = '?snapshot=' + snapshotPolicy;
  // Save-Data as the page sees it (a worker's navigator.connection may not say)
  else if (navigator.connection && navigator.connection.saveData) workerURL.search = '?save-data=1';
  // The worker starts booting Pyodide while the config is fetched; it gets `init` then.
  const spawnWorker = () => {
    const worker = new Worker(workerURL, { type: 'module', name: 'pytrigger' });
    worker.addEventListener('message', (e) => onEngine(e.data));
    worker.addEventListener('error', (e) => fail('the worker failed: ' + (e.message || 'cannot load ' + workerURL)));
    port = { post: (s) => worker.postMessage(s), close: () => worker.terminate() };
  };
  const startEngine = () => {
    bootTimer = setTimeout(() => fail('the runtime did not start in ' + BOOT_TIMEOUT_MS / 1000 + ' s'), BOOT_TIMEOUT_MS);
    if (mode === 'worker') {
      init();
    } else if (mode === 'main') {
      import(workerURL.href)
        .then((m) => m.boot(workerURL.href).then((py) => {
          bootSnapshot = m.bootInfo.snapshot;
          bootSteps = { ...m.bootInfo.ms, begin: Math.round(m.bootInfo.start - T0) };
          return py;
        }))
        .then((py) => { const m = py.pyimport('pytrigger.pyscript'); m.start().destroy(); m.destroy(); })
        .catch((err) => fail(String((err && err.message) || err)));
    } else if (mode !== 'pyscript') {
      fail('data-mode: expected worker, main or pyscript, got ' + mode, null);
    } else if (port) {
      init(); // PyScript attached the engine before the config was in
    }
  };

  // ---------------------------------------------------------------- config
  const validSelector = (sel) => {
    try { doc.createDocumentFragment().querySelector(sel); return true; } catch (_) { return false; }
  };
  // The path of the first selector the browser cannot parse (the engine
  // checks everything else and cannot know CSS).
  const badSelector = (v, path) => {
    if (!v || typeof v !== 'object') return null;
    for (const k of Object.keys(v)) {
      const p = Array.isArray(v) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      if (['target', 'show', 'on'].includes(k) && typeof v[k] === 'string' && !validSelector(v[k])) return p;
      const deeper = badSelector(v[k], p);
      if (deeper) return deeper;
    }
    return null;
  };
  const loadConfig = async () => {
    const url = attr('config');
    const inline = doc.getElementById('pytrigger-config');
    let text;
    if (url) {
      const abs = new URL(url, doc.baseURI);
      let res;
      try { res = await fetch(abs, { credentials: 'same-origin' }); } catch (_) { res = null; }
      if (!res || !res.ok) throw [`cannot load the config ${abs.pathname} (${res ? 'HTTP ' + res.status : 'network error'})`, ''];
      text = await res.text();
    } else if (inline) {
      text = inline.textContent;
    } else {
      throw ['no config: set data-config or add <script type="application/json" id="pytrigger-config">', ''];
    }
    try { rawConfig = JSON.parse(text); } catch (err) { throw ['the config is not valid JSON: ' + err.message, '']; }
    const bad = badSelector(rawConfig, '');
    if (bad) throw [`${bad}: not a valid CSS selector`, bad];
    const list = rawConfig && Array.isArray(rawConfig.triggers) ? rawConfig.triggers : [];
    triggers = list.filter((x) => x && typeof x.id === 'string')
      .map((x) => ({ id: x.id, target: typeof x.target === 'string' ? x.target : null }));
    const found = new Map();
    for (const x of triggers) {
      if (x.target) { if (!found.has(x.target)) found.set(x.target, []); found.get(x.target).push(x.id); }
    }
    groups = Array.from(found, ([sel, ids]) => ({ sel, ids }));
    inside = groups.map(() => null);
    rank = new Map(triggers.map((x, i) => [x.id, i]));
    anyTarget = groups.length > 1 ? groups.map((g) => g.sel).join(',') : null;
    if (buffer) { // element references end here
      const resolved = [];
      for (const item of buffer) resolveItem(item, resolved);
      buffer = resolved;
    }
    configured = true;
  };

  // ---------------------------------------------------------------- life
  const teardown = () => {
    listeners.splice(0).forEach((off) => off());
    for (const job of jobs.values()) clearTimeout(job.timer);
    jobs.clear();
    clearInterval(periodic);
    clearTimeout(timer);
    outgoing = []; // a queued microtask finds nothing
    live = null;
    takeHeld();
    clearTimeout(sendTimer);
    clearTimeout(placeTimer);
    clearTimeout(bootTimer);
    if (port) { try { port.close(); } catch (_) { /* already gone */ } port = null; }
  };
  const fail = (message, path = null) => {
    if (phase === 'failed') return;
    phase = 'failed';
    buffer = null;
    teardown();
    console.warn('pytrigger: ' + message);
    dispatch('error', { message, path });
    rejectReady(new Error(message));
    for (const [, w] of statsWaiting) w[1](new Error(message));
    statsWaiting.clear();
  };
  const start = () => {
    if (phase !== 'off') return;
    phase = 'starting';
    try {
      attach();
    } catch (err) {
      fail('cannot listen: ' + err.message);
      return;
    }
    resendOutbox(); // reports a previous page could not deliver (with consent only)
    // data-start="idle": the runtime waits for the page's load event and then an
    // idle moment (2 s at most); input is listened to and buffered from now on
    // (now: in a task of its own, so that this script's task stays short)
    const when = attr('start') || 'now';
    if (when === 'now') setTimeout(boot, 0);
    else if (when !== 'idle') fail('data-start: expected now or idle, got ' + when, null);
    else {
      const idle = () => {
        if (phase !== 'starting') return;
        if (win.requestIdleCallback) win.requestIdleCallback(boot, { timeout: 2000 }); else setTimeout(boot, 0);
      };
      if (doc.readyState === 'complete') idle(); else listen(win, 'load', idle);
    }
  };
  const boot = () => {
    if (phase !== 'starting' || booted) return;
    booted = true;
    if (mode === 'worker') {
      try { spawnWorker(); } catch (err) { fail('cannot start the worker: ' + err.message); return; }
    }
    loadConfig().then(startEngine, (err) => {
      if (Array.isArray(err)) fail(err[0], err[1]);
      else fail(String((err && err.message) || err));
    }).catch((err) => fail('cannot start the engine: ' + err.message));
  };
  let booted = false;

  // ---------------------------------------------------------------- API
  const call = (rec) => {
    if (phase === 'starting' || phase === 'ready') discrete({ t: stamp(null), ...rec });
  };
  const api = {
    ready,
    consent(granted) {
      setConsent(!!granted);
      if (granted && phase === 'off') start();
      call({ type: 'consent', state: !!granted });
    },
    goal(name) { call({ type: 'goal', name: String(name) }); },
    dismiss(triggerId) { call({ type: 'dismiss', name: String(triggerId) }); },
    stats() {
      if (phase === 'failed' || phase === 'off') return Promise.reject(new Error('pytrigger is not running'));
      const id = ++statsId;
      return new Promise((res, rej) => {
        statsWaiting.set(id, [res, rej]);
        if (phase === 'ready') send({ type: 'stats', id });
        else discrete({ t: stamp(null), type: 'stats', id }); // answered in order after the boot
      });
    },
  };
  if (mode === 'main' || mode === 'pyscript') {
    // private hooks for pytrigger.pyscript.start(), which runs on this page
    api._attach = (receive) => {
      if (port || phase !== 'starting') throw new Error('pytrigger: engine already attached');
      port = {
        post: (s) => receive(s),
        close: () => receive(JSON.stringify({ type: 'close' })),
      };
      if (configured) init(); // else startEngine() sends it
    };
    api._receive = (text) => queueMicrotask(() => onEngine(text));
  }
  Object.defineProperty(win, 'pytrigger', { value: Object.freeze(api), enumerable: true });

  const consentScope = attr('consent-scope') || 'share';
  if (consentScope === 'all' && !consented) return; // nothing runs before consent
  start();
})();
