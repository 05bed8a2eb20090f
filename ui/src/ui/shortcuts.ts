/**
 * App-wide keyboard shortcuts: Ctrl (Cmd on macOS) + N new, + K search,
 * + O import Markdown files, + Shift + H history, + Shift + S share, + J join with a link,
 * + , settings. The native
 * menu offers the same commands under the same keys.
 */

export type Command = 'new' | 'import' | 'search' | 'history' | 'share' | 'join' | 'settings';

const COMMANDS: readonly string[] = ['new', 'import', 'search', 'history', 'share', 'join', 'settings'] satisfies Command[];

/** Whether `name` (say, from a menu event) is a command. */
export function isCommand(name: string): name is Command {
  return COMMANDS.includes(name);
}

/** The bits of a KeyboardEvent that matter here. */
export type KeyChord = Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>;

/** True on macOS, where the modifier is Cmd. */
export function isMac(platform: string = navigator.platform): boolean {
  return /mac|iphone|ipad/i.test(platform);
}

/** The command a key chord means, if any. */
export function commandFor(e: KeyChord, mac: boolean): Command | null {
  const mod = mac ? e.metaKey && !e.ctrlKey : e.ctrlKey && !e.metaKey;
  if (!mod || e.altKey) return null;
  const key = e.key.toLowerCase();
  // History takes Shift too: Cmd+H hides the app on macOS.
  if (e.shiftKey) return key === 's' ? 'share' : key === 'h' ? 'history' : null;
  switch (key) {
    case 'n':
      return 'new';
    case 'o':
      return 'import';
    case 'k':
      return 'search';
    case 'j':
      return 'join';
    case ',':
      return 'settings';
    default:
      return null;
  }
}

/** How to write a shortcut in the UI ("Ctrl+K" or "⌘K"). */
export function shortcutLabel(key: string, mac: boolean, shift = false): string {
  return mac ? `${shift ? '⇧' : ''}⌘${key}` : `Ctrl+${shift ? 'Shift+' : ''}${key}`;
}

/** Runs `run(command)` for shortcut chords, before the editor sees them. */
export function installShortcuts(target: Window, run: (command: Command) => void, mac = isMac()): () => void {
  const listener = (e: KeyboardEvent) => {
    const command = commandFor(e, mac);
    if (!command) return;
    e.preventDefault();
    e.stopPropagation();
    run(command);
  };
  target.addEventListener('keydown', listener, { capture: true });
  return () => target.removeEventListener('keydown', listener, { capture: true });
}
