/**
 * The first build of a workspace's code index, in a worker thread: reading every file,
 * tree-sitter parsing and BM25 indexing take seconds to a minute on a large repository,
 * and none of it runs on the main process's thread. The worker loads the saved index (if
 * any), brings it up to date, saves it and ends; the main thread then loads what it saved.
 * Built as its own entry (`indexWorker.js` beside the main bundle).
 */
import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { CodeIndex, type RefreshReport } from './codeIndex';

export interface IndexBuildRequest {
  readonly root: string;
  readonly storeFile: string;
}

export type IndexBuildReply = { readonly ok: true; readonly report: RefreshReport; readonly threadId: number } | { readonly ok: false; readonly error: string };

async function build(request: IndexBuildRequest): Promise<IndexBuildReply> {
  const index = await CodeIndex.open(request.root, request.storeFile);
  const report = await index.refresh();
  await index.save();
  return { ok: true, report, threadId };
}

const port = parentPort;
if (!isMainThread && port) {
  build(workerData as IndexBuildRequest).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => port.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) } satisfies IndexBuildReply),
  );
}
