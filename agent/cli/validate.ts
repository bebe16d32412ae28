import type { Command } from 'commander';
import { buildConfig } from '../config/config.js';
import { println, type CliIO } from './io.js';

/** `herald validate <file|dir>...`: checks config files exactly as the agent would load them. */
export function registerValidateCommand(program: Command, io: CliIO): void {
  program
    .command('validate')
    .description('Validate config files or directories')
    .argument('<paths...>', 'JSON config files or directories')
    .option('--quiet', 'print nothing on success')
    .action((paths: string[], opts: { quiet?: boolean }) => {
      buildConfig({ configFiles: paths });
      if (!opts.quiet) println(io.stdout, 'Configuration is valid!');
    });
}
