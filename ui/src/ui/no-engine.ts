/**
 * What the page shows when it runs outside the desktop app (no Tauri IPC), instead of
 * failing on the first engine call.
 */
import { h, replaceChildren } from './dom';

export function renderNoEngine(root: HTMLElement): void {
  replaceChildren(
    root,
    h(
      'main',
      { class: 'no-engine', role: 'alert' },
      h('h1', {}, 'Quire needs its desktop app'),
      h('p', {}, 'This page is the front end of the Quire desktop app. It was opened outside the app, so there is no engine here to load or save documents.'),
      h('p', {}, 'Start the app with ', h('code', {}, 'npx tauri dev'), ' (or run the built app) instead.'),
      h('p', {}, h('a', { href: '?demo' }, 'Try the in-memory demo'), ' — nothing you write there is saved.'),
    ),
  );
}
