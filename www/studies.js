// Studies: the lab panel (lab.js: presets and grids, expanded into runs by
// the engine), the studies a link asks for (?preset=… or #grid=…), the
// queue's buttons (run a held queue, clear it, share it as one link).

import { $ } from './dom.js';
import { engine } from './engine-control.js';
import { messageOf } from './format.js';
import { LabPanel, copyLink } from './lab.js';
import { notice } from './notices.js';
import { gridFromConfigs, labFromQuery, urlWithStudy } from './state.js';
import { initialLab, readOnly, session } from './session.js';
import { queueRuns, clearQueue, resumeQueue } from './queue.js';
import { renderResults } from './run-table.js';
import { describeDuration } from './speeds.js';

/** The lab panel (null until setupLab). */
export let lab = null;
let linkedStudyOpened = false;

/** The settings that say which data is loaded: a study that follows the data runs on them. */
const DATA_FIELDS = ['dataset', 'image_size', 'image_fit', 'classes', 'test_fraction'];

/** Asks the engine to expand a preset or grid into runs: [{label, config}]. */
function requestExpand(req) {
  if (!session.engineReady) return Promise.reject(new Error('the training engine is still starting'));
  if (req.preset && presetById(req.preset)?.follows_data) {
    const base = session.state.configForEngine();
    const data = Object.fromEntries(DATA_FIELDS.filter((k) => base[k] !== undefined).map((k) => [k, base[k]]));
    req = { ...req, overrides: { ...data, ...(req.overrides ?? {}) } };
  }
  return engine.request('expand', req).then((runs) => (Array.isArray(runs) ? runs : []));
}

/** The engine's preset `id`, or null. */
export function presetById(id) {
  return id ? lab?.presetById(id) ?? null : null;
}

/** Asks the engine for its studies; once they are in, a study the link named is opened. */
export function loadPresets() {
  engine.request('presets').then(
    (presets) => {
      lab?.setPresets(presets);
      openLinkedStudy();
      renderResults();
    },
    (err) => {
      if (!err.gone) notice(`The studies could not be loaded: ${messageOf(err)}`);
    },
  );
}

export function setupLab() {
  lab = new LabPanel({
    expand: requestExpand,
    queue: (planned, group) => {
      const add = (runs) => {
        const items = runs.map((r) => ({ config: r.config, label: r.label, group, datasetKey: session.state.datasetKey }));
        queueRuns(items);
        $('run-panel').scrollIntoView?.({ block: 'nearest' });
      };
      if (!presetById(group.id)?.follows_data) {
        add(planned);
        return;
      }
      // Planned on the data loaded then: planned again on the data loaded now (and the plan shown follows).
      requestExpand({ preset: group.id, budget: group.budget, scale: group.scale }).then(
        (runs) => {
          add(runs);
          lab.refreshPlan();
        },
        (err) => notice(`The study could not be planned on the data loaded now: ${messageOf(err)}`),
      );
    },
    baseConfig: () => session.state.configForEngine(),
    linkFor: (l) => studyLink(l),
    addressFor: (l) => urlWithStudy(location.href, l),
    modelIds: () => session.modelIds,
    hasFullData: (kind) => session.state.userKind === kind && session.datasets.has('user'),
    canQueue: () => !readOnly(),
    duration: (configs, progress) => describeDuration(configs, progress),
  });
  $('queue-clear').addEventListener('click', () => {
    if (session.queue.length > 1 && !confirm(`Remove the ${session.queue.length} runs waiting in the queue?`)) return;
    clearQueue();
  });
  $('queue-resume').addEventListener('click', () => resumeQueue());
  $('queue-link').addEventListener('click', async () => {
    const { current } = session;
    const configs = [...(current && !current.done ? [current.config] : []), ...session.queue.map((q) => q.config)];
    if (!configs.length) return;
    const grid = gridFromConfigs(configs, session.state.defaults, 'Shared queue');
    const status = $('queue-link-status');
    // A link is handed out only if the engine that will open it accepts it (e.g. not more runs than a grid may have).
    try {
      await requestExpand({ grid });
    } catch (err) {
      status.textContent = `This queue cannot be shared as one link: ${messageOf(err)}. Share its studies one by one instead.`;
      status.hidden = false;
      return;
    }
    await copyLink(studyLink({ grid }), status);
  });
  window.addEventListener('hashchange', () => {
    // A grid link pasted into this tab's address bar changes only the fragment: no reload.
    const linked = labFromQuery('', location.hash);
    for (const m of linked.messages) notice(m);
    if (linked.lab && !session.engineReady) {
      // Opened when the engine's studies arrive, like a link the page was loaded with.
      initialLab.lab = linked.lab;
      linkedStudyOpened = false;
    } else if (linked.lab) openLinkedStudy(linked.lab);
    else if (linked.asked) dropStudyFromUrl();
  });
}

/** The link that opens a study on this page (a preset in the query, a grid in the fragment). */
function studyLink(study) {
  return urlWithStudy(`${location.origin}${location.pathname}`, study);
}

/** Removes a study the page could not open from the address bar, so a reload or a copy does not repeat it. */
export function dropStudyFromUrl() {
  history.replaceState(null, '', urlWithStudy(location.href, null));
}

/**
 * A study named in the URL (?preset=… or #grid=…) is shown, ready to run with
 * one click; one the page cannot open gets a notice saying why, and leaves the URL.
 */
async function openLinkedStudy(linked = initialLab.lab) {
  if (!linked) {
    if (initialLab.asked && !linkedStudyOpened) dropStudyFromUrl();
    linkedStudyOpened = true;
    return;
  }
  if (linked === initialLab.lab) {
    // The presets arrive again after an engine restart: the link is opened once.
    if (linkedStudyOpened) return;
    linkedStudyOpened = true;
  }
  if (linked.preset) {
    if (!presetById(linked.preset)) {
      const ids = (lab?.presets ?? []).map((p) => p.id).join(', ');
      notice(`This link asks for the study “${linked.preset}”, which ResLab does not have${ids ? ` (its studies: ${ids})` : ''}; nothing was loaded.`);
      dropStudyFromUrl();
      return;
    }
    lab.selectPreset(linked.preset, linked);
    $('lab-panel').scrollIntoView?.({ block: 'start' });
    if (linked === initialLab.lab && initialLab.messages.length) history.replaceState(null, '', urlWithStudy(location.href, linked));
  } else if (linked.grid) {
    $('lab-panel').scrollIntoView?.({ block: 'start' });
    const why = await lab.showGrid(linked.grid);
    if (why) {
      notice(`This link's grid cannot be run: ${why}; nothing was loaded.`);
      dropStudyFromUrl();
      window.scrollTo?.(0, 0); // where the notice is
    }
  }
}
