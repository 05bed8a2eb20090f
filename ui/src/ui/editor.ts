/**
 * The Markdown editor: CodeMirror 6 bound to the document's Y.Text by
 * y-codemirror.next (`yCollab`), with remote cursors from the awareness, Yjs undo
 * (only this user's own edits), and colours taken from CSS variables so one set of
 * extensions serves the light and the dark theme.
 */
import { markdown, markdownLanguage } from '@codemirror/lang-markdown';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { basicSetup } from 'codemirror';
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';

import type { Theme } from '../state';

/** Markdown colours, as CSS variables defined in styles.css for each theme. */
const markdownHighlight = HighlightStyle.define([
  { tag: tags.heading1, fontSize: '1.5em', fontWeight: '700', color: 'var(--md-heading)' },
  { tag: tags.heading2, fontSize: '1.3em', fontWeight: '700', color: 'var(--md-heading)' },
  { tag: [tags.heading3, tags.heading4, tags.heading5, tags.heading6], fontWeight: '700', color: 'var(--md-heading)' },
  { tag: tags.strong, fontWeight: '700' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strikethrough, textDecoration: 'line-through' },
  { tag: [tags.link, tags.url], color: 'var(--md-link)' },
  { tag: tags.monospace, fontFamily: 'var(--mono)', color: 'var(--md-code)' },
  { tag: tags.quote, color: 'var(--md-quote)', fontStyle: 'italic' },
  { tag: [tags.processingInstruction, tags.contentSeparator, tags.meta], color: 'var(--md-mark)' },
]);

const layout = EditorView.theme({
  '&': { height: '100%', fontSize: '15px', backgroundColor: 'var(--bg)', color: 'var(--fg)' },
  '.cm-scroller': { fontFamily: 'var(--text-font)', lineHeight: '1.6' },
  '.cm-content': { maxWidth: '46rem', margin: '0 auto', padding: '1.5rem 1rem 40vh', caretColor: 'var(--accent)' },
  '.cm-gutters': { backgroundColor: 'var(--bg)', color: 'var(--muted)', border: 'none' },
  // Line numbers mean little in prose; the fold gutter (fold a section by its heading) stays.
  '.cm-gutter.cm-lineNumbers': { display: 'none !important' },
  '.cm-activeLine, .cm-activeLineGutter': { backgroundColor: 'var(--active-line)' },
  '&.cm-focused': { outline: 'none' },
});

/**
 * Above this many characters (UTF-16 units) the editor shows the text without
 * Markdown highlighting. Measured with the Markdown language on: a 10 MB, 120,000-line
 * document took seconds per keystroke in the app (the parser re-reads from the edit
 * onward), 10,000 lines ~0.3 s in a headless page; plain text costs milliseconds at
 * any size. About 10,000 lines of prose.
 */
export const LARGE_DOCUMENT_CHARS = 1_000_000;

/** The Markdown language and its colours, unless the document is too large for them. */
function markdownSupport(chars: number) {
  if (chars > LARGE_DOCUMENT_CHARS) return [];
  return [markdown({ base: markdownLanguage }), syntaxHighlighting(markdownHighlight)];
}

export interface MountedEditor {
  view: EditorView;
  setTheme(theme: Theme): void;
  destroy(): void;
}

/**
 * Blocks the browser's own editing (typing, paste, drop) and reports each try. Cut is
 * reported but left to CodeMirror, which copies the selection and, the document being
 * read-only, removes nothing.
 */
function refuseEdits(onRefused: () => void) {
  const refuse = (e: Event) => {
    e.preventDefault();
    onRefused();
    return true;
  };
  const report = () => {
    onRefused();
    return false;
  };
  return EditorView.domEventHandlers({ beforeinput: refuse, paste: refuse, drop: refuse, cut: report });
}

/** Mounts an editor for `text` into `host`. */
export function mountEditor(
  host: HTMLElement,
  text: Y.Text,
  awareness: Awareness,
  options: { readOnly: boolean; theme: Theme; onRefusedEdit?: () => void },
): MountedEditor {
  const themeSlot = new Compartment();
  const undoManager = new Y.UndoManager(text);
  const body = text.toString();
  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: body,
      extensions: [
        // Yjs undo first: CodeMirror's own history would also undo other people's edits.
        Prec.high(keymap.of(yUndoManagerKeymap)),
        basicSetup,
        markdownSupport(text.length),
        EditorView.lineWrapping,
        layout,
        themeSlot.of(EditorView.darkTheme.of(options.theme === 'dark')),
        // A read-only document can still be focused, selected and copied from; what
        // would change it is refused, and the user is told why.
        EditorState.readOnly.of(options.readOnly),
        options.readOnly ? refuseEdits(options.onRefusedEdit ?? (() => {})) : [],
        EditorView.contentAttributes.of({ 'aria-label': 'Document text', spellcheck: 'true' }),
        yCollab(text, awareness, { undoManager }),
      ],
    }),
  });
  return {
    view,
    setTheme(theme) {
      view.dispatch({ effects: themeSlot.reconfigure(EditorView.darkTheme.of(theme === 'dark')) });
    },
    destroy() {
      view.destroy();
      undoManager.destroy();
    },
  };
}
