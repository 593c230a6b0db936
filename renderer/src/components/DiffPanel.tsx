import { DiffEditor } from '@monaco-editor/react';
import '../monaco/monacoSetup';

// A sample until code management puts the agent's proposed changes here.
const original = `CREATE TABLE employees (
  id INTEGER PRIMARY KEY,
  name VARCHAR(100),
  salary NUMBER(10, 2)
);
`;
const modified = `CREATE TABLE employees (
  id INTEGER PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  email VARCHAR(320) UNIQUE,
  salary NUMBER(12, 2)
);
`;

export default function DiffPanel() {
  return (
    <div className="diff-panel" data-testid="diff-panel">
      <div className="panel-title">Proposed change · employees.sql (sample)</div>
      <div className="diff-editor">
        <DiffEditor
          original={original}
          modified={modified}
          language="sql"
          theme="vs-dark"
          options={{ readOnly: true, renderSideBySide: true, useInlineViewWhenSpaceIsLimited: false, minimap: { enabled: false }, automaticLayout: true }}
        />
      </div>
    </div>
  );
}
