#!/usr/bin/env node
// The `routines` bin from a checkout: the CLI is TypeScript, run through tsx like the rest of the project.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
