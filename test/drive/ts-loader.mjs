// Lets a plain `node` child process run the workspace's TypeScript sources (as jest does):
// `node --import ./test/drive/ts-loader.mjs child.ts`. `@scaidrive/<pkg>` resolves to the package's
// src/index.ts, relative `.js` imports to the `.ts` file next to them, and swc strips the types.
import { register } from 'node:module';

register('./ts-loader-hooks.mjs', import.meta.url);
