// Imports every type module and builds the schema.
import { builder } from './builder.ts';
import './enums.ts';
import './errors.ts';
import './user.ts';
import './routine.ts';
import './instance.ts';
import './run.ts';
import './run-operations.ts';
import './run-event.ts';
import './run-update.ts';
import './artifact.ts';
import './run-graph.ts';
import './run-metadata.ts';
import './run-lifecycle.ts';
import './draft.ts';
import './dataset.ts';
import './compare.ts';
import './retention.ts';
import './workspace.ts';
import './api-token.ts';
import './audit.ts';
import './deleted-runs.ts';
import './schedule.ts';

export const schema = builder.toSchema({ sortSchema: false });
