// What the page tells the user outside the form: the notices at the top
// (the address's own first, then others as they come, at most six) and the
// backend line.

import { $ } from './dom.js';
import { chartsError } from './run-charts.js';

/**
 * Sets the notices about the page's address (first, in order); other notices
 * stay. The address is read twice, the second time against the engine's own
 * defaults, and the second reading replaces the first.
 */
export function setNotices(messages) {
  const list = $('notice-list');
  for (const li of list.querySelectorAll('li[data-from-url]')) li.remove();
  if (chartsError) messages = [chartsError, ...messages];
  const first = list.firstChild;
  for (const m of messages) {
    const li = document.createElement('li');
    li.textContent = m;
    li.dataset.fromUrl = '';
    list.insertBefore(li, first);
  }
  $('notices').hidden = list.children.length === 0;
}

/** Adds a notice (the oldest go past six). */
export function notice(message) {
  const list = $('notice-list');
  const li = document.createElement('li');
  li.textContent = message;
  list.append(li);
  while (list.children.length > 6) list.firstElementChild.remove();
  $('notices').hidden = false;
}

/** Empties and hides the notices (the Dismiss button). */
export function dismissNotices() {
  $('notices').hidden = true;
  $('notice-list').replaceChildren();
}

/** The line saying which backend trains; `backend` ('cpu' | 'webgpu' | 'none' | '') is kept for tests and styles. */
export function setBackendLine(text, backend) {
  const p = $('backend-line');
  p.textContent = text;
  p.dataset.backend = backend ?? '';
}
