import { escape } from '../html';
import { layout, Shell } from './layout';

/** A page's error: a readable page with the message, not a stack. */
export const errorPage = (shell: Shell, title: string, message: string) =>
  layout(shell, title, `<p class="notice error" role="alert">${escape(message)}</p>`);
