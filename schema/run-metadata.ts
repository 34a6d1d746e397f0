// Run metadata mutations: labels and attributes. Each change is a run event (LABELS_CHANGED /
// ATTRIBUTES_CHANGED) written with the change; an OPERATOR of the run's workspace may make it.
import type { RoutineRun } from '../src/generated/prisma/client.ts';
import { addRunLabels } from '../src/services/add-run-labels.ts';
import { patchRunAttributes } from '../src/services/patch-run-attributes.ts';
import { removeRunLabels } from '../src/services/remove-run-labels.ts';
import { MAX_ATTRIBUTES_BYTES, MAX_LABEL_LENGTH, MAX_LABELS } from '../src/rules/run-metadata.ts';
import { setRunAttributes } from '../src/services/set-run-attributes.ts';
import { builder } from './builder.ts';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import { RoutineRunRef } from './run.ts';

const errors = [ValidationError, NotFoundError, ForbiddenError];

function success(name: string) {
  return builder.objectRef<{ run: RoutineRun }>(name).implement({
    fields: (t) => ({ run: t.field({ type: RoutineRunRef, resolve: (result) => result.run }) }),
  });
}

const labelRules = `At most ${MAX_LABELS} labels per run, each 1 to ${MAX_LABEL_LENGTH} characters: letters, digits and _ . : / - (starting with a letter or digit).`;

const AddRunLabelsInput = builder.inputType('AddRunLabelsInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: RoutineRunRef }),
    labels: t.stringList({ required: true, description: labelRules }),
  }),
});
const RemoveRunLabelsInput = builder.inputType('RemoveRunLabelsInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: RoutineRunRef }),
    labels: t.stringList({ required: true, description: 'Labels the run does not carry are ignored.' }),
  }),
});
const SetRunAttributesInput = builder.inputType('SetRunAttributesInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: RoutineRunRef }),
    attributes: t.field({ type: 'JSON', required: true, description: `A JSON object of at most ${MAX_ATTRIBUTES_BYTES / 1024} KB.` }),
  }),
});
const PatchRunAttributesInput = builder.inputType('PatchRunAttributesInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: RoutineRunRef }),
    patch: t.field({
      type: 'JSON',
      required: true,
      description: 'A JSON merge patch (RFC 7396): keys set to null are removed, objects are merged, anything else replaces.',
    }),
  }),
});

builder.mutationFields((t) => ({
  addRunLabels: t.field({
    type: success('AddRunLabelsSuccess'),
    description: 'Adds labels to a run (no event when it already carries them all).',
    args: { input: t.arg({ type: AddRunLabelsInput, required: true }) },
    errors: { types: errors, directResult: true, union: { name: 'AddRunLabelsResult' } },
    resolve: async (_root, { input }, ctx) => ({
      run: await addRunLabels(ctx.services, { access: ctx.access, runId: input.id.id, labels: input.labels }),
    }),
  }),
  removeRunLabels: t.field({
    type: success('RemoveRunLabelsSuccess'),
    args: { input: t.arg({ type: RemoveRunLabelsInput, required: true }) },
    errors: { types: errors, directResult: true, union: { name: 'RemoveRunLabelsResult' } },
    resolve: async (_root, { input }, ctx) => ({
      run: await removeRunLabels(ctx.services, { access: ctx.access, runId: input.id.id, labels: input.labels }),
    }),
  }),
  setRunAttributes: t.field({
    type: success('SetRunAttributesSuccess'),
    description: "Replaces the run's attributes.",
    args: { input: t.arg({ type: SetRunAttributesInput, required: true }) },
    errors: { types: errors, directResult: true, union: { name: 'SetRunAttributesResult' } },
    resolve: async (_root, { input }, ctx) => ({
      run: await setRunAttributes(ctx.services, { access: ctx.access, runId: input.id.id, attributes: input.attributes }),
    }),
  }),
  patchRunAttributes: t.field({
    type: success('PatchRunAttributesSuccess'),
    description: "Changes the run's attributes with a JSON merge patch (RFC 7396).",
    args: { input: t.arg({ type: PatchRunAttributesInput, required: true }) },
    errors: { types: errors, directResult: true, union: { name: 'PatchRunAttributesResult' } },
    resolve: async (_root, { input }, ctx) => ({
      run: await patchRunAttributes(ctx.services, { access: ctx.access, runId: input.id.id, patch: input.patch }),
    }),
  }),
}));
