/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type AddRunLabelsInput = {
  id: string;
  /** At most 50 labels per run, each 1 to 64 characters: letters, digits and _ . : / - (starting with a letter or digit). */
  labels: Array<string>;
};

export type CancelRunInput = {
  id: string;
  reason?: string | null | undefined;
};

export type CreateInstanceInput = {
  description?: string | null | undefined;
  name: string;
  routineName: string;
  /** The workspace (Workspace.id) to create it in; default the token's workspace, else the user's first. */
  workspaceId?: string | null | undefined;
};

export type CreateRunInput = {
  /** A JSON object of at most 64 KB. */
  attributes?: unknown;
  description?: string | null | undefined;
  executionType?: ExecutionType | null | undefined;
  /** The same key from the same user within 24 hours returns the same run. */
  idempotencyKey?: string | null | undefined;
  includePreviews?: boolean | null | undefined;
  includeStatistics?: boolean | null | undefined;
  /** The method's parameters, as a JSON object. */
  inputs?: unknown;
  instanceId: string;
  invocationMethod?: InvocationMethod | null | undefined;
  labels?: Array<string> | null | undefined;
  memoryOverrideMb?: number | null | undefined;
  methodName: string;
  name?: string | null | undefined;
  /** With includePreviews: rows in each table artifact's preview (1 to 10000, default 100); a length the method sets on an artifact wins. */
  previewRows?: number | null | undefined;
  /** -100 to 100 (default 0). Among queued runs that fit, higher priority is admitted first. Waiting ages a run up by one point every 15 s, so no run waits forever: a run is only passed by runs queued less than (their priority − its priority) × 15 s after it (see RoutineRun.queuePosition). */
  priority?: number | null | undefined;
  /** false leaves the run CREATED until startRun. */
  start?: boolean | null | undefined;
  /** Default true; false for IN_MEMORY runs unless set. */
  storeArtifacts?: boolean | null | undefined;
};

/** BACKGROUND (default): durable, asynchronous. IN_MEMORY: executes at once; the answer carries the result. */
export type ExecutionType =
  | 'BACKGROUND'
  | 'IN_MEMORY';

/** WORKFLOW: parameters collected step by step (guided). DIRECT: parameters given at once. */
export type InvocationMethod =
  | 'DIRECT'
  | 'WORKFLOW';

export type MethodKind =
  | 'CONSTRUCTOR'
  | 'STANDARD';

export type RemoveRunLabelsInput = {
  id: string;
  /** Labels the run does not carry are ignored. */
  labels: Array<string>;
};

/** What changes from the parent run; everything else is the parent's. */
export type RerunOverrides = {
  attributes?: unknown;
  description?: string | null | undefined;
  executionType?: ExecutionType | null | undefined;
  includePreviews?: boolean | null | undefined;
  includeStatistics?: boolean | null | undefined;
  /** Merged into the parent's inputs (JSON merge patch: null removes a parameter). */
  inputs?: unknown;
  labels?: Array<string> | null | undefined;
  memoryOverrideMb?: number | null | undefined;
  name?: string | null | undefined;
  /** null: back to the default length. */
  previewRows?: number | null | undefined;
  /** Default: the parent's priority. */
  priority?: number | null | undefined;
  storeArtifacts?: boolean | null | undefined;
  /** Execute with the instance's current config; by default a re-run executes with the config its parent executed with (RoutineRun.instanceConfig). */
  useCurrentConfig?: boolean | null | undefined;
};

export type RerunRunInput = {
  id: string;
  overrides?: RerunOverrides | null | undefined;
  /** false leaves the new run CREATED until startRun. */
  start?: boolean | null | undefined;
};

/** Where a run failed. */
export type RunErrorPhase =
  /** Reading or writing an artifact (the routine:// file system, or recording it) failed. */
  | 'ARTIFACT_STORAGE'
  /** The method's own code threw, or returned something other than an object of outputs. */
  | 'METHOD'
  /** The process executing the method died, ran out of memory or exceeded the time limit (or, for an in-memory run, the API process executing it was lost). */
  | 'PROCESS'
  /** The run's inputs or method were refused when the attempt began (e.g. the worker has another version of the routine). */
  | 'VALIDATION'
  /** The orchestration around the method failed: the workflow was terminated or lost, or the attempt timed out or was interrupted without reporting. */
  | 'WORKFLOW';

