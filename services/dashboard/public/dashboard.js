// The dashboard page: draws the broker topology once, then renders every snapshot the server sends over
// server-sent events (GET /events, one a second). EventSource reconnects by itself and sends the last
// event id, so the server replays what the page missed. Charts are uPlot, served by the dashboard.
'use strict';

(() => {
  const HISTORY_POINTS = 180; // three minutes of one-second snapshots per chart
  const SHORTEST_TIME_WINDOW_S = 60; // the time axis spans at least the last minute (see timeWindow)

  const $ = (id) => document.getElementById(id);
  const svgNS = 'http://www.w3.org/2000/svg';

  /** `1,234`, `12.3`, or `–` for a figure the server could not read. */
  const num = (value, digits = 0) =>
    value === null || value === undefined || !Number.isFinite(value)
      ? '–'
      : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const rate = (value) => (value === null || value === undefined ? '–' : num(value, value < 10 ? 1 : 0));
  const ms = (value) =>
    value === null || value === undefined ? '–' : `${num(value, value < 10 ? 1 : 0)} ms`;

  const text = (id, value) => {
    const element = $(id);
    if (element && element.textContent !== value) element.textContent = value;
  };

  const el = (tag, attributes = {}, children = []) => {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === 'text') element.textContent = value;
      else element.setAttribute(name, value);
    }
    for (const child of children) element.append(child);
    return element;
  };

  /** One `<span data-<attribute>="key">` per entry of a map of figures (statuses, outcomes), written by `format`. */
  const figureChips = (id, attribute, figures, format) =>
    $(id).replaceChildren(
      ...Object.entries(figures).map(([key, value]) =>
        el('span', { [`data-${attribute}`]: key, text: format(key, value) }),
      ),
    );

  const svg = (tag, attributes = {}, content) => {
    const element = document.createElementNS(svgNS, tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
    if (content !== undefined) element.textContent = content;
    return element;
  };

  // ---------------------------------------------------------------- charts

  /**
   * The x range, from the points' own times (uPlot hands a single point a day-long range): theirs,
   * widened to the last minute while there is less than a minute of them.
   */
  const timeWindow = (times) => {
    const end = times.length > 0 ? times[times.length - 1] : Date.now() / 1000;
    return [Math.min(times.length > 0 ? times[0] : end, end - SHORTEST_TIME_WINDOW_S), end];
  };

  /** A rolling uPlot line chart: `push(values)` adds one point per series at the snapshot's time. */
  class RollingChart {
    constructor(container, title, series) {
      this.container = container;
      this.data = [[], ...series.map(() => [])];
      this.plot = new uPlot(
        {
          title,
          width: Math.max(280, container.clientWidth || 360),
          height: 150,
          legend: { live: false },
          scales: { x: { time: true, range: () => timeWindow(this.data[0]) } },
          axes: [{}, { size: 50 }],
          series: [
            {},
            ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 1.6, spanGaps: false })),
          ],
        },
        this.data,
        container,
      );
      new ResizeObserver(() => {
        const width = container.clientWidth;
        if (width > 0 && width !== this.plot.width) this.plot.setSize({ width, height: 150 });
      }).observe(container);
    }

    push(atSeconds, values) {
      this.data[0].push(atSeconds);
      values.forEach((value, i) => this.data[i + 1].push(value === undefined ? null : value));
      if (this.data[0].length > HISTORY_POINTS) for (const series of this.data) series.shift();
      this.draw();
    }

    clear() {
      for (const series of this.data) series.length = 0;
      this.draw();
    }

    /** Draws the data; the container's data-points and data-time-window-s say what was drawn (specs read them). */
    draw() {
      this.plot.setData(this.data);
      const { min, max } = this.plot.scales.x;
      this.container.dataset.points = String(this.data[0].length);
      this.container.dataset.timeWindowS = String(Math.round((max ?? 0) - (min ?? 0)));
    }
  }

  const charts = {};

  function makeCharts() {
    charts.orders = new RollingChart($('orders-chart'), 'POST /orders per second', [
      { label: 'accepted', colour: '#1f9d55' },
      { label: 'refused', colour: '#d97706' },
      { label: 'failed', colour: '#dc2626' },
    ]);
    charts.workers = new RollingChart($('workers-chart'), 'work done per second', [
      { label: 'emails', colour: '#7c3aed' },
      { label: 'PDFs', colour: '#2563eb' },
      { label: 'retries', colour: '#d97706' },
    ]);
    charts.payments = new RollingChart($('payments-chart'), 'payments per second', [
      { label: 'succeeded', colour: '#1f9d55' },
      { label: 'declined', colour: '#d97706' },
      { label: 'timeout', colour: '#dc2626' },
      { label: 'refunds', colour: '#7c3aed' },
    ]);
    charts.saleRate = new RollingChart($('sale-rate-chart'), 'sale: requests and accepted per second', [
      { label: 'requests/s', colour: '#2563eb' },
      { label: 'accepted/s', colour: '#1f9d55' },
    ]);
    charts.saleLatency = new RollingChart($('sale-latency-chart'), 'sale: latency (ms)', [
      { label: 'p50', colour: '#2563eb' },
      { label: 'p99', colour: '#dc2626' },
    ]);
    charts.saleQueues = new RollingChart($('sale-queues-chart'), 'sale: queue depths', [
      { label: 'order_notify', colour: '#7c3aed' },
      { label: 'order_report', colour: '#2563eb' },
      { label: 'order_status', colour: '#1f9d55' },
      { label: 'order_requests (waiting room)', colour: '#d97706' },
    ]);
  }

  // ---------------------------------------------------------------- topology diagram

  const ROW = 44;
  const COMPACT_ROW = 28;
  const BOX = { exchange: { x: 10, w: 190 }, queue: { x: 330, w: 300 }, consumer: { x: 760, w: 150 } };
  const queueNodes = new Map(); // queue name → { group, sub, rates, edges: [] }
  const consumerNodes = new Map(); // service → group

  /**
   * A delay queue's messages wait out its TTL, then the broker dead-letters them to an exchange (not
   * back to a queue, as a retry queue does): the queues that binding routes them to, or none.
   */
  function deadLetterTargets(topology, queue) {
    const exchange = queue.arguments['x-dead-letter-exchange'];
    if (queue.arguments['x-message-ttl'] === undefined || !exchange) return [];
    const key = queue.arguments['x-dead-letter-routing-key'];
    return topology.bindings
      .filter((b) => b.destinationType === 'queue' && b.source === exchange && b.routingKey === key)
      .map((b) => b.destination);
  }

  /** `15m`, `90s`, `1500ms`: a TTL as the delay queues name their window. */
  const duration = (ms) =>
    ms % 3_600_000 === 0
      ? `${ms / 3_600_000}h`
      : ms % 60_000 === 0
        ? `${ms / 60_000}m`
        : ms % 1_000 === 0
          ? `${ms / 1_000}s`
          : `${ms}ms`;

  /**
   * Lays the topology out in three columns: exchanges, the queues their bindings route to, and the
   * service consuming each queue. Queues are ordered by the exchange that feeds them; a delay queue
   * sits just above the queue its expired messages are dead-lettered to.
   */
  function drawTopology(topology) {
    const exchanges = [
      ...topology.exchanges.map((e) => ({ name: e.name, type: e.type })),
      { name: '(default)', type: 'direct' },
    ];
    const feeding = new Map(); // queue → bindings into it
    for (const binding of topology.bindings) {
      if (binding.destinationType !== 'queue') continue;
      if (!feeding.has(binding.destination)) feeding.set(binding.destination, []);
      feeding.get(binding.destination).push(binding);
    }
    // report_rpc and the delay queues are published to through the default exchange, which binds every
    // queue by its name.
    for (const name of topology.defaultExchangeQueues)
      feeding.set(name, [{ source: '(default)', destination: name, routingKey: name }]);

    const queueOrder = [];
    for (const exchange of exchanges) {
      for (const queue of topology.queues) {
        const first = (feeding.get(queue.name) || [])[0];
        if (first && first.source === exchange.name && !queueOrder.includes(queue.name))
          queueOrder.push(queue.name);
      }
    }
    for (const queue of topology.queues) if (!queueOrder.includes(queue.name)) queueOrder.push(queue.name);
    const delayedInto = new Map(); // delay queue → the queue its expired messages reach
    for (const queue of topology.queues) {
      const [target] = deadLetterTargets(topology, queue);
      if (!target) continue;
      delayedInto.set(queue.name, target);
      queueOrder.splice(queueOrder.indexOf(queue.name), 1);
      queueOrder.splice(queueOrder.indexOf(target), 0, queue.name);
    }

    // Retry queues get a one-line box: nine of them would otherwise make the diagram twice as tall.
    const compact = (name) => name.includes('.retry.');
    const queueY = new Map();
    let nextY = 20;
    for (const name of queueOrder) {
      queueY.set(name, nextY);
      nextY += compact(name) ? COMPACT_ROW : ROW;
    }
    const exchangeY = new Map();
    let lastY = -Infinity;
    for (const exchange of exchanges) {
      const ys = [...feeding.values()]
        .flat()
        .filter((b) => b.source === exchange.name)
        .map((b) => queueY.get(b.destination));
      const wanted = ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : lastY + ROW;
      const y = Math.max(wanted, lastY + ROW);
      exchangeY.set(exchange.name, y);
      lastY = y;
    }
    // logs feeds logs.broadcast (an exchange-to-exchange binding): keep it just above.
    if (exchangeY.has('logs') && exchangeY.has('logs.broadcast')) {
      exchangeY.set('logs', Math.min(exchangeY.get('logs'), exchangeY.get('logs.broadcast') - ROW));
    }
    const services = [...new Set(Object.values(topology.consumers))];
    const consumerY = new Map();
    for (const service of services) {
      const ys = Object.entries(topology.consumers)
        .filter(([, s]) => s === service)
        .map(([q]) => queueY.get(q));
      consumerY.set(service, ys.reduce((a, b) => a + b, 0) / ys.length);
    }
    let previous = -Infinity;
    for (const service of [...services].sort((a, b) => consumerY.get(a) - consumerY.get(b))) {
      const y = Math.max(consumerY.get(service), previous + ROW);
      consumerY.set(service, y);
      previous = y;
    }

    const height = Math.max(...queueY.values(), ...exchangeY.values(), ...consumerY.values()) + ROW + 10;
    const root = svg('svg', { viewBox: `0 0 930 ${height}`, role: 'img', 'aria-label': 'broker topology' });
    const edges = svg('g');
    const nodes = svg('g');
    root.append(edges, nodes);

    const curve = (x1, y1, x2, y2) =>
      `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`;

    for (const exchange of exchanges) {
      const y = exchangeY.get(exchange.name);
      const group = svg('g', {
        class: 'exchange',
        'data-exchange': exchange.name,
        transform: `translate(${BOX.exchange.x},${y})`,
      });
      group.append(
        svg('rect', { width: BOX.exchange.w, height: 32, rx: 4 }),
        svg('text', { x: 8, y: 14, class: 'node-title' }, exchange.name),
        svg(
          'text',
          { x: 8, y: 27, class: 'node-sub' },
          exchange.name.endsWith('.retry')
            ? `${exchange.type} · TTL, then back to ${exchange.name.slice(0, -'.retry'.length)}`
            : `${exchange.type} exchange`,
        ),
      );
      nodes.append(group);
    }
    for (const binding of topology.bindings.filter((b) => b.destinationType === 'exchange')) {
      const y1 = exchangeY.get(binding.source) + 16;
      const y2 = exchangeY.get(binding.destination) + 16;
      edges.append(
        svg('path', {
          class: 'edge',
          d: `M${BOX.exchange.x},${y1} C-20,${y1} -20,${y2} ${BOX.exchange.x},${y2}`,
        }),
        svg('text', { class: 'edge-label', x: 0, y: (y1 + y2) / 2 + 4 }, binding.routingKey),
      );
    }

    for (const name of queueOrder) {
      const y = queueY.get(name);
      const small = compact(name);
      const height = small ? 22 : 34;
      const group = svg('g', {
        class: 'queue',
        'data-queue': name,
        transform: `translate(${BOX.queue.x},${y})`,
      });
      const title = svg('text', { x: 8, y: small ? 15 : 14, class: small ? 'node-sub' : 'node-title' }, name);
      const sub = svg(
        'text',
        { x: small ? 160 : 8, y: small ? 15 : 27, class: 'node-sub', 'data-field': 'figures' },
        'ready – · unacked – · consumers –',
      );
      const rates = svg(
        'text',
        {
          x: BOX.queue.w - 8,
          y: small ? 15 : 14,
          class: 'node-sub',
          'text-anchor': 'end',
          'data-field': 'rates',
        },
        '',
      );
      group.append(svg('rect', { width: BOX.queue.w, height, rx: 4 }), title, sub);
      if (!small) group.append(rates);
      nodes.append(group);
      const node = { group, sub, rates, small, delay: delayedInto.has(name), edges: [] };
      if (node.delay) {
        group.classList.add('delay');
        // Expired, the broker dead-letters each message on: drawn as a dashed arc to where it lands.
        const target = delayedInto.get(name);
        const ttl = topology.queues.find((q) => q.name === name).arguments['x-message-ttl'];
        const from = y + height / 2;
        const to = queueY.get(target) + 17;
        const right = BOX.queue.x + BOX.queue.w;
        edges.append(
          svg('path', {
            class: 'edge dead-letter',
            'data-dead-letter': `${name} → ${target}`,
            d: `M${right},${from} C${right + 60},${from} ${right + 60},${to} ${right},${to}`,
          }),
          svg(
            'text',
            { class: 'edge-label', x: right + 10, y: (from + to) / 2 + 3 },
            `TTL ${duration(ttl)}, dead-lettered`,
          ),
        );
      }
      (feeding.get(name) || []).forEach((binding, i, all) => {
        const from = exchangeY.get(binding.source);
        if (from === undefined) return;
        // Several bindings into one queue (order_status) fan in at slightly different heights.
        const into = y + height / 2 + (all.length > 1 ? (i - (all.length - 1) / 2) * 12 : 0);
        const path = svg('path', {
          class: 'edge',
          d: curve(BOX.exchange.x + BOX.exchange.w, from + 16, BOX.queue.x, into),
        });
        edges.append(path);
        if (binding.routingKey) {
          edges.append(
            svg(
              'text',
              { class: 'edge-label', x: BOX.queue.x - 8, y: into - 3, 'text-anchor': 'end' },
              binding.routingKey,
            ),
          );
        }
        node.edges.push(path);
      });
      const consumer = topology.consumers[name];
      if (consumer) {
        const path = svg('path', {
          class: 'edge',
          d: curve(BOX.queue.x + BOX.queue.w, y + 17, BOX.consumer.x, consumerY.get(consumer) + 16),
        });
        edges.append(path);
        node.out = path;
      }
      queueNodes.set(name, node);
    }

    for (const service of services) {
      const y = consumerY.get(service);
      const group = svg('g', {
        class: 'consumer',
        'data-consumer': service,
        transform: `translate(${BOX.consumer.x},${y})`,
      });
      group.append(
        svg('rect', { width: BOX.consumer.w, height: 32, rx: 4 }),
        svg('text', { x: 8, y: 14, class: 'node-title' }, service),
        svg('text', { x: 8, y: 27, class: 'node-sub', 'data-field': 'instances' }, ''),
      );
      nodes.append(group);
      consumerNodes.set(service, group);
    }
    $('topology').replaceChildren(root);
  }

  function renderTopology(snapshot) {
    for (const queue of snapshot.queues) {
      const node = queueNodes.get(queue.name);
      if (!node) continue;
      node.sub.textContent = node.small
        ? `ready ${num(queue.ready)}`
        : node.delay
          ? `${num(queue.ready)} reservations waiting for their deadline`
          : `ready ${num(queue.ready)} · unacked ${num(queue.unacked)} · consumers ${num(queue.consumers)}`;
      node.rates.textContent =
        queue.publishRate === null && queue.deliverRate === null
          ? ''
          : `in ${rate(queue.publishRate)}/s · out ${rate(queue.deliverRate)}/s`;
      node.group.dataset.ready = String(queue.ready);
      node.group.dataset.consumers = String(queue.consumers);
      const isParking = queue.name.endsWith('.dlq');
      const isRetry = queue.name.includes('.retry.');
      node.group.classList.toggle('parked', isParking && queue.ready > 0);
      // A delay queue has no consumer by design, and many reservations waiting in it is no backlog.
      const waits = isParking || isRetry || node.delay;
      node.group.classList.toggle('backlog', !waits && queue.ready > 100);
      node.group.classList.toggle('no-consumer', !waits && queue.consumers === 0);
      for (const edge of node.edges)
        edge.classList.toggle('flowing', (queue.publishRate || 0) > 0 || (isRetry && queue.ready > 0));
      if (node.out) node.out.classList.toggle('flowing', (queue.deliverRate || 0) > 0);
    }
    for (const [service, group] of consumerNodes) {
      const instances = snapshot.services.filter((s) => s.service === service);
      const up = instances.filter((s) => s.health === 'up').length;
      group.classList.toggle('down', instances.length > 0 && up === 0);
      group.querySelector('[data-field="instances"]').textContent = `${up}/${instances.length} up`;
    }
  }

  // ---------------------------------------------------------------- panels

  function renderHealth(snapshot) {
    const chip = (name, state, detail) =>
      el('span', { class: 'chip', title: detail || state, 'data-state': state, 'data-name': name }, [
        el('span', { class: `dot ${state}` }),
        el('span', { text: name }),
        ...(detail ? [el('span', { class: 'subtle', text: detail })] : []),
      ]);
    $('service-chips').replaceChildren(...snapshot.services.map((s) => chip(s.instance, s.health, s.detail)));
    $('node-chips').replaceChildren(
      ...snapshot.broker.nodes.map((n) =>
        chip(`RabbitMQ ${n.name}`, n.up ? 'up' : 'down', n.up ? '' : n.detail),
      ),
    );
    text(
      'broker-source',
      snapshot.broker.source === 'management'
        ? 'queues: RabbitMQ management API'
        : 'queues: AMQP + the services’ counters',
    );
  }

  function renderOrders(snapshot) {
    const o = snapshot.orders;
    text('orders-accepted-total', num(o.acceptedTotal));
    text('orders-accepted-rate', rate(o.acceptedPerSecond));
    text('orders-refused-rate', rate(o.refusedPerSecond));
    text('orders-failed-rate', rate(o.failedPerSecond));
    text('orders-latency', `${ms(o.latencyP50Ms)} / ${ms(o.latencyP99Ms)}`);
    text('outbox-backlog', num(o.outboxBacklog));
    figureChips('orders-by-status', 'status', o.byStatus, (status, count) => `${status} ${num(count)}`);
    const w = snapshot.workers;
    text('emails-rate', rate(w.emailsPerSecond));
    text('pdfs-rate', rate(w.pdfsPerSecond));
    text('retries-rate', rate(w.retriesPerSecond));
    text('emails-total', num(w.emailsTotal));
    text('pdfs-total', num(w.pdfsTotal));
    const r = snapshot.rpc;
    text('rpc-rate', rate(r.callsPerSecond));
    text('rpc-p99', ms(r.p99Ms));
    text('rpc-timeouts', num(r.timeoutsTotal));
    text('rpc-late', num(r.lateRepliesTotal));
    figureChips('rpc-outcomes', 'outcome', r.byOutcome, (outcome, count) => `${outcome} ${num(count)}`);
    const at = Date.parse(snapshot.at) / 1000;
    charts.orders.push(at, [o.acceptedPerSecond, o.refusedPerSecond, o.failedPerSecond]);
    charts.workers.push(at, [w.emailsPerSecond, w.pdfsPerSecond, w.retriesPerSecond]);
  }

  function renderPayments(snapshot) {
    const p = snapshot.payments;
    text('payments-rate', rate(p.chargesPerSecond));
    text('refunds-rate', rate(p.refundsPerSecond));
    text('payments-total', num(p.chargesTotal));
    text('refunds-total', num(p.refundsTotal));
    figureChips(
      'payment-outcomes',
      'outcome',
      p.byOutcome,
      (outcome, perSecond) => `${outcome.replace('_', ' ')} ${rate(perSecond)}/s`,
    );
    charts.payments.push(Date.parse(snapshot.at) / 1000, [
      p.byOutcome.succeeded,
      p.byOutcome.declined,
      p.byOutcome.timeout,
      p.refundsPerSecond,
    ]);
  }

  function renderDeadlines(snapshot) {
    const d = snapshot.deadlines;
    text('deadlines-rate', rate(d.firedPerSecond));
    $('delay-queues').replaceChildren(
      ...d.delayQueues.map((queue) =>
        el('li', {
          'data-delay-queue': queue.name,
          'data-waiting': String(queue.waiting),
          text: `${queue.name}: ${num(queue.waiting)} reservations waiting for their deadline`,
        }),
      ),
    );
  }

  function renderDeadLetters(snapshot) {
    $('dead-letters').replaceChildren(
      ...snapshot.workers.deadLetters.map((dlq) =>
        el('div', { class: 'dlq', 'data-dlq': dlq.queue, 'data-depth': String(dlq.depth) }, [
          el('h3', { text: `${dlq.queue}: ${num(dlq.depth)} parked` }),
          ...(dlq.reasons.length
            ? [
                el(
                  'ul',
                  {},
                  dlq.reasons.map((r) =>
                    el('li', { class: 'reason', 'data-reason': r.reason, text: `${r.reason} ×${r.count}` }),
                  ),
                ),
                el(
                  'ul',
                  { class: 'subtle' },
                  dlq.messages.map((m) =>
                    el('li', {
                      'data-message-id': m.messageId,
                      text: `${m.messageId}: ${m.reason}${m.lastError ? ` (${m.lastError})` : ''}`,
                    }),
                  ),
                ),
              ]
            : []),
        ]),
      ),
    );
  }

  function renderErrors(snapshot) {
    const list = $('recent-errors');
    if (snapshot.errors.length === 0) {
      list.replaceChildren(el('li', { class: 'subtle', text: 'no errors logged recently' }));
      return;
    }
    list.replaceChildren(
      ...snapshot.errors.map((e) =>
        el('li', {}, [
          el('span', { class: 'when', text: `${e.at.slice(11, 19)} ${e.service} ${e.level}: ` }),
          el('span', { text: e.message }),
          // follow.js follows the order when it is clicked.
          ...(e.orderId
            ? [el('span', { class: 'subtle', 'data-order-id': e.orderId, text: ' follow' })]
            : []),
        ]),
      ),
    );
  }

  // ---------------------------------------------------------------- flash sale

  let shownSaleId;
  let drawnUntilMs = -1;
  const RUNNING = ['starting', 'firing', 'draining', 'verifying'];
  /** The form's fields (what POST /sales takes); those marked data-optional are left out when empty. */
  const SALE_FIELDS = [
    'stock',
    'requests',
    'connections',
    'retryShare',
    'admission',
    'limitPerCustomer',
    'opensInSeconds',
    'paymentWindowSeconds',
    'payShare',
    'latePayShare',
    'cancelShare',
    'secondAttemptShare',
  ];
  const WAITING_ROOM = 'order_requests';

  function renderSale(sale, at) {
    const running = sale && RUNNING.includes(sale.state);
    $('sale-start').disabled = Boolean(running);
    $('sale-stop').disabled = !running || sale.stopRequested;
    if (!sale) return;
    if (sale.id !== shownSaleId) {
      shownSaleId = sale.id;
      drawnUntilMs = -1;
      for (const chart of [charts.saleRate, charts.saleLatency, charts.saleQueues]) chart.clear();
      // The form shows the options of the sale on screen (after a reload, those it was started with).
      const form = $('sale-form');
      for (const name of SALE_FIELDS) {
        const value = sale.options[name];
        form.elements[name].value = value === undefined ? '' : String(value);
      }
      const o = sale.options;
      const mode = $('sale-mode');
      mode.dataset.admission = o.admission || '';
      mode.textContent = o.admission
        ? `${o.admission} admission · ${o.limitPerCustomer} per customer · opens ${o.opensInSeconds} s after the start · ` +
          `payment window ${o.paymentWindowSeconds === undefined ? 'order-api’s' : `${o.paymentWindowSeconds} s`}`
        : '';
      $('sale-answers').replaceChildren();
      text('sale-outcome-latency', '–');
    }
    // The load test's own ticks (four a second), each drawn once: a reloaded page gets them all.
    const startedAt = Date.parse(sale.startedAt);
    for (const tick of sale.timeline || []) {
      if (tick.atMs <= drawnUntilMs) continue;
      drawnUntilMs = tick.atMs;
      const x = (startedAt + tick.atMs) / 1000;
      charts.saleRate.push(x, [tick.requestsPerSecond, tick.acceptedPerSecond]);
      charts.saleLatency.push(x, [tick.latencyP50Ms, tick.latencyP99Ms]);
    }
    const state = $('sale-state');
    state.textContent = `${sale.id}: ${sale.state}${sale.stopRequested && running ? ' (stopping)' : ''}`;
    state.className = `badge badge-${sale.state}`;
    state.dataset.state = sale.state;
    text('sale-step', sale.error || sale.step || '');
    const f = sale.firing;
    if (f) {
      $('sale-progress').style.width = `${Math.round((100 * f.done) / Math.max(1, f.total))}%`;
      text('sale-done', `${num(f.done)} / ${num(f.total)}`);
      text('sale-accepted', num(f.accepted));
      text('sale-sold-out', num(f.soldOut));
      text('sale-errors', num(f.errors));
      text('sale-rps', rate(f.requestsPerSecond));
      text('sale-latency', `${ms(f.latencyP50Ms)} / ${ms(f.latencyP99Ms)}`);
      // The last tick's: kept on screen while a tick ends no attempt (the queued tickets still waiting).
      if (f.outcomeP50Ms !== null && f.outcomeP50Ms !== undefined)
        text('sale-outcome-latency', `${ms(f.outcomeP50Ms)} / ${ms(f.outcomeP99Ms)}`);
      figureChips('sale-answers', 'answer', f.answersByCode || {}, (code, n) => `${code} ×${num(n)}`);
    }
    renderWaitingRoom();
    const d = sale.draining;
    if (d) text('sale-drain', `${num(d.emails)} / ${num(d.pdfs)} of ${num(d.accepted)}`);
    if (running && at) {
      const depth = (name) => (latestQueues.get(name) || {}).ready;
      charts.saleQueues.push(at, [
        depth('order_notify'),
        depth('order_report'),
        depth('order_status'),
        depth(WAITING_ROOM),
      ]);
    }
    renderVerdict(sale);
  }

  /**
   * order_requests' messages: waiting their turn (ready) and being placed by order-api (unacked, which
   * only the management API reports for this queue).
   */
  function renderWaitingRoom() {
    const room = latestQueues.get(WAITING_ROOM);
    const element = $('sale-waiting-room');
    if (!room || room.ready === null) {
      element.dataset.depth = '';
      text('sale-waiting-room', '–');
      return;
    }
    const placing = room.unacked === null || room.unacked === undefined ? null : room.unacked;
    element.dataset.depth = String(room.ready + (placing || 0));
    text(
      'sale-waiting-room',
      `${num(room.ready)} waiting${placing === null ? '' : ` · ${num(placing)} being placed`}`,
    );
  }

  function renderVerdict(sale) {
    const box = $('sale-verdict');
    if (!sale.verdict) {
      box.hidden = true;
      return;
    }
    if (box.dataset.saleId === sale.id) return;
    box.dataset.saleId = sale.id;
    box.dataset.passed = String(sale.verdict.passed);
    const v = sale.verdict;
    box.replaceChildren(
      el('p', {
        class: v.passed ? 'pass' : 'fail',
        'data-testid': 'sale-verdict-line',
        text: v.passed
          ? 'PASS: nothing oversold, lost or duplicated'
          : `FAIL: ${v.violations.length} violation(s)`,
      }),
      ...(v.violations.length
        ? [
            el(
              'ul',
              {},
              v.violations.map((x) => el('li', { text: `${x.code}: ${x.message}` })),
            ),
          ]
        : []),
      el('table', {}, [
        el(
          'tbody',
          {},
          v.summary.map((row) =>
            el('tr', {}, [el('td', { text: row.label }), el('td', { text: row.value })]),
          ),
        ),
      ]),
      el('a', {
        href: v.reportUrl,
        target: '_blank',
        'data-testid': 'sale-report-link',
        text: 'the full report (report.html)',
      }),
    );
    box.hidden = false;
  }

  function readForm() {
    const form = $('sale-form');
    const body = {};
    for (const name of SALE_FIELDS) {
      const input = form.elements[name];
      const raw = input.value.trim();
      if (raw === '' && input.dataset.optional) continue;
      // Sent as typed: the server checks it and says what is wrong with each field.
      body[name] = name === 'admission' || raw === '' || Number.isNaN(Number(raw)) ? raw : Number(raw);
    }
    return body;
  }

  function showFieldErrors(errors) {
    const form = $('sale-form');
    for (const small of form.querySelectorAll('[data-error-for]')) {
      const error = errors.find((e) => e.field === small.dataset.errorFor);
      small.textContent = error ? error.message : '';
      small.dataset.code = error ? error.code : '';
      const input = form.elements[small.dataset.errorFor];
      if (input) input.classList.toggle('invalid', Boolean(error));
    }
  }

  // ---------------------------------------------------------------- changes (operator session)

  /** The session's CSRF token, which every change sends back (the server put it in the page). */
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || '';

  /** A change: the CSRF header and a JSON body (when it has one), as the server requires of a signed-in browser. */
  const change = (method, path, body) =>
    fetch(path, {
      method,
      headers:
        body === undefined
          ? { 'x-csrf-token': csrfToken() }
          : { 'content-type': 'application/json', 'x-csrf-token': csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function signOut() {
    await change('DELETE', '/session').catch(() => undefined);
    location.assign('/');
  }

  async function startSale(event) {
    event.preventDefault();
    text('sale-message', '');
    const response = await change('POST', '/sales', readForm());
    const body = await response.json().catch(() => ({}));
    if (response.status === 202) {
      showFieldErrors([]);
      renderSale(body);
      return;
    }
    showFieldErrors(body.errors || []);
    text('sale-message', `${body.code || response.status}: ${body.message || 'the sale could not start'}`);
    $('sale-message').dataset.code = body.code || '';
  }

  async function stopSale() {
    const response = await change('POST', '/sales/current/stop', {});
    const body = await response.json().catch(() => ({}));
    if (response.status === 202) renderSale(body);
    else text('sale-message', `${body.code}: ${body.message}`);
  }

  // ---------------------------------------------------------------- stream

  let latestQueues = new Map();

  function render(snapshot) {
    latestQueues = new Map(snapshot.queues.map((q) => [q.name, q]));
    text('snapshot-at', new Date(snapshot.at).toLocaleTimeString());
    renderHealth(snapshot);
    renderTopology(snapshot);
    renderOrders(snapshot);
    renderPayments(snapshot);
    renderDeadlines(snapshot);
    renderDeadLetters(snapshot);
    renderErrors(snapshot);
    renderSale(snapshot.sale, Date.parse(snapshot.at) / 1000);
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
  }

  function connect() {
    const source = new EventSource('/events');
    const state = $('stream-state');
    source.addEventListener('open', () => {
      state.textContent = 'live';
      state.className = 'badge badge-up';
    });
    source.addEventListener('error', () => {
      state.textContent = 'reconnecting…';
      state.className = 'badge badge-wait';
      // EventSource gives up on an answer that is not a stream (401 once the session ended, 429 when
      // too many pages are open): ask whether still signed in, then sign in again or retry.
      if (source.readyState === EventSource.CLOSED) void whenStreamRefused();
    });
    source.addEventListener('snapshot', (event) => {
      state.textContent = 'live';
      state.className = 'badge badge-up';
      render(JSON.parse(event.data));
    });
  }

  async function whenStreamRefused() {
    const session = await fetch('/session').catch(() => undefined);
    if (session && session.status === 401) location.assign('/');
    else setTimeout(connect, 5000);
  }

  async function start() {
    makeCharts();
    $('sale-form').addEventListener('submit', (event) => void startSale(event));
    $('sale-stop').addEventListener('click', () => void stopSale());
    $('sign-out').addEventListener('click', () => void signOut());
    const topology = await fetch('/api/topology').then((r) => r.json());
    drawTopology(topology);
    // A reload mid-sale shows the running sale at once, before the first snapshot arrives.
    const current = await fetch('/sales/current');
    if (current.status === 200) renderSale(await current.json());
    connect();
  }

  void start();
})();
