/**
 * The `herald` executable that tests start as real processes: the single-file bundle that
 * `npm run build` writes and package.json's `bin` points at, so tests run what ships.
 * Paths are relative to the repository root (mocha's working directory).
 */
export const HERALD_BIN = 'dist/herald.mjs';