export type RunEventType =
  | 'ARTIFACT_STORED'
  | 'ATTEMPT_FAILED'
  | 'ATTRIBUTES_CHANGED'
  | 'CANCEL_REQUESTED'
  | 'LABELS_CHANGED'
  | 'LOG'
  | 'PROGRESS'
  | 'RECONCILED'
  | 'STATUS_CHANGED';

/** Every condition given must hold (AND). Lists within a condition are ORs unless their name says otherwise. */
export type RunFilter = {
  /** A JSON object: runs whose attributes contain it (PostgreSQL JSON containment, `@>`). */
  attributes?: unknown;
  /** Created at or after this time. */
  createdAfter?: string | null | undefined;
  /** Created before this time. */
  createdBefore?: string | null | undefined;
  /** Runs created by any of these users. */
  createdBy?: Array<string> | null | undefined;
  instanceId?: string | null | undefined;
  /** Runs carrying every one of these labels. */
  labelsAll?: Array<string> | null | undefined;
  /** Runs carrying at least one of these labels. */
  labelsAny?: Array<string> | null | undefined;
  methodName?: string | null | undefined;
  routineName?: string | null | undefined;
  /** A case-insensitive substring of the run name or description. */
  search?: string | null | undefined;
  /** Runs in any of these statuses. */
  status?: Array<RunStatus> | null | undefined;
};

/** CREATED → QUEUED → RUNNING → COMPLETED | FAILED | CANCELLED; CREATED | QUEUED → CANCELLED; QUEUED → FAILED when the workflow was terminated (or lost) before the method began. */
export type RunStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'CREATED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING';

export type SetRunParameterInput = {
  id: string;
  /** The parameter, as in RoutineMethod.parameters. */
  name: string;
  /** Its value; null unsets it. */
  value?: unknown;
};

export type StartRunInput = {
  id: string;
};

export type ConsoleCompareQueryVariables = Exact<{
  ids: Array<string> | string;
}>;


export type ConsoleCompareQuery = { compareRuns:
    | { __typename: 'NotFoundError', message: string }
    | { __typename: 'RunComparison', sameMethod: boolean, sameInputs: Array<string>, sameInstanceConfig: Array<string>, sameOutputs: Array<string>, identicalArtifacts: boolean, differentInputs: Array<{ name: string, values: Array<unknown>, deltas: Array<number | null> }>, differentInstanceConfig: Array<{ name: string, values: Array<unknown>, deltas: Array<number | null> }>, differentOutputs: Array<{ name: string, values: Array<unknown>, deltas: Array<number | null> }>, runs: Array<{ id: string, name: string | null, status: RunStatus, methodName: string, createdAt: string, instanceConfigVersion: number | null, routine: { name: string } }>, artifacts: Array<{ name: string, identical: boolean, checksums: Array<string | null>, columns: Array<{ name: string, statistics: Array<unknown> }> }> }
    | { __typename: 'ValidationError', message: string }
   };

export type ConsoleQueueQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleQueueQuery = { capacity: { slotsTotal: number, slotsBusy: number, memoryTotalMb: number, memoryBusyMb: number, largestWorkerMemoryMb: number, queued: number, workers: Array<{ id: string, host: string, pid: number, slots: number, slotsBusy: number, memoryMb: number, memoryBusyMb: number, heartbeatAt: string }> }, runs: { totalCount: number, edges: Array<{ node: { id: string, name: string | null, status: RunStatus, methodName: string, memoryMb: number, queuePosition: number | null, queuedAt: string | null, admittedAt: string | null, routine: { name: string }, instance: { name: string } } }> } };

export type ConsoleQueueChangedSubscriptionVariables = Exact<{
  since?: string | null | undefined;
}>;


export type ConsoleQueueChangedSubscription = { runsUpdated: { sequence: number, run: { id: string, status: RunStatus } } };

export type ConsoleRoutinesQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleRoutinesQuery = { routines: Array<{ name: string, description: string | null, version: string, stateful: boolean, methods: Array<{ name: string, kind: MethodKind, description: string | null, defaultMemoryMb: number, parameters: Array<{ name: string, type: string, required: boolean, description: string | null, default: unknown, options: Array<unknown> | null }> }>, instances: { totalCount: number, edges: Array<{ node: { id: string, name: string, description: string | null, constructed: boolean, config: unknown, createdAt: string } }> } }> };

