/** `node --import ./electronStubLoader.mjs`: registers the hooks that hand `electron` to the stub. */
import { register } from 'node:module';

register(new URL('./electronStubHooks.mjs', import.meta.url));
