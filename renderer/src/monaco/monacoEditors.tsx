/**
 * Monaco's editors, configured (monacoSetup): this module and everything it pulls in (the
 * editor, its languages, its workers) load only when a diff or a file is first shown, through
 * the lazy components in lazyEditors.tsx, never on the first screen.
 */
import './monacoSetup';

import { DiffEditor as LibraryDiffEditor, type DiffOnMount } from '@monaco-editor/react';
import { useCallback, useEffect, useRef, type ComponentProps } from 'react';

export { Editor } from '@monaco-editor/react';

type DiffEditorInstance = Parameters<DiffOnMount>[0];
type DiffModels = NonNullable<ReturnType<DiffEditorInstance['getModel']>>;

/**
 * @monaco-editor/react disposes the two text models before the diff editor on unmount, and
 * Monaco's DiffEditorWidget throws "TextModel got disposed before DiffEditorWidget model got
 * reset" when a model it still shows goes away. So the library is told to keep the models,
 * and this component, when it leaves, resets the editor's model first and only then disposes
 * the models it showed (whichever of the two unmount cleanups runs first). A caller that asks
 * to keep a model (keepCurrentOriginalModel) keeps it: disposing it is then the caller's part.
 */
export function DiffEditor(props: ComponentProps<typeof LibraryDiffEditor>) {
  const { onMount, keepCurrentOriginalModel = false, keepCurrentModifiedModel = false, ...rest } = props;
  const keep = useRef({ original: keepCurrentOriginalModel, modified: keepCurrentModifiedModel });
  useEffect(() => {
    keep.current = { original: keepCurrentOriginalModel, modified: keepCurrentModifiedModel };
  }, [keepCurrentOriginalModel, keepCurrentModifiedModel]);
  const mounted = useRef<{ editor: DiffEditorInstance; models: Set<DiffModels>; disposed: boolean } | undefined>(undefined);

  const handleMount = useCallback<DiffOnMount>(
    (editor, monaco) => {
      const state = { editor, models: new Set<DiffModels>(), disposed: false };
      const current = editor.getModel();
      if (current) state.models.add(current);
      // A new pair of models (a changed path) is remembered too, to be disposed in turn.
      editor.onDidChangeModel(() => {
        const next = editor.getModel();
        if (next) state.models.add(next);
      });
      editor.onDidDispose(() => {
        state.disposed = true;
      });
      mounted.current = state;
      onMount?.(editor, monaco);
    },
    [onMount],
  );

  useEffect(
    () => () => {
      const state = mounted.current;
      mounted.current = undefined;
      if (!state) return;
      if (!state.disposed) state.editor.setModel(null);
      for (const models of state.models) {
        if (!keep.current.original && !models.original.isDisposed()) models.original.dispose();
        if (!keep.current.modified && !models.modified.isDisposed()) models.modified.dispose();
      }
    },
    [],
  );

  return <LibraryDiffEditor {...rest} keepCurrentOriginalModel keepCurrentModifiedModel onMount={handleMount} />;
}
