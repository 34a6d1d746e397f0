// Inputs generated from a method's signature (`RoutineMethod.parameters`): one labelled field per
// parameter by its JSON type, its default as placeholder, and the service's refusal shown on it.

export interface Parameter {
  name: string;
  type: string;
  required: boolean;
  description?: string | null;
  default?: unknown;
  options?: unknown[] | null;
}

/** Field values as typed (strings, or booleans for checkboxes), converted by `parameterValue`. */
export type Draft = Record<string, string | boolean>;

export function initialDraft(parameters: Parameter[]): Draft {
  const draft: Draft = {};
  for (const parameter of parameters) {
    if (parameter.type === 'boolean') draft[parameter.name] = parameter.default === true;
    else if (parameter.options?.length && parameter.default != null) draft[parameter.name] = JSON.stringify(parameter.default);
    else draft[parameter.name] = '';
  }
  return draft;
}

/** The typed value of a field; undefined when left empty (the method's default applies). Throws on bad input. */
export function parameterValue(parameter: Parameter, raw: string | boolean | undefined): unknown {
  if (typeof raw === 'boolean') return raw;
  const text = (raw ?? '').trim();
  if (text === '') return undefined;
  if (parameter.options?.length) return JSON.parse(text);
  switch (parameter.type) {
    case 'integer':
    case 'number': {
      const number = Number(text);
      if (!Number.isFinite(number)) throw new Error('Enter a number');
      return number;
    }
    case 'string':
      return text;
    default:
      try {
        return JSON.parse(text);
      } catch {
        throw new Error('Enter valid JSON');
      }
  }
}

/** The inputs of a whole form, or the fields that could not be read. */
export function formInputs(parameters: Parameter[], draft: Draft): { inputs: Record<string, unknown>; errors: Record<string, string> } {
  const inputs: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const parameter of parameters) {
    try {
      const value = parameterValue(parameter, draft[parameter.name]);
      if (value !== undefined) inputs[parameter.name] = value;
    } catch (error) {
      errors[parameter.name] = (error as Error).message;
    }
  }
  return { inputs, errors };
}

export function ParameterField({
  idPrefix,
  parameter,
  value,
  error,
  onChange,
}: {
  idPrefix: string;
  parameter: Parameter;
  value: string | boolean | undefined;
  error?: string;
  onChange: (value: string | boolean) => void;
}) {
  const id = `${idPrefix}-${parameter.name}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [parameter.description ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ') || undefined;
  const placeholder =
    parameter.default != null ? `default ${JSON.stringify(parameter.default)}` : parameter.required ? 'required' : 'optional';
  const common = { id, name: parameter.name, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined };
  let control;
  if (parameter.type === 'boolean') {
    control = <input {...common} type="checkbox" checked={value === true} onChange={(event) => onChange(event.currentTarget.checked)} />;
  } else if (parameter.options?.length) {
    control = (
      <select {...common} value={String(value ?? '')} onChange={(event) => onChange(event.currentTarget.value)}>
        {!parameter.required && <option value="">(default)</option>}
        {parameter.options.map((option) => (
          <option key={JSON.stringify(option)} value={JSON.stringify(option)}>
            {String(option)}
          </option>
        ))}
      </select>
    );
  } else if (parameter.type === 'integer' || parameter.type === 'number') {
    control = (
      <input
        {...common}
        type="number"
        step={parameter.type === 'integer' ? 1 : 'any'}
        placeholder={placeholder}
        value={String(value ?? '')}
        onInput={(event) => onChange(event.currentTarget.value)}
      />
    );
  } else if (parameter.type === 'string') {
    control = (
      <input
        {...common}
        type="text"
        placeholder={placeholder}
        value={String(value ?? '')}
        onInput={(event) => onChange(event.currentTarget.value)}
      />
    );
  } else {
    control = (
      <textarea
        {...common}
        rows={3}
        spellcheck={false}
        placeholder={`JSON ${parameter.type}, ${placeholder}`}
        value={String(value ?? '')}
        onInput={(event) => onChange(event.currentTarget.value)}
      />
    );
  }
  return (
    <div class={`field${error ? ' field-invalid' : ''}`}>
      <span class="field-head">
        <label for={id}>{parameter.name}</label>
        <span class="field-type">
          {parameter.type}
          {parameter.required ? ', required' : ''}
        </span>
      </span>
      {control}
      {parameter.description && (
        <small id={hintId} class="hint">
          {parameter.description}
        </small>
      )}
      {error && (
        <small id={errorId} class="error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

export function ParameterFields({
  idPrefix,
  parameters,
  draft,
  errors,
  onChange,
}: {
  idPrefix: string;
  parameters: Parameter[];
  draft: Draft;
  errors: Record<string, string>;
  onChange: (draft: Draft) => void;
}) {
  return (
    <>
      {parameters.map((parameter) => (
        <ParameterField
          key={parameter.name}
          idPrefix={idPrefix}
          parameter={parameter}
          value={draft[parameter.name]}
          error={errors[parameter.name]}
          onChange={(value) => onChange({ ...draft, [parameter.name]: value })}
        />
      ))}
    </>
  );
}