export type ConsoleCreateInstanceMutationVariables = Exact<{
  input: CreateInstanceInput;
}>;


export type ConsoleCreateInstanceMutation = { createInstance:
    | { __typename: 'CreateInstanceSuccess', instance: { id: string } }
    | { __typename: 'ForbiddenError', message: string }
    | { __typename: 'NotFoundError', message: string }
    | { __typename: 'RateLimitedError', message: string }
    | { __typename: 'ValidationError', message: string, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type ConsoleCreateRunMutationVariables = Exact<{
  input: CreateRunInput;
}>;


export type ConsoleCreateRunMutation = { createRun:
    | { __typename: 'CapacityExceededError', message: string }
    | { __typename: 'CreateRunSuccess', run: { id: string, nextParameter: { name: string, type: string, required: boolean, description: string | null, default: unknown, options: Array<unknown> | null } | null } }
    | { __typename: 'ForbiddenError', message: string }
    | { __typename: 'IdempotencyKeyReusedError', message: string }
    | { __typename: 'InstanceNotConstructedError', message: string }
    | { __typename: 'NotFoundError', message: string }
    | { __typename: 'RateLimitedError', message: string }
    | { __typename: 'ValidationError', message: string, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type ConsoleSetRunParameterMutationVariables = Exact<{
  input: SetRunParameterInput;
}>;


export type ConsoleSetRunParameterMutation = { setRunParameter:
    | { __typename: 'ForbiddenError', message: string }
    | { __typename: 'NotFoundError', message: string }
    | { __typename: 'RateLimitedError', message: string }
    | { __typename: 'RunNotDraftError', message: string }
    | { __typename: 'SetRunParameterSuccess', run: { id: string, inputs: unknown, nextParameter: { name: string, type: string, required: boolean, description: string | null, default: unknown, options: Array<unknown> | null } | null } }
    | { __typename: 'ValidationError', message: string, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type ConsoleStartRunMutationVariables = Exact<{
  input: StartRunInput;
}>;


export type ConsoleStartRunMutation = { startRun:
    | { __typename: 'CapacityExceededError', message: string }
    | { __typename: 'ForbiddenError', message: string }
    | { __typename: 'NotFoundError', message: string }
    | { __typename: 'RateLimitedError', message: string }
    | { __typename: 'RunNotStartableError', message: string }
    | { __typename: 'StartRunSuccess', run: { id: string } }
    | { __typename: 'ValidationError', message: string, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type ConsoleRunQueryVariables = Exact<{
  id: string;
}>;


export type ConsoleRunQuery = { run: { id: string, name: string | null, description: string | null, status: RunStatus, methodName: string, labels: Array<string>, attributes: unknown, inputs: unknown, outputs: unknown, changedInputs: unknown, instanceConfig: unknown, instanceConfigVersion: number | null, attempt: number, maxAttempts: number, createdAt: string, startedAt: string | null, finishedAt: string | null, durationMs: number | null, executionType: ExecutionType, invocationMethod: InvocationMethod, cancelReason: string | null, queuePosition: number | null, artifactsUnavailableReason: string | null, parentRun: { id: string } | null, routine: { name: string, stateful: boolean }, instance: { id: string, name: string }, method: { name: string, parameters: Array<{ name: string, type: string, required: boolean, description: string | null, default: unknown, options: Array<unknown> | null }> }, progress: { percent: number, message: string } | null, error: { message: string, type: string, phase: RunErrorPhase, attempt: number, retryable: boolean, at: string, workerId: string | null } | null, resources: { requestedMemoryMb: number, peakMemoryMb: number | null, cpuTimeMs: number | null }, logs: { edges: Array<{ node: { at: string, level: string, message: string, attempt: number, lines: number } }> }, artifacts: Array<{ id: string, name: string, contentType: string, sizeBytes: number, downloadUrl: string, statistics: unknown, preview: { columns: Array<string> | null, rows: Array<Array<unknown>> | null, text: string | null, truncated: boolean } | null }> } | null };

export type ConsoleRunUpdatedSubscriptionVariables = Exact<{
  id: string;
  afterSequence?: number | null | undefined;
}>;


export type ConsoleRunUpdatedSubscription = { runUpdated: { sequence: number, type: RunEventType, at: string, fromStatus: RunStatus | null, toStatus: RunStatus | null, detail: unknown, progress: { percent: number, message: string } | null, log: { at: string, level: string, message: string, attempt: number, lines: number } | null } };

export type ConsoleCancelRunMutationVariables = Exact<{
  input: CancelRunInput;
}>;


export type ConsoleCancelRunMutation = { cancelRun:
    | { __typename: 'CancelRunSuccess' }
    | { __typename: 'ForbiddenError', message: string }
    | { __typename: 'NotFoundError', message: string }
    | { __typename: 'RateLimitedError', message: string }
    | { __typename: 'RunNotCancellableError', message: string }
    | { __typename: 'ValidationError', message: string }
   };

export type ConsoleRerunRunMutationVariables = Exact<{
  input: RerunRunInput;
}>;


export type ConsoleRerunRunMutation = { rerunRun:
    | { __typename: 'CapacityExceededError', message: string }
    | { __typename: 'ForbiddenError', message: string }
    | { __typename: 'NotFoundError', message: string }
    | { __typename: 'RateLimitedError', message: string }
    | { __typename: 'RerunRunSuccess', run: { id: string } }
    | { __typename: 'RunNotFinishedError', message: string }
    | { __typename: 'ValidationError', message: string, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type ConsoleAddLabelsMutationVariables = Exact<{
  input: AddRunLabelsInput;
}>;


export type ConsoleAddLabelsMutation = { addRunLabels:
    | { __typename: 'AddRunLabelsSuccess' }
    | { __typename: 'ForbiddenError', message: string }
    | { __typename: 'NotFoundError', message: string }
    | { __typename: 'RateLimitedError', message: string }
    | { __typename: 'ValidationError', message: string }
   };

export type ConsoleRemoveLabelsMutationVariables = Exact<{
  input: RemoveRunLabelsInput;
}>;


export type ConsoleRemoveLabelsMutation = { removeRunLabels:
    | { __typename: 'ForbiddenError', message: string }
    | { __typename: 'NotFoundError', message: string }
    | { __typename: 'RateLimitedError', message: string }
    | { __typename: 'RemoveRunLabelsSuccess' }
    | { __typename: 'ValidationError', message: string }
   };

export type RunRowFragment = { id: string, name: string | null, status: RunStatus, methodName: string, labels: Array<string>, createdAt: string, durationMs: number | null, routine: { name: string }, instance: { id: string, name: string }, progress: { percent: number, message: string } | null };

export type ConsoleRunsQueryVariables = Exact<{
  filter?: RunFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ConsoleRunsQuery = { runs: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, facets: { status: Array<{ status: RunStatus, count: number }>, labels: Array<{ label: string, count: number }> }, edges: Array<{ node: { id: string, name: string | null, status: RunStatus, methodName: string, labels: Array<string>, createdAt: string, durationMs: number | null, routine: { name: string }, instance: { id: string, name: string }, progress: { percent: number, message: string } | null } }> }, routines: Array<{ name: string, methods: Array<{ name: string }> }> };

export type ConsoleRunFacetsQueryVariables = Exact<{
  filter?: RunFilter | null | undefined;
}>;


export type ConsoleRunFacetsQuery = { runs: { totalCount: number, facets: { status: Array<{ status: RunStatus, count: number }>, labels: Array<{ label: string, count: number }> } } };

export type ConsoleRunsUpdatedSubscriptionVariables = Exact<{
  filter?: RunFilter | null | undefined;
  since?: string | null | undefined;
}>;


export type ConsoleRunsUpdatedSubscription = { runsUpdated: { sequence: number, matchesFilter: boolean, run: { id: string, name: string | null, status: RunStatus, methodName: string, labels: Array<string>, createdAt: string, durationMs: number | null, routine: { name: string }, instance: { id: string, name: string }, progress: { percent: number, message: string } | null } } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const RunRowFragmentDoc = new TypedDocumentString(`
    fragment RunRow on RoutineRun {
  id
  name
  status
  methodName
  labels
  createdAt
  durationMs
  routine {
    name
  }
  instance {
    id
    name
  }
  progress {
    percent
    message
  }
}
    `, {"fragmentName":"RunRow"}) as unknown as TypedDocumentString<RunRowFragment, unknown>;
export const ConsoleCompareDocument = new TypedDocumentString(`
    query ConsoleCompare($ids: [ID!]!) {
  compareRuns(ids: $ids) {
    __typename
    ... on RunComparison {
      sameMethod
      sameInputs
      differentInputs {
        name
        values
        deltas
      }
      differentInstanceConfig {
        name
        values
        deltas
      }
      sameInstanceConfig
      differentOutputs {
        name
        values
        deltas
      }
      sameOutputs
      identicalArtifacts
      runs {
        id
        name
        status
        methodName
        createdAt
        routine {
          name
        }
        instanceConfigVersion
      }
      artifacts {
        name
        identical
        checksums
        columns {
          name
          statistics
        }
      }
    }
    ... on Error {
      message
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleCompareQuery, ConsoleCompareQueryVariables>;
export const ConsoleQueueDocument = new TypedDocumentString(`
    query ConsoleQueue {
  capacity {
    slotsTotal
    slotsBusy
    memoryTotalMb
    memoryBusyMb
    largestWorkerMemoryMb
    queued
    workers {
      id
      host
      pid
      slots
      slotsBusy
      memoryMb
      memoryBusyMb
      heartbeatAt
    }
  }
  runs(
    filter: {status: [QUEUED]}
    first: 100
    orderBy: {field: CREATED_AT, direction: ASC}
  ) {
    totalCount
    edges {
      node {
        id
        name
        status
        methodName
        memoryMb
        queuePosition
        queuedAt
        admittedAt
        routine {
          name
        }
        instance {
          name
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleQueueQuery, ConsoleQueueQueryVariables>;
export const ConsoleQueueChangedDocument = new TypedDocumentString(`
    subscription ConsoleQueueChanged($since: DateTime) {
  runsUpdated(filter: {status: [QUEUED, RUNNING]}, since: $since) {
    sequence
    run {
      id
      status
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleQueueChangedSubscription, ConsoleQueueChangedSubscriptionVariables>;
export const ConsoleRoutinesDocument = new TypedDocumentString(`
    query ConsoleRoutines {
  routines {
    name
    description
    version
    stateful
    methods {
      name
      kind
      description
      defaultMemoryMb
      parameters {
        name
        type
        required
        description
        default
        options
      }
    }
    instances(first: 50) {
      totalCount
      edges {
        node {
          id
          name
          description
          constructed
          config
          createdAt
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleRoutinesQuery, ConsoleRoutinesQueryVariables>;
export const ConsoleCreateInstanceDocument = new TypedDocumentString(`
    mutation ConsoleCreateInstance($input: CreateInstanceInput!) {
  createInstance(input: $input) {
    __typename
    ... on CreateInstanceSuccess {
      instance {
        id
      }
    }
    ... on Error {
      message
    }
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleCreateInstanceMutation, ConsoleCreateInstanceMutationVariables>;
export const ConsoleCreateRunDocument = new TypedDocumentString(`
    mutation ConsoleCreateRun($input: CreateRunInput!) {
  createRun(input: $input) {
    __typename
    ... on CreateRunSuccess {
      run {
        id
        nextParameter {
          name
          type
          required
          description
          default
          options
        }
      }
    }
    ... on Error {
      message
    }
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleCreateRunMutation, ConsoleCreateRunMutationVariables>;
export const ConsoleSetRunParameterDocument = new TypedDocumentString(`
    mutation ConsoleSetRunParameter($input: SetRunParameterInput!) {
  setRunParameter(input: $input) {
    __typename
    ... on SetRunParameterSuccess {
      run {
        id
        inputs
        nextParameter {
          name
          type
          required
          description
          default
          options
        }
      }
    }
    ... on Error {
      message
    }
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleSetRunParameterMutation, ConsoleSetRunParameterMutationVariables>;
export const ConsoleStartRunDocument = new TypedDocumentString(`
    mutation ConsoleStartRun($input: StartRunInput!) {
  startRun(input: $input) {
    __typename
    ... on StartRunSuccess {
      run {
        id
      }
    }
    ... on Error {
      message
    }
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleStartRunMutation, ConsoleStartRunMutationVariables>;
export const ConsoleRunDocument = new TypedDocumentString(`
    query ConsoleRun($id: ID!) {
  run(id: $id) {
    id
    name
    description
    status
    methodName
    labels
    attributes
    inputs
    outputs
    changedInputs
    instanceConfig
    instanceConfigVersion
    attempt
    maxAttempts
    createdAt
    startedAt
    finishedAt
    durationMs
    executionType
    invocationMethod
    cancelReason
    queuePosition
    parentRun {
      id
    }
    routine {
      name
      stateful
    }
    instance {
      id
      name
    }
    method {
      name
      parameters {
        name
        type
        required
        description
        default
        options
      }
    }
    progress {
      percent
      message
    }
    error {
      message
      type
      phase
      attempt
      retryable
      at
      workerId
    }
    resources {
      requestedMemoryMb
      peakMemoryMb
      cpuTimeMs
    }
    logs(last: 100) {
      edges {
        node {
          at
          level
          message
          attempt
          lines
        }
      }
    }
    artifactsUnavailableReason
    artifacts {
      id
      name
      contentType
      sizeBytes
      downloadUrl
      preview {
        columns
        rows
        text
        truncated
      }
      statistics
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleRunQuery, ConsoleRunQueryVariables>;
export const ConsoleRunUpdatedDocument = new TypedDocumentString(`
    subscription ConsoleRunUpdated($id: ID!, $afterSequence: Int) {
  runUpdated(id: $id, afterSequence: $afterSequence) {
    sequence
    type
    at
    fromStatus
    toStatus
    detail
    progress {
      percent
      message
    }
    log {
      at
      level
      message
      attempt
      lines
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleRunUpdatedSubscription, ConsoleRunUpdatedSubscriptionVariables>;
export const ConsoleCancelRunDocument = new TypedDocumentString(`
    mutation ConsoleCancelRun($input: CancelRunInput!) {
  cancelRun(input: $input) {
    __typename
    ... on Error {
      message
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleCancelRunMutation, ConsoleCancelRunMutationVariables>;
export const ConsoleRerunRunDocument = new TypedDocumentString(`
    mutation ConsoleRerunRun($input: RerunRunInput!) {
  rerunRun(input: $input) {
    __typename
    ... on RerunRunSuccess {
      run {
        id
      }
    }
    ... on Error {
      message
    }
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleRerunRunMutation, ConsoleRerunRunMutationVariables>;
export const ConsoleAddLabelsDocument = new TypedDocumentString(`
    mutation ConsoleAddLabels($input: AddRunLabelsInput!) {
  addRunLabels(input: $input) {
    __typename
    ... on Error {
      message
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleAddLabelsMutation, ConsoleAddLabelsMutationVariables>;
export const ConsoleRemoveLabelsDocument = new TypedDocumentString(`
    mutation ConsoleRemoveLabels($input: RemoveRunLabelsInput!) {
  removeRunLabels(input: $input) {
    __typename
    ... on Error {
      message
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleRemoveLabelsMutation, ConsoleRemoveLabelsMutationVariables>;
export const ConsoleRunsDocument = new TypedDocumentString(`
    query ConsoleRuns($filter: RunFilter, $first: Int, $after: String) {
  runs(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    facets {
      status {
        status
        count
      }
      labels {
        label
        count
      }
    }
    edges {
      node {
        ...RunRow
      }
    }
  }
  routines {
    name
    methods {
      name
    }
  }
}
    fragment RunRow on RoutineRun {
  id
  name
  status
  methodName
  labels
  createdAt
  durationMs
  routine {
    name
  }
  instance {
    id
    name
  }
  progress {
    percent
    message
  }
}`) as unknown as TypedDocumentString<ConsoleRunsQuery, ConsoleRunsQueryVariables>;
export const ConsoleRunFacetsDocument = new TypedDocumentString(`
    query ConsoleRunFacets($filter: RunFilter) {
  runs(filter: $filter, first: 1) {
    totalCount
    facets {
      status {
        status
        count
      }
      labels {
        label
        count
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleRunFacetsQuery, ConsoleRunFacetsQueryVariables>;
export const ConsoleRunsUpdatedDocument = new TypedDocumentString(`
    subscription ConsoleRunsUpdated($filter: RunFilter, $since: DateTime) {
  runsUpdated(filter: $filter, since: $since) {
    sequence
    matchesFilter
    run {
      ...RunRow
    }
  }
}
    fragment RunRow on RoutineRun {
  id
  name
  status
  methodName
  labels
  createdAt
  durationMs
  routine {
    name
  }
  instance {
    id
    name
  }
  progress {
    percent
    message
  }
}`) as unknown as TypedDocumentString<ConsoleRunsUpdatedSubscription, ConsoleRunsUpdatedSubscriptionVariables>;