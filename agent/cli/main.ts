#!/usr/bin/env node
import { runCli } from './program.js';
import { startTestStall } from './test-stall.js';

startTestStall(process.env);
// No top-level await: this module is also the entry of the CommonJS bundle (dist/herald.cjs).
void runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
