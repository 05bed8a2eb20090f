/**
 * The history panel: the document's versions, a line diff of any of them against the
 * current text, restoring one (a forward edit: nothing is lost, the engine keeps the
 * text before the restore as a version too), and saving a named version.
 */
import { errorMessage, type DiffLine, type EngineApi, type VersionSummary } from '../ipc';
import { h, relativeTime, replaceChildren } from './dom';

export interface HistoryDeps {
  engine: EngineApi;
  docId: string;
  readOnly: boolean;
  onError(message: string): void;
}

/** How a version is described in the list. */
export function versionLabel(v: VersionSummary): string {
  const what = v.name ?? (v.kind === 'auto' ? 'Automatic' : v.kind === 'restore' ? 'Restore' : 'Named');
  return `v${v.number} · ${what}`;
}

/** The diff as rows, with +/- markers. */
export function renderDiff(lines: DiffLine[]): HTMLElement {
  if (lines.every((l) => l.kind === 'equal')) return h('p', { class: 'muted' }, 'No differences.');
  const marker = { equal: ' ', insert: '+', delete: '−' } as const;
  return h(
    'pre',
    { class: 'diff' },
    ...lines.map((l) => h('div', { class: `diff-${l.kind}` }, `${marker[l.kind]} ${l.text.replace(/\n$/, '')}`)),
  );
}

export function historyPanel(deps: HistoryDeps): HTMLElement {
  const list = h('ul', { class: 'version-list' }, h('li', { class: 'muted' }, 'Loading…'));
  const detail = h('div', { class: 'version-detail' });
  const fail = (what: string) => (err: unknown) => deps.onError(`${what}: ${errorMessage(err)}`);

  const load = async () => {
    try {
      const versions = [...(await deps.engine.versions(deps.docId))].reverse();
      if (versions.length === 0) {
        replaceChildren(list, h('li', { class: 'muted' }, 'No versions yet. They are taken as you write.'));
        return;
      }
      replaceChildren(list, ...versions.map(item));
    } catch (err) {
      fail('Could not load the history')(err);
    }
  };

  const compare = async (v: VersionSummary) => {
    try {
      const lines = await deps.engine.diff(deps.docId, v.number, null);
      replaceChildren(detail, h('h3', {}, `${versionLabel(v)} → now`), renderDiff(lines));
    } catch (err) {
      fail('Could not compare')(err);
    }
  };

  const restore = async (v: VersionSummary) => {
    try {
      await deps.engine.restoreVersion(deps.docId, v.number);
      replaceChildren(detail, h('p', {}, `Restored v${v.number}. The text before it is kept as a version.`));
      await load();
    } catch (err) {
      fail('Could not restore')(err);
    }
  };

  const item = (v: VersionSummary) =>
    h(
      'li',
      { class: 'version' },
      h('span', { class: 'version-label' }, versionLabel(v)),
      h('span', { class: 'muted' }, `${relativeTime(v.createdAt)} · ${v.chars} chars`),
      h(
        'span',
        { class: 'row' },
        h('button', { class: 'small', on: { click: () => void compare(v) } }, 'Compare'),
        h('button', { class: 'small', disabled: deps.readOnly, on: { click: () => void restore(v) } }, 'Restore'),
      ),
    );

  const name = h('input', { type: 'text', placeholder: 'Version name', 'aria-label': 'Version name' });
  const save = h(
    'form',
    {
      class: 'row',
      on: {
        submit: (e) => {
          e.preventDefault();
          const value = name.value.trim();
          if (!value) return;
          deps.engine
            .createVersion(deps.docId, value)
            .then(() => {
              name.value = '';
              return load();
            })
            .catch(fail('Could not save the version'));
        },
      },
    },
    name,
    h('button', { type: 'submit', disabled: deps.readOnly }, 'Save version'),
  );

  void load();
  return h('section', { class: 'history-panel' }, h('h2', {}, 'History'), save, list, detail);
}
