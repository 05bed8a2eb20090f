// @vitest-environment happy-dom
/**
 * A document too large for Markdown highlighting opens as plain text (the parser cost
 * seconds per keystroke at 10 MB), and typing in it still reaches the Y.Text.
 */
import { language } from '@codemirror/language';
import { afterEach, describe, expect, it } from 'vitest';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';

import { LARGE_DOCUMENT_CHARS, mountEditor } from '../src/ui/editor';
import { unmount } from './helpers';

afterEach(unmount);

function editorFor(body: string) {
  const doc = new Y.Doc();
  const text = doc.getText('body');
  text.insert(0, body);
  const host = document.createElement('div');
  document.body.append(host);
  return { text, editor: mountEditor(host, text, new Awareness(doc), { readOnly: false, theme: 'light' }) };
}

describe('the editor and document size', () => {
  it('highlights Markdown in an ordinary document', () => {
    const { editor } = editorFor('# Title\n\nSome *text*.\n');
    expect(editor.view.state.facet(language)).not.toBeNull();
    editor.destroy();
  });

  it('shows a document over the limit as plain text, and typing in it reaches the document', () => {
    const line = 'A line of a very long document, about eighty characters long, repeated.\n';
    const body = 'FIRST\n' + line.repeat(Math.ceil(LARGE_DOCUMENT_CHARS / line.length) + 1);
    const { text, editor } = editorFor(body);
    expect(editor.view.state.facet(language)).toBeNull();
    editor.view.dispatch({ changes: { from: 5, insert: '!' } });
    expect(text.toString().startsWith('FIRST!\n')).toBe(true);
    expect(text.length).toBe(body.length + 1);
    editor.destroy();
  });
});
