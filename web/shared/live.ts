import { useEffect, useRef, useState } from 'preact/hooks';

export type Handlers = Record<string, (data: any) => void>;

/**
 * A server-sent event stream for the page's lifetime: each named event's JSON goes to its
 * handler. The browser reconnects by itself (the servers send `retry:`); `connected` says whether
 * the stream is open now, so the page can say when it is not live.
 */
export function useEventStream(url: string, handlers: Handlers): { connected: boolean } {
  const [connected, setConnected] = useState(false);
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    const source = new EventSource(url);
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(source.readyState === EventSource.OPEN);
    for (const name of Object.keys(handlers)) {
      source.addEventListener(name, (event) => {
        const data = (event as MessageEvent<string>).data;
        current.current[name]?.(data === undefined || data === '' ? undefined : JSON.parse(data));
      });
    }
    return () => source.close();
  }, [url]);
  return { connected };
}

/** Calls `fn` at most once per `ms`, at the end of the window, however often it is asked. */
export function throttled(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
}
