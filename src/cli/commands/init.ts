import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { displayPath } from '../../config/load.ts';
import { CliError, type CliIo } from '../io.ts';
import { json } from '../format.ts';
import { VERSION } from '../version.ts';

export function configTemplate(): string {
  return `import { defineConfig } from 'tributary';

/**
 * Tributary project configuration. Every field is optional; \`tributary up\` checks this file
 * and names any bad field. Topic settings are camelCase (partitions, retentionMs, cleanupPolicy, …).
 */
export default defineConfig({
  http: { port: 8080 },
  kafka: { port: 9092 },
  // Relative to this file.
  dataDir: './.tributary',
  topics: {
    events: { partitions: 3, retentionMs: 7 * 24 * 3600 * 1000 },
  },
  // Demo data: searches, orders, reviews, deliveries and POS sales on shop.* topics.
  // generators: [{ kind: 'shop', ratePerSecond: 50 }],
});
`;
}

function packageJson(name: string): string {
  const pkgName = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'my-pipeline';
  return (
    JSON.stringify(
      {
        name: pkgName,
        private: true,
        type: 'module',
        scripts: { up: 'tributary up', start: 'tributary up' },
        dependencies: { tributary: `^${VERSION}` },
      },
      null,
      2,
    ) + '\n'
  );
}

const GITIGNORE = `node_modules/\n.tributary/\n`;

const README = `# Tributary project

- \`tributary.config.ts\`: broker, topics, generators (\`defineConfig\`)
- \`streams/\`: stream apps and streaming SQL
- \`dags/\`: workflows
- \`models/\`: SQL models for marts

Run \`npm install\`, then \`npx tributary up\`, then open http://localhost:8080.
`;

export function initCommand(io: CliIo): Command {
  return new Command('init')
    .description('scaffold a Tributary project (tributary.config.ts, package.json, folders)')
    .argument('[dir]', 'project folder (created if missing)', '.')
    .option('--force', 'overwrite an existing tributary.config.ts')
    .option('--json', 'print the created files as JSON')
    .action(async (dir: string, flags: { force?: boolean; json?: boolean }) => {
      const root = path.resolve(io.cwd, dir);
      const configFile = path.join(root, 'tributary.config.ts');
      if (existsSync(configFile) && !flags.force) {
        throw new CliError(`${displayPath(configFile, io.cwd)} already exists: edit it, or pass --force to overwrite it`);
      }
      await mkdir(root, { recursive: true });
      const created: string[] = [];
      const skipped: string[] = [];
      const write = async (file: string, content: string, overwrite: boolean) => {
        const abs = path.join(root, file);
        if (existsSync(abs) && !overwrite) {
          skipped.push(displayPath(abs, io.cwd));
          return;
        }
        await mkdir(path.dirname(abs), { recursive: true });
        await writeFile(abs, content);
        created.push(displayPath(abs, io.cwd));
      };
      await write('tributary.config.ts', configTemplate(), true);
      await write('package.json', packageJson(path.basename(root)), false);
      await write('.gitignore', GITIGNORE, false);
      await write('README.md', README, false);
      for (const folder of ['streams', 'dags', 'models']) await write(`${folder}/.gitkeep`, '', false);

      if (flags.json) {
        io.stdout(json({ dir: root, created, skipped }));
        return;
      }
      for (const f of created) io.stdout(`created ${f}\n`);
      for (const f of skipped) io.stdout(`kept    ${f} (exists)\n`);
      const cd = path.relative(io.cwd, root);
      io.stdout(`\nnext: ${cd ? `cd ${cd} && ` : ''}npm install && npx tributary up\n`);
    });
}
