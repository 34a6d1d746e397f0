/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation BenchCreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } }\n  }\n": typeof types.BenchCreateInstanceDocument,
    "\n  mutation BenchCreateRun($input: CreateRunInput!) {\n    createRun(input: $input) { __typename ... on CreateRunSuccess { run { id status } } ... on Error { message } }\n  }\n": typeof types.BenchCreateRunDocument,
    "\n  query BenchRunStatus($id: ID!) { run(id: $id) { status } }\n": typeof types.BenchRunStatusDocument,
    "\n  mutation EmbeddedCreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) {\n      __typename\n      ... on CreateInstanceSuccess { instance { id } }\n      ... on Error { message }\n    }\n  }\n": typeof types.EmbeddedCreateInstanceDocument,
    "\n  mutation EmbeddedCreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      __typename\n      ... on CreateRunSuccess { run { id } }\n      ... on Error { message }\n    }\n  }\n": typeof types.EmbeddedCreateRunDocument,
    "\n  query EmbeddedRun($id: ID!) {\n    run(id: $id) { status outputs createdBy { name } }\n  }\n": typeof types.EmbeddedRunDocument,
    "\n  query Routines {\n    routines {\n      id\n      name\n      version\n      stateful\n      methods {\n        name\n        kind\n        allowsInMemory\n        defaultMemoryMb\n        parameters { name type required description default options }\n        inputSchema\n      }\n    }\n  }\n": typeof types.RoutinesDocument,
    "\n  mutation CreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) {\n      __typename\n      ... on CreateInstanceSuccess { instance { id name constructed config routine { name } } }\n      ... on Error { message }\n    }\n  }\n": typeof types.CreateInstanceDocument,
    "\n  mutation CreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      __typename\n      ... on CreateRunSuccess { deduplicated run { id status lastSequence createdBy { name } } }\n      ... on ValidationError { fieldErrors { path message } }\n      ... on InstanceNotConstructedError { constructorName }\n      ... on Error { message }\n    }\n  }\n": typeof types.CreateRunDocument,
    "\n  query RunDetail($id: ID!) {\n    run(id: $id) {\n      id\n      status\n      name\n      methodName\n      routineVersion\n      inputs\n      outputs\n      executionType\n      invocationMethod\n      storeArtifacts\n      includePreviews\n      includeStatistics\n      memoryMb\n      labels\n      attributes\n      attempt\n      maxAttempts\n      createdAt\n      queuedAt\n      startedAt\n      finishedAt\n      durationMs\n      createdBy { name }\n      instance { id name constructed config }\n      method { name kind }\n      resources { requestedMemoryMb peakMemoryMb cpuTimeMs }\n      progress { percent message sequence }\n      error { type message attempt retryable }\n      storagePath\n      workflowId\n      lastSequence\n      artifactsUnavailableReason\n      events(first: 100) {\n        edges { node { sequence type fromStatus toStatus progress { percent message } } }\n      }\n      artifacts {\n        id\n        name\n        path\n        contentType\n        sizeBytes\n        checksum\n        metadata\n        preview { columns rows text truncated }\n        statistics\n        downloadUrl(expiresInSeconds: 60)\n      }\n    }\n  }\n": typeof types.RunDetailDocument,
    "\n  subscription RunUpdated($id: ID!, $afterSequence: Int) {\n    runUpdated(id: $id, afterSequence: $afterSequence) {\n      runId\n      sequence\n      type\n      fromStatus\n      toStatus\n      progress { percent message }\n    }\n  }\n": typeof types.RunUpdatedDocument,
    "\n  query CountRuns {\n    runs(first: 1) { totalCount }\n  }\n": typeof types.CountRunsDocument,
};
const documents: Documents = {
    "\n  mutation BenchCreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } }\n  }\n": types.BenchCreateInstanceDocument,
    "\n  mutation BenchCreateRun($input: CreateRunInput!) {\n    createRun(input: $input) { __typename ... on CreateRunSuccess { run { id status } } ... on Error { message } }\n  }\n": types.BenchCreateRunDocument,
    "\n  query BenchRunStatus($id: ID!) { run(id: $id) { status } }\n": types.BenchRunStatusDocument,
    "\n  mutation EmbeddedCreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) {\n      __typename\n      ... on CreateInstanceSuccess { instance { id } }\n      ... on Error { message }\n    }\n  }\n": types.EmbeddedCreateInstanceDocument,
    "\n  mutation EmbeddedCreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      __typename\n      ... on CreateRunSuccess { run { id } }\n      ... on Error { message }\n    }\n  }\n": types.EmbeddedCreateRunDocument,
    "\n  query EmbeddedRun($id: ID!) {\n    run(id: $id) { status outputs createdBy { name } }\n  }\n": types.EmbeddedRunDocument,
    "\n  query Routines {\n    routines {\n      id\n      name\n      version\n      stateful\n      methods {\n        name\n        kind\n        allowsInMemory\n        defaultMemoryMb\n        parameters { name type required description default options }\n        inputSchema\n      }\n    }\n  }\n": types.RoutinesDocument,
    "\n  mutation CreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) {\n      __typename\n      ... on CreateInstanceSuccess { instance { id name constructed config routine { name } } }\n      ... on Error { message }\n    }\n  }\n": types.CreateInstanceDocument,
    "\n  mutation CreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      __typename\n      ... on CreateRunSuccess { deduplicated run { id status lastSequence createdBy { name } } }\n      ... on ValidationError { fieldErrors { path message } }\n      ... on InstanceNotConstructedError { constructorName }\n      ... on Error { message }\n    }\n  }\n": types.CreateRunDocument,
    "\n  query RunDetail($id: ID!) {\n    run(id: $id) {\n      id\n      status\n      name\n      methodName\n      routineVersion\n      inputs\n      outputs\n      executionType\n      invocationMethod\n      storeArtifacts\n      includePreviews\n      includeStatistics\n      memoryMb\n      labels\n      attributes\n      attempt\n      maxAttempts\n      createdAt\n      queuedAt\n      startedAt\n      finishedAt\n      durationMs\n      createdBy { name }\n      instance { id name constructed config }\n      method { name kind }\n      resources { requestedMemoryMb peakMemoryMb cpuTimeMs }\n      progress { percent message sequence }\n      error { type message attempt retryable }\n      storagePath\n      workflowId\n      lastSequence\n      artifactsUnavailableReason\n      events(first: 100) {\n        edges { node { sequence type fromStatus toStatus progress { percent message } } }\n      }\n      artifacts {\n        id\n        name\n        path\n        contentType\n        sizeBytes\n        checksum\n        metadata\n        preview { columns rows text truncated }\n        statistics\n        downloadUrl(expiresInSeconds: 60)\n      }\n    }\n  }\n": types.RunDetailDocument,
    "\n  subscription RunUpdated($id: ID!, $afterSequence: Int) {\n    runUpdated(id: $id, afterSequence: $afterSequence) {\n      runId\n      sequence\n      type\n      fromStatus\n      toStatus\n      progress { percent message }\n    }\n  }\n": types.RunUpdatedDocument,
    "\n  query CountRuns {\n    runs(first: 1) { totalCount }\n  }\n": types.CountRunsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BenchCreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } }\n  }\n"): (typeof documents)["\n  mutation BenchCreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BenchCreateRun($input: CreateRunInput!) {\n    createRun(input: $input) { __typename ... on CreateRunSuccess { run { id status } } ... on Error { message } }\n  }\n"): (typeof documents)["\n  mutation BenchCreateRun($input: CreateRunInput!) {\n    createRun(input: $input) { __typename ... on CreateRunSuccess { run { id status } } ... on Error { message } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query BenchRunStatus($id: ID!) { run(id: $id) { status } }\n"): (typeof documents)["\n  query BenchRunStatus($id: ID!) { run(id: $id) { status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EmbeddedCreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) {\n      __typename\n      ... on CreateInstanceSuccess { instance { id } }\n      ... on Error { message }\n    }\n  }\n"): (typeof documents)["\n  mutation EmbeddedCreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) {\n      __typename\n      ... on CreateInstanceSuccess { instance { id } }\n      ... on Error { message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EmbeddedCreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      __typename\n      ... on CreateRunSuccess { run { id } }\n      ... on Error { message }\n    }\n  }\n"): (typeof documents)["\n  mutation EmbeddedCreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      __typename\n      ... on CreateRunSuccess { run { id } }\n      ... on Error { message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query EmbeddedRun($id: ID!) {\n    run(id: $id) { status outputs createdBy { name } }\n  }\n"): (typeof documents)["\n  query EmbeddedRun($id: ID!) {\n    run(id: $id) { status outputs createdBy { name } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Routines {\n    routines {\n      id\n      name\n      version\n      stateful\n      methods {\n        name\n        kind\n        allowsInMemory\n        defaultMemoryMb\n        parameters { name type required description default options }\n        inputSchema\n      }\n    }\n  }\n"): (typeof documents)["\n  query Routines {\n    routines {\n      id\n      name\n      version\n      stateful\n      methods {\n        name\n        kind\n        allowsInMemory\n        defaultMemoryMb\n        parameters { name type required description default options }\n        inputSchema\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) {\n      __typename\n      ... on CreateInstanceSuccess { instance { id name constructed config routine { name } } }\n      ... on Error { message }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateInstance($input: CreateInstanceInput!) {\n    createInstance(input: $input) {\n      __typename\n      ... on CreateInstanceSuccess { instance { id name constructed config routine { name } } }\n      ... on Error { message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      __typename\n      ... on CreateRunSuccess { deduplicated run { id status lastSequence createdBy { name } } }\n      ... on ValidationError { fieldErrors { path message } }\n      ... on InstanceNotConstructedError { constructorName }\n      ... on Error { message }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      __typename\n      ... on CreateRunSuccess { deduplicated run { id status lastSequence createdBy { name } } }\n      ... on ValidationError { fieldErrors { path message } }\n      ... on InstanceNotConstructedError { constructorName }\n      ... on Error { message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RunDetail($id: ID!) {\n    run(id: $id) {\n      id\n      status\n      name\n      methodName\n      routineVersion\n      inputs\n      outputs\n      executionType\n      invocationMethod\n      storeArtifacts\n      includePreviews\n      includeStatistics\n      memoryMb\n      labels\n      attributes\n      attempt\n      maxAttempts\n      createdAt\n      queuedAt\n      startedAt\n      finishedAt\n      durationMs\n      createdBy { name }\n      instance { id name constructed config }\n      method { name kind }\n      resources { requestedMemoryMb peakMemoryMb cpuTimeMs }\n      progress { percent message sequence }\n      error { type message attempt retryable }\n      storagePath\n      workflowId\n      lastSequence\n      artifactsUnavailableReason\n      events(first: 100) {\n        edges { node { sequence type fromStatus toStatus progress { percent message } } }\n      }\n      artifacts {\n        id\n        name\n        path\n        contentType\n        sizeBytes\n        checksum\n        metadata\n        preview { columns rows text truncated }\n        statistics\n        downloadUrl(expiresInSeconds: 60)\n      }\n    }\n  }\n"): (typeof documents)["\n  query RunDetail($id: ID!) {\n    run(id: $id) {\n      id\n      status\n      name\n      methodName\n      routineVersion\n      inputs\n      outputs\n      executionType\n      invocationMethod\n      storeArtifacts\n      includePreviews\n      includeStatistics\n      memoryMb\n      labels\n      attributes\n      attempt\n      maxAttempts\n      createdAt\n      queuedAt\n      startedAt\n      finishedAt\n      durationMs\n      createdBy { name }\n      instance { id name constructed config }\n      method { name kind }\n      resources { requestedMemoryMb peakMemoryMb cpuTimeMs }\n      progress { percent message sequence }\n      error { type message attempt retryable }\n      storagePath\n      workflowId\n      lastSequence\n      artifactsUnavailableReason\n      events(first: 100) {\n        edges { node { sequence type fromStatus toStatus progress { percent message } } }\n      }\n      artifacts {\n        id\n        name\n        path\n        contentType\n        sizeBytes\n        checksum\n        metadata\n        preview { columns rows text truncated }\n        statistics\n        downloadUrl(expiresInSeconds: 60)\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RunUpdated($id: ID!, $afterSequence: Int) {\n    runUpdated(id: $id, afterSequence: $afterSequence) {\n      runId\n      sequence\n      type\n      fromStatus\n      toStatus\n      progress { percent message }\n    }\n  }\n"): (typeof documents)["\n  subscription RunUpdated($id: ID!, $afterSequence: Int) {\n    runUpdated(id: $id, afterSequence: $afterSequence) {\n      runId\n      sequence\n      type\n      fromStatus\n      toStatus\n      progress { percent message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CountRuns {\n    runs(first: 1) { totalCount }\n  }\n"): (typeof documents)["\n  query CountRuns {\n    runs(first: 1) { totalCount }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;