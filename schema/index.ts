// Imports every type module and builds the schema.
import { builder } from './builder.ts';
import './enums.ts';
import './errors.ts';
import './user.ts';
import './routine.ts';
import './instance.ts';
import './run.ts';
import './run-event.ts';
import './artifact.ts';

export const schema = builder.toSchema({ sortSchema: false });
