export interface FieldProps {
  id: string;
  label: string;
  /** Shown on hover and on keyboard focus (and read with the field by screen readers). */
  tip: string;
  value: string;
  onInput(value: string): void;
  error?: string | undefined;
  type?: 'text' | 'number' | 'password' | 'search';
  class?: string;
  inputProps?: { step?: string; maxLength?: number; autoComplete?: string };
}

/** A labelled input with its tooltip and its error message, tied together for assistive technology. */
export function Field(props: FieldProps) {
  const tipId = `${props.id}-tip`;
  const errorId = `${props.id}-error`;
  return (
    <div class={`field ${props.class ?? ''}`}>
      <span class="label-row">
        <label for={props.id}>{props.label}</label>
        <span class="tip-mark" aria-hidden="true" title={props.tip}>
          ?
        </span>
      </span>
      <input
        id={props.id}
        name={props.id}
        type={props.type ?? 'text'}
        value={props.value}
        title={props.tip}
        aria-describedby={props.error === undefined ? tipId : `${errorId} ${tipId}`}
        aria-invalid={props.error === undefined ? 'false' : 'true'}
        onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value)}
        {...props.inputProps}
      />
      <span class="tooltip" role="tooltip" id={tipId}>
        {props.tip}
      </span>
      {props.error !== undefined && (
        <p class="error" id={errorId}>
          {props.error}
        </p>
      )}
    </div>
  );
}
