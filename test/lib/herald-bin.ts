/**
 * The `herald` executable that tests start as real processes: the launcher that
 * `npm run build` writes and package.json's `bin` points at (it runs the bundle
 * `dist/herald.cjs` with its code cache), so tests run what ships.
 * Paths are relative to the repository root (mocha's working directory).
 */
export const HERALD_BIN = 'dist/herald.mjs';
