// Hello Retail's little client script: htmx does the rest. Live tables follow server-sent events, and after a
// boosted navigation the focus moves to the new page's content (as a full page load would put it at the top).
(() => {
  'use strict';

  /** Rows pushed by the server (already-escaped HTML) go on top; the table keeps at most `data-sse-max` rows. */
  const follow = (body) => {
    if (body.dataset.sseBound === 'yes') return;
    body.dataset.sseBound = 'yes';
    const max = Number(body.dataset.sseMax || '100');
    const state = document.querySelector(`[data-sse-state="${body.dataset.sseStatus}"]`);
    const source = new EventSource(body.dataset.sseRows);
    const say = (text) => {
      if (state) state.textContent = text;
    };
    source.addEventListener('open', () => say('Live.'));
    source.addEventListener('error', () => say('Reconnecting…'));
    source.addEventListener('row', (message) => {
      body.insertAdjacentHTML('afterbegin', message.data);
      while (body.rows.length > max) body.deleteRow(body.rows.length - 1);
    });
    // A boosted navigation replaces the body: close the stream with the table that used it.
    const stop = () => {
      if (!document.body.contains(body)) {
        source.close();
        document.removeEventListener('htmx:afterSwap', check);
      }
    };
    const check = () => setTimeout(stop, 0);
    document.addEventListener('htmx:afterSwap', check);
  };

  const bind = () => {
    for (const body of document.querySelectorAll('[data-sse-rows]')) follow(body);
  };

  document.addEventListener('DOMContentLoaded', bind);
  document.addEventListener('htmx:afterSettle', (event) => {
    bind();
    if (event.detail && event.detail.boosted) {
      const main = document.getElementById('main');
      if (main) main.focus({ preventScroll: true });
    }
  });
})();
