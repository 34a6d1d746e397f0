// `routines instances list|create`: what `run --instance` names, without leaving the terminal.
import { UsageError, type GraphQLClient } from './client.ts';
import {
  CREATE_INSTANCE,
  describeMutationError,
  INSTANCES_LIST,
  type CreateInstanceData,
  type InstancesListData,
  type InstanceSummary,
} from './documents.ts';
import { printJson, table, type OutputMode } from './output.ts';

function stateOf(instance: InstanceSummary): string {
  if (!instance.routine.stateful) return 'ready';
  return instance.constructed ? 'configured' : 'needs its constructor run';
}

export async function listInstances(
  client: GraphQLClient,
  options: { routine?: string; first: number },
  mode: OutputMode,
): Promise<number> {
  const { instances } = await client.request<InstancesListData>(INSTANCES_LIST, {
    routineName: options.routine ?? null,
    first: options.first,
  });
  const nodes = instances.edges.map((edge) => edge.node);
  if (mode.json) {
    printJson({ totalCount: instances.totalCount, instances: nodes });
    return 0;
  }
  const rows = nodes.map((instance) => [instance.id, instance.routine.name, instance.name, instance.workspace.name, stateOf(instance)]);
  process.stdout.write(`${table(['ID', 'ROUTINE', 'NAME', 'WORKSPACE', 'STATE'], rows)}\n`);
  if (instances.totalCount > nodes.length) process.stdout.write(`(${nodes.length} of ${instances.totalCount}; --first for more)\n`);
  return 0;
}

export async function createInstanceCommand(
  client: GraphQLClient,
  routineName: string,
  name: string,
  options: { description?: string },
  mode: OutputMode,
): Promise<number> {
  const { createInstance } = await client.request<CreateInstanceData>(CREATE_INSTANCE, {
    input: { routineName, name, ...(options.description ? { description: options.description } : {}) },
  });
  if (!createInstance.instance) throw new UsageError(describeMutationError(createInstance));
  const instance = createInstance.instance;
  if (mode.json) printJson(instance);
  else {
    process.stdout.write(`created instance ${instance.routine.name}/${instance.name} ${instance.id}\n`);
    if (instance.routine.stateful && !instance.constructed)
      process.stdout.write(`${instance.routine.name} is stateful: run its constructor method first (see the console's Routines page)\n`);
  }
  return 0;
}
