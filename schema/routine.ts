import type { MethodParameter, MethodSignature } from '../src/routines/sdk.ts';
import { methodSignatures } from '../src/db/json-columns.ts';
import { visibleInstanceWhere } from '../src/access/visibility.ts';
import { builder } from './builder.ts';
import { MethodKindEnum } from './enums.ts';
import { RoutineInstanceConnection } from './instance.ts';
import { checkedMaxSize } from './run-list-args.ts';

export const MethodParameterRef = builder.objectRef<MethodParameter>('MethodParameter').implement({
  description: 'One parameter of a method signature, for forms and validation.',
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.exposeString('type', { description: 'A JSON Schema type: string, integer, number, boolean, array or object.' }),
    required: t.exposeBoolean('required'),
    description: t.exposeString('description', { nullable: true }),
    default: t.field({ type: 'JSON', nullable: true, resolve: (p) => p.default }),
    options: t.field({
      type: ['JSON'],
      nullable: true,
      description: 'The allowed values, when the set is closed.',
      resolve: (p) => p.options,
    }),
  }),
});

export const RoutineMethodRef = builder.objectRef<MethodSignature>('RoutineMethod').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.field({ type: MethodKindEnum, resolve: (m) => m.kind }),
    description: t.exposeString('description', { nullable: true }),
    allowsInMemory: t.exposeBoolean('allowsInMemory'),
    defaultMemoryMb: t.exposeInt('defaultMemoryMb'),
    maxAttempts: t.int({ resolve: (m) => m.retry.maxAttempts }),
    memoryGrowth: t.float({
      nullable: true,
      description:
        'retry.memoryGrowth: an attempt that runs out of memory is retried with its memory times this factor (at most ' +
        'MAX_RUN_MEMORY_MB, within maxAttempts). Null: running out of memory ends the run.',
      resolve: (m) => m.retry.memoryGrowth ?? null,
    }),
    timeoutMs: t.int({ resolve: (m) => m.timeoutMs }),
    parameters: t.field({ type: [MethodParameterRef], resolve: (m) => m.parameters }),
    inputSchema: t.field({
      type: 'JSON',
      description: 'The same signature as JSON Schema.',
      resolve: (m) => m.inputSchema,
    }),
  }),
});

export function methodsOf(routine: { methods: unknown }): MethodSignature[] {
  return methodSignatures.parse(routine.methods);
}

builder.prismaNode('Routine', {
  nullable: true,
  // Select mode: every query reads these small columns (their fields resolve as plain reads,
  // schema/plugins/plain-row-fields.ts); `methods` is read only when a field asks for it.
  select: { id: true, name: true, version: true, description: true, stateful: true, createdAt: true, updatedAt: true },
  id: { field: 'id' },
  fields: (t) => ({
    name: t.exposeString('name'),
    version: t.exposeString('version'),
    description: t.exposeString('description', { nullable: true }),
    stateful: t.exposeBoolean('stateful'),
    methods: t.field({ type: [RoutineMethodRef], select: { methods: true }, resolve: methodsOf }),
    instances: t.relatedConnection(
      'instances',
      {
        cursor: 'id',
        totalCount: true,
        maxSize: (args) => checkedMaxSize(args),
        description:
          'The instances the request can see, newest first. At most 100 per page. Loaded with the routine (a LIMIT per routine).',
        query: (_args, ctx) => ({ where: visibleInstanceWhere(ctx.access), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
      },
      RoutineInstanceConnection,
    ),
  }),
});

builder.queryFields((t) => ({
  routines: t.prismaField({
    type: ['Routine'],
    description: 'Every routine, at its latest version.',
    resolve: (query, _root, _args, ctx) =>
      ctx.db.routine.findMany({
        ...query,
        where: { name: { in: ctx.services.registry.list().map((r) => r.name) } },
        distinct: ['name'],
        orderBy: [{ name: 'asc' }, { createdAt: 'desc' }],
      }),
  }),
  routine: t.prismaField({
    type: 'Routine',
    nullable: true,
    description: 'A routine by name, at its latest version.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.routine.findFirst({ ...query, where: { name: args.name }, orderBy: { createdAt: 'desc' } }),
  }),
}));
