// Entry point: `npm start` (embedded, all in one), `npm run api`, `npm run worker`,
// `npm run migrate`, `npm run token -- create <user>`.
import { runCommand } from './commands/index.ts';
import { processLogger } from './logger.ts';

runCommand(process.argv.slice(2)).catch((error) => {
  // LOG_LEVEL may be what failed to load; a fatal line is written at any level.
  processLogger().fatal(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
