/** Process entry of the `tributary` command (see bin/tributary.js). */
import { runCli } from './program.ts';

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // The reader went away (`tributary consume … | head`): stop quietly.
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await runCli(process.argv.slice(2));
// Exit explicitly: idle keep-alive sockets or timers of a library must not hold the process.
process.stdout.write('', () => process.exit(code));
