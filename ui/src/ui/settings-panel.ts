/**
 * Settings: the name and colour other members see on this device's cursor, the team
 * relays it uses, and where it keeps its documents.
 */
import { errorMessage, type EngineApi, type Settings } from '../ipc';
import { h } from './dom';

export interface SettingsDeps {
  engine: EngineApi;
  onSaved(settings: Settings): void;
  onError(message: string): void;
}

export function settingsPanel(deps: SettingsDeps): HTMLElement {
  const name = h('input', { type: 'text', maxLength: 64, 'aria-label': 'Display name' });
  const color = h('input', { type: 'color', 'aria-label': 'Cursor colour' });
  const status = h('span', { class: 'muted', 'aria-live': 'polite' });
  const folder = h('code', { class: 'data-folder' });
  const relays = h('textarea', {
    rows: 3,
    spellcheck: false,
    'aria-label': 'Relays',
    placeholder: '/ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…',
  });
  deps.engine.getSettings().then(
    (s) => {
      name.value = s.displayName;
      color.value = s.color;
      folder.textContent = s.dataFolder ?? '';
      relays.value = (s.relays ?? []).join('\n');
    },
    (err: unknown) => deps.onError(`Could not load settings: ${errorMessage(err)}`),
  );
  const form = h(
    'form',
    {
      class: 'settings-form',
      on: {
        submit: (e) => {
          e.preventDefault();
          const relayList = relays.value
            .split('\n')
            .map((r) => r.trim())
            .filter((r) => r !== '');
          deps.engine.setSettings({ displayName: name.value.trim(), color: color.value, relays: relayList }).then(
            (saved) => {
              name.value = saved.displayName;
              color.value = saved.color;
              relays.value = (saved.relays ?? []).join('\n');
              status.textContent = 'Saved.';
              deps.onSaved(saved);
            },
            (err: unknown) => deps.onError(`Could not save settings: ${errorMessage(err)}`),
          );
        },
      },
    },
    h('label', {}, 'Your name', name),
    h('label', {}, 'Cursor colour', color),
    h('label', {}, 'Team relays (one address per line; they keep updates for members who are offline)', relays),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), status),
  );
  return h(
    'section',
    { class: 'settings-panel' },
    h('h2', {}, 'Settings'),
    h('p', { class: 'muted' }, 'Shown to people you share documents with.'),
    form,
    h('h3', {}, 'Data folder'),
    h('p', { class: 'muted' }, 'Your documents live in one database in this folder. Start Quire with QUIRE_DATA_DIR set to use another.'),
    folder,
  );
}
