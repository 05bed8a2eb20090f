/**
 * Light or dark, following the operating system (`prefers-color-scheme`), live.
 */
import type { Theme } from './state';

/** The media query that says the OS is in dark mode. */
export const DARK_QUERY = '(prefers-color-scheme: dark)';

/** The part of `window` this needs (so tests can pass a stand-in). */
export interface MediaSource {
  matchMedia(query: string): Pick<MediaQueryList, 'matches' | 'addEventListener' | 'removeEventListener'>;
}

/** The theme the OS asks for now. */
export function systemTheme(source: MediaSource): Theme {
  return source.matchMedia(DARK_QUERY).matches ? 'dark' : 'light';
}

/** Calls `onChange` whenever the OS switches; returns a function that stops it. */
export function followSystemTheme(source: MediaSource, onChange: (theme: Theme) => void): () => void {
  const query = source.matchMedia(DARK_QUERY);
  const listener = (e: MediaQueryListEvent) => onChange(e.matches ? 'dark' : 'light');
  query.addEventListener('change', listener);
  return () => query.removeEventListener('change', listener);
}

/** Applies a theme to the page (CSS keys off `data-theme`). */
export function applyTheme(root: HTMLElement, theme: Theme): void {
  root.dataset.theme = theme;
  root.style.colorScheme = theme;
}
