#!/usr/bin/env node
import { runCli } from './program.js';
import { startTestStall } from './test-stall.js';

startTestStall(process.env);
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
