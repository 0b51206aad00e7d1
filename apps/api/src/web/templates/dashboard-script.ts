import { REFRESH_MS } from './dashboard';

/**
 * The dashboard's only script (served from our origin as /dashboard.js; the pages' CSP allows no
 * inline script): every few seconds it fetches the panels again and swaps them in, so the numbers
 * move without a reload. A failed fetch keeps the last panels and tries again at the next beat.
 */
export const DASHBOARD_SCRIPT = `'use strict';
(function () {
  var live = document.getElementById('live');
  if (!live) return;
  var busy = false;
  setInterval(function () {
    if (busy || document.hidden) return;
    busy = true;
    fetch(live.getAttribute('data-src'), { credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) live.innerHTML = html; })
      .catch(function () {})
      .then(function () { busy = false; });
  }, Number(live.getAttribute('data-interval')) || ${REFRESH_MS});
})();
`;
