// Records every module file a Node process loads (ES modules and require() alike), one URL
// a line, appended to the file named by MODULE_RECORD_FILE. Test-only, loaded with
//   node --import ./test/support/moduleRecorder.mjs out/main/serve.js
// by the startup benchmark and the idle-modules test, which read the file once the process
// is idle. Node's synchronous module hooks see both loaders (Node 22.15+ / 23.5+).
import { appendFileSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env['MODULE_RECORD_FILE'];
if (!file) throw new Error('MODULE_RECORD_FILE is not set');
writeFileSync(file, '');
const seen = new Set();

registerHooks({
  load(url, context, nextLoad) {
    if (!seen.has(url)) {
      seen.add(url);
      appendFileSync(file, `${url}\n`);
    }
    return nextLoad(url, context);
  },
});
