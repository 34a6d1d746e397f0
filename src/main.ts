// Entry point: `npm start` (embedded, all in one), `npm run api`, `npm run worker`,
// `npm run migrate`, `npm run token -- create <user>`.
import { runCommand } from './commands/index.ts';
import { processLogger } from './logger.ts';

runCommand(process.argv.slice(2)).catch((error) => {
  const message = error instanceof Error ? error.message : String(error);
  // A person at a terminal reads the reason as written (an invalid environment lists one variable
  // per line); a supervisor collecting stderr gets the fatal JSON line, written at any LOG_LEVEL.
  if (process.stderr.isTTY) process.stderr.write(`${message}\n`);
  else processLogger().fatal(message);
  process.exit(1);
});
