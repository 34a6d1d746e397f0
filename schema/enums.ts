import {
  ExecutionType,
  InvocationMethod,
  MethodKind,
  RunEventType,
  RunStatus,
  TokenScope,
  WorkspaceRole,
} from '../src/generated/prisma/enums.ts';
import { builder } from './builder.ts';

export const RunStatusEnum = builder.enumType(RunStatus, {
  name: 'RunStatus',
  description:
    'CREATED → QUEUED → RUNNING → COMPLETED | FAILED | CANCELLED; CREATED | QUEUED → CANCELLED; QUEUED → FAILED when the workflow was terminated (or lost) before the method began.',
});
export const ExecutionTypeEnum = builder.enumType(ExecutionType, {
  name: 'ExecutionType',
  description: 'BACKGROUND (default): durable, asynchronous. IN_MEMORY: executes at once; the answer carries the result.',
});
export const InvocationMethodEnum = builder.enumType(InvocationMethod, {
  name: 'InvocationMethod',
  description: 'WORKFLOW: parameters collected step by step (guided). DIRECT: parameters given at once.',
});
export const MethodKindEnum = builder.enumType(MethodKind, { name: 'MethodKind' });
export const RunEventTypeEnum = builder.enumType(RunEventType, { name: 'RunEventType' });
export const WorkspaceRoleEnum = builder.enumType(WorkspaceRole, {
  name: 'WorkspaceRole',
  description:
    'A member’s role in a workspace, each including the one before. VIEWER: read, subscribe, download. OPERATOR: + create, start, cancel and re-run runs of STANDARD methods, labels and attributes, upload data sets, delete own runs. MAINTAINER: + create, update and delete instances, CONSTRUCTOR runs, delete anyone’s runs. ADMIN: + members, retention, other members’ tokens, the audit log.',
});
export const TokenScopeEnum = builder.enumType(TokenScope, {
  name: 'TokenScope',
  description:
    'The most a token may do, each including the one before: READ (as VIEWER), RUN (as OPERATOR), MANAGE (as MAINTAINER), ADMIN. A token acts with the lesser of its scope and its user’s role.',
});
