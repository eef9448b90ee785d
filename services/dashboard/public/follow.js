// The "follow an order" view: one EventSource per followed order (GET /follow/<id>/events), which the
// server feeds from a queue of its own bound to the headers exchange logs.follow on the order's id.
// Closing it (Stop, another order, leaving the page) ends the follow and the broker deletes that queue.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const ORDER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const STEP_NAMES = {
    placed: 'placed',
    'outbox-published': 'outbox published',
    'email-sent': 'email sent',
    'pdf-written': 'PDF written',
    'status-applied': 'status applied',
    'payment-charged': 'payment charged',
    'payment-refunded': 'payment refunded',
    'payment-applied': 'payment applied',
    deadline: 'deadline',
  };

  let source;
  /** Records shown for this follow: a reconnect sends the earlier ones again. */
  let shown = new Set();

  const el = (tag, className, text) => {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  };

  const setState = (text, queue) => {
    const state = $('follow-state');
    state.textContent = text;
    if (queue) state.dataset.queue = queue;
    else delete state.dataset.queue;
  };

  /** `order · order.notify → order_notify`: the exchange, key and queue the record's message crossed. */
  const routeOf = ({ exchange, routingKey, queue }) => {
    const parts = [];
    if (exchange !== undefined) parts.push(exchange === '' ? '(default exchange)' : exchange);
    if (routingKey) parts.push(routingKey);
    const route = parts.join(' · ');
    return queue ? `${route} → ${queue}` : route;
  };

  function add(record) {
    const key = `${record.time}|${record.service}|${record.message}`;
    if (shown.has(key)) return;
    shown.add(key);
    const item = el(
      'li',
      [record.step ? 'named' : '', `level-${record.level}`, record.earlier ? 'earlier' : ''].join(' '),
    );
    item.dataset.time = record.time;
    item.dataset.service = record.service;
    if (record.step) item.dataset.step = record.step;
    item.append(el('span', 'when', record.time.slice(11, 23)), el('span', 'service', record.service));
    if (record.step) item.append(el('span', 'step', STEP_NAMES[record.step] || record.step));
    const route = routeOf(record);
    if (route) item.append(el('span', 'route', route));
    item.append(el('span', 'message', record.message));
    // In time order: what the log-aggregator remembered can arrive after the first live records.
    const timeline = $('follow-timeline');
    const later = [...timeline.children].find((other) => other.dataset.time > record.time);
    timeline.insertBefore(item, later || null);
  }

  function stop() {
    if (source) source.close();
    source = undefined;
    $('follow-stop').disabled = true;
  }

  function follow(orderId) {
    stop();
    shown = new Set();
    $('follow-order-id').value = orderId;
    $('follow-timeline').replaceChildren();
    setState(`connecting to order ${orderId}…`);
    history.replaceState(null, '', `#follow=${orderId}`);
    source = new EventSource(`/follow/${encodeURIComponent(orderId)}/events`);
    const current = source;
    source.addEventListener('follow', (event) => {
      const { queue } = JSON.parse(event.data);
      setState(`following order ${orderId} live through queue ${queue}`, queue);
    });
    source.addEventListener('step', (event) => add(JSON.parse(event.data)));
    source.addEventListener('error', () => {
      if (current !== source) return;
      // Not a stream (429 TOO_MANY_FOLLOWS, or the session ended): EventSource gives up.
      if (source.readyState === EventSource.CLOSED) {
        setState(`could not follow order ${orderId}: too many follows open, or signed out`);
        stop();
      } else setState(`reconnecting to order ${orderId}…`);
    });
    $('follow-stop').disabled = false;
  }

  function start() {
    $('follow-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const orderId = $('follow-order-id').value.trim();
      if (ORDER_ID.test(orderId)) follow(orderId);
      else setState('an order id is a UUID, e.g. 7d0f2c1e-2b1a-4c3d-9e8f-0a1b2c3d4e5f');
    });
    $('follow-stop').addEventListener('click', () => {
      stop();
      setState('not following any order');
      history.replaceState(null, '', location.pathname);
    });
    // Any order id the page shows with data-order-id (the last errors) starts a follow when clicked.
    document.addEventListener('click', (event) => {
      const target = event.target instanceof Element ? event.target.closest('[data-order-id]') : null;
      if (!target || !ORDER_ID.test(target.dataset.orderId)) return;
      follow(target.dataset.orderId);
      $('follow-panel').scrollIntoView({ behavior: 'smooth' });
    });
    const linked = /^#follow=(.+)$/.exec(location.hash);
    if (linked && ORDER_ID.test(linked[1])) follow(linked[1]);
  }

  start();
})();
