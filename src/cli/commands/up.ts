import { Command, Option } from 'commander';
import { resolveConfig } from '../../config/resolve.ts';
import { LOG_LEVELS } from '../../config/schema.ts';
import { createLogger, type LogFormat } from '../logger.ts';
import type { CliIo } from '../io.ts';
import { intArg } from '../options.ts';
import { VERSION } from '../version.ts';

interface UpFlags {
  config?: string;
  httpPort?: number;
  kafkaPort?: number;
  dataDir?: string;
  logLevel?: string;
  logFormat?: LogFormat;
  json?: boolean;
}

/** Resolves on the first SIGTERM or SIGINT; a second one while shutting down exits at once. */
function firstSignal(io: CliIo): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      process.once('SIGTERM', forced);
      process.once('SIGINT', forced);
      resolve(sig);
    };
    const forced = () => {
      io.stderr('error: second signal during shutdown: exiting without a clean shutdown\n');
      process.exit(1);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export function upCommand(io: CliIo): Command {
  return new Command('up')
    .description('run Tributary: the log, the HTTP API (and UI), the configured topics and generators')
    .option('-c, --config <file>', 'config file (default: env TRIBUTARY_CONFIG or ./tributary.config.ts; a missing default file means defaults)')
    .option('--http-port <port>', 'HTTP port (default: env TRIBUTARY_HTTP_PORT, the config, or 8080)', intArg(0, 65535))
    .option('--kafka-port <port>', 'Kafka protocol port (default: env TRIBUTARY_KAFKA_PORT, the config, or 9092)', intArg(0, 65535))
    .option('--data-dir <dir>', 'data directory (default: env TRIBUTARY_DATA_DIR, the config, or ./.tributary)')
    .addOption(new Option('--log-level <level>', 'log level (default: env TRIBUTARY_LOG_LEVEL, the config, or info)').choices(LOG_LEVELS))
    .addOption(new Option('--log-format <format>', 'log format on stderr (default: pretty on a terminal, else json)').choices(['pretty', 'json']))
    .option('--json', 'JSON logs (same as --log-format json)')
    .addHelpText(
      'after',
      '\nPrints "tributary ready http=<url> kafka=<host:port>" on stdout once it accepts connections;\nexits 0 after a clean shutdown on SIGTERM or SIGINT.',
    )
    .action(async (flags: UpFlags) => {
      const config = await resolveConfig(
        {
          ...(flags.config !== undefined ? { config: flags.config } : {}),
          ...(flags.httpPort !== undefined ? { httpPort: flags.httpPort } : {}),
          ...(flags.kafkaPort !== undefined ? { kafkaPort: flags.kafkaPort } : {}),
          ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
          ...(flags.logLevel !== undefined ? { logLevel: flags.logLevel } : {}),
        },
        io.env,
        io.cwd,
      );
      const format: LogFormat = flags.json ? 'json' : (flags.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json'));
      const logger = createLogger({ level: config.logLevel, format, write: io.stderr });
      if (config.configFile) logger.info({ config: config.configFile }, 'config loaded');
      else logger.info('no config file: running with defaults');
      const signal = firstSignal(io);
      const { startTributary } = await import('../../server/instance.ts');
      const instance = await startTributary(config, { logger, version: VERSION });
      io.stdout(`tributary ready http=${instance.httpUrl} kafka=${instance.kafkaAddress}\n`);
      const sig = await signal;
      logger.info({ signal: sig }, 'shutting down');
      await instance.close();
      logger.info('stopped');
    });
}
