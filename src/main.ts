// Entry point: `npm start` (embedded, all in one), `npm run api`, `npm run worker`,
// `npm run migrate`, `npm run token -- create <user>`.
import { runCommand } from './commands/index.ts';

runCommand(process.argv.slice(2)).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
