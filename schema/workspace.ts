// Workspaces and their members (src/access/members.ts): what the request sees of them, and the
// mutations that create workspaces and change who belongs to them.
import type { Workspace, WorkspaceMember } from '../src/generated/prisma/client.ts';
import { accessOfUser } from '../src/access/access.ts';
import { addWorkspaceMember, createWorkspace, removeWorkspaceMember } from '../src/access/members.ts';
import { visibleWorkspaceWhere } from '../src/access/visibility.ts';
import { builder } from './builder.ts';
import { WorkspaceRoleEnum } from './enums.ts';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import { RoutineInstanceConnection } from './instance.ts';
import { checkedMaxSize } from './run-list-args.ts';

export const WorkspaceRef = builder.prismaNode('Workspace', {
  nullable: true,
  description: 'Holds instances, and so their runs, artifacts and data sets. Only the workspaces the request can see exist for it.',
  id: { field: 'id' },
  // node(id:) answers null for a workspace the request cannot see, as for one that does not exist.
  findUnique: (id, ctx) => ({ id, AND: [visibleWorkspaceWhere(ctx.access)] }),
  fields: (t) => ({
    name: t.exposeString('name'),
    viewerRole: t.field({
      type: WorkspaceRoleEnum,
      description: "The role the request acts with here: the member's role, capped by the token's scope.",
      select: { id: true },
      resolve: (workspace, _args, ctx) => {
        const role = ctx.access.roleIn(workspace.id);
        // Reached only through visible workspaces; a member removing itself sees the answer as the request began.
        if (!role) throw new Error(`Workspace ${workspace.id} is not visible to this request`);
        return role;
      },
    }),
    members: t.relatedConnection(
      'members',
      {
        cursor: 'workspaceId_userId',
        maxSize: (args) => checkedMaxSize(args),
        description: 'Oldest member first. At most 100 per page.',
        query: () => ({ orderBy: [{ addedAt: 'asc' }, { userId: 'asc' }] }),
      },
      { name: 'WorkspaceMemberConnection' },
      { name: 'WorkspaceMemberEdge' },
    ),
    instances: t.relatedConnection(
      'instances',
      {
        cursor: 'id',
        totalCount: true,
        maxSize: (args) => checkedMaxSize(args),
        description: 'Newest first. At most 100 per page.',
        query: () => ({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
      },
      RoutineInstanceConnection,
    ),
  }),
});

export const WorkspaceMemberRef = builder.prismaObject('WorkspaceMember', {
  fields: (t) => ({
    user: t.relation('user'),
    role: t.field({ type: WorkspaceRoleEnum, resolve: (member) => member.role }),
    addedAt: t.expose('addedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  workspaces: t.prismaField({
    type: ['Workspace'],
    description: 'The workspaces this request can see (only its own when the token is bound to one), by name.',
    resolve: (query, _root, _args, ctx) =>
      ctx.db.workspace.findMany({ ...query, where: visibleWorkspaceWhere(ctx.access), orderBy: { name: 'asc' } }),
  }),
  workspace: t.prismaField({
    type: 'Workspace',
    nullable: true,
    description: 'A workspace by id; null when it does not exist or the request cannot see it.',
    args: { id: t.arg.globalID({ required: true, for: WorkspaceRef }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.workspace.findFirst({ ...query, where: { AND: [{ id: args.id.id }, visibleWorkspaceWhere(ctx.access)] } }),
  }),
}));

const CreateWorkspaceInput = builder.inputType('CreateWorkspaceInput', {
  fields: (t) => ({
    name: t.string({
      required: true,
      description: '1 to 64 characters: lowercase letters, digits, "-", "_" and ".", starting with a letter or digit.',
    }),
  }),
});

const CreateWorkspaceSuccess = builder.objectRef<{ workspace: Workspace }>('CreateWorkspaceSuccess').implement({
  fields: (t) => ({ workspace: t.field({ type: WorkspaceRef, resolve: (result) => result.workspace }) }),
});

builder.mutationField('createWorkspace', (t) =>
  t.field({
    type: CreateWorkspaceSuccess,
    description: 'Any user may create a workspace and becomes its ADMIN; it needs a token with the ADMIN scope, not bound to a workspace.',
    args: { input: t.arg({ type: CreateWorkspaceInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError], directResult: true, union: { name: 'CreateWorkspaceResult' } },
    resolve: async (_root, { input }, ctx) => {
      const workspace = await createWorkspace(ctx.db, ctx.access, input);
      // The rest of this request (the answer's viewerRole, members…) sees the new membership.
      ctx.access = await accessOfUser(ctx.db, ctx.user, ctx.access.token);
      return { workspace };
    },
  }),
);

const AddWorkspaceMemberInput = builder.inputType('AddWorkspaceMemberInput', {
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceRef }),
    userName: t.string({ required: true }),
    role: t.field({ type: WorkspaceRoleEnum, required: true }),
  }),
});

const AddWorkspaceMemberSuccess = builder.objectRef<{ member: WorkspaceMember }>('AddWorkspaceMemberSuccess').implement({
  fields: (t) => ({ member: t.field({ type: WorkspaceMemberRef, resolve: (result) => result.member }) }),
});

builder.mutationField('addWorkspaceMember', (t) =>
  t.field({
    type: AddWorkspaceMemberSuccess,
    description: "The workspace's ADMINs only. Adding a member again is refused: a role changes by removing and adding the member.",
    args: { input: t.arg({ type: AddWorkspaceMemberInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError],
      directResult: true,
      union: { name: 'AddWorkspaceMemberResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      member: await addWorkspaceMember(ctx.db, ctx.access, {
        workspaceId: input.workspaceId.id,
        userName: input.userName,
        role: input.role,
      }),
    }),
  }),
);

const RemoveWorkspaceMemberInput = builder.inputType('RemoveWorkspaceMemberInput', {
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceRef }),
    userName: t.string({ required: true }),
  }),
});

const RemoveWorkspaceMemberSuccess = builder.objectRef<{ workspace: Workspace }>('RemoveWorkspaceMemberSuccess').implement({
  fields: (t) => ({ workspace: t.field({ type: WorkspaceRef, resolve: (result) => result.workspace }) }),
});

builder.mutationField('removeWorkspaceMember', (t) =>
  t.field({
    type: RemoveWorkspaceMemberSuccess,
    description: "The workspace's ADMINs only; the last ADMIN cannot be removed. The member's tokens stop reaching the workspace at once.",
    args: { input: t.arg({ type: RemoveWorkspaceMemberInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError],
      directResult: true,
      union: { name: 'RemoveWorkspaceMemberResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      workspace: await removeWorkspaceMember(ctx.db, ctx.access, { workspaceId: input.workspaceId.id, userName: input.userName }),
    }),
  }),
);
