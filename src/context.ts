// What every resolver receives. The user is always authenticated: requests without a valid
// token are refused before any resolver runs (src/http/yoga.ts).
import type { Db } from './db/client.ts';
import type { RunEventBus } from './events/bus.ts';
import type { RunEventFeeds } from './events/run-feed.ts';
import type { RunUpdateFeeds } from './events/run-updates.ts';
import type { User } from './generated/prisma/client.ts';
import type { Access } from './access/access.ts';
import type { ArtifactLinks } from './http/artifact-links.ts';
import type { ServiceDeps } from './services/deps.ts';

export interface Context {
  db: Db;
  /** access.user, for the resolvers that only need who asks. */
  user: User;
  /** What this request may see and do (src/access/): every read scopes by it, every change asks it. */
  access: Access;
  /** The client's address (the HTTP request's or the graphql-ws upgrade request's socket), for the audit trail. */
  address: string | null;
  services: ServiceDeps;
  bus: RunEventBus;
  /** This process's shared run event feeds (one database read per change, whatever the subscribers). */
  feeds: RunEventFeeds;
  /** This process's shared `runsUpdated` feeds, one per distinct filter. */
  runUpdates: RunUpdateFeeds;
  links: ArtifactLinks;
}
