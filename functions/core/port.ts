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
