/**
 * The share panel: makes an edit or read-only invite link for the open document and
 * copies it. A read-only member cannot hand out edit links, so that button is off.
 */
import { errorMessage, type EngineApi } from '../ipc';
import { h, replaceChildren } from './dom';

export interface ShareDeps {
  engine: EngineApi;
  docId: string;
  title: string;
  readOnly: boolean;
  onError(message: string): void;
}

/** Copies text, falling back to a selected input where the Clipboard API is missing. */
async function copy(text: string, input: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    input.select();
    return document.execCommand?.('copy') ?? false;
  }
}

export function sharePanel(deps: ShareDeps): HTMLElement {
  const output = h('div', { class: 'share-output' });
  const make = async (readOnly: boolean) => {
    try {
      const link = await deps.engine.share(deps.docId, readOnly);
      const input = h('input', { type: 'text', readOnly: true, value: link, 'aria-label': 'Invite link' });
      const status = h('span', { class: 'muted', 'aria-live': 'polite' });
      const copyButton = h(
        'button',
        {
          class: 'primary',
          on: {
            click: () =>
              void copy(link, input).then((ok) => {
                status.textContent = ok ? 'Copied.' : 'Select the link and copy it.';
              }),
          },
        },
        'Copy',
      );
      replaceChildren(
        output,
        h('p', {}, readOnly ? 'Read-only link: they can read and follow along.' : 'Edit link: they can change the document.'),
        h('div', { class: 'row' }, input, copyButton),
        status,
      );
      input.select();
    } catch (err) {
      deps.onError(`Could not make a link: ${errorMessage(err)}`);
    }
  };
  return h(
    'section',
    { class: 'share-panel' },
    h('h2', {}, `Share “${deps.title || 'Untitled'}”`),
    h('p', { class: 'muted' }, 'Links carry the document’s keys: send them only to people who should have access.'),
    h(
      'div',
      { class: 'row' },
      h('button', { disabled: deps.readOnly, title: deps.readOnly ? 'You can only read this document' : undefined, on: { click: () => void make(false) } }, 'Edit link'),
      h('button', { on: { click: () => void make(true) } }, 'Read-only link'),
    ),
    output,
  );
}
