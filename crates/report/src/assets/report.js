// lnpsim replay: step-through, findings, filters. Vanilla script, no network: the page works
// without it, and this only adds the controls.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('lnp-data').textContent);
  var body = document.body;
  var holder = document.getElementById('pages');
  var ladder = document.getElementById('ladder');
  var seek = document.getElementById('seek');
  var out = document.getElementById('status');
  var fport = document.getElementById('fport');
  var fnum = document.getElementById('fnum');
  var ROW = data.row;
  var N = data.rows;
  var F = data.findings; // [rule, [seq...], page, row index shown after, ref]
  var first = holder.firstElementChild;
  var page = -1, view = null, rows = [], ys = [], dates = [];
  var chunks = [], chunkOf = [], later = 0; // a page's <svg> chunks, each row's, the first veiled
  var cursor = -1, timer = null, allowed = null;
  var mark = null, veil = null, onFinding = null, lit = [];
  // Findings in the order they are shown: by the row they follow, then by index.
  var order = F.map(function (f, k) { return k; }).sort(function (a, b) { return (F[a][3] - F[b][3]) || (a - b); });
  var current = -1; // position in `order`

  document.getElementById('ctl').hidden = false;

  function ty(el) {
    var m = /translate\(0,(-?[0-9.]+)\)/.exec(el.getAttribute('transform') || '');
    return m ? +m[1] : 0;
  }

  function pageOf(i) {
    for (var p = 0; p < data.pages.length; p++) {
      if (i < data.pages[p][0] + data.pages[p][1]) return p;
    }
    return data.pages.length - 1;
  }

  function show(p) {
    if (p === page) return;
    var el;
    if (p === 0) {
      el = first;
    } else {
      var src = document.getElementById('page-' + p);
      if (!src) return;
      var tmp = document.createElement('div');
      tmp.innerHTML = src.textContent;
      el = tmp.firstElementChild;
    }
    holder.replaceChildren(el);
    page = p;
    view = el;
    chunks = Array.prototype.slice.call(view.querySelectorAll('svg.pg'));
    rows = [];
    chunkOf = [];
    chunks.forEach(function (c, k) {
      var rs = c.querySelectorAll('g.r');
      for (var i = 0; i < rs.length; i++) { rows.push(rs[i]); chunkOf.push(k); }
    });
    ys = rows.map(ty);
    var d = '';
    dates = rows.map(function (r) {
      var t = r.querySelector('text.d');
      if (t) d = t.textContent;
      return d;
    });
    mark = veil = null;
    later = chunks.length;
    onFinding = null;
    lit = [];
    var no = document.getElementById('pageno');
    if (no) {
      var pg = data.pages[p];
      no.textContent = 'page ' + (p + 1) + ' of ' + data.pages.length + ' (rows ' + (pg[0] + 1) + '-' + (pg[0] + pg[1]) + ')';
    }
    filter();
  }

  // A rect across the chunk `c` (created once, moved between chunks).
  function shape(e, cls, c) {
    var svg = chunks[c];
    if (!e) {
      e = document.createElementNS(svg.namespaceURI, 'rect');
      e.setAttribute('class', cls);
      e.setAttribute('x', 0);
      e.setAttribute('width', svg.getAttribute('width'));
    }
    if (e.parentNode !== svg) svg.appendChild(e);
    return e;
  }

  // Veils the chunks after `c` (none: c = chunks.length).
  function veilFrom(c) {
    var lo = Math.min(c, later), hi = Math.max(c, later);
    for (var k = lo; k < hi && k < chunks.length; k++) chunks[k].parentNode.classList.toggle('later', k >= c);
    later = c;
  }

  function label(el) {
    var l = el.querySelector('.l,.la');
    return l ? l.textContent : '';
  }

  // Moves the replay to row i (-1: no replay, every row shown).
  function go(i, quiet) {
    if (N === 0) return;
    if (i < -1) i = -1;
    if (i > N - 1) i = N - 1;
    cursor = i;
    if (!quiet) unfocus();
    if (i < 0) {
      if (mark) mark.setAttribute('height', 0);
      if (veil) veil.setAttribute('height', 0);
      veilFrom(chunks.length);
      body.removeAttribute('data-cursor');
      say('Every row is shown. Play, step or press n for the first finding.');
      return;
    }
    show(pageOf(i));
    var local = i - data.pages[page][0];
    var el = rows[local];
    if (!el) return;
    var c = chunkOf[local];
    var box = chunks[c].viewBox.baseVal;
    mark = shape(mark, 'cur', c);
    veil = shape(veil, 'veil', c);
    var y = ys[local];
    mark.setAttribute('y', y - ROW / 2);
    mark.setAttribute('height', ROW);
    var end = box.y + box.height;
    var next = local + 1 < rows.length && chunkOf[local + 1] === c ? ys[local + 1] - ROW / 2 : end;
    veil.setAttribute('y', next);
    veil.setAttribute('height', Math.max(0, end - next));
    veilFrom(c + 1);
    seek.value = i;
    var seq = el.getAttribute('data-seq');
    body.setAttribute('data-cursor', seq);
    var time = el.querySelector('text.t');
    if (!quiet) {
      say('Row ' + (i + 1) + ' of ' + N + ' · seq ' + seq + ' · ' + dates[local] + ' ' + (time ? time.textContent : '') + ' · ' + label(el));
      reveal(c, y);
    }
  }

  // Scrolls the diagram (not the page) so that y of chunk c is in the middle of its view.
  function reveal(c, y) {
    var div = chunks[c].parentNode;
    ladder.scrollIntoView({ block: 'nearest' });
    ladder.scrollTop = div.offsetTop + (y - chunks[c].viewBox.baseVal.y) - ladder.clientHeight / 2;
  }

  function say(s) { out.textContent = s; }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    button('play').textContent = 'Play';
  }

  function play() {
    if (timer) { stop(); return; }
    if (cursor >= N - 1) go(-1);
    button('play').textContent = 'Pause';
    timer = setInterval(function () {
      if (cursor >= N - 1) stop(); else go(cursor + 1);
    }, 700);
    go(cursor + 1);
  }

  function unfocus() {
    if (onFinding) onFinding.classList.remove('on');
    lit.forEach(function (r) { r.classList.remove('hl'); });
    onFinding = null;
    lit = [];
    current = -1;
    body.removeAttribute('data-finding');
  }

  function visible(k) {
    return !allowed || F[k][4] === null || allowed.has(F[k][4]);
  }

  function findingStep(dir) {
    var row = cursor, j;
    if (dir > 0) {
      for (j = 0; j < order.length; j++) {
        var r = F[order[j]][3];
        if (visible(order[j]) && (r > row || (r === row && j > current))) return focus(j);
      }
    } else {
      for (j = order.length - 1; j >= 0; j--) {
        var q = F[order[j]][3];
        if (visible(order[j]) && (q < row || (q === row && j < current))) return focus(j);
      }
    }
    say(F.length ? 'No ' + (dir > 0 ? 'later' : 'earlier') + ' finding.' : 'The audit found nothing.');
  }

  function focus(j) {
    var k = order[j];
    var f = F[k];
    stop();
    go(f[3], true);
    unfocus();
    current = j;
    var el = document.getElementById('f' + k);
    if (el) {
      el.classList.add('on');
      onFinding = el;
      reveal(chunks.indexOf(el.ownerSVGElement), ty(el) + 20);
    }
    f[1].forEach(function (s) {
      var r = view.querySelector('g.r[data-seq="' + s + '"]');
      if (r) { r.classList.add('hl'); lit.push(r); }
    });
    body.setAttribute('data-finding', k);
    var text = el && el.querySelectorAll('text')[1];
    say('Finding ' + (j + 1) + ' of ' + F.length + ': ' + f[0] + ' · ' + (text ? text.textContent : ''));
  }

  function filter() {
    if (!view) return;
    var els = view.querySelectorAll('[data-ref]');
    for (var i = 0; i < els.length; i++) {
      els[i].classList.toggle('off', !!allowed && !allowed.has(els[i].getAttribute('data-ref')));
    }
    var loose = view.querySelectorAll('g.r:not([data-ref])');
    for (var k = 0; k < loose.length; k++) loose[k].classList.toggle('off', !!allowed);
  }

  function setFilter() {
    var ref = fport.value.trim();
    var num = fnum.value.replace(/[^0-9]/g, '');
    if (!ref && !num) {
      allowed = null;
    } else {
      allowed = new Set();
      Object.keys(data.ports).forEach(function (r) {
        var okRef = !ref || r === ref || r.indexOf(ref + '-') === 0;
        var okNum = !num || data.ports[r].indexOf(num) >= 0;
        if (okRef && okNum) allowed.add(r);
      });
    }
    filter();
    say(allowed ? 'Showing ' + allowed.size + ' port' + (allowed.size === 1 ? '' : 's') + ' of ' + Object.keys(data.ports).length + '.' : 'Showing every port.');
  }

  function button(act) { return document.querySelector('#ctl [data-act="' + act + '"]'); }

  function seekSeq(seq) {
    for (var p = 0; p < data.pages.length; p++) {
      var pg = data.pages[p];
      if (seq >= pg[2] && seq <= pg[3]) {
        show(p);
        for (var i = 0; i < rows.length; i++) {
          if (+rows[i].getAttribute('data-seq') >= seq) return go(pg[0] + i);
        }
      }
    }
  }

  var acts = {
    first: function () { stop(); go(0); },
    back: function () { stop(); go(Math.max(0, cursor - 1)); },
    play: play,
    fwd: function () { stop(); go(cursor + 1); },
    all: function () { stop(); go(-1); },
    prev: function () { findingStep(-1); },
    next: function () { findingStep(1); },
    pprev: function () { stop(); if (page > 0) go(data.pages[page - 1][0]); },
    pnext: function () { stop(); if (page + 1 < data.pages.length) go(data.pages[page + 1][0]); }
  };

  document.getElementById('ctl').addEventListener('click', function (e) {
    var b = e.target.closest('button[data-act]');
    if (b && acts[b.getAttribute('data-act')]) acts[b.getAttribute('data-act')]();
  });
  seek.addEventListener('input', function () { stop(); go(+seek.value); });
  fport.addEventListener('input', setFilter);
  fnum.addEventListener('input', setFilter);
  fport.addEventListener('focus', function () {
    var list = document.getElementById('refs');
    if (list.childElementCount) return;
    Object.keys(data.ports).slice(0, 5000).forEach(function (r) {
      var o = document.createElement('option');
      o.value = r;
      list.appendChild(o);
    });
  });
  holder.addEventListener('click', function (e) {
    var g = e.target.closest('g.r');
    if (g && page >= 0) { stop(); go(data.pages[page][0] + rows.indexOf(g)); }
  });
  document.getElementById('summary').addEventListener('click', function (e) {
    var a = e.target.closest('a[data-f]');
    if (!a) return;
    e.preventDefault();
    var k = +a.getAttribute('data-f');
    focus(order.indexOf(k));
  });

  var keys = {
    'n': acts.next, 'p': acts.prev, ' ': acts.play,
    'ArrowRight': acts.fwd, '.': acts.fwd, 'ArrowLeft': acts.back, ',': acts.back,
    'Home': acts.first, 'End': function () { stop(); go(N - 1); }, 'Escape': acts.all
  };
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName) && e.key !== 'Escape') return;
    var f = keys[e.key];
    if (!f) return;
    e.preventDefault();
    f();
  });

  show(0);
  say(N ? 'Every row is shown. Play, step or press n for the first finding.' : 'The trace has no rows.');

  // A link may say where to start (#seq=12), and tests replay keys (#keys=nn) or ask for the
  // first paint's time on the console (#timing).
  window.lnpReport = {
    key: function (k) { document.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true })); },
    state: function () { return { cursor: cursor, finding: current < 0 ? -1 : order[current], page: page }; }
  };
  location.hash.slice(1).split('&').forEach(function (part) {
    var kv = part.split('=');
    var v = decodeURIComponent(kv[1] || '');
    if (kv[0] === 'seq') seekSeq(+v);
    if (kv[0] === 'keys') v.split('').forEach(window.lnpReport.key);
    if (kv[0] === 'timing' && window.PerformanceObserver) {
      new PerformanceObserver(function (list) {
        list.getEntries().forEach(function (p) { console.log('lnp-paint ' + p.name + ' ' + Math.round(p.startTime)); });
      }).observe({ type: 'paint', buffered: true });
      window.addEventListener('load', function () {
        setTimeout(function () {
          var t = performance.getEntriesByType('navigation')[0];
          if (t) console.log('lnp-timing interactive ' + Math.round(t.domInteractive) + ' loaded ' + Math.round(t.loadEventEnd));
        }, 0);
      });
    }
  });
  body.setAttribute('data-ready', '1');
})();
