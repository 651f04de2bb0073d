import { type Command, Option } from 'commander';
import { CONFIG_ENV, ConfigError, envName, HUB_PARAMS, loadHubConfig } from '../../../hub/config.ts';
import { type Cli, EXIT_USAGE, stopSignal } from '../cli.ts';

/**
 * `dcloud hub`: runs a hub until SIGINT/SIGTERM. Its options are generated from hub/config.ts's
 * parameter table, so every parameter has a flag, a variable and a file key.
 */
export function register(program: Command, cli: Cli): void {
  const command = program
    .command('hub')
    .description('run a hub: HTTP API, LevelDB state, image validation, scheduler, consensus')
    .option('--config <file>', `JSON config file (env ${CONFIG_ENV}); precedence: flags > env > file > defaults`);
  const attributes = new Map<string, string>();
  for (const param of HUB_PARAMS) {
    const option =
      param.kind.type === 'list'
        ? // Repeatable; the values reach the config as the comma-separated list a variable holds.
          new Option(`--${param.flag} <value>`, `${param.describe} (env ${envName(param)}, comma-separated)`).argParser((value: string, previous: string | undefined) =>
            previous === undefined ? value : `${previous},${value}`,
          )
        : param.kind.type === 'boolean'
          ? // A switch: bare means true; `--approve-agents false` also works.
            new Option(`--${param.flag} [value]`, `${param.describe} (env ${envName(param)}, default ${param.default})`)
          : new Option(`--${param.flag} <value>`, `${param.describe} (env ${envName(param)}, default ${param.default === '' ? 'none' : param.default})`);
    attributes.set(param.flag, option.attributeName());
    command.addOption(option);
  }

  command.action(async (options: Record<string, string | boolean | undefined>) => {
    const flags = Object.fromEntries(
      HUB_PARAMS.map((param) => {
        const value = options[attributes.get(param.flag)!];
        return [param.flag, value === undefined ? undefined : String(value)];
      }),
    );
    let config;
    try {
      config = await loadHubConfig({ configFile: options.config as string | undefined, flags, env: cli.env });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      cli.stderr.write(`dcloud hub: ${err.message}\n`);
      cli.exitCode = EXIT_USAGE;
      return;
    }
    const stopped = stopSignal();
    // Loaded here, not at the top: other commands (an agent on a volunteer's machine) need not carry the hub.
    const { startHub } = await import('../../../hub/main.ts');
    const passphrase = cli.env.DCLOUD_KEY_PASSPHRASE;
    const hub = await startHub(config, { logStream: cli.stderr, ...(passphrase ? { keyPassphrase: passphrase } : {}) });
    // Tests and scripts read the URL from this line (the port may have been chosen by the system).
    cli.stdout.write(`dcloud hub ${hub.id} listening on ${hub.url}\n`);
    cli.stdout.write(`dcloud hub ${hub.id} dashboard on ${hub.url}/dashboard\n`);
    const signal = await stopped;
    cli.stderr.write(`dcloud hub: ${signal}, stopping\n`);
    await hub.stop();
  });
}
