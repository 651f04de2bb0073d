/** An error the API answered: its `{ error: { code, message } }`, shown to people as the message. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

/** JSON from this page's own server (same origin); a refusal becomes an ApiError with the server's words. */
export async function api<T>(path: string, init: { method?: 'GET' | 'POST'; body?: unknown } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers: init.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  } catch (err) {
    throw new ApiError('UNREACHABLE', `cannot reach ${location.host}: ${(err as Error).message}`, 0);
  }
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError('BAD_RESPONSE', `${path} answered ${res.status} with something other than JSON`, res.status);
  }
  if (!res.ok) throw new ApiError(json?.error?.code ?? `HTTP_${res.status}`, json?.error?.message ?? `${path} answered ${res.status}`, res.status);
  return json as T;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
