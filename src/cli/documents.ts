// The CLI's GraphQL documents with hand-typed results (the codegen targets are the tests' and
// the console's; test/cli.test.ts validates every document here against schema/schema.graphql).

export interface FieldErrorShape {
  path: string[];
  message: string;
}

/** The `... on Error` part every mutation answer can carry. */
export interface MutationError {
  __typename: string;
  message?: string;
  fieldErrors?: FieldErrorShape[];
  retryAfterSeconds?: number;
}

export interface ArtifactSummary {
  name: string;
  contentType: string;
  sizeBytes: number;
  checksum: string;
}

export interface RunSummary {
  id: string;
  methodName: string;
  status: string;
  createdAt: string;
  durationMs: number | null;
  routine: { name: string };
  progress: { percent: number; message: string } | null;
  labels: string[];
}

export interface RunResult extends RunSummary {
  lastSequence: number;
  outputs: unknown;
  error: { message: string; phase: string; attempt: number; type: string } | null;
  artifacts: ArtifactSummary[];
  artifactsUnavailableReason: string | null;
}

const RUN_SUMMARY_FIELDS = /* GraphQL */ `
  id
  methodName
  status
  createdAt
  durationMs
  routine {
    name
  }
  progress {
    percent
    message
  }
  labels
`;

export const RUN_RESULT = /* GraphQL */ `
  query CliRunResult($id: ID!) {
    run(id: $id) {
      ${RUN_SUMMARY_FIELDS}
      lastSequence
      outputs
      error {
        message
        phase
        attempt
        type
      }
      artifacts {
        name
        contentType
        sizeBytes
        checksum
      }
      artifactsUnavailableReason
    }
  }
`;
export type RunResultData = { run: RunResult | null };

export const RUNS_LIST = /* GraphQL */ `
  query CliRunsList($first: Int, $filter: RunFilter) {
    runs(first: $first, filter: $filter) {
      totalCount
      edges {
        node {
          ${RUN_SUMMARY_FIELDS}
        }
      }
    }
  }
`;
export type RunsListData = { runs: { totalCount: number; edges: Array<{ node: RunSummary }> } };

export interface MethodParameterShape {
  name: string;
  type: string;
  required: boolean;
}

export const INSTANCE_BY_NAME = /* GraphQL */ `
  query CliInstanceByName($routineName: String!, $name: String!) {
    instance(routineName: $routineName, name: $name) {
      id
    }
    routine(name: $routineName) {
      methods {
        name
        parameters {
          name
          type
          required
        }
      }
    }
  }
`;
export type InstanceByNameData = {
  instance: { id: string } | null;
  routine: { methods: Array<{ name: string; parameters: MethodParameterShape[] }> } | null;
};

export const INSTANCE_BY_ID = /* GraphQL */ `
  query CliInstanceById($id: ID!) {
    node(id: $id) {
      __typename
      ... on RoutineInstance {
        id
        routine {
          name
        }
      }
    }
  }
`;
export type InstanceByIdData = { node: { __typename: string; id?: string; routine?: { name: string } } | null };

const MUTATION_ERROR_FIELDS = /* GraphQL */ `
  __typename
  ... on Error {
    message
  }
  ... on ValidationError {
    fieldErrors {
      path
      message
    }
  }
  ... on RateLimitedError {
    retryAfterSeconds
  }
`;

export const CREATE_RUN = /* GraphQL */ `
  mutation CliCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      ${MUTATION_ERROR_FIELDS}
      ... on CreateRunSuccess {
        run {
          ${RUN_SUMMARY_FIELDS}
        }
      }
    }
  }
`;
export type CreateRunData = { createRun: MutationError & { run?: RunSummary } };

export const CANCEL_RUN = /* GraphQL */ `
  mutation CliCancelRun($input: CancelRunInput!) {
    cancelRun(input: $input) {
      ${MUTATION_ERROR_FIELDS}
      ... on CancelRunSuccess {
        run {
          ${RUN_SUMMARY_FIELDS}
        }
      }
    }
  }
`;
export type CancelRunData = { cancelRun: MutationError & { run?: RunSummary } };

export interface LogEntry {
  at: string;
  level: string;
  message: string;
  attempt: number;
  lines: number;
}

export const RUN_LOGS = /* GraphQL */ `
  query CliRunLogs($id: ID!, $after: String) {
    run(id: $id) {
      status
      logs(first: 100, after: $after) {
        totalCount
        edges {
          node {
            at
            level
            message
            attempt
            lines
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;
export type RunLogsData = {
  run: {
    status: string;
    logs: { totalCount: number; edges: Array<{ node: LogEntry }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  } | null;
};

export const ARTIFACT_LINKS = /* GraphQL */ `
  query CliArtifactLinks($id: ID!) {
    run(id: $id) {
      artifacts {
        name
        sizeBytes
        checksum
        downloadUrl(expiresInSeconds: 600)
      }
    }
  }
`;
export type ArtifactLinksData = {
  run: { artifacts: Array<{ name: string; sizeBytes: number; checksum: string; downloadUrl: string }> } | null;
};

export interface InstanceSummary {
  id: string;
  name: string;
  createdAt: string;
  constructed: boolean;
  routine: { name: string; stateful: boolean };
  workspace: { name: string };
}

const INSTANCE_FIELDS = /* GraphQL */ `
  id
  name
  createdAt
  constructed
  routine {
    name
    stateful
  }
  workspace {
    name
  }
`;

export const INSTANCES_LIST = /* GraphQL */ `
  query CliInstances($routineName: String, $first: Int) {
    instances(routineName: $routineName, first: $first) {
      totalCount
      edges {
        node {
          ${INSTANCE_FIELDS}
        }
      }
    }
  }
`;
export type InstancesListData = { instances: { totalCount: number; edges: Array<{ node: InstanceSummary }> } };

export const CREATE_INSTANCE = /* GraphQL */ `
  mutation CliCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      ${MUTATION_ERROR_FIELDS}
      ... on CreateInstanceSuccess {
        instance {
          ${INSTANCE_FIELDS}
        }
      }
    }
  }
`;
export type CreateInstanceData = { createInstance: MutationError & { instance?: InstanceSummary } };

export const ALL_DOCUMENTS = [
  RUN_RESULT,
  RUNS_LIST,
  INSTANCE_BY_NAME,
  INSTANCE_BY_ID,
  CREATE_RUN,
  CANCEL_RUN,
  RUN_LOGS,
  ARTIFACT_LINKS,
  INSTANCES_LIST,
  CREATE_INSTANCE,
];

/** "field: why" lines for a refused mutation, naming each field by its path. */
export function describeMutationError(error: MutationError): string {
  const lines = [error.message ?? error.__typename];
  for (const field of error.fieldErrors ?? []) {
    const line = `${field.path.join('.')}: ${field.message}`;
    // A one-field refusal often says the same in its message: once is clear enough.
    if (!lines[0].includes(line)) lines.push(`  ${line}`);
  }
  if (error.retryAfterSeconds) lines.push(`  retry after ${error.retryAfterSeconds} s`);
  return lines.join('\n');
}
