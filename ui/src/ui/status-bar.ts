/**
 * The status bar: how this device is connected, to how many peers, what is still
 * to sync, whether the open document is saved, and who else is in it.
 */
import type { BridgeStatus } from '../bridge';
import type { SyncStatus } from '../ipc';
import { presentMembers, selectedDocument, type UiState } from '../state';
import { h, replaceChildren } from './dom';

/** Words for a connection mode. */
export function syncLabel(status: SyncStatus): string {
  switch (status.mode) {
    case 'offline':
      return 'Offline';
    case 'lan':
      return 'LAN';
    case 'direct':
      return 'Direct';
    case 'relayed':
      return 'Relayed';
  }
}

/** One line on peers and pending updates. */
export function syncDetail(status: SyncStatus): string {
  const peers = `${status.peers} ${status.peers === 1 ? 'peer' : 'peers'}`;
  return status.pending > 0 ? `${peers} · ${status.pending} to sync` : peers;
}

/** Whether the open document's edits are saved. */
export function saveLabel(save: BridgeStatus | undefined): string {
  if (!save) return '';
  if (save.readOnly) return 'Read-only';
  if (save.error) return 'Not saved — retrying';
  if (save.unsent > 0) return 'Saving…';
  return 'Saved';
}

/** A long operation under way, with a progress bar: imports first, then catch-ups. */
export function progressLine(state: UiState): { label: string; value: number; max: number } | null {
  if (state.importing) {
    const { done, total, name } = state.importing;
    return { label: total > 1 ? `Importing ${done + 1} of ${total}: ${name}` : `Importing ${name}`, value: done, max: total };
  }
  const running = Object.values(state.catchUps);
  if (running.length === 0) return null;
  const received = running.reduce((sum, p) => sum + p.received, 0);
  const total = running.reduce((sum, p) => sum + p.total, 0);
  return { label: `Catching up ${Math.floor((100 * received) / total)}%`, value: received, max: total };
}

export function renderStatusBar(el: HTMLElement, state: UiState): void {
  const doc = selectedDocument(state);
  const progress = progressLine(state);
  const save = doc ? state.saves[doc.id] : undefined;
  const members = presentMembers(state);
  replaceChildren(
    el,
    h(
      'span',
      { class: `sync sync-${state.sync.mode}`, title: 'Connection' },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      syncLabel(state.sync),
    ),
    h('span', { class: 'sync-detail' }, syncDetail(state.sync)),
    progress &&
      h(
        'span',
        { class: 'progress', role: 'status' },
        h('progress', { max: progress.max, value: progress.value }),
        progress.label,
      ),
    h('span', { class: 'spacer' }),
    members.length > 0 &&
      h(
        'span',
        { class: 'members' },
        ...members.map((m) =>
          h('span', { class: 'member', title: m.typing ? `${m.name} is typing` : m.name, style: { borderColor: m.color } }, m.name + (m.typing ? ' ✎' : '')),
        ),
      ),
    doc && h('span', { class: `save ${save?.error ? 'save-error' : ''}` }, saveLabel(save)),
  );
}
