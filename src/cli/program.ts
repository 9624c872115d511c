/**
 * The `tributary` command line. `runCli(argv, io)` runs one command and returns its exit code,
 * so tests can drive the CLI in-process; `main.ts` wires it to the real process.
 */
import { Command, CommanderError } from 'commander';
import { isTributaryError } from '../util/errors.ts';
import { connectorsCommand } from './commands/connectors.ts';
import { consumeCommand } from './commands/consume.ts';
import { dagsCommand, schedulerCommand, workerCommand } from './commands/dags.ts';
import { groupsCommand } from './commands/groups.ts';
import { initCommand } from './commands/init.ts';
import { lakeCommand } from './commands/lake.ts';
import { modelsCommand } from './commands/models.ts';
import { produceCommand } from './commands/produce.ts';
import { sqlCommand } from './commands/sql.ts';
import { topicsCommand } from './commands/topics.ts';
import { streamsCommand } from './commands/streams.ts';
import { upCommand } from './commands/up.ts';
import { CliError, EXIT, processIo, type CliIo } from './io.ts';
import { VERSION } from './version.ts';

/** Applies output routing and "throw instead of exit" to a command and all its subcommands. */
function configure(cmd: Command, io: CliIo): void {
  cmd
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)');
  for (const sub of cmd.commands) configure(sub, io);
}

export function createProgram(io: CliIo): Command {
  const program = new Command('tributary')
    .description('Tributary: a data-pipeline platform — durable log, streams, lake, warehouse, workflows — in one process')
    .version(VERSION, '-V, --version')
    .addCommand(upCommand(io))
    .addCommand(initCommand(io))
    .addCommand(topicsCommand(io))
    .addCommand(produceCommand(io))
    .addCommand(consumeCommand(io))
    .addCommand(groupsCommand(io))
    .addCommand(streamsCommand(io))
    .addCommand(connectorsCommand(io))
    .addCommand(lakeCommand(io))
    .addCommand(sqlCommand(io))
    .addCommand(modelsCommand(io))
    .addCommand(dagsCommand(io))
    .addCommand(schedulerCommand(io))
    .addCommand(workerCommand(io))
    .addHelpText('after', '\nClient commands reach a running `tributary up` at --server (env TRIBUTARY_SERVER, default http://localhost:8080).');
  configure(program, io);
  return program;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code.
 *
 * @example
 * ```ts
 * const code = await runCli(['topics', 'list', '--json']);
 * ```
 */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const program = createProgram(io);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.ok;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message (or the help, or the version) already.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      io.stderr(`error: ${err.message}\n`);
      return err.exitCode;
    }
    if (isTributaryError(err)) {
      io.stderr(`error: ${err.message}\n`);
      return EXIT.failed;
    }
    const e = err as Error;
    io.stderr(`error: ${e?.message ?? String(err)}\n`);
    if (io.env['TRIBUTARY_DEBUG']) io.stderr(`${e?.stack ?? ''}\n`);
    return EXIT.failed;
  }
}
