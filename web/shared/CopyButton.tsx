import { useState } from 'preact/hooks';

/** Copies `text` to the clipboard, and says so. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<string | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('Copied');
    } catch {
      // No clipboard API (a page not on a secure origin): the old way still works.
      const area = document.createElement('textarea');
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand('copy');
      area.remove();
      setDone(ok ? 'Copied' : 'Could not copy: select the text instead');
    }
    setTimeout(() => setDone(undefined), 2000);
  };
  return (
    <span>
      <button type="button" onClick={copy}>
        {label}
      </button>{' '}
      <span role="status" class="muted">
        {done ?? ''}
      </span>
    </span>
  );
}
