// Instances and routines: every routine with its instances, creating an instance, and starting a
// run from a form generated from the method's signature, directly or guided one parameter at a time.
import { useState } from 'preact/hooks';
import { errorMessage, refusalOf, useQuery, request, type Refusal } from '../api.ts';
import {
  ParameterField,
  ParameterFields,
  formInputs,
  initialDraft,
  parameterValue,
  type Draft,
  type Parameter,
} from '../components/ParameterForm.tsx';
import { Json, formatTime } from '../components/Status.tsx';
import { graphql } from '../gql/index.ts';
import type { ConsoleRoutinesQuery } from '../gql/graphql.ts';
import { href, navigate } from '../router.ts';

const RoutinesQuery = graphql(`
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
`);

const CreateInstance = graphql(`
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
`);

const CreateRun = graphql(`
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
`);

const SetRunParameter = graphql(`
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
`);

const StartRun = graphql(`
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
`);

type Routine = ConsoleRoutinesQuery['routines'][number];
type Instance = Routine['instances']['edges'][number]['node'];
type Method = Routine['methods'][number];

const NO_REFUSAL: Refusal = { message: '', fields: {} };

export function RoutinesPage() {
  const routines = useQuery(RoutinesQuery, {});
  const [chosen, setChosen] = useState<{ routine: string; instanceId: string } | null>(null);
  if (routines.error && !routines.data) {
    return (
      <p class="error" role="alert">
        {routines.error}
      </p>
    );
  }
  if (!routines.data) return <p class="muted">Loading…</p>;
  const list = routines.data.routines;
  const chosenRoutine = list.find((routine) => routine.name === chosen?.routine);
  const chosenInstance = chosenRoutine?.instances.edges.find((edge) => edge.node.id === chosen?.instanceId)?.node;
  return (
    <section class="page">
      <div class="page-head">
        <h1>Routines and instances</h1>
      </div>
      <CreateInstanceForm routines={list} onCreated={(routine, instanceId) => (setChosen({ routine, instanceId }), routines.reload())} />
      {chosenRoutine && chosenInstance && (
        <StartRunPanel key={chosenInstance.id + String(chosenInstance.constructed)} routine={chosenRoutine} instance={chosenInstance} />
      )}
      <div class="routine-list">
        {list.map((routine) => (
          <section key={routine.name} class="card routine" aria-labelledby={`routine-${routine.name}`}>
            <h2 id={`routine-${routine.name}`}>
              {routine.name} <span class="muted">v{routine.version}</span>
              {routine.stateful && <span class="chip static">stateful</span>}
            </h2>
            {routine.description && <p>{routine.description}</p>}
            <p class="muted">
              Methods:{' '}
              {routine.methods.map((method) => `${method.name}${method.kind === 'CONSTRUCTOR' ? ' (constructor)' : ''}`).join(', ')}
            </p>
            {routine.instances.edges.length === 0 ? (
              <p class="muted">No instances yet.</p>
            ) : (
              <ul class="instances">
                {routine.instances.edges.map(({ node: instance }) => (
                  <li key={instance.id}>
                    <span class="instance-name">{instance.name}</span>
                    {instance.description && <span class="instance-description">{instance.description}</span>}
                    {routine.stateful && (
                      <span class={`chip static ${instance.constructed ? 'ok' : 'warn'}`}>
                        {instance.constructed ? 'configured' : 'not configured'}
                      </span>
                    )}
                    <span class="muted">{formatTime(instance.createdAt)}</span>
                    <button
                      type="button"
                      class="secondary"
                      aria-pressed={chosen?.instanceId === instance.id}
                      onClick={() => {
                        setChosen({ routine: routine.name, instanceId: instance.id });
                        routines.reload();
                        scrollTo({ top: 0 });
                      }}
                    >
                      Start a run on {instance.name}
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </section>
        ))}
      </div>
    </section>
  );
}

function CreateInstanceForm({ routines, onCreated }: { routines: Routine[]; onCreated: (routine: string, instanceId: string) => void }) {
  const [routineName, setRoutineName] = useState(routines[0]?.name ?? '');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [refusal, setRefusal] = useState<Refusal>(NO_REFUSAL);
  return (
    <form
      class="card inline-form create-instance"
      aria-labelledby="create-instance-heading"
      onSubmit={(event) =>
        void (async () => {
          event.preventDefault();
          try {
            const { createInstance } = await request(CreateInstance, {
              input: { routineName, name: name.trim(), description: description.trim() || undefined },
            });
            if (createInstance.__typename === 'CreateInstanceSuccess') {
              setName('');
              setDescription('');
              setRefusal(NO_REFUSAL);
              onCreated(routineName, createInstance.instance.id);
            } else setRefusal(refusalOf(createInstance));
          } catch (error) {
            setRefusal({ message: errorMessage(error), fields: {} });
          }
        })()
      }
    >
      <h2 id="create-instance-heading">New instance</h2>
      <div class="field">
        <label for="instance-routine">Routine</label>
        <select id="instance-routine" value={routineName} onChange={(event) => setRoutineName(event.currentTarget.value)}>
          {routines.map((routine) => (
            <option key={routine.name}>{routine.name}</option>
          ))}
        </select>
      </div>
      <div class={`field${refusal.fields.name ? ' field-invalid' : ''}`}>
        <label for="instance-name">Name</label>
        <input id="instance-name" required value={name} onInput={(event) => setName(event.currentTarget.value)} />
        {refusal.fields.name && <small class="error">{refusal.fields.name}</small>}
      </div>
      <div class="field">
        <label for="instance-description">Description</label>
        <input id="instance-description" value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
      </div>
      <button type="submit">Create instance</button>
      {refusal.message && (
        <p class="error" role="alert">
          {refusal.message}
        </p>
      )}
    </form>
  );
}

function StartRunPanel({ routine, instance }: { routine: Routine; instance: Instance }) {
  // A stateful routine's standard methods need the constructor first: offer only it until then.
  const needsConstructor = routine.stateful && !instance.constructed;
  const methods = routine.methods.filter((method) => (needsConstructor ? method.kind === 'CONSTRUCTOR' : true));
  const [methodName, setMethodName] = useState(
    (needsConstructor ? methods[0] : (methods.find((method) => method.kind === 'STANDARD') ?? methods[0]))?.name ?? '',
  );
  const [guided, setGuided] = useState(false);
  const method = methods.find((candidate) => candidate.name === methodName) ?? methods[0];
  return (
    <section class="card start-run" aria-labelledby="start-run-heading">
      <h2 id="start-run-heading">
        Start a run on {routine.name} / {instance.name}
      </h2>
      {needsConstructor && (
        <p class="notice">
          This instance is not configured yet: run its constructor <strong>{methods[0]?.name}</strong> first.
        </p>
      )}
      {instance.config != null && (
        <details>
          <summary>Instance configuration</summary>
          <Json value={instance.config} />
        </details>
      )}
      <div class="inline-form">
        <div class="field">
          <label for="run-method">Method</label>
          <select id="run-method" value={method?.name} onChange={(event) => setMethodName(event.currentTarget.value)}>
            {methods.map((candidate) => (
              <option key={candidate.name} value={candidate.name}>
                {candidate.name}
                {candidate.kind === 'CONSTRUCTOR' ? ' (constructor)' : ''}
              </option>
            ))}
          </select>
        </div>
        <fieldset class="mode">
          <legend>Parameters</legend>
          <label>
            <input type="radio" name="mode" checked={!guided} onChange={() => setGuided(false)} /> All at once
          </label>
          <label>
            <input type="radio" name="mode" checked={guided} onChange={() => setGuided(true)} /> Guided, one at a time
          </label>
        </fieldset>
      </div>
      {method?.description && <p class="muted">{method.description}</p>}
      {method &&
        (guided ? (
          <GuidedRun key={`guided-${method.name}`} instanceId={instance.id} method={method} />
        ) : (
          <DirectRun key={`direct-${method.name}`} instanceId={instance.id} method={method} />
        ))}
    </section>
  );
}

interface RunOptions {
  includePreviews: boolean;
  includeStatistics: boolean;
  labels: string;
}

function RunOptionFields({ options, onChange }: { options: RunOptions; onChange: (options: RunOptions) => void }) {
  return (
    <div class="inline-form run-options">
      <label>
        <input
          type="checkbox"
          checked={options.includePreviews}
          onChange={(event) => onChange({ ...options, includePreviews: event.currentTarget.checked })}
        />{' '}
        Table previews
      </label>
      <label>
        <input
          type="checkbox"
          checked={options.includeStatistics}
          onChange={(event) => onChange({ ...options, includeStatistics: event.currentTarget.checked })}
        />{' '}
        Column statistics
      </label>
      <div class="field">
        <label for="run-labels">Labels (comma-separated)</label>
        <input id="run-labels" value={options.labels} onInput={(event) => onChange({ ...options, labels: event.currentTarget.value })} />
      </div>
    </div>
  );
}

function runOptionsInput(options: RunOptions) {
  const labels = options.labels
    .split(',')
    .map((label) => label.trim())
    .filter(Boolean);
  return {
    includePreviews: options.includePreviews,
    includeStatistics: options.includeStatistics,
    labels: labels.length ? labels : undefined,
  };
}

const DEFAULT_OPTIONS: RunOptions = { includePreviews: true, includeStatistics: true, labels: '' };

function DirectRun({ instanceId, method }: { instanceId: string; method: Method }) {
  const [draft, setDraft] = useState<Draft>(() => initialDraft(method.parameters));
  const [options, setOptions] = useState(DEFAULT_OPTIONS);
  const [refusal, setRefusal] = useState<Refusal>(NO_REFUSAL);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="run-form"
      onSubmit={(event) =>
        void (async () => {
          event.preventDefault();
          const { inputs, errors } = formInputs(method.parameters, draft);
          if (Object.keys(errors).length) return setRefusal({ message: 'Some fields cannot be read.', fields: errors });
          setBusy(true);
          try {
            const { createRun } = await request(CreateRun, {
              input: { instanceId, methodName: method.name, inputs, ...runOptionsInput(options) },
            });
            if (createRun.__typename === 'CreateRunSuccess') navigate(href.run(createRun.run.id));
            else setRefusal(refusalOf(createRun));
          } catch (error) {
            setRefusal({ message: errorMessage(error), fields: {} });
          } finally {
            setBusy(false);
          }
        })()
      }
    >
      <ParameterFields idPrefix="param" parameters={method.parameters} draft={draft} errors={refusal.fields} onChange={setDraft} />
      <RunOptionFields options={options} onChange={setOptions} />
      {refusal.message && (
        <p class="error" role="alert">
          {refusal.message}
        </p>
      )}
      <button type="submit" disabled={busy}>
        Start {method.name}
      </button>
    </form>
  );
}

/** The WORKFLOW draft: created empty, then `nextParameter` asked one at a time, then started. */
function GuidedRun({ instanceId, method }: { instanceId: string; method: Method }) {
  const [options, setOptions] = useState(DEFAULT_OPTIONS);
  const [draftId, setDraftId] = useState<string | null>(null);
  const [next, setNext] = useState<Parameter | null>(null);
  const [value, setValue] = useState<string | boolean>('');
  const [inputs, setInputs] = useState<unknown>({});
  const [refusal, setRefusal] = useState<Refusal>(NO_REFUSAL);
  const attempt = async (action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      setRefusal({ message: errorMessage(error), fields: {} });
    }
  };
  if (!draftId) {
    return (
      <div class="run-form">
        <RunOptionFields options={options} onChange={setOptions} />
        {refusal.message && (
          <p class="error" role="alert">
            {refusal.message}
          </p>
        )}
        <button
          type="button"
          onClick={() =>
            void attempt(async () => {
              const { createRun } = await request(CreateRun, {
                input: {
                  instanceId,
                  methodName: method.name,
                  invocationMethod: 'WORKFLOW',
                  start: false,
                  inputs: {},
                  ...runOptionsInput(options),
                },
              });
              if (createRun.__typename !== 'CreateRunSuccess') return setRefusal(refusalOf(createRun));
              setRefusal(NO_REFUSAL);
              setDraftId(createRun.run.id);
              setNext(createRun.run.nextParameter ?? null);
              setValue(createRun.run.nextParameter?.type === 'boolean' ? false : '');
            })
          }
        >
          Begin guided {method.name}
        </button>
      </div>
    );
  }
  return (
    <form
      class="run-form"
      onSubmit={(event) => {
        event.preventDefault();
        void attempt(async () => {
          if (!next) {
            const { startRun } = await request(StartRun, { input: { id: draftId } });
            if (startRun.__typename === 'StartRunSuccess') navigate(href.run(startRun.run.id));
            else setRefusal(refusalOf(startRun));
            return;
          }
          let parsed: unknown;
          try {
            parsed = parameterValue(next, value);
          } catch (error) {
            return setRefusal({ message: '', fields: { [next.name]: errorMessage(error) } });
          }
          const { setRunParameter } = await request(SetRunParameter, { input: { id: draftId, name: next.name, value: parsed ?? null } });
          if (setRunParameter.__typename !== 'SetRunParameterSuccess') return setRefusal(refusalOf(setRunParameter));
          setRefusal(NO_REFUSAL);
          setInputs(setRunParameter.run.inputs);
          setNext(setRunParameter.run.nextParameter ?? null);
          setValue(setRunParameter.run.nextParameter?.type === 'boolean' ? false : '');
        });
      }}
    >
      <p class="muted">Draft run {draftId}: parameters so far</p>
      <Json value={inputs} />
      {next ? (
        <ParameterField
          key={next.name}
          idPrefix="guided"
          parameter={next}
          value={value}
          error={refusal.fields[next.name]}
          onChange={setValue}
        />
      ) : (
        <p>Every required parameter is set.</p>
      )}
      {refusal.message && (
        <p class="error" role="alert">
          {refusal.message}
        </p>
      )}
      <button type="submit">{next ? `Set ${next.name}` : 'Start run'}</button>
    </form>
  );
}
