/**
 * Monaco's editors, configured (monacoSetup): this module and everything it pulls in (the
 * editor, its languages, its workers) load only when a diff or a file is first shown, through
 * the lazy components in lazyEditors.tsx, never on the first screen.
 */
import './monacoSetup';

export { DiffEditor, Editor } from '@monaco-editor/react';
