/**
 * An adapter slot: the deployed implementation is created lazily on first use; the local runtime
 * and tests install their own with `set`. Handlers call `get()` and never know which one runs.
 */
export interface Port<T> {
  get(): T;
  set(impl: T | undefined): void;
}

export function port<T>(createDefault: () => T): Port<T> {
  let impl: T | undefined;
  return {
    get: () => (impl ??= createDefault()),
    set: (next) => {
      impl = next;
    },
  };
}

/**
 * A value made on first call by an async factory and shared after; a failed attempt is forgotten
 * so the next call tries again. The AWS adapters use it to `import()` their SDK client on first use:
 * bundled with code splitting (lib/bundling.ts), a client is then a file of its own that init does
 * not read, compile or evaluate (S3 is ~120 KB, SES ~60 KB).
 */
export function lazy<T>(create: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () =>
    (value ??= create().catch((error: unknown) => {
      value = undefined;
      throw error;
    }));
}
