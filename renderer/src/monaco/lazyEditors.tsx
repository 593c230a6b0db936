/**
 * Monaco's DiffEditor and Editor as lazy components: the first one rendered loads Monaco
 * (several megabytes) and its workers; until then the panel shows what it is waiting for.
 */
import { lazy, Suspense, type ComponentProps } from 'react';
import type { DiffEditor as DiffEditorType, Editor as EditorType } from '@monaco-editor/react';

const LazyDiffEditor = lazy(() => import('./monacoEditors').then((module) => ({ default: module.DiffEditor })));
const LazyEditor = lazy(() => import('./monacoEditors').then((module) => ({ default: module.Editor })));

function Loading() {
  return (
    <div className="panel-placeholder" data-testid="editor-loading">
      Loading the editor…
    </div>
  );
}

export function DiffEditor(props: ComponentProps<typeof DiffEditorType>) {
  return (
    <Suspense fallback={<Loading />}>
      <LazyDiffEditor {...props} />
    </Suspense>
  );
}

export function Editor(props: ComponentProps<typeof EditorType>) {
  return (
    <Suspense fallback={<Loading />}>
      <LazyEditor {...props} />
    </Suspense>
  );
}
