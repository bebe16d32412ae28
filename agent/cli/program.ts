import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { ConfigError } from '../config/schema.js';
import { normalizeArgs } from './argv.js';
import { CliError, println, type CliIO } from './io.js';
import { registerAgentCommand } from './agent.js';
import { registerValidateCommand } from './validate.js';
import { registerInfoCommand } from './info.js';
import { registerMemberCommands } from './members.js';
import { registerKeyringCommands } from './keyring.js';
import { registerEventCommand } from './event.js';
import { registerOperatorCommands } from './operator.js';
import { registerServicesCommand } from './services.js';
import { registerCatalogCommand } from './catalog.js';
import { registerMaintCommand } from './maint.js';
import { registerWatchCommand } from './watch.js';
import { registerMonitorCommand, registerReloadCommand } from './monitor.js';
import { registerKvCommands } from './kv.js';
import { registerLockCommand } from './lock.js';
import { registerSnapshotCommands } from './snapshot.js';

/** Builds the `herald` command tree. Output goes to `io`; nothing calls process.exit. */
export function createProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('herald');
  program
    .description('Herald: Consul-compatible service discovery (gossip membership, Raft catalog, HTTP and DNS)')
    .version(`Herald v${VERSION}`, '--version', 'print the version')
    .option('--http-addr <addr>', 'agent HTTP address, host:port or URL (env HERALD_HTTP_ADDR; default 127.0.0.1:8500)')
    .showHelpAfterError('(run "herald --help" or "herald <command> --help" for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();

  registerAgentCommand(program, io, setExit);
  registerValidateCommand(program, io);
  registerInfoCommand(program, io);
  registerMemberCommands(program, io);
  registerKeyringCommands(program, io);
  registerEventCommand(program, io);
  registerOperatorCommands(program, io);
  registerServicesCommand(program, io);
  registerCatalogCommand(program, io);
  registerMaintCommand(program, io);
  registerWatchCommand(program, io);
  registerMonitorCommand(program, io);
  registerReloadCommand(program, io);
  registerKvCommands(program, io);
  registerLockCommand(program, io, setExit);
  registerSnapshotCommands(program, io);
  program
    .command('version')
    .description('Print the Herald version')
    .action(() => {
      println(io.stdout, `Herald v${VERSION}`);
      println(io.stdout, 'Protocol 2 spoken by default (Consul-compatible HTTP and DNS APIs)');
    });

  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const cmd of all(program).slice(1)) {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  }
  return program;
}

/**
 * Runs `herald` with `argv` (without the node and script paths) and resolves with the exit
 * code. Every expected failure is one clear line on stderr and a non-zero code.
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  let code = 0;
  const program = createProgram(io, (c) => {
    code = c;
  });
  const args = normalizeArgs(argv);
  if (args.length === 0) {
    program.outputHelp({ error: true });
    return 1;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" to commander with exit code 0; the message is already printed.
      return e.exitCode;
    }
    if (e instanceof CliError || e instanceof ConfigError) {
      println(io.stderr, `Error: ${e.message}`);
      return e instanceof CliError ? e.exitCode : 1;
    }
    println(io.stderr, `Error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
