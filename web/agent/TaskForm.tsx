import { useState } from 'preact/hooks';
import { api, messageOf } from '../shared/api.ts';
import { Field } from '../shared/Field.tsx';
import type { TaskView } from '../shared/types.ts';
import { type FieldName, FORM_DEFAULTS, type TaskForm as Form, validateTask } from './validate.ts';

const FIELDS: Array<{ name: FieldName; label: string; tip: string; type?: 'number' | 'password'; span?: boolean; step?: string }> = [
  { name: 'image', label: 'Image', tip: 'The container image to run, as Docker names it, e.g. 127.0.0.1:5000/dcloud/busybox:1. The hub pulls it to check it exists before any agent runs it.', span: true },
  { name: 'command', label: 'Command', tip: 'What the container runs, e.g. echo 42. Quote a word with spaces ("a b"); nothing else is expanded. Its standard output is the result.', span: true },
  { name: 'cpu', label: 'CPU (cores)', tip: 'Cores each replica may use; only agents with that many free cores get it. Fractions are fine (0.5).', type: 'number', step: 'any' },
  { name: 'ramGb', label: 'RAM (GB)', tip: 'Memory each replica may use, in GB; the container is killed beyond it.', type: 'number', step: 'any' },
  { name: 'minTrust', label: 'Minimum trust', tip: 'Only agents whose trust on the hub is at least this (0 to 10) run the task.', type: 'number', step: 'any' },
  { name: 'overlap', label: 'Overlap', tip: 'How many different agents run the task; their results must agree before it is validated.', type: 'number', step: '1' },
  { name: 'timeoutS', label: 'Timeout (s)', tip: 'Seconds a run may take before it is killed and counted as failed.', type: 'number', step: '1' },
  { name: 'registryUser', label: 'Registry user', tip: 'Only for an image in a private registry: the user name. Sent to the hub beside the task, never inside the signed spec, and handed only to the agents that run it.' },
  { name: 'registryPassword', label: 'Registry password', tip: 'Only for an image in a private registry: the password (or token). Never shown again by the hub.', type: 'password' },
];

/** The task form: checked here field by field, then submitted through the agent, which signs it with its key. */
export function TaskForm({ hub, onSubmitted }: { hub: string | undefined; onSubmitted(task: TaskView): void }) {
  const [form, setForm] = useState<Form>(FORM_DEFAULTS);
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [sending, setSending] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>();

  const submit = async (event: Event) => {
    event.preventDefault();
    const { request, errors } = validateTask(form);
    setErrors(errors);
    if (request === undefined) {
      setOutcome({ ok: false, text: `Not sent: ${Object.keys(errors).length === 1 ? 'one field needs' : 'some fields need'} fixing.` });
      // Take the keyboard to the first field that needs fixing.
      const first = FIELDS.find((f) => errors[f.name] !== undefined);
      if (first !== undefined) document.getElementById(`task-${first.name}`)?.focus();
      return;
    }
    setSending(true);
    setOutcome(undefined);
    try {
      const { task } = await api<{ task: TaskView }>('/api/tasks', { method: 'POST', body: hub === undefined ? request : { ...request, hub } });
      onSubmitted(task);
      setOutcome({ ok: true, text: `Submitted: task ${task.id.slice(0, 12)} is ${task.status}.` });
    } catch (err) {
      // The hub's (or the agent's) own words.
      setOutcome({ ok: false, text: `Not submitted: ${messageOf(err)}` });
    } finally {
      setSending(false);
    }
  };

  return (
    <form class="grid" noValidate onSubmit={submit} aria-label="Submit a task">
      {FIELDS.map((f) => (
        <Field
          key={f.name}
          id={`task-${f.name}`}
          label={f.label}
          tip={f.tip}
          type={f.type ?? 'text'}
          class={f.span ? 'span' : ''}
          value={form[f.name]}
          error={errors[f.name]}
          onInput={(value) => setForm({ ...form, [f.name]: value })}
          inputProps={{ ...(f.step === undefined ? {} : { step: f.step }), ...(f.type === 'password' ? { autoComplete: 'new-password' } : { autoComplete: 'off' }) }}
        />
      ))}
      <div class="span row">
        <button type="submit" class="primary" disabled={sending}>
          {sending ? 'Submitting…' : 'Submit task'}
        </button>
        <button type="button" onClick={() => (setForm(FORM_DEFAULTS), setErrors({}), setOutcome(undefined))}>
          Reset
        </button>
      </div>
      {outcome !== undefined && (
        <div class={`span ${outcome.ok ? 'ok' : 'alert'}`} role={outcome.ok ? 'status' : 'alert'} data-testid="submit-outcome">
          {outcome.text}
        </div>
      )}
    </form>
  );
}
