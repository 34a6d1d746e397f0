// What every resolver receives. The user is always authenticated: requests without a valid
// token are refused before any resolver runs (src/http/yoga.ts).
import type { Db } from './db/client.ts';
import type { RunEventBus } from './events/bus.ts';
import type { User } from './generated/prisma/client.ts';
import type { ArtifactLinks } from './http/artifact-links.ts';
import type { ServiceDeps } from './services/deps.ts';

export interface Context {
  db: Db;
  user: User;
  services: ServiceDeps;
  bus: RunEventBus;
  links: ArtifactLinks;
}
